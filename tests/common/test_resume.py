"""A resumed run carries on as an uninterrupted one would: its dropout masks too."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from common.config import RunConfig
from common.run_folder import read_history
from common.training import TrainingPlan, train_run


@dataclasses.dataclass(frozen=True)
class _Config(RunConfig):
    batch_size: int = 16
    epochs: int = 3
    patience: int = 10
    precision: str = "float32"
    jit_compile: bool = False
    seed: int = 0


def _prepare(context):
    """A dense network with heavy dropout on a fixed regression task."""
    features = np.random.default_rng(0).normal(size=(512, 8)).astype("float32")
    targets = features.sum(axis=1, keepdims=True)
    data = tf.data.Dataset.from_tensor_slices((features, targets))
    train_ds = data.shuffle(512, seed=1).repeat().batch(16)

    def build():
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                                 keras.layers.Dropout(0.5), keras.layers.Dense(1)])

    def compile_model(model):
        model.compile(keras.optimizers.Adam(1e-2), "mse")

    plan = TrainingPlan(build=build, compile=compile_model, train_ds=train_ds,
                   val_ds=data.batch(64), steps_per_epoch=8, validation_steps=None,
                   title="dropout", plotted=("loss",))
    return plan, None


def _losses(run):
    return [[float(r["loss"]), float(r["val_loss"])] for r in read_history(run / "history.csv")]


def test_a_resumed_run_draws_the_dropout_masks_an_uninterrupted_run_would(tmp_path):
    quiet = dict(log=lambda _: None, verbose=0)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train_run(_Config(), whole, _prepare, **quiet)
    train_run(_Config(epochs=1), cut, _prepare, **quiet)
    train_run(_Config(), cut, _prepare, resume=True, changes={"epochs": 3}, **quiet)
    np.testing.assert_allclose(_losses(cut), _losses(whole), rtol=1e-5)
