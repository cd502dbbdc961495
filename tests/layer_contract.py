"""One contract every custom layer meets: build, shapes, config and .keras round trips,
one training step. Tests call ``check_layer_contract`` instead of repeating these checks."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def check_layer_contract(make_layer, inputs, expected_shapes, tmp_path, atol=1e-5):
    """``make_layer()`` builds the layer; ``inputs`` are its positional call arguments."""
    layer = make_layer()
    outputs = _as_list(layer(*inputs))
    assert [tuple(o.shape) for o in outputs] == [tuple(s) for s in expected_shapes]

    # get_config / from_config: same config, and the same outputs with the same weights.
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(*inputs)
    clone.set_weights(layer.get_weights())
    for a, b in zip(outputs, _as_list(clone(*inputs)), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=atol)

    # .keras round trip inside a functional model.
    symbolic = [keras.Input(shape=x.shape[1:], dtype=x.dtype) for x in inputs]
    model = keras.Model(symbolic, layer(*symbolic))
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(_as_list(model(inputs)), _as_list(loaded(inputs)), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=atol)

    # One training step moves the weights.
    first = keras.Model(symbolic, _as_list(layer(*symbolic))[0])
    first.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.numpy().copy() for w in first.trainable_weights]
    target = tf.random.normal(outputs[0].shape)
    first.fit(list(inputs), target, epochs=1, batch_size=len(inputs[0]), verbose=0)
    after = [w.numpy() for w in first.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    return layer
