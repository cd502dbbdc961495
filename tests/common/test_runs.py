import json

import keras
import numpy as np
import tensorflow as tf

from common.run_folder import RunFolder, TrainState
from common.training import RecentWeights, keep_best_average


def _line_model(slope: float):
    """y = slope * x, no bias: its loss on y = 2x is known in closed form."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(loss="mse")
    model.set_weights([np.array([[slope]], "float32")])
    return model


def _data():
    x = np.linspace(-1, 1, 32, dtype="float32")[:, None]
    return tf.data.Dataset.from_tensor_slices((x, 2 * x)).batch(8)


def _epochs(model, recent, slopes):
    recent.set_model(model)
    for epoch, slope in enumerate(slopes):
        model.set_weights([np.array([[slope]], "float32")])
        recent.on_epoch_end(epoch)


def test_average_of_recent_epochs_becomes_best_only_if_it_beats_every_epoch(tmp_path):
    model = _line_model(0.0)
    recent = RecentWeights(3)
    _epochs(model, recent, [9.0, 1.0, 3.0, 1.5])  # 9.0 falls out of the window of 3
    np.testing.assert_allclose(recent.average(2)[0], [[2.25]])
    np.testing.assert_allclose(recent.average(3)[0], [[5.5 / 3]])
    state = TrainState(epoch=4, best_epoch=4,
                       best_val_loss=float(model.evaluate(_data(), verbose=0)))
    lines = []
    count = keep_best_average(model, recent, _data(), 4, RunFolder(tmp_path), state,
                              log=lines.append)
    assert count == 3 and len(lines) == 2  # (1 + 3 + 1.5) / 3 = 1.83 is nearest 2
    np.testing.assert_allclose(model.get_weights()[0], [[5.5 / 3]], rtol=1e-6)
    saved = json.loads((tmp_path / "checkpoints" / "state.json").read_text())
    assert saved["averaged_epochs"] == 3 and saved["best_val_loss"] < 0.1
    reloaded = _line_model(0.0)
    reloaded.load_weights(tmp_path / "checkpoints" / "best.weights.h5")
    np.testing.assert_allclose(reloaded.get_weights()[0], [[5.5 / 3]], rtol=1e-6)


def test_no_average_kept_when_an_epoch_is_better(tmp_path):
    model = _line_model(0.0)
    recent = RecentWeights(4)
    _epochs(model, recent, [3.0, 2.0])
    state = TrainState(epoch=2, best_epoch=2, best_val_loss=0.0)
    assert keep_best_average(model, recent, _data(), 4, RunFolder(tmp_path), state,
                             log=lambda _: None) is None
    np.testing.assert_allclose(model.get_weights()[0], [[2.0]])
    assert not (tmp_path / "checkpoints").exists() and state.averaged_epochs == 0
