import io
import json

import numpy as np
import pytest

from classify.cli import main
from classify.demo import classify_in_fresh_process
from classify.predictor import read_image
from classify.runs import load_predictor
from common.data.classification import generate_order_task, write_labeled_tsv

pytestmark = pytest.mark.slow


def _one_line_error(capsys, message):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_text_run_folder_evaluate_predict_plot(tiny_text_run, capsys, monkeypatch):
    for name in ("config.json", "labels.json", "vocabulary.json", "history.csv",
                 "metrics.json", "test_predictions.tsv", "plots/history.png",
                 "plots/confusion_matrix.png", "checkpoints/last.keras"):
        assert (tiny_text_run / name).exists(), name
    capsys.readouterr()
    assert main(["text", "evaluate", "--run", str(tiny_text_run)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    rows = [r.split("\t") for r in
            (tiny_text_run / "test_predictions.tsv").read_text().splitlines()[1:]]
    assert metrics["test_examples"] == len(rows) == 80
    assert metrics["test_accuracy"] == pytest.approx(np.mean([r[1] == r[2] for r in rows]))
    assert np.trace(metrics["confusion_matrix"]) == sum(r[1] == r[2] for r in rows)
    texts = ["the dog saw the king", "x" * 10000, "the 🦊 ate zzzqqq", "", "¿?!",
             "the dog " * 20]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts) + "\n"))
    assert main(["text", "predict", "--run", str(tiny_text_run)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.split("\n")[:-1]
    _, predictor = load_predictor(tiny_text_run)
    expected = [f"{label}\t{p:.4f}" if label else "" for label, p in predictor.predict(texts)]
    assert lines == expected and lines[0] and lines[2]  # known words get a label
    assert lines[1] == lines[3] == lines[4] == ""  # nothing known, empty, punctuation only
    notes = captured.err.splitlines()
    assert [n.split()[2] for n in notes] == ["2", "4", "5", "6"] and "empty" in notes[1]
    assert notes[3].endswith("line 6 is 40 words long; its first 15 were classified")
    assert main(["text", "plot", "--run", str(tiny_text_run), "the dog saw the king"]) == 0
    path = capsys.readouterr().out.strip()
    assert open(path, "rb").read(4) == b"\x89PNG"


@pytest.mark.parametrize("argv,stdin,message", [
    (["text", "predict", "--run", "/no/such/run", "hi"], "", "not a run folder"),
    (["text", "plot", "--run", "RUN", "--layer", "5", "the dog"], "", "--layer"),
    (["text", "train", "--preset", "tiny", "--data", "/no/such.tsv"], "", "not found"),
])
def test_text_usage_errors_exit_2_with_one_line(argv, stdin, message, tiny_text_run, capsys,
                                                monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    argv = [str(tiny_text_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    _one_line_error(capsys, message)


def test_tsv_without_label_column_is_one_error(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\nhello\n")
    assert main(["text", "train", "--preset", "tiny", "--data", str(bad), "--run",
                 str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "'label' column")


def test_text_train_on_a_tsv_resumes_and_exports(tmp_path, capsys):
    data = write_labeled_tsv(tmp_path / "task.tsv", generate_order_task(300, seed=5))
    run = tmp_path / "run"
    argv = ["text", "train", "--preset", "tiny", "--data", str(data), "--run", str(run),
            "--pooling", "mean", "--no-positional-encoding", "--epochs", "1"]
    assert main(argv) == 0
    assert main(argv) == 2  # never over an existing run
    _one_line_error(capsys, "--resume")
    assert main([*argv[:-1], "2", "--resume"]) == 0
    history = (run / "history.csv").read_text().strip().splitlines()
    assert len(history) == 3  # header + 2 epochs, the first not repeated
    config = json.loads((run / "config.json").read_text())
    assert config["pooling"] == "mean" and config["positional_encoding"] is False
    capsys.readouterr()
    assert main(["text", "export", "--run", str(run)]) == 0
    saved = capsys.readouterr().out.strip()
    texts = ["the dog saw the king", "", "x" * 10000]
    _, predictor = load_predictor(run)
    mine = predictor.outputs(predictor.vocabulary.encode(texts))["probabilities"].numpy()
    theirs = np.array(classify_in_fresh_process(saved, np.array(texts)))
    np.testing.assert_allclose(theirs, mine, atol=1e-5)
    assert not list((run / "export").glob(".partial-*"))
    import subprocess
    import sys
    from pathlib import Path

    cli = Path(sys.executable).parent / "saved_model_cli"
    done = subprocess.run([str(cli), "run", "--dir", saved, "--tag_set", "serve",
                           "--signature_def", "serving_default", "--input_exprs",
                           'texts=["the dog saw the king"]'], capture_output=True, text=True)
    assert done.returncode == 0 and "probabilities" in done.stdout, done.stderr[-2000:]


def test_vit_predict_plot_export(tiny_vit_run, tmp_path, capsys):
    import tensorflow as tf

    from common.data.classification import load_digits

    digits = load_digits()
    np.save(tmp_path / "digit.npy", digits.images[0])
    png = tf.io.encode_png(tf.cast(digits.images[1] * 255, tf.uint8)).numpy()
    (tmp_path / "digit.png").write_bytes(png)
    capsys.readouterr()
    assert main(["vit", "predict", "--run", str(tiny_vit_run), str(tmp_path / "digit.npy"),
                 str(tmp_path / "digit.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    _, predictor = load_predictor(tiny_vit_run)
    expected = predictor.predict(np.stack([
        read_image(tmp_path / name, predictor.image_shape) for name in ("digit.npy",
                                                                       "digit.png")]))
    assert [line.split("\t")[0] for line in lines] == [label for label, _ in expected]
    assert main(["vit", "plot", "--run", str(tiny_vit_run), "--index", "3"]) == 0
    assert open(capsys.readouterr().out.strip(), "rb").read(4) == b"\x89PNG"
    assert main(["vit", "export", "--run", str(tiny_vit_run), "--out",
                 str(tmp_path / "export")]) == 0
    saved = capsys.readouterr().out.strip()
    images = digits.images[:4]
    _, predictor = load_predictor(tiny_vit_run)
    mine = predictor.outputs(tf.constant(images))["probabilities"].numpy()
    np.testing.assert_allclose(classify_in_fresh_process(saved, images), mine, atol=1e-5)


@pytest.mark.parametrize("array,message", [
    (np.zeros([8, 8], np.int64), "divide by 255"),
    (np.zeros([9, 9], np.float32), "shape"),
    (np.full([8, 8], 3.0, np.float32), "[0, 1]"),
    (None, "not a readable .npy"),  # a zero-byte file
])
def test_vit_bad_images_exit_2_with_one_line(array, message, tiny_vit_run, tmp_path, capsys):
    if array is None:
        (tmp_path / "bad.npy").write_bytes(b"")
    else:
        np.save(tmp_path / "bad.npy", array)
    assert main(["vit", "predict", "--run", str(tiny_vit_run), str(tmp_path / "bad.npy")]) == 2
    _one_line_error(capsys, message)


def test_bert_pretrains_then_fine_tunes(tiny_bert_run):
    run = tiny_bert_run
    assert (run / "pretrain" / "checkpoints" / "best.weights.h5").exists()
    assert (run / "pretrain" / "plots" / "history.png").exists()
    metrics = json.loads((run / "metrics.json").read_text())
    pretraining = (run / "pretrain" / "history.csv").read_text().splitlines()
    column = pretraining[0].split(",").index("val_masked_accuracy")
    assert metrics["pretraining_val_masked_accuracy"] == pytest.approx(
        float(pretraining[-1].split(",")[column]))
    pretrain = (run / "pretrain" / "history.csv").read_text().splitlines()
    losses = [float(r.split(",")[1]) for r in pretrain[1:]]
    assert losses[-1] < losses[0]  # the masked-LM loss falls


def test_compare_writes_table_and_plot(tmp_path, capsys):
    out = tmp_path / "compare"
    assert main(["compare", "--preset", "tiny", "--seeds", "1", "--epochs", "1", "--out",
                 str(out)]) == 0
    table = (out / "table.md").read_text()
    assert table.count("\n| ") == 4 and "chance is 0.50" in table
    assert len((out / "results.csv").read_text().strip().splitlines()) == 5
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_bert_resumes_an_interrupted_pretraining(tmp_path):
    import shutil

    from classify.config import BertConfig
    from classify.train import train

    run = tmp_path / "bert"
    train(BertConfig.tiny(), run, verbose=0, log=lambda _: None)
    # As if stopped during the second pretraining epoch: one finished, no fine-tuning yet.
    state_path = run / "pretrain" / "checkpoints" / "state.json"
    state = json.loads(state_path.read_text())
    state_path.write_text(json.dumps({**state, "epoch": 1}))
    shutil.rmtree(run / "checkpoints")
    (run / "history.csv").unlink()
    logs = []
    result = train(BertConfig.tiny(), run, resume=True, verbose=0, log=logs.append)
    assert f"resuming {run / 'pretrain'} after epoch 1" in logs
    assert "fine-tuning from the pretrained encoder" in logs
    assert len((run / "pretrain" / "history.csv").read_text().strip().splitlines()) == 3
    assert result.epochs_done == 2


def test_a_run_stopped_in_its_first_pretraining_epoch_resumes(tmp_path):
    """Killed before any epoch of pretraining ended, the run is still a run: --resume
    continues it (it once had no config.json until pretraining ended, so it started over)."""
    from classify.config import BertConfig
    from classify.train import train

    def stop(message):
        if message.startswith("pretraining BERT"):
            raise KeyboardInterrupt

    run = tmp_path / "bert"
    with pytest.raises(KeyboardInterrupt):
        train(BertConfig.tiny(), run, verbose=0, log=stop)
    logs = []
    train(BertConfig.tiny(), run, resume=True, verbose=0, log=logs.append)
    assert any(m.startswith("pretraining BERT") for m in logs)
    assert "fine-tuning from the pretrained encoder" in logs


def test_a_damaged_checkpoint_is_one_clear_error(tiny_text_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "damaged"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_text_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    (run / "checkpoints" / "best.weights.h5").write_bytes(b"not an h5 file")
    assert main(["text", "predict", "--run", str(run), "the dog saw the king"]) == 2
    _one_line_error(capsys, "unreadable")


def test_a_config_with_a_setting_outside_its_choices_is_one_clear_error(tiny_text_run,
                                                                         tmp_path, capsys):
    import shutil

    run = tmp_path / "edited"
    shutil.copytree(tiny_text_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    config = json.loads((run / "config.json").read_text())
    for name, value in (("tokenizer", "bpe"), ("pooling", "max"), ("precision", "float8")):
        (run / "config.json").write_text(json.dumps({**config, name: value}))
        assert main(["text", "predict", "--run", str(run), "the dog saw the king"]) == 2
        _one_line_error(capsys, f"{name} = {value!r} is not one of")


def test_the_image_export_refuses_nan_and_pixels_outside_0_1(tiny_vit_run, tmp_path, capsys):
    import tensorflow as tf

    assert main(["vit", "export", "--run", str(tiny_vit_run), "--out",
                 str(tmp_path / "export")]) == 0
    serve = tf.saved_model.load(capsys.readouterr().out.strip()).signatures["serving_default"]
    good = np.full([2, 8, 8, 1], 0.5, np.float32)
    assert serve(images=tf.constant(good))["probabilities"].shape == (2, 10)
    for value, message in [(np.nan, "NaN"), (3.0, r"\[0, 1\]"), (-1.0, r"\[0, 1\]")]:
        bad = good.copy()
        bad[1, 2, 3, 0] = value
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            serve(images=tf.constant(bad))


def test_bert_on_wordpiece_spells_unseen_words_and_exports(tmp_path, capsys):
    """``--tokenizer wordpiece``: BERT pretrains and fine-tunes on pieces, a word the data
    never had is read as pieces (not [UNK]), and the export (tensorflow-text's op in it)
    gives the same probabilities in a fresh process."""
    run = tmp_path / "bert"
    assert main(["bert", "train", "--preset", "tiny", "--tokenizer", "wordpiece", "--epochs",
                 "1", "--run", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["tokenizer"] == "wordpiece"
    tokens = json.loads((run / "vocabulary.json").read_text())
    assert "##s" in tokens and "dogs" not in tokens
    _, predictor = load_predictor(run)
    texts = ["the dogs chased the teacher", "the dog\tthe teacher", ""]
    read = predictor.vocabulary.words(predictor.vocabulary.encode(texts)).numpy()
    assert list(read[0][:4]) == [b"[CLS]", b"the", b"dog", b"##s"]
    assert b"[SEP]" in list(read[1]) and b"[UNK]" not in list(read[0])
    capsys.readouterr()
    assert main(["bert", "export", "--run", str(run)]) == 0
    saved = capsys.readouterr().out.strip()
    mine = predictor.outputs(predictor.vocabulary.encode(texts))["probabilities"].numpy()
    theirs = np.array(classify_in_fresh_process(saved, np.array(texts), tensorflow_text=True))
    np.testing.assert_allclose(theirs, mine, atol=1e-5)
