import math

import numpy as np
import pytest
import tensorflow as tf

from common.positional_encoding import (
    PositionEmbedding,
    TokenAndPositionEmbedding,
    positional_encoding,
)
from tests.layer_contract import check_layer_contract


def test_known_values_sin_half_then_cos_half():
    encoding = positional_encoding(length=3, depth=4)
    # Column i < 2: sin(pos / 10000**(i/2)); column 2 + i: cos of the same angle.
    expected_row_1 = [math.sin(1), math.sin(1 / 100), math.cos(1), math.cos(1 / 100)]
    np.testing.assert_allclose(encoding[0], [0, 0, 1, 1], atol=1e-7)
    np.testing.assert_allclose(encoding[1], expected_row_1, atol=1e-6)
    np.testing.assert_allclose(encoding[2, 0], math.sin(2), atol=1e-6)
    assert encoding.dtype == np.float32 and encoding.shape == (3, 4)


def test_similarity_is_a_function_of_the_distance_alone():
    # Each (sin, cos) pair of frequency w gives sin(wi) sin(wj) + cos(wi) cos(wj) = cos(w(i-j)):
    # the dot product of two positions is sum_k cos(w_k (i - j)), wherever they are.
    depth = 32
    encoding = positional_encoding(200, depth)
    frequencies = 1 / 10000 ** (np.arange(depth // 2) / (depth // 2))
    rng = np.random.default_rng(0)
    for i, j in rng.integers(0, 200, size=(50, 2)):
        expected = np.cos(frequencies * (i - j)).sum()
        assert encoding[i] @ encoding[j] == pytest.approx(expected, abs=1e-4)
    assert encoding[3] @ encoding[10] == pytest.approx(encoding[150] @ encoding[157], abs=1e-4)


def test_at_the_tutorials_size_similarity_falls_with_distance():
    encoding = positional_encoding(2048, 512)  # the published tutorial's plot
    unit = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    by_distance = [float(unit[100] @ unit[100 + d]) for d in (0, 1, 2, 4, 8, 16, 32, 64,
                                                              128, 256, 512, 1024)]
    assert by_distance[0] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(by_distance, by_distance[1:], strict=False))
    assert by_distance[1] > 0.95 and by_distance[-1] < 0.25


def test_odd_depth_is_refused():
    with pytest.raises(ValueError, match="depth=5"):
        positional_encoding(4, 5)


def test_embedding_is_scaled_tokens_plus_encoding(tmp_path):
    ids = tf.constant([[4, 7, 0], [1, 2, 3]])
    layer = check_layer_contract(
        lambda: TokenAndPositionEmbedding(vocabulary_size=10, hidden_dim=8, sequence_length=16),
        (ids,), [(2, 3, 8)], tmp_path,
    )
    tokens = layer.token_embedding(ids).numpy()
    expected = tokens * math.sqrt(8) + positional_encoding(3, 8)[None]
    np.testing.assert_allclose(layer(ids).numpy(), expected, atol=1e-5)
    # No Keras mask: the layers above mask padding from the ids; a mask carried down to the
    # logits would become sample weights in fit (under tf.distribute, a loss divided by the
    # replicas).
    assert getattr(layer(ids), "_keras_mask", None) is None


def test_learned_positions_are_a_trained_table_and_none_adds_nothing(tmp_path):
    ids = tf.constant([[4, 7, 0], [1, 2, 3]])
    learned = check_layer_contract(
        lambda: TokenAndPositionEmbedding(10, 8, sequence_length=16, position_embedding="learned"),
        (ids,), [(2, 3, 8)], tmp_path,
    )
    assert learned.table.trainable and tuple(learned.table.shape) == (16, 8)
    tokens = learned.token_embedding(ids).numpy() * math.sqrt(8)
    np.testing.assert_allclose(learned(ids).numpy(),
                               tokens + learned.table.numpy()[None, :3], atol=1e-5)
    np.testing.assert_allclose(learned(ids[:, 2:], start_index=2).numpy(),
                               tokens[:, 2:] + learned.table.numpy()[None, 2:3], atol=1e-5)
    bag = TokenAndPositionEmbedding(10, 8, position_embedding="none")
    reversed_ids = ids[:, ::-1]
    np.testing.assert_allclose(bag(ids).numpy()[:, ::-1], bag(reversed_ids).numpy(), atol=1e-6)
    assert not bag.trainable_weights[1:]
    with pytest.raises(ValueError, match="'rotary'"):
        TokenAndPositionEmbedding(10, 8, position_embedding="rotary")


@pytest.mark.parametrize("kind", ["sinusoidal", "learned", "none"])
def test_position_embedding_adds_its_table_from_the_start_index(kind, tmp_path):
    x = tf.random.normal([2, 6, 8], seed=1)
    if kind == "learned":  # the others have no weights to train
        check_layer_contract(lambda: PositionEmbedding(10, kind), [x], [(2, 6, 8)], tmp_path)
    assert PositionEmbedding.from_config(PositionEmbedding(10, kind).get_config()) \
        .position_embedding == kind
    layer = PositionEmbedding(10, kind)
    layer(x)
    table = (np.zeros([10, 8]) if kind == "none" else np.asarray(layer.table))
    if kind == "sinusoidal":
        np.testing.assert_allclose(table, positional_encoding(10, 8))
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() + table[None, :6], atol=1e-6)
    np.testing.assert_allclose(layer(x[:, :2], start_index=3).numpy(),
                               x.numpy()[:, :2] + table[None, 3:5], atol=1e-6)


def test_a_position_table_built_inside_a_graph_serves_eager_calls_after():
    layer = PositionEmbedding(10)
    x = tf.zeros([1, 3, 4])
    traced = tf.function(lambda x: layer(x))(x)  # built while tracing
    np.testing.assert_allclose(layer(x).numpy(), traced.numpy())
