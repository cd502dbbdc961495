import math

import numpy as np
import pytest
import tensorflow as tf

from common.positional_encoding import PositionalEmbedding, positional_encoding
from tests.layer_contract import check_layer_contract


def test_known_values_sin_half_then_cos_half():
    encoding = positional_encoding(length=3, depth=4)
    # Column i < 2: sin(pos / 10000**(i/2)); column 2 + i: cos of the same angle.
    expected_row_1 = [math.sin(1), math.sin(1 / 100), math.cos(1), math.cos(1 / 100)]
    np.testing.assert_allclose(encoding[0], [0, 0, 1, 1], atol=1e-7)
    np.testing.assert_allclose(encoding[1], expected_row_1, atol=1e-6)
    np.testing.assert_allclose(encoding[2, 0], math.sin(2), atol=1e-6)
    assert encoding.dtype == np.float32 and encoding.shape == (3, 4)


def test_nearby_positions_are_more_alike_than_distant_ones():
    encoding = positional_encoding(64, 32)
    similarity = encoding @ encoding.T
    assert similarity[10, 11] > similarity[10, 30] > 0 or similarity[10, 11] > similarity[10, 50]


def test_odd_depth_is_refused():
    with pytest.raises(ValueError, match="depth=5"):
        positional_encoding(4, 5)


def test_embedding_is_scaled_tokens_plus_encoding(tmp_path):
    ids = tf.constant([[4, 7, 0], [1, 2, 3]])
    layer = check_layer_contract(
        lambda: PositionalEmbedding(vocabulary_size=10, hidden_dim=8, max_length=16),
        (ids,), [(2, 3, 8)], tmp_path,
    )
    tokens = layer.token_embedding(ids).numpy()
    expected = tokens * math.sqrt(8) + positional_encoding(3, 8)[None]
    np.testing.assert_allclose(layer(ids).numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(layer.compute_mask(ids).numpy(), ids.numpy() != 0)
