"""Cross-attention for the RNN translator, with three ways to score a query against a key."""

from __future__ import annotations

import keras
import tensorflow as tf

from common.masks import large_negative

__all__ = ["SCORES", "CrossAttention"]

SCORES = ("dot", "general", "additive")


@keras.saving.register_keras_serializable(package="nmt_attention")
class CrossAttention(keras.layers.Layer):
    """Each decoder state (query) looks at every encoder state (key) and takes their mix.

    ``weights = softmax(score(query, keys))`` over source positions, and the result is
    ``context = weights @ values``. As in the lecture's RNN model, the keys and the values
    are the same vectors, the encoder's outputs; the queries come from the decoder.

    Scores, the ones learners compare:

    * ``"dot"``: the tutorial's scaled dot product, ``(W_q h_t) . (W_k h_s) / sqrt(units)``
      with learned projections (the tutorial's one-head ``MultiHeadAttention``).
    * ``"general"``: Luong et al.'s bilinear score ``h_t^T W_a h_s``.
    * ``"additive"``: Bahdanau et al.'s ``v^T tanh(W_1 h_t + W_2 h_s)``, the tutorial's
      older version.

    Masking: ``context_mask`` (batch, source_len), True at real tokens, sets padding scores to
    a large negative number before the softmax, so padding gets zero weight.

    Args:
        units: width of the projections (and of ``h_t``, ``h_s``).
        score: ``"dot"`` | ``"general"`` | ``"additive"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        query: (batch, target_len, units) decoder states.
        context: (batch, source_len, units) encoder states, keys and values.
        context_mask: optional (batch, source_len) bool.

    Returns:
        ``(context_vectors, weights)``: (batch, target_len, units) and
        (batch, target_len, source_len); each row of ``weights`` sums to 1.

    Example:
        >>> attention = CrossAttention(units=8, score="general")
        >>> out, weights = attention(tf.zeros([2, 3, 8]), tf.zeros([2, 5, 8]))
        >>> weights.shape
        TensorShape([2, 3, 5])

    Reference: TensorFlow tutorial "Neural machine translation with attention", "The
    attention layer"; Luong et al. 2015 (3.1); Bahdanau et al. 2015 (3.1).
    """

    def __init__(self, units: int, score: str = "dot", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, received score={score!r}")
        self.units = units
        self.score = score
        if score == "dot":
            self.query_dense = keras.layers.Dense(units, name="query")
            self.key_dense = keras.layers.Dense(units, name="key")
        elif score == "general":
            self.key_dense = keras.layers.Dense(units, use_bias=False, name="key")
        else:
            self.query_dense = keras.layers.Dense(units, use_bias=False, name="query")
            self.key_dense = keras.layers.Dense(units, name="key")
            self.score_dense = keras.layers.Dense(1, use_bias=False, name="score")

    def build(self, query_shape, context_shape=None, context_mask_shape=None):
        context_shape = context_shape or query_shape
        self.key_dense.build(context_shape)
        if self.score != "general":
            self.query_dense.build(query_shape)
        if self.score == "additive":
            self.score_dense.build(tuple(query_shape[:-1]) + (1, self.units))
        self.built = True

    def call(self, query, context, context_mask=None):
        keys = self.key_dense(context)  # (batch, source_len, units)
        if self.score == "dot":
            queries = self.query_dense(query)  # (batch, target_len, units)
            scores = tf.matmul(queries, keys, transpose_b=True)  # (batch, target, source)
            scores /= tf.math.sqrt(tf.cast(self.units, scores.dtype))
        elif self.score == "general":
            scores = tf.matmul(query, keys, transpose_b=True)  # (batch, target, source)
        else:
            queries = self.query_dense(query)  # (batch, target_len, units)
            hidden = tf.tanh(queries[:, :, None, :] + keys[:, None, :, :])  # (b, t, s, units)
            scores = tf.squeeze(self.score_dense(hidden), -1)  # (batch, target, source)
        if context_mask is not None:
            scores = tf.where(context_mask[:, None, :], scores,
                              tf.cast(large_negative(scores.dtype), scores.dtype))
        weights = tf.nn.softmax(scores, axis=-1)  # (batch, target_len, source_len)
        return tf.matmul(weights, context), weights

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, score=self.score)
        return config
