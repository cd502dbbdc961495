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


def test_translate_evaluate_plot_export_on_a_run(tiny_run, capsys, monkeypatch):
    assert main(["translate", "--run", str(tiny_run), "El gato duerme.", ""]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1] == ""

    assert main(["translate", "--run", str(tiny_run), "--beam", "3", "El gato duerme."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1

    monkeypatch.setattr(sys, "stdin", io.StringIO("Ella come.\n¿Dónde?\n\n"))
    assert main(["translate", "--run", str(tiny_run), "--temperature", "0.8"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3

    assert main(["evaluate", "--run", str(tiny_run), "--limit", "40"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["sentences"] == 40
    for key in ["bleu", "chrf", "bleu_tutorial_norm", "alignment_accuracy_content"]:
        assert 0 <= metrics[key] <= 100
    assert json.loads((tiny_run / "metrics.json").read_text()) == metrics
    assert (tiny_run / "translations.tsv").read_text().count("\n") == 41

    assert main(["plot", "--run", str(tiny_run), "¿Quién compró el coche rojo?"]) == 0
    png = capsys.readouterr().out.strip()
    assert png.endswith(".png") and open(png, "rb").read(4) == b"\x89PNG"

    out = tiny_run.parent / "cli-export"
    assert main(["export", "--run", str(tiny_run), "--out", str(out)]) == 0
    assert (out / "saved_model" / "saved_model.pb").exists()
    assert capsys.readouterr().out.strip() == str(out / "saved_model")


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


@pytest.mark.parametrize(
    "argv_tail,message",
    [
        (["train", "--preset", "tiny", "--data", "/no/such/file.txt"], "not found"),
        (["translate", "--run", "/no/such/run", "hola"], "not a run folder"),
        (["plot", "--run", "RUN", "   "], "empty"),
        (["translate", "--run", "RUN", "--temperature", "-1", "hola"], "temperature"),
        (["translate", "--run", "RUN", "--beam", "0", "hola"], "--beam"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv_tail, message, tiny_run, capsys):
    argv = [str(tiny_run) if a == "RUN" else a for a in argv_tail]
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
