"""Mixed precision trains the tiny translators; exports stay float32; TensorBoard logs."""

import math

import keras
import pytest
import tensorflow as tf

from common.run_folder import history_columns, read_history


def _train(package, run_dir, precision):
    if package == "nmt_attention":
        from nmt_attention.config import Config
        from nmt_attention.export import export
        from nmt_attention.runs import load_translator
        from nmt_attention.train import train
    else:
        from transformer.config import Config
        from transformer.export import export
        from transformer.runs import load_translator
        from transformer.train import train
    config = Config.tiny().replace(precision=precision)
    train(config, run_dir, log=lambda _: None, verbose=0)
    return export(load_translator(run_dir), run_dir / "export")


def _tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [e.step for e in events.Tensors(tag)] for tag in events.Tags()["tensors"]}


@pytest.mark.slow
@pytest.mark.parametrize("package", ["nmt_attention", "transformer"])
def test_mixed_bfloat16_trains_and_exports_float32(tmp_path, package):
    saved = tf.saved_model.load(str(_train(package, tmp_path / "run", "mixed_bfloat16")))
    assert keras.config.dtype_policy().name == "float32"  # the policy was put back
    history = history_columns(read_history(tmp_path / "run" / "history.csv"))
    assert len(history["loss"]) == 2
    assert all(math.isfinite(v) for v in history["loss"] + history["val_loss"])
    result = saved.translate_with_attention(tf.constant(["¿Quién compró el libro?", ""]))
    assert result["translation"].dtype == tf.string
    assert result["attention"].dtype == tf.float32
    assert bool(tf.reduce_all(tf.math.is_finite(result["attention"])))


@pytest.mark.slow
def test_tensorboard_logs_scalars_learning_rate_and_attention(tiny_transformer_run):
    """The logs of the shared tiny run (float32, trained once a test run): one point an
    epoch of each scalar, and an attention image each epoch."""
    epochs = list(range(len(read_history(tiny_transformer_run / "history.csv"))))
    assert len(epochs) == 3  # the fixture's epochs
    logs = tiny_transformer_run / "logs"
    train_tags = _tags(logs / "train")
    assert train_tags["epoch_loss"] == epochs
    assert train_tags["epoch_learning_rate"] == epochs
    assert "epoch_masked_accuracy" in train_tags
    assert _tags(logs / "validation")["epoch_loss"] == epochs
    assert _tags(logs / "attention")["attention"] == epochs


@pytest.mark.slow
def test_mixed_bfloat16_text_classifier_exports_float32_probabilities(tmp_path):
    from classify.config import TextConfig
    from classify.export import export
    from classify.runs import load_predictor
    from classify.train import train

    run_dir = tmp_path / "run"
    train(TextConfig.tiny().replace(precision="mixed_bfloat16"), run_dir,
          log=lambda _: None, verbose=0)
    history = history_columns(read_history(run_dir / "history.csv"))
    assert all(math.isfinite(v) for v in history["loss"] + history["val_loss"])
    saved = tf.saved_model.load(str(export(load_predictor(run_dir)[1], tmp_path / "export")))
    result = saved.serve(tf.constant(["the dog chased the cat", "the cat chased the dog"]))
    assert result["probabilities"].dtype == tf.float32
    assert result["probabilities"].numpy().sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
