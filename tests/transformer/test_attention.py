import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_contract import check_layer_contract
from transformer.attention import (
    CausalSelfAttention,
    CrossAttention,
    GlobalSelfAttention,
    MultiHeadAttention,
    scaled_dot_product_attention,
)


def test_scaled_dot_product_attention_is_the_formula():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=s).astype("float32") for s in [(2, 3, 4), (2, 5, 4), (2, 5, 6)])
    mask = np.ones((2, 3, 5), bool)
    mask[1, :, 3:] = False
    out, weights = scaled_dot_product_attention(q, k, v, tf.constant(mask))
    scores = q @ k.transpose(0, 2, 1) / 2.0  # sqrt(d_k) = 2
    scores = np.where(mask, scores, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(weights.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), expected @ v, atol=1e-5)


@pytest.mark.parametrize("use_mask", [False, True])
def test_own_multi_head_attention_equals_keras_with_the_same_weights(use_mask):
    rng = np.random.default_rng(1)
    query = tf.constant(rng.normal(size=(2, 4, 16)), tf.float32)
    value = tf.constant(rng.normal(size=(2, 6, 16)), tf.float32)
    mask = tf.constant(rng.random((2, 4, 6)) > 0.3) if use_mask else None
    theirs = keras.layers.MultiHeadAttention(num_heads=4, key_dim=4)
    their_out, their_scores = theirs(query, value, attention_mask=mask,
                                     return_attention_scores=True)
    ours = MultiHeadAttention(num_heads=4, key_dim=4)
    ours(query, value)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    out, scores = ours(query, value, attention_mask=mask, return_attention_scores=True)
    assert scores.shape == (2, 4, 4, 6)
    np.testing.assert_allclose(out.numpy(), their_out.numpy(), atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), their_scores.numpy(), atol=1e-6)


def test_cached_attention_equals_attention_over_the_whole_prefix():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(2, 5, 8)), tf.float32)
    layer = CausalSelfAttention(hidden_dim=8, num_heads=2)
    full = layer(x).numpy()
    cache = (tf.zeros([2, 2, 7, 4]), tf.zeros([2, 2, 7, 4]))  # (keys, values)
    for t in range(5):
        out, cache = layer.step(x[:, t : t + 1], cache, t)
        np.testing.assert_allclose(out.numpy()[:, 0], full[:, t], atol=1e-5)


def test_causal_attention_never_looks_ahead():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 6, 8)).astype("float32")
    changed = x.copy()
    changed[:, 4:] = rng.normal(size=(1, 2, 8))
    layer = CausalSelfAttention(hidden_dim=8, num_heads=2)
    a, scores = layer(tf.constant(x), return_attention_scores=True)
    b = layer(tf.constant(changed))
    np.testing.assert_allclose(a.numpy()[:, :4], b.numpy()[:, :4], atol=1e-6)
    assert np.all(np.triu(scores.numpy()[0, 0], k=1) == 0)


def test_padding_keys_get_no_weight():
    x = tf.random.normal([2, 5, 8])
    padding = tf.constant([[True] * 5, [True, True, True, False, False]])
    layer = GlobalSelfAttention(8, 2)
    out, scores = layer(x, padding_mask=padding, return_attention_scores=True)
    np.testing.assert_allclose(scores.numpy()[1, :, :, 3:], 0.0, atol=1e-7)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0, atol=1e-6)  # over the real keys
    # The padded positions are not read: other values there change no real position.
    noisy = tf.concat([x[:, :3], x[:, 3:] + tf.random.normal([2, 2, 8])], axis=1)
    again = layer(noisy, padding_mask=padding)
    np.testing.assert_allclose(again.numpy()[1, :3], out.numpy()[1, :3], atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_attention_blocks_contracts(norm_first, tmp_path):
    x, context = tf.random.normal([2, 4, 8]), tf.random.normal([2, 6, 8])
    check_layer_contract(lambda: GlobalSelfAttention(8, 2, norm_first=norm_first), (x,),
                         [(2, 4, 8)], tmp_path)
    check_layer_contract(lambda: CausalSelfAttention(8, 2, norm_first=norm_first), (x,),
                         [(2, 4, 8)], tmp_path)
    check_layer_contract(lambda: CrossAttention(8, 2, norm_first=norm_first), (x, context),
                         [(2, 4, 8)], tmp_path)


def test_cross_attention_takes_queries_from_the_decoder():
    x, context = tf.random.normal([1, 3, 8]), tf.random.normal([1, 7, 8])
    layer = CrossAttention(8, 2)
    out, scores = layer(x, context, return_attention_scores=True)
    assert out.shape == (1, 3, 8)  # one output per decoder position (query)
    assert scores.shape == (1, 2, 3, 7)  # (batch, heads, queries, keys from the encoder)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0, atol=1e-6)
    # What it reads is the encoder's: another context, another output.
    assert not np.allclose(out, layer(x, tf.random.normal([1, 7, 8])), atol=1e-3)


def test_heads_must_split_the_width():
    with pytest.raises(ValueError, match="hidden_dim=10, num_heads=4"):
        GlobalSelfAttention(10, 4)
