"""Positions: the sinusoidal encoding (one pure function) and the two layers that add
positions, to vectors (:class:`PositionEmbedding`) or to token ids' embeddings
(:class:`TokenAndPositionEmbedding`).

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

__all__ = ["POSITION_EMBEDDINGS", "PositionEmbedding", "TokenAndPositionEmbedding",
           "check_position_embedding", "positional_encoding"]

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
class PositionEmbedding(keras.layers.Layer):
    """Adds one vector a position to a sequence of vectors: what tells a Transformer where
    each token (or image patch) stands.

    ``position_embedding`` chooses the vectors: ``"sinusoidal"`` (the paper's and
    tutorial's fixed encoding, :func:`positional_encoding`: nothing to learn), ``"learned"``
    (a trained table, as BERT, GPT and ViT; rows past the longest training sequence are never
    trained) or ``"none"`` (nothing added: the layers above see a bag of vectors).

    Masking: position-wise; an incoming mask is passed on.

    Args:
        sequence_length: the most positions the table covers.
        position_embedding: ``"sinusoidal" | "learned" | "none"``.

    Call arguments:
        x: (batch, length, depth), ``start_index + length <= sequence_length``.
        start_index: the position of ``x``'s first vector (decoding one token at a time).

    Returns:
        (batch, length, depth).
    """

    def __init__(self, sequence_length: int, position_embedding: str = "sinusoidal",
                 **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.position_embedding = check_position_embedding(position_embedding)
        self.supports_masking = True

    def build(self, x_shape):
        depth = x_shape[-1]
        if self.position_embedding == "learned":
            self.table = self.add_weight(
                name="position_table", shape=(self.sequence_length, depth),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        elif self.position_embedding == "sinusoidal":
            with tf.init_scope():  # eager, even when first built inside a tf.function
                self.table = tf.constant(positional_encoding(self.sequence_length, depth))
        self.built = True

    def call(self, x, start_index=0):
        if self.position_embedding == "none":
            return x
        # tf.slice with the length as its size: under XLA the size is then a constant.
        positions = tf.slice(self.table, tf.stack([tf.cast(start_index, tf.int32), 0]),
                             tf.stack([tf.shape(x)[1], -1]))  # (length, depth)
        return x + tf.cast(positions[None], x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length,
                      position_embedding=self.position_embedding)
        return config


@keras.saving.register_keras_serializable(package="common")
class TokenAndPositionEmbedding(PositionEmbedding):
    """Token ids to vectors: the token embedding scaled by sqrt(hidden_dim), plus the
    positions of :class:`PositionEmbedding` (the sinusoidal encoding by default).

    Masking: none here. Token id 0 is padding, and the layers above compute their masks
    from the ids themselves; a Keras mask on the output would only follow the tensors down
    to the logits, where ``fit`` would read it as sample weights.

    Args:
        vocabulary_size: number of token ids.
        hidden_dim: embedding width (the tutorial's ``d_model``); even.
        sequence_length: longest sequence the position table covers.
        position_embedding: ``"sinusoidal" | "learned" | "none"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        token_ids: (batch, length) int.
        start_index: position of the first token (when decoding one token at a time).

    Returns:
        (batch, length, hidden_dim) float.

    Example:
        >>> layer = TokenAndPositionEmbedding(vocabulary_size=100, hidden_dim=16)
        >>> layer(tf.constant([[5, 7, 0]])).shape
        TensorShape([1, 3, 16])

    Reference: the TensorFlow "Neural machine translation with a Transformer" tutorial,
    section "The embedding and positional encoding layer"; Vaswani et al. 2017, 3.4 and 3.5.
    """

    def __init__(self, vocabulary_size: int, hidden_dim: int, sequence_length: int = 2048,
                 position_embedding: str = "sinusoidal", **kwargs):
        super().__init__(sequence_length, position_embedding, **kwargs)
        self.supports_masking = False
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, name="token_embedding")

    def build(self, token_ids_shape):
        self.token_embedding.build(token_ids_shape)
        super().build(tuple(token_ids_shape) + (self.hidden_dim,))

    def call(self, token_ids, start_index=0):
        x = self.token_embedding(token_ids)  # (batch, length, hidden_dim)
        x *= tf.math.sqrt(tf.cast(self.hidden_dim, x.dtype))
        return super().call(x, start_index)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, hidden_dim=self.hidden_dim)
        return config
