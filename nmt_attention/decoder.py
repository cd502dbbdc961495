"""The decoder: a GRU over the target so far, cross-attention to the source, next-token logits."""

from __future__ import annotations

import keras
import tensorflow as tf

from nmt_attention.cross_attention import CrossAttention

__all__ = ["COMBINES", "Decoder"]

COMBINES = ("add", "concat")


@keras.saving.register_keras_serializable(package="nmt_attention")
class Decoder(keras.layers.Layer):
    """Predicts each next target token from the tokens before it and the source.

    At step t the GRU state ``h_t`` (the query) attends to the encoder outputs, giving a
    context vector ``c_t``; the two are joined and a dense layer gives logits over the target
    vocabulary:

    * ``combine="add"``: ``LayerNorm(h_t + c_t)``, the tutorial's residual connection.
    * ``combine="concat"``: ``tanh(W_c [c_t; h_t])``, Luong's attentional state, the way
      the lecture notes put it (concatenate, then compute the output).

    With ``use_attention=False`` it is the seq2seq decoder the lecture starts from: no
    context vector, the logits come from ``h_t`` alone, and all the decoder knows of the
    source is the ``initial_state`` it is given (the encoder's final state). The weights it
    returns are then zeros: nothing is attended.

    Masking: target padding needs no mask here: the GRU runs left to right, so padding at the
    end cannot change an earlier position, and the loss ignores padding positions. The source
    padding is masked inside the attention through ``context_mask``.

    Args:
        vocabulary_size: number of target token ids.
        units: embedding width and GRU units.
        score: attention score, see ``CrossAttention``.
        combine: ``"add"`` | ``"concat"``.
        use_attention: ``False`` for the decoder without attention (see above).
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        target_ids: (batch, target_len) int, starting with ``[START]``.
        context: (batch, source_len, units) encoder outputs.
        context_mask: optional (batch, source_len) bool, True at real source tokens.
        initial_state: optional (batch, units) GRU state (zeros when omitted); used when
            decoding one token at a time, and, without attention, to pass the source.

    Returns:
        ``(logits, state, weights)``: (batch, target_len, vocabulary_size),
        (batch, units) the last GRU state, (batch, target_len, source_len) attention.

    Example:
        >>> decoder = Decoder(vocabulary_size=40, units=8)
        >>> logits, state, weights = decoder(tf.constant([[2, 7]]), tf.zeros([1, 5, 8]))
        >>> logits.shape, state.shape, weights.shape
        (TensorShape([1, 2, 40]), TensorShape([1, 8]), TensorShape([1, 2, 5]))

    Reference: TensorFlow tutorial "Neural machine translation with attention", "The
    decoder"; Luong et al. 2015, eq. 5.
    """

    def __init__(
        self,
        vocabulary_size: int,
        units: int,
        score: str = "dot",
        combine: str = "add",
        use_attention: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, received combine={combine!r}")
        self.vocabulary_size = vocabulary_size
        self.units = units
        self.score = score
        self.combine = combine
        self.use_attention = use_attention
        self.embedding = keras.layers.Embedding(vocabulary_size, units, name="embedding")
        self.rnn = keras.layers.GRU(
            units,
            return_sequences=True,
            return_state=True,
            recurrent_initializer="glorot_uniform",
            name="gru",
        )
        if use_attention:
            self.attention = CrossAttention(units, score=score, name="cross_attention")
            if combine == "add":
                self.join = keras.layers.LayerNormalization(name="layer_norm")
            else:
                self.join = keras.layers.Dense(units, activation="tanh", name="attentional")
        self.output_dense = keras.layers.Dense(vocabulary_size, dtype="float32", name="logits")

    def build(self, target_ids_shape, context_shape=None, context_mask_shape=None):
        batch, length = target_ids_shape[0], target_ids_shape[1]
        sequence_shape = (batch, length, self.units)
        self.embedding.build(target_ids_shape)
        self.rnn.build(sequence_shape)
        if self.use_attention:
            self.attention.build(sequence_shape, context_shape or sequence_shape)
            if self.combine == "add":
                self.join.build(sequence_shape)
            else:
                self.join.build((batch, length, 2 * self.units))
        self.output_dense.build(sequence_shape)
        self.built = True

    def call(self, target_ids, context, context_mask=None, initial_state=None, training=None):
        x = self.embedding(target_ids)  # (batch, target_len, units)
        x, state = self.rnn(x, initial_state=initial_state, training=training)
        if not self.use_attention:
            weights = tf.zeros([tf.shape(x)[0], tf.shape(x)[1], tf.shape(context)[1]])
            return self.output_dense(x), state, weights
        attended, weights = self.attention(x, context, context_mask=context_mask)
        if self.combine == "add":
            x = self.join(x + attended)  # (batch, target_len, units)
        else:
            x = self.join(tf.concat([attended, x], axis=-1))  # (batch, target_len, units)
        return self.output_dense(x), state, weights

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            units=self.units,
            score=self.score,
            combine=self.combine,
            use_attention=self.use_attention,
        )
        return config
