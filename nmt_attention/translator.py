"""The Translator that turns text into text around the GRU model (:mod:`nmt_attention.model`)."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from common.decoding import (
    Sampling,
    TextTranslator,
    at_least_one_row,
    first_rows,
    row_limits,
    teacher_forced_input,
)
from common.text import UNK, Vocabulary, detokenize, has_known_word, tokenize
from nmt_attention.model import Seq2SeqModel

__all__ = ["Translator", "attended_source_words"]


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
