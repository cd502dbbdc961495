"""Sinusoidal positional encoding: one pure function and one embedding layer.

A Transformer's attention is blind to order (permute the inputs and the outputs permute the
same way), so each position's vector gets a fixed pattern of sines and cosines added. Close
positions get similar patterns; far-apart ones nearly unrelated (see
``common.plotting.positional_encoding_figure``).

Layout, as in the TensorFlow tutorial (not interleaved as in the paper's formula): for a
``depth`` of ``d``, column ``i < d/2`` holds ``sin(pos / 10000**(2i/d))`` and column
``d/2 + i`` holds ``cos(pos / 10000**(2i/d))``. Both layouts carry the same information.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["POSITION_EMBEDDINGS", "PositionalEmbedding", "check_position_embedding",
           "positional_encoding"]

POSITION_EMBEDDINGS = ("sinusoidal", "learned", "none")


def check_position_embedding(value: str) -> str:
    """``value`` if it is one of ``POSITION_EMBEDDINGS``, else a ValueError showing it."""
    if value not in POSITION_EMBEDDINGS:
        raise ValueError(
            f"position_embedding must be one of {POSITION_EMBEDDINGS}, received {value!r}"
        )
    return value


def positional_encoding(length: int, depth: int) -> np.ndarray:
    """Returns the (length, depth) float32 encoding; depth must be even."""
    if depth % 2:
        raise ValueError(f"depth must be even, received depth={depth}")
    positions = np.arange(length, dtype=np.float64)[:, None]  # (length, 1)
    rates = 1.0 / 10000.0 ** (np.arange(depth // 2) / (depth // 2))  # (depth/2,)
    angles = positions * rates[None, :]  # (length, depth/2)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1).astype(np.float32)


@keras.saving.register_keras_serializable(package="common")
class PositionalEmbedding(keras.layers.Layer):
    """Token embedding scaled by sqrt(hidden_dim) plus the sinusoidal positional encoding.

    ``position_embedding`` chooses what marks the positions: ``"sinusoidal"`` (the paper's
    and tutorial's fixed encoding), ``"learned"`` (a trained table, as BERT and GPT; its rows
    past the longest training sentence are never trained) or ``"none"`` (no positions: the
    model above sees a bag of tokens).

    Masking: none here. Token id 0 is padding, and the layers above compute their masks
    from the ids themselves; a Keras mask on the output would only follow the tensors down
    to the logits, where ``fit`` would read it as sample weights.

    Args:
        vocabulary_size: number of token ids.
        hidden_dim: embedding width (the tutorial's ``d_model``); even.
        max_length: longest sequence the encoding table covers.
        position_embedding: ``"sinusoidal" | "learned" | "none"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        token_ids: (batch, length) int.
        start_index: position of the first token (when decoding one token at a time).

    Returns:
        (batch, length, hidden_dim) float.

    Example:
        >>> layer = PositionalEmbedding(vocabulary_size=100, hidden_dim=16)
        >>> layer(tf.constant([[5, 7, 0]])).shape
        TensorShape([1, 3, 16])

    Reference: the TensorFlow "Neural machine translation with a Transformer" tutorial,
    section "The embedding and positional encoding layer"; Vaswani et al. 2017, 3.5.
    """

    def __init__(self, vocabulary_size: int, hidden_dim: int, max_length: int = 2048,
                 position_embedding: str = "sinusoidal", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_length = max_length
        self.position_embedding = check_position_embedding(position_embedding)
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, name="token_embedding"
        )
        if position_embedding == "sinusoidal":
            self.encoding = tf.constant(positional_encoding(max_length, hidden_dim))

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        if self.position_embedding == "learned":
            self.encoding = self.add_weight(
                name="position_table", shape=(self.max_length, self.hidden_dim),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        self.built = True

    def call(self, token_ids, start_index=0):
        length = tf.shape(token_ids)[1]
        x = self.token_embedding(token_ids)  # (batch, length, hidden_dim)
        x *= tf.math.sqrt(tf.cast(self.hidden_dim, x.dtype))
        if self.position_embedding == "none":
            return x
        # tf.slice with the length as its size: under XLA the size is then a constant.
        positions = tf.slice(self.encoding, tf.stack([tf.cast(start_index, tf.int32), 0]),
                             tf.stack([length, -1]))  # (length, hidden_dim)
        return x + tf.cast(positions[None], x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            hidden_dim=self.hidden_dim,
            max_length=self.max_length,
            position_embedding=self.position_embedding,
        )
        return config
