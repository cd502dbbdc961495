"""The trainable model (encoder + decoder) and the Translator that turns text into text."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from common.decoding import (
    GREEDY,
    Sampling,
    TextTranslator,
    at_least_one_row,
    banned_logits,
    beam_search_loop,
    choose_next,
    first_rows,
)
from common.text import Vocabulary, detokenize, has_known_word, tokenize
from nmt_attention.config import Config
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder

__all__ = ["Seq2SeqModel", "Translator", "build_model"]


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
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.units = units
        self.score = score
        self.combine = combine
        self.encoder = Encoder(source_vocabulary_size, units, name="encoder")
        self.decoder = Decoder(target_vocabulary_size, units, score, combine, name="decoder")

    def build(self, input_shape=None):
        dummy = tf.constant([[2, 3]], dtype=tf.int64)
        self.call((dummy, dummy))
        self.built = True

    def call(self, inputs, training=None, return_attention=False):
        source_ids, target_in = inputs
        context = self.encoder(source_ids, training=training)  # (batch, source_len, units)
        mask = tf.not_equal(source_ids, 0)  # (batch, source_len)
        logits, _, weights = self.decoder(target_in, context, mask, training=training)
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
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Decodes a batch, one token a step, each row stopping at its own ``[END]``.

        ``sampling``: greedy (the default) or sampled, see :class:`common.decoding.Sampling`.
        Padding, ``[UNK]`` and ``[START]`` are never produced. With ``stop_early`` the loop
        ends once every row has ended; without it, it always runs ``max_length`` steps, as
        the published tutorial's exported graph does.

        Returns:
            ``(tokens, weights)``: (batch, steps) ids, 0 after a row's ``[END]``, and
            (batch, steps, source_len) attention weights, steps <= max_length.
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        context = self.encoder(source_ids)  # (batch, source_len, units)
        mask = tf.not_equal(source_ids, 0)
        batch = tf.shape(source_ids)[0]
        banned = banned_logits(self.target_vocabulary_size, start_id)  # (vocabulary,)
        temperature, top_k, seed = sampling.tensors()
        token = tf.fill([batch, 1], tf.constant(start_id, tf.int64))
        state = tf.zeros([batch, self.units])
        done = tf.zeros([batch], tf.bool)
        tokens = tf.TensorArray(tf.int64, size=0, dynamic_size=True)
        attention = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        step = tf.constant(0)
        while step < max_length and not (stop_early and tf.reduce_all(done)):
            logits, state, weights = self.decoder(token, context, mask, initial_state=state)
            logits = logits[:, -1, :] + banned  # (batch, vocabulary)
            chosen = choose_next(logits, temperature, top_k,
                                 tf.stack([seed, tf.cast(step, tf.int64)]))
            chosen = tf.where(done, tf.zeros_like(chosen), chosen)  # (batch,)
            tokens = tokens.write(step, chosen)
            attention = attention.write(step, weights[:, -1, :])
            done = done | tf.equal(chosen, end_id)
            token = chosen[:, None]
            step += 1
        return (
            tf.transpose(tokens.stack(), [1, 0]),
            tf.transpose(attention.stack(), [1, 0, 2]),
        )

    def beam_search(
        self,
        source_ids: tf.Tensor,
        max_length: int | tf.Tensor,
        beam_width: int | tf.Tensor = 4,
        start_id: int = 2,
        end_id: int = 3,
        length_penalty: float = 0.6,
    ) -> tf.Tensor:
        """Batched beam search: keeps the ``beam_width`` best partial translations a row.

        A finished hypothesis (it produced ``[END]``) keeps its score and is extended with
        padding. At the end each row's hypotheses are ranked by
        ``log P / ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016), so longer
        translations are not punished for having more factors. ``beam_width=1`` is greedy
        decoding.

        Returns:
            (batch, steps) ids of the best hypothesis, 0 after its ``[END]``.
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        width = tf.cast(beam_width, tf.int32)
        batch = tf.shape(source_ids)[0]
        context = self.encoder(source_ids)  # (batch, source_len, units)
        context = tf.repeat(context, width, axis=0)  # (batch * width, source_len, units)
        mask = tf.repeat(tf.not_equal(source_ids, 0), width, axis=0)

        def step(token, state, _):
            logits, state, _ = self.decoder(token, context, mask, initial_state=state)
            return logits[:, -1, :], state

        best, steps = beam_search_loop(
            step, tf.zeros([batch * width, self.units]), batch, width,
            self.target_vocabulary_size, max_length, max_length, start_id, end_id,
            length_penalty)
        return best[:, :steps]

    def get_config(self):
        config = super().get_config()
        config.update(
            source_vocabulary_size=self.source_vocabulary_size,
            target_vocabulary_size=self.target_vocabulary_size,
            units=self.units,
            score=self.score,
            combine=self.combine,
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
        name="seq2seq",
    )
    model.build()
    return model


class Translator(TextTranslator):
    """Text in, text out: vocabularies, the model and the decoding loop, ready to export.

    Args:
        model: a trained ``Seq2SeqModel``.
        source_vocabulary, target_vocabulary: the run's ``Vocabulary`` objects.
        max_source_words: longer inputs are cut to their first words.
        max_output_tokens: the longest translation, in tokens.
        stop_early: end decoding once every sentence has ended (``False`` reproduces the
            published tutorial's export, which always runs ``max_output_tokens`` steps).

    Example:
        >>> translator.translate(["¿Todavía está en casa?"])
        ['Is he still at home?']
    """

    def __init__(
        self,
        model: Seq2SeqModel,
        source_vocabulary: Vocabulary,
        target_vocabulary: Vocabulary,
        max_source_words: int = 100,
        max_output_tokens: int = 60,
        stop_early: bool = True,
    ):
        super().__init__(name="translator")
        self.model = model
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.max_source_words = max_source_words
        self.max_output_tokens = max_output_tokens
        self.stop_early = stop_early

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int64),
        ],
        reduce_retracing=True,
    )
    def sample(self, texts, temperature, top_k, seed):
        """Strings (batch,) -> translation (batch,), output_tokens (batch, steps),
        source_tokens (batch, source_len), attention (batch, steps, source_len): greedy at
        ``temperature`` 0, else sampled. The graph the exports serve."""
        source_ids, max_length, rows = self._source(texts)
        tokens, weights = self.model.generate(
            source_ids,
            max_length,
            self.target_vocabulary.start_id,
            self.target_vocabulary.end_id,
            Sampling(temperature, top_k, seed),
            self.stop_early,
        )
        return first_rows(self._outputs(source_ids, tokens, weights), rows)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32)],
        reduce_retracing=True,
    )
    def beam(self, texts, beam_width):
        """As :meth:`sample`, by beam search with ``beam_width`` hypotheses."""
        source_ids, max_length, rows = self._source(texts)
        tokens = self.model.beam_search(
            source_ids, max_length, beam_width,
            self.target_vocabulary.start_id, self.target_vocabulary.end_id,
        )
        # Attention of the chosen translation: one teacher-forced pass over it.
        start = tf.fill([tf.shape(tokens)[0], 1],
                        tf.constant(self.target_vocabulary.start_id, tf.int64))
        target_in = tf.concat([start, tokens[:, :-1]], axis=1)
        _, weights = self.model((source_ids, target_in), return_attention=True)
        return first_rows(self._outputs(source_ids, tokens, weights), rows)

    def _source(self, texts):
        """Source ids (at least one row), the output length limit, and the real rows."""
        texts, rows = at_least_one_row(texts)
        source_ids = self.source_vocabulary.encode(texts, self.max_source_words).to_tensor()
        max_length = tf.minimum(self.max_output_tokens, 2 * tf.shape(source_ids)[1] + 10)
        return source_ids, max_length, rows

    @property
    def source_limit(self) -> int:
        """Source words kept; a longer sentence is cut to its first ones."""
        return self.max_source_words

    def source_lengths(self, texts: Sequence[str]) -> list[int]:
        """Words in each sentence, before the cut to ``source_limit``."""
        words = tokenize(tf.constant(list(texts), tf.string), self.source_vocabulary.mode)
        return [int(n) for n in words.row_lengths().numpy()]

    def _outputs(self, source_ids, tokens, weights):
        words = self.target_vocabulary.words(tokens)  # (batch, steps)
        text = detokenize(words, self.target_vocabulary.mode)
        ok = has_known_word(source_ids, self.source_vocabulary)
        return {
            "translation": tf.where(ok, text, tf.constant("")),
            "translated": ok,
            "output_tokens": words,
            "source_tokens": self.source_vocabulary.words(source_ids),
            "attention": weights,
        }
