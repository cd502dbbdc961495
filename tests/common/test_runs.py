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


def test_attention_images_keep_to_their_share_of_the_time(tmp_path):
    """An image slower to draw than an epoch, in a run of more epochs than images: the first
    and the last epoch are drawn, and so few between that drawing stays near its share of
    the time (a quarter here). A run of no more epochs than images draws each."""
    import time

    import matplotlib.pyplot as plt

    from common.training import AttentionImages

    def drawer(_twin):
        def draw():
            time.sleep(0.2)
            return plt.figure(figsize=(1, 1))
        return draw

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    drawn = []
    images = AttentionImages(tmp_path, lambda: keras.models.clone_model(model), drawer,
                             most=10, share=0.25)
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: drawn.append(
        images._drawing))
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=20, verbose=0,
              callbacks=[images, record])
    epochs_drawn = [epoch for epoch, (before, after) in enumerate(
        zip([0.0, *drawn], drawn, strict=False)) if after > before]
    assert epochs_drawn[0] == 0 and epochs_drawn[-1] == 19, epochs_drawn
    assert len(epochs_drawn) <= 6, epochs_drawn  # 10 (every other) without the share
    drawn.clear()
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0,
              callbacks=[images, record])
    assert drawn[0] < drawn[1] < drawn[2]  # 3 epochs, 3 images
