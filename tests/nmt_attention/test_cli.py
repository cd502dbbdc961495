import io
import json
import sys

import pytest

from nmt_attention.cli import main

pytestmark = pytest.mark.slow


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ["train", "translate", "evaluate", "plot", "export", "demo"]:
        assert command in out


def test_translate_gives_one_line_for_every_input_line(tiny_run, capsys, monkeypatch):
    assert main(["translate", "--run", str(tiny_run), "El gato duerme.", ""]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 3 and lines[1] == lines[2] == ""  # two answers, the second empty
    assert main(["translate", "--run", str(tiny_run), "--beam", "3", "El gato duerme."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO("Ella come.\n¿Dónde?\n\n"))
    assert main(["translate", "--run", str(tiny_run), "--temperature", "0.8"]) == 0
    assert len(capsys.readouterr().out.split("\n")) == 4


def test_nothing_to_translate_and_long_lines_get_a_note(tiny_run, capsys):
    long = " ".join(["gato"] * 150)
    huge = "gato " * 200_000  # a megabyte: cut to what the model reads before tokenizing
    inputs = ["", "¿?¡!", "中文 привет 🙂", long, huge]
    assert main(["translate", "--run", str(tiny_run), *inputs]) == 0
    captured = capsys.readouterr()
    out = captured.out.split("\n")
    assert out[:3] == ["", "", ""] and len(out) == 6  # five lines out, each ended
    notes = captured.err.splitlines()
    assert notes[0].startswith("note: line 1 is empty")
    assert "line 2 has nothing to translate" in notes[1]
    assert "line 3 has nothing to translate" in notes[2]
    assert "line 4 is 150 tokens long; its first 100 were translated" in notes[3]
    assert ("line 5 is 1,000,000 characters long; it was cut to its first 10,000 before it "
            "was translated") in notes[4]


def test_evaluate_reports_the_scores_of_the_translations_it_writes(tiny_run, capsys):
    from common.evaluation import bleu_scores

    assert main(["evaluate", "--run", str(tiny_run), "--limit", "40"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["sentences"] == 40
    assert json.loads((tiny_run / "metrics.json").read_text()) == metrics
    rows = [r.split("\t") for r in
            (tiny_run / "translations.tsv").read_text().split("\n")[1:-1]]
    assert len(rows) == 40
    scores = bleu_scores([r[2] for r in rows], [r[1] for r in rows])
    for key in ["bleu", "chrf", "bleu_tutorial_norm"]:
        assert metrics[key] == pytest.approx(scores[key])
    # The validation split, to choose settings without looking at test: its own files.
    from common.data.corpus import corpus_of
    from nmt_attention.runs import load_run

    assert main(["evaluate", "--run", str(tiny_run), "--split", "validation"]) == 0
    validation = json.loads(capsys.readouterr().out)
    spanish, english = corpus_of(load_run(tiny_run)[0]).part("validation")
    assert (validation["split"], validation["sentences"]) == ("validation", len(spanish))
    assert json.loads((tiny_run / "metrics-validation.json").read_text()) == validation
    rows = [r.split("\t") for r in
            (tiny_run / "translations-validation.tsv").read_text().split("\n")[1:-1]]
    assert [r[1] for r in rows] == english
    assert json.loads((tiny_run / "metrics.json").read_text()) == metrics  # test's kept


def test_plot_writes_a_png(tiny_run, capsys):
    assert main(["plot", "--run", str(tiny_run), "¿Quién compró el coche rojo?"]) == 0
    png = capsys.readouterr().out.strip()
    assert png.endswith(".png") and open(png, "rb").read(4) == b"\x89PNG"


def test_export_prints_the_saved_model(tiny_run, capsys):
    out = tiny_run.parent / "cli-export"
    assert main(["export", "--run", str(tiny_run), "--out", str(out)]) == 0
    assert (out / "saved_model" / "saved_model.pb").exists()
    assert capsys.readouterr().out.strip() == str(out / "saved_model")


def test_translate_answers_each_line_as_it_arrives(tiny_run):
    import os
    import select
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "nmt_attention", "translate", "--run", str(tiny_run)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        for line in (b"Ella come.\n", b"Nosotros vendimos el coche.\n"):
            process.stdin.write(line)
            process.stdin.flush()  # stdin stays open: the answer must come anyway
            ready, _, _ = select.select([process.stdout], [], [], 120)
            assert ready, "no answer while standard input was still open"
            process.stdout.readline()
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    assert process.returncode == 0


def test_train_from_a_local_file_reports_malformed_lines(tmp_path, capsys):
    from common.data import generate_pairs, write_pairs

    data = write_pairs(tmp_path / "spa.txt", generate_pairs(300, seed=2))
    with open(data, "a", encoding="utf-8") as f:
        f.write("a line without a tab\n")
    run = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--data", str(data), "--run", str(run),
                 "--epochs", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "skipped 1 malformed line(s) (301)" in out
    assert json.loads((run / "data.json").read_text())["malformed_lines"][0][0] == 301


def test_evaluate_limit_0_is_refused_and_leaves_the_metrics_as_they_were(tiny_run, tmp_path,
                                                                         capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*", "export"))
    kept = b'{"test_bleu": 0.5}\n'
    (run / "metrics.json").write_bytes(kept)
    files = sorted(p.relative_to(run) for p in run.rglob("*"))
    for limit in ("0", "-1"):
        assert main(["evaluate", "--run", str(run), "--limit", limit]) == 2
        assert "--limit must be at least 1" in capsys.readouterr().err
    assert (run / "metrics.json").read_bytes() == kept
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == files  # nothing written


@pytest.mark.parametrize(
    "argv_tail,message",
    [
        (["train", "--preset", "tiny", "--data", "/no/such/file.txt"], "not found"),
        (["translate", "--run", "/no/such/run", "hola"], "not a run folder"),
        (["plot", "--run", "RUN", "   "], "empty"),
        (["translate", "--run", "RUN", "--temperature", "-1", "hola"], "temperature"),
        (["translate", "--run", "RUN", "--beam", "0", "hola"], "--beam"),
        (["evaluate", "--run", "RUN", "--limit", "0"], "--limit must be at least 1"),
        (["evaluate", "--run", "RUN", "--limit", "-3"], "--limit must be at least 1"),
        (["translate", "--run", "RUN/config.json", "hola"], "is a file"),
        (["translate", "--run", "RUN", "bad \udcff byte"], "not valid Unicode"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv_tail, message, tiny_run, capsys):
    argv = [a.replace("RUN", str(tiny_run)) if a.startswith("RUN") else a for a in argv_tail]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("error: ")


def test_empty_and_latin1_data_files_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Hi.\tAdiós.\n".encode("latin-1"))
    for path, message in [(empty, "empty"), (latin, "not UTF-8")]:
        assert main(["train", "--preset", "tiny", "--data", str(path), "--run",
                     str(tmp_path / path.stem)]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("damage,message", [
    ("{", "damaged"),
    ('{"num_layers": 2, "hidden_dim": 16}', "unknown settings"),
    ('{"units": "many"}', "is not a int"),
    ("[1, 2]", "not a settings object"),
])
def test_a_damaged_or_foreign_config_is_one_error(damage, message, tiny_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    (run / "config.json").write_text(damage)
    assert main(["translate", "--run", str(run), "hola"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_damaged_state_is_one_error_on_resume(tiny_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    (run / "checkpoints" / "state.json").write_text('{"epoch": "three"')
    assert main(["train", "--run", str(run), "--resume"]) == 2
    assert "state.json is damaged" in capsys.readouterr().err


def test_damaged_and_truncated_zips_are_one_error(tmp_path, capsys):
    import zipfile

    good = tmp_path / "spa-eng.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("spa-eng/spa.txt", "Go.\tVe.\n" * 500)
    data = good.read_bytes()
    truncated, corrupt = tmp_path / "truncated.zip", tmp_path / "corrupt.zip"
    truncated.write_bytes(data[: len(data) // 2])
    damaged = bytearray(data)
    damaged[60:70] = bytes(10)
    corrupt.write_bytes(bytes(damaged))
    for path in (truncated, corrupt):
        assert main(["train", "--preset", "tiny", "--data", str(path), "--run",
                     str(tmp_path / path.stem)]) == 2
        err = capsys.readouterr().err
        assert "damaged zip archive" in err and "iconv" not in err
        assert not (tmp_path / path.stem / "config.json").exists()


def test_train_takes_a_time_limit_and_checkpoint_averaging(tmp_path, capsys):
    run = tmp_path / "limited"
    assert main(["train", "--preset", "tiny", "--run", str(run), "--epochs", "6",
                 "--time-limit", "0.0001", "--average-last", "3"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["time_limit_minutes"] == 0.0001 and config["average_last"] == 3
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 1  # the first epoch ends past the limit: no second one
    assert main(["train", "--preset", "tiny", "--run", str(run), "--time-limit", "-1"]) == 2
    # A run long enough to average: the last 2 and 3 epochs' mean weights are each scored
    # on validation, and the best weights are named.
    capsys.readouterr()
    averaged = tmp_path / "averaged"
    assert main(["train", "--preset", "tiny", "--run", str(averaged), "--epochs", "3",
                 "--average-last", "3"]) == 0
    printed = capsys.readouterr()
    said = printed.out + printed.err
    assert "average of the last 2 epochs: validation loss" in said
    assert "average of the last 3 epochs: validation loss" in said
    assert "best weights: " in said
