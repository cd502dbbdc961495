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
    decoding_loop,
    first_rows,
    row_limits,
    teacher_forced_input,
)
from common.text import UNK, Vocabulary, detokenize, has_known_word, tokenize
from common.xla import traced_for_xla
from nmt_attention.config import Config
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder

__all__ = ["Seq2SeqModel", "Translator", "attended_source_words", "build_model"]


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

        def step(tokens, index, state):
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
        """Batched beam search: keeps the ``beam_width`` best partial translations a row.

        A finished hypothesis (it produced ``[END]``) keeps its score and is extended with
        padding. At the end each row's hypotheses are ranked by
        ``log P / ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016), so longer
        translations are not punished for having more factors. ``beam_width=1`` is greedy
        decoding. ``max_length``: the most steps, one for all rows or one a row (batch,).

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


def attended_source_words(texts, source_ids, weights, mode: str) -> tf.Tensor:
    """(batch, steps) strings: for each output step, the source word (as typed, after
    standardization: also words the vocabulary lacks) with the most attention.

    ``texts`` (batch,), ``source_ids`` (batch, source_len) with ``[START]`` and ``[END]``
    around the words, ``weights`` (batch, steps, source_len). The framing tokens and padding
    are never chosen."""
    batch = tf.shape(texts)[0]
    words = tokenize(texts, mode)[:, : tf.shape(source_ids)[1] - 2]  # (batch, None)
    frame = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], ""))
    framed = tf.concat([frame, words, frame], axis=1).to_tensor(default_value="")
    is_word = tf.cast(tf.not_equal(framed, ""), weights.dtype)  # (batch, source_len)
    strongest = tf.argmax(weights * is_word[:, None, :] - (1.0 - is_word[:, None, :]),
                          axis=-1)  # (batch, steps)
    return tf.gather(framed, strongest, batch_dims=1)


class Translator(TextTranslator):
    """Text in, text out: vocabularies, the model and the decoding loop, ready to export.

    Args:
        model: a trained ``Seq2SeqModel``.
        source_vocabulary, target_vocabulary: the run's ``Vocabulary`` objects.
        max_source_words: longer inputs are cut to their first words.
        max_output_tokens: the longest translation, in tokens.
        stop_early: end decoding once every sentence has ended (``False`` reproduces the
            published tutorial's export, which always runs ``max_output_tokens`` steps).
        replace_unknown: let the model write ``[UNK]`` and put in its place the source word
            that output word attends to most (Luong et al. 2015's unknown-word replacement,
            OpenNMT's ``replace_unk``): names and numbers the vocabulary lacks come through.
            Off by default: the tutorial never writes ``[UNK]``.

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
        replace_unknown: bool = False,
    ):
        super().__init__(name="translator")
        self.model = model
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.max_source_words = max_source_words
        self.max_output_tokens = max_output_tokens
        self.stop_early = stop_early
        self.replace_unknown = replace_unknown

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int64),
        ],
        reduce_retracing=True,
        autograph=False,
    )
    def sample(self, texts, temperature, top_k, seed):
        """Strings (batch,) -> translation (batch,), output_tokens (batch, steps),
        source_tokens (batch, source_len), attention (batch, steps, source_len): greedy at
        ``temperature`` 0, else sampled. The graph the exports serve."""
        texts, source_ids, rows = self._source(texts)
        tokens, weights = self.model.generate(
            source_ids,
            row_limits(source_ids, self.max_output_tokens),
            self.target_vocabulary.start_id,
            self.target_vocabulary.end_id,
            Sampling(temperature, top_k, seed),
            self.stop_early,
            self.replace_unknown,
        )
        return first_rows(self._outputs(texts, source_ids, tokens, weights), rows)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32)],
        reduce_retracing=True,
        autograph=False,
    )
    def beam(self, texts, beam_width):
        """As :meth:`sample`, by beam search with ``beam_width`` hypotheses."""
        texts, source_ids, rows = self._source(texts)
        tokens = self.model.beam_search(
            source_ids, row_limits(source_ids, self.max_output_tokens), beam_width,
            self.target_vocabulary.start_id, self.target_vocabulary.end_id,
            allow_unknown=self.replace_unknown,
        )
        # Attention of the chosen translation: one teacher-forced pass over it.
        target_in = teacher_forced_input(tokens, self.target_vocabulary.start_id)
        _, weights = self.model((source_ids, target_in), return_attention=True)
        return first_rows(self._outputs(texts, source_ids, tokens, weights), rows)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None, None], tf.int64)],
        reduce_retracing=True,
        autograph=False,
    )
    def attention(self, texts, output_ids):
        """The attention of the translations ``output_ids`` (batch, steps: the ``output_ids``
        that :meth:`sample` or :meth:`beam` returned) of ``texts``: ``source_tokens`` (batch,
        source_len) and ``cross`` (1, batch, 1, steps, source_len) float32 (one layer, one
        head: the shape the Transformer's maps have), from one teacher-forced pass."""
        texts, source_ids, rows = self._source(texts)
        output_ids = tf.cond(rows > 0, lambda: output_ids,
                             lambda: tf.zeros([1, 1], tf.int64))
        target_in = teacher_forced_input(output_ids, self.target_vocabulary.start_id)
        _, weights = self.model((source_ids, target_in), return_attention=True)
        return {"source_tokens": self.source_vocabulary.words(source_ids)[:rows],
                "cross": tf.cast(weights, tf.float32)[None, :rows, None]}

    def _source(self, texts):
        """The texts and their source ids (at least one row), and the real rows."""
        texts, rows = at_least_one_row(texts)
        source_ids = self.source_vocabulary.encode(texts, self.max_source_words).to_tensor()
        return texts, source_ids, rows

    @property
    def source_limit(self) -> int:
        """Source words kept; a longer sentence is cut to its first ones."""
        return self.max_source_words

    def source_lengths(self, texts: Sequence[str]) -> list[int]:
        """Words in each sentence, before the cut to ``source_limit``."""
        words = tokenize(tf.constant(list(texts), tf.string), self.source_vocabulary.mode)
        return [int(n) for n in words.row_lengths().numpy()]

    def _outputs(self, texts, source_ids, tokens, weights):
        words = self.target_vocabulary.words(tokens)  # (batch, steps)
        if self.replace_unknown:
            attended = attended_source_words(texts, source_ids, weights,
                                             self.source_vocabulary.mode)
            words = tf.where(tf.equal(tokens, self.target_vocabulary.id_of(UNK)), attended, words)
        text = detokenize(words, self.target_vocabulary.mode)
        ok = has_known_word(source_ids, self.source_vocabulary)
        return {
            "translation": tf.where(ok, text, tf.constant("")),
            "translated": ok,
            "output_tokens": words,
            "output_ids": tokens,
            "source_tokens": self.source_vocabulary.words(source_ids),
            "attention": weights,
        }
