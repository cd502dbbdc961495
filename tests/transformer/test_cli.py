import json

import pytest

from transformer.cli import main

pytestmark = pytest.mark.slow


def test_translate_evaluate_plot_on_a_run(tiny_transformer_run, capsys):
    assert main(["translate", "--run", str(tiny_transformer_run), "--beam", "2",
                 "El gato duerme.", ""]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
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
    for decoding in ("greedy", "beam_2"):
        assert with_xla[decoding]["bleu"] == metrics[decoding]["bleu"]
    assert main(["plot", "--run", str(tiny_transformer_run), "--layer", "0",
                 "¿Quién compró el coche?"]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == 2 and all(open(p, "rb").read(4) == b"\x89PNG" for p in paths)


@pytest.mark.parametrize("argv,message", [
    (["translate", "--run", "/no/such/run", "hola"], "not a run folder"),
    (["translate", "--run", "RUN", "--top-k", "-1", "hola"], "--top-k"),
    (["plot", "--run", "RUN", "--layer", "7", "hola"], "--layer"),
    (["train", "--preset", "tiny", "--data", "/no/such.txt"], "not found"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, tiny_transformer_run, capsys):
    argv = [str(tiny_transformer_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_time_limit_alone_trains_to_the_time_with_a_fitted_schedule(tmp_path, capsys):
    import keras

    from common.run_folder import RunFolder

    run = tmp_path / "budget"
    assert main(["train", "--preset", "tiny", "--run", str(run), "--time-limit", "0.3"]) == 0
    captured = capsys.readouterr()
    assert "time limit 0.3 min" in captured.err
    config = json.loads((run / "config.json").read_text())
    assert (config["epochs"], config["lr_decay"], config["average_last"]) == (1000, "linear", 8)
    # The end of the decay was measured from the first steps, not the initial guess.
    assert "time limit: about" in captured.out
    schedule = keras.saving.load_model(RunFolder(run).last_model).optimizer._learning_rate
    assert schedule.get_config()["total_steps"] != 10 * 1000
