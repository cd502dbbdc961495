"""The encoder: token embedding and a bidirectional GRU whose two directions are summed."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["Encoder"]


@keras.saving.register_keras_serializable(package="nmt_attention")
class Encoder(keras.layers.Layer):
    """Reads source token ids into one vector per token: the keys and values of attention.

    Each output is the sum of a forward GRU (what came before the token) and a backward GRU
    (what comes after), so every vector describes its token in the context of the whole
    sentence. A plain seq2seq model keeps only the final state; attention keeps them all.

    Masking: id 0 is padding. The embedding's mask is passed to the GRUs, so padding never
    enters a state (the backward GRU would otherwise start from the padding).

    Args:
        vocabulary_size: number of source token ids.
        units: embedding width and GRU units (the tutorial's ``units``).
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        source_ids: (batch, source_len) int.
        return_state: also return the sentence in one vector, the sum of the forward GRU's
            state after the last token and the backward GRU's after the first: all that a
            seq2seq model without attention passes to its decoder.

    Returns:
        (batch, source_len, units) float, padding positions zeros; with ``return_state``,
        ``(outputs, state)`` with state (batch, units).

    Example:
        >>> encoder = Encoder(vocabulary_size=50, units=8)
        >>> encoder(tf.constant([[2, 9, 3, 0]])).shape
        TensorShape([1, 4, 8])

    Reference: TensorFlow tutorial "Neural machine translation with attention", "The
    encoder".
    """

    def __init__(self, vocabulary_size: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.units = units
        self.supports_masking = True
        self.embedding = keras.layers.Embedding(
            vocabulary_size, units, mask_zero=True, name="embedding"
        )
        self.rnn = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True, return_state=True,
                             recurrent_initializer="glorot_uniform"),
            merge_mode="sum",
            name="bidirectional_gru",
        )

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.rnn.build(tuple(input_shape) + (self.units,))
        self.built = True

    def call(self, source_ids, training=None, return_state=False):
        mask = tf.not_equal(source_ids, 0)  # (batch, source_len)
        x = self.embedding(source_ids)  # (batch, source_len, units)
        x, forward, backward = self.rnn(x, mask=mask, training=training)
        x = x * tf.cast(mask, x.dtype)[..., None]  # (batch, source_len, units)
        if return_state:
            return x, forward + backward  # (batch, units): each direction's final state
        return x

    def compute_mask(self, source_ids, mask=None):
        return keras.ops.not_equal(source_ids, 0)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, units=self.units)
        return config
