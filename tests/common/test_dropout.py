import keras
import numpy as np
import pytest
import tensorflow as tf

import common.dropout
from common.dropout import Dropout, hash_bits
from common.masks import masked_loss
from common.xla import compiling_for_xla, for_xla, xla_function
from transformer import Config, build_model


def _words(seed, n=1 << 16):
    return hash_bits([n], tf.constant(seed, tf.int64)).numpy().astype(np.uint64)


def test_hash_bits_are_uniform_in_every_bit_and_a_function_of_the_seed():
    words = _words([7, 11])
    np.testing.assert_array_equal(words, _words([7, 11]))
    n = len(words)
    for bit in range(32):  # each bit is 1 half the time: 5 standard deviations
        ones = int(((words >> bit) & 1).sum())
        assert abs(ones - n / 2) < 5 * np.sqrt(n / 4), (bit, ones)
    # Another seed (either half) gives other words, not the same ones in another order (a
    # key added to or xor-ed with the index alone would): two sets of 2**16 random 32-bit
    # words share about one.
    for other in ([8, 11], [7, 12]):
        assert len(np.intersect1d(words, _words(other))) < 10


def test_dropout_traced_for_xla_keeps_each_entry_with_probability_one_minus_rate():
    layer = Dropout(0.3, seed=5)
    x = tf.ones([400, 250])

    @xla_function
    def drop(x):
        assert for_xla()
        return layer(x, training=True)

    first, second = drop(x).numpy(), drop(x).numpy()
    assert set(np.unique(first)) == {0.0, np.float32(1 / 0.7)}
    n = first.size
    dropped = (first == 0).sum()
    assert abs(dropped - 0.3 * n) < 5 * np.sqrt(0.3 * 0.7 * n), dropped
    assert (first != second).mean() > 0.3  # a new mask each call
    assert not for_xla()


def test_dropout_outside_xla_is_keras_dropout():
    x = tf.random.normal([8, 16])
    np.testing.assert_array_equal(Dropout(0.4, seed=3)(x, training=True).numpy(),
                                  keras.layers.Dropout(0.4, seed=3)(x, training=True).numpy())
    with compiling_for_xla():
        np.testing.assert_array_equal(Dropout(0.4)(x, training=False).numpy(), x.numpy())


@pytest.mark.parametrize("jit", [False, True])
def test_a_transformer_compiled_for_xla_draws_its_dropout_by_hash(jit, monkeypatch):
    calls = []
    original = common.dropout.hash_bits
    monkeypatch.setattr(common.dropout, "hash_bits",
                        lambda *args: calls.append(1) or original(*args))
    model = build_model(Config.tiny().replace(dropout=0.2), 20, 15)
    model.compile(optimizer="adam", loss=masked_loss, jit_compile=jit)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 15, size=(4, 7))
    loss = model.fit((ids, ids), ids, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
    # Every dropout of the model (encoder 1 + 2 layers x 3, decoder 1 + 2 layers x 5), as many
    # times as Keras traces the step; none without XLA.
    if jit:
        assert len(calls) > 0 and len(calls) % 18 == 0, len(calls)
    else:
        assert calls == []


def test_a_model_called_inside_an_xla_trace_draws_by_hash_though_not_compiled(monkeypatch):
    calls = []
    original = common.dropout.hash_bits
    monkeypatch.setattr(common.dropout, "hash_bits",
                        lambda *args: calls.append(1) or original(*args))
    model = build_model(Config.tiny().replace(dropout=0.2), 20, 15)
    ids = tf.constant(np.random.default_rng(0).integers(1, 15, size=(4, 7)))
    logits = xla_function(lambda ids: model((ids, ids), training=True))(ids)
    assert np.isfinite(logits.numpy()).all()
    assert len(calls) == 18


@pytest.mark.parametrize("kind", ["text", "bert", "vit"])
def test_every_model_compiled_with_xla_draws_its_dropout_for_xla(kind, monkeypatch):
    """Not only the Transformer: a classifier compiled with ``jit_compile=True`` traces its
    step for XLA too, so its dropout draws with hash_bits (and without XLA, never)."""
    from classify.config import preset
    from classify.model import build_model as build_classifier

    config = preset(kind, "tiny").replace(dropout=0.5)
    shape = (8, 8, 1) if kind == "vit" else None
    drawn = []
    real = common.dropout.hash_bits
    monkeypatch.setattr(common.dropout, "hash_bits",
                        lambda *args: drawn.append(1) or real(*args))
    if kind == "vit":
        x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    else:
        x = np.random.default_rng(0).integers(1, 40, (4, config.sequence_length))
    for jit_compile in (False, True):
        drawn.clear()
        model = build_classifier(config, 2, 50, shape)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True), jit_compile=jit_compile)
        model.train_on_batch(x, np.array([0, 1, 0, 1]))
        assert bool(drawn) == jit_compile, (kind, jit_compile)
