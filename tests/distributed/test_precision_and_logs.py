"""Mixed precision trains the tiny translators; exports stay float32; TensorBoard logs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.run_folder import history_columns, read_history


def _train(package, run_dir, precision):
    """The tiny preset trained in ``precision`` (2 epochs): its translator, loaded as a
    user would (float32), and its export, loaded."""
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
    translator = load_translator(run_dir)
    return translator, tf.saved_model.load(str(export(translator, run_dir / "export")))


def _losses(run_dir) -> dict[str, list[float]]:
    return history_columns(read_history(run_dir / "history.csv"))


def _as_float32_did(mixed: dict, float32: dict, columns, bound: float, drop: float) -> None:
    """The same seed, data and steps in float32 (the suite's shared tiny run, trained
    longer): bfloat16's rounding moves each epoch's loss by about 1e-3, while the epoch
    itself lowers it by ``drop`` or more, so a mixed run that learned nothing, or learned
    wrong, is off by far more than ``bound``. Nor is it float32 itself: its rounding shows."""
    for column in columns:
        assert len(mixed[column]) == 2, column
        assert float32[column][1] < float32[column][0] - drop, (column, float32[column])
        np.testing.assert_allclose(mixed[column], float32[column][:2], atol=bound,
                                   err_msg=column)
    assert any(mixed[c] != float32[c][:2] for c in columns), (mixed, float32)


@pytest.mark.slow
@pytest.mark.parametrize("package", ["nmt_attention", "transformer"])
def test_mixed_bfloat16_trains_as_float32_does_and_exports_float32(tmp_path, package,
                                                                    request):
    float32_run = request.getfixturevalue(
        "tiny_run" if package == "nmt_attention" else "tiny_transformer_run")
    translator, saved = _train(package, tmp_path / "run", "mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"  # the policy was put back
    _as_float32_did(_losses(tmp_path / "run"), _losses(float32_run), ("loss", "val_loss"),
                    bound=0.02, drop=0.1)
    texts = ["¿Quién compró el libro?", "Ella come pan.", ""]
    result = saved.translate_with_attention(tf.constant(texts))
    assert result["attention"].dtype == tf.float32
    # The export is the float32 model: its translations are the Python translator's, and
    # each step's attention over the source is a distribution.
    assert [t.decode() for t in result["translation"].numpy()] == translator.translate(texts)
    weights = result["attention"].numpy()
    steps = (result["output_tokens"].numpy()[:2] != b"").sum(axis=-1)
    for row, count in enumerate(steps):
        np.testing.assert_allclose(weights[row][..., :count, :].sum(axis=-1), 1.0, atol=1e-5)


def _tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [e.step for e in events.Tensors(tag)] for tag in events.Tags()["tensors"]}


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
def test_mixed_bfloat16_text_classifier_trains_as_float32_does(tmp_path, tiny_text_run):
    from classify.config import TextConfig
    from classify.export import export
    from classify.runs import load_predictor
    from classify.train import train

    run_dir = tmp_path / "run"
    train(TextConfig.tiny().replace(precision="mixed_bfloat16"), run_dir,
          log=lambda _: None, verbose=0)
    # Its first epoch's loss ends near 1.08, its second's near 0.69: a bound of 0.01.
    _as_float32_did(_losses(run_dir), _losses(tiny_text_run), ("loss",), bound=0.01,
                    drop=0.1)
    predictor = load_predictor(run_dir)[1]
    saved = tf.saved_model.load(str(export(predictor, tmp_path / "export")))
    texts = ["the dog chased the cat", "the cat chased the dog"]
    result = saved.serve(tf.constant(texts))
    assert result["probabilities"].dtype == tf.float32
    assert result["probabilities"].numpy().sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    np.testing.assert_allclose(result["probabilities"].numpy().max(axis=1),
                               [p for _, p in predictor.predict(texts)], atol=1e-6)
