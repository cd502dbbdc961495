"""The trainable model: encoder, decoder and the decoding loops, on token ids only (no text:
that is :class:`nmt_attention.translator.Translator`)."""

from __future__ import annotations

import keras
import tensorflow as tf

from common.decoding import (
    GREEDY,
    Sampling,
    banned_logits,
    beam_search_loop,
    decoding_loop,
)
from common.xla import traced_for_xla
from nmt_attention.config import Config
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder

__all__ = ["Seq2SeqModel", "build_model"]


@keras.saving.register_keras_serializable(package="nmt_attention")
class Seq2SeqModel(keras.Model):
    """Encoder, decoder and the decoding loop, on token ids only (no text inside).

    Training uses teacher forcing: the decoder reads the reference target shifted right and
    predicts it shifted left. :meth:`generate` decodes one token at a time, feeding back its
    own choice and the GRU state.

    Args:
        source_vocabulary_size, target_vocabulary_size: vocabulary sizes.
        units: width of embeddings and GRUs.
        score: ``"dot"`` | ``"general"`` | ``"additive"`` (see ``CrossAttention``).
        combine: ``"add"`` | ``"concat"`` (see ``Decoder``).
        use_attention: ``False``: the seq2seq model the lecture starts from, whose decoder
            starts from the encoder's final state and sees nothing else of the source; with
            attention (the tutorial's) the decoder starts from zeros and attends to every
            encoder output instead.

    Call arguments:
        inputs: ``(source_ids, target_in)``, (batch, source_len) and (batch, target_len).

    Returns:
        (batch, target_len, target_vocabulary_size) logits.
    """

    def __init__(
        self,
        source_vocabulary_size: int,
        target_vocabulary_size: int,
        units: int,
        score: str = "dot",
        combine: str = "add",
        use_attention: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.units = units
        self.score = score
        self.combine = combine
        self.use_attention = use_attention
        self.encoder = Encoder(source_vocabulary_size, units, name="encoder")
        self.decoder = Decoder(target_vocabulary_size, units, score, combine, use_attention,
                               name="decoder")

    def build(self, input_shape=None):
        dummy = tf.constant([[2, 3]], dtype=tf.int64)
        self.call((dummy, dummy))
        self.built = True

    def encode(self, source_ids, training=None) -> tuple[tf.Tensor, tf.Tensor]:
        """``(context, state)``: the encoder outputs (batch, source_len, units) and the
        decoder's initial state (batch, units): the encoder's final state without attention,
        zeros with it."""
        context, final = self.encoder(source_ids, training=training, return_state=True)
        return context, final if not self.use_attention else tf.zeros_like(final)

    @traced_for_xla
    def call(self, inputs, training=None, return_attention=False):
        source_ids, target_in = inputs
        context, state = self.encode(source_ids, training=training)
        mask = tf.not_equal(source_ids, 0)  # (batch, source_len)
        logits, _, weights = self.decoder(target_in, context, mask, initial_state=state,
                                          training=training)
        if return_attention:
            return logits, weights
        return logits

    def generate(
        self,
        source_ids: tf.Tensor,
        max_length: int | tf.Tensor,
        start_id: int = 2,
        end_id: int = 3,
        sampling: Sampling = GREEDY,
        stop_early: bool = True,
        allow_unknown: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Decodes a batch, one token a step, each row stopping at its own ``[END]`` or at
        ``max_length`` steps: one limit for all rows or one a row (batch,)
        (:func:`common.decoding.row_limits`), so that a row's output is the one it would have
        alone.

        ``sampling``: greedy (the default) or sampled, see :class:`common.decoding.Sampling`.
        Padding, ``[UNK]`` (unless ``allow_unknown``) and ``[START]`` are never produced.
        With ``stop_early`` the loop ends once every row has ended; without it, it always
        runs to the longest limit, as the published tutorial's exported graph does.

        Returns:
            ``(tokens, weights)``: (batch, steps) ids, 0 after a row's ``[END]``, and
            (batch, steps, source_len) attention weights, steps <= max_length.
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        context, state = self.encode(source_ids)  # (batch, source_len, units), (batch, units)

        def step(tokens, state, index):
            gru_state, context, mask = state
            newest = tf.slice(tokens, tf.stack([0, index]), [-1, 1])  # (rows, 1)
            logits, gru_state, weights = self.decoder(newest, context, mask,
                                                      initial_state=gru_state)
            return logits[:, -1, :], weights[:, -1, :], (gru_state, context, mask)

        tokens, _, weights, steps = decoding_loop(
            step, (state, context, tf.not_equal(source_ids, 0)), tf.shape(source_ids)[0], None,
            max_length, start_id, end_id, sampling,
            banned_logits(self.target_vocabulary_size, start_id, allow_unknown),
            stop_early=stop_early, keep_logits=False, one_row=source_ids.shape[0] == 1)
        return tokens[:, :steps], weights[:, :steps]

    def beam_search(
        self,
        source_ids: tf.Tensor,
        max_length: int | tf.Tensor,
        beam_width: int | tf.Tensor = 4,
        start_id: int = 2,
        end_id: int = 3,
        length_penalty: float = 0.6,
        allow_unknown: bool = False,
    ) -> tf.Tensor:
        """Batched beam search: follows the ``beam_width`` likeliest unfinished translations
        a row, setting finished ones (they produced ``[END]``) aside; of the likeliest
        finished, the best by ``log P / ((5 + length) / 6) ** length_penalty`` (Wu et al.
        2016) wins, so longer translations are not punished for having more factors
        (:func:`common.decoding.beam_search_loop`). ``beam_width=1`` is greedy decoding.
        ``max_length``: the most steps, one for all rows or one a row (batch,).

        Returns:
            (batch, steps) ids of the best hypothesis, 0 after its ``[END]``.
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        width = tf.cast(beam_width, tf.int32)
        batch = tf.shape(source_ids)[0]
        context, state = self.encode(source_ids)  # (batch, source_len, units), (batch, units)
        context = tf.repeat(context, width, axis=0)  # (batch * width, source_len, units)
        mask = tf.repeat(tf.not_equal(source_ids, 0), width, axis=0)

        def step(token, state, _):
            logits, state, _ = self.decoder(token, context, mask, initial_state=state)
            return logits[:, -1, :], state

        best, steps = beam_search_loop(
            step, tf.repeat(state, width, axis=0), batch, width,
            self.target_vocabulary_size, None, max_length, start_id, end_id, length_penalty,
            allow_unknown)
        return best[:, :steps]

    def get_config(self):
        config = super().get_config()
        config.update(
            source_vocabulary_size=self.source_vocabulary_size,
            target_vocabulary_size=self.target_vocabulary_size,
            units=self.units,
            score=self.score,
            combine=self.combine,
            use_attention=self.use_attention,
        )
        return config


def build_model(config: Config, source_vocabulary_size: int, target_vocabulary_size: int):
    """A built ``Seq2SeqModel`` for ``config`` and the two vocabulary sizes."""
    model = Seq2SeqModel(
        source_vocabulary_size,
        target_vocabulary_size,
        units=config.units,
        score=config.score,
        combine=config.combine,
        use_attention=config.use_attention,
        name="seq2seq",
    )
    model.build()
    return model
