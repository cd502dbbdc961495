"""A resumed run carries on as an uninterrupted one would: its dropout masks too."""
import numpy as np

from common.run_folder import read_history
from transformer.config import Config as TransformerConfig
from transformer.train import train as train_transformer


def quiet(**kwargs):
    return dict(log=lambda _: None, verbose=0, **kwargs)


def test_a_resumed_run_draws_the_dropout_masks_an_uninterrupted_run_would(tmp_path):
    config = TransformerConfig.tiny().replace(epochs=2, patience=10, dropout=0.3)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train_transformer(config, whole, **quiet())
    train_transformer(config.replace(epochs=1), cut, **quiet())
    train_transformer(config, cut, resume=True, changes={"epochs": 2}, **quiet())
    columns = ["loss", "masked_accuracy", "val_loss"]
    expected = [[float(r[c]) for c in columns] for r in read_history(whole / "history.csv")]
    resumed = [[float(r[c]) for c in columns] for r in read_history(cut / "history.csv")]
    np.testing.assert_allclose(resumed, expected, rtol=1e-5)
