import json

import pytest

from transformer.cli import main

pytestmark = pytest.mark.slow


def test_translate_evaluate_plot_on_a_run(tiny_transformer_run, capsys):
    assert main(["translate", "--run", str(tiny_transformer_run), "--beam", "2",
                 "El gato duerme.", ""]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] and lines[1] == ""  # a translation, then nothing
    assert main(["translate", "--run", str(tiny_transformer_run), "--temperature", "1",
                 "--top-k", "3", "Hola."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["evaluate", "--run", str(tiny_transformer_run), "--limit", "20",
                 "--beam", "2"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) >= {"greedy", "beam_2"} and metrics["sentences"] == 20
    assert main(["evaluate", "--run", str(tiny_transformer_run), "--limit", "20",
                 "--beam", "2", "--jit-compile"]) == 0
    with_xla = json.loads(capsys.readouterr().out)
    for decoding in ("greedy", "beam_2"):  # the tiny run's BLEU may be 0; its chrF is not
        assert metrics[decoding]["chrf"] > 0
        assert with_xla[decoding]["bleu"] == metrics[decoding]["bleu"]
        assert with_xla[decoding]["chrf"] == metrics[decoding]["chrf"]
    assert main(["evaluate", "--run", str(tiny_transformer_run), "--limit", "7", "--beam",
                 "1", "--split", "validation"]) == 0
    validation = json.loads(capsys.readouterr().out)
    assert (validation["split"], validation["sentences"]) == ("validation", 7)
    assert json.loads((tiny_transformer_run / "metrics-validation.json").read_text()) \
        == validation
    assert main(["plot", "--run", str(tiny_transformer_run), "--layer", "1",
                 "¿Quién compró el coche?"]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == 2 and all(open(p, "rb").read(4) == b"\x89PNG" for p in paths)
    assert "cross-layer1-" in paths[0] and "self-layer1-" in paths[1]  # counted from 1


@pytest.mark.parametrize("argv,message", [
    (["translate", "--run", "/no/such/run", "hola"], "not a run folder"),
    (["translate", "--run", "RUN", "--top-k", "-1", "hola"], "--top-k"),
    (["translate", "--run", "RUN", "--temperature", "nan", "hola"], "--temperature must be a"),
    (["translate", "--run", "RUN", "--temperature", "inf", "hola"], "--temperature must be a"),
    (["translate", "--run", "RUN", "--beam", "3000000000", "hola"], "--beam must be between"),
    (["translate", "--run", "RUN", "--seed", str(2**63 - 2), "a", "b"], "--seed must be"),
    (["plot", "--run", "RUN", "--layer", "7", "hola"], "--layer"),
    (["plot", "--run", "RUN", "--layer", "0", "hola"], "--layer"),
    (["train", "--preset", "tiny", "--data", "/no/such.txt"], "not found"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, tiny_transformer_run, capsys):
    argv = [str(tiny_transformer_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


class _Captured(Exception):
    pass


def test_a_time_limit_alone_brings_the_budget_recipe_and_flags_win(monkeypatch, tmp_path,
                                                                   capsys):
    import transformer.demo  # the package's parts the commands call

    configs = []

    def capture(config, run_dir, **options):
        configs.append(config)
        raise _Captured

    monkeypatch.setattr(transformer.demo, "train", capture)
    for argv in (["--time-limit", "15"], ["--time-limit", "15", "--epochs", "30",
                                          "--lr-decay", "rsqrt", "--average-last", "2"],
                 [], ["--preset", "cpu-hour"]):
        with pytest.raises(_Captured):
            main(["train", "--preset", "tutorial", "--run", str(tmp_path / "r"), *argv])
    budget, flagged, plain, hour = configs
    assert (budget.epochs, budget.lr_decay, budget.warmup_steps, budget.average_last) == \
        (1000, "linear", 1000, 8) and budget.time_limit_minutes == 15
    assert (flagged.lr_decay, flagged.average_last) == ("rsqrt", 2)
    assert (plain.epochs, plain.lr_decay, plain.warmup_steps) == (20, "rsqrt", 4000)
    # The one-hour preset is the tutorial's model with the recipe for 60 minutes.
    assert hour == budget.replace(time_limit_minutes=60.0)
    assert capsys.readouterr().err.count("time limit 15 min") == 2
