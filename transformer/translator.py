"""Text in, text out: the tokenizers, the Transformer and its decoding loops."""

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
from common.text import has_known_word
from transformer.model import Transformer
from transformer.tokenizer import WordPieceTokenizer

__all__ = ["Translator", "attention_maps"]


class Translator(TextTranslator):
    """Translates batches of strings: greedy (cached), sampled (temperature, top-k) or beam.

    Args:
        model: a trained ``Transformer``.
        source_tokenizer, target_tokenizer: the run's ``WordPieceTokenizer`` objects.
        max_source_tokens: longer inputs keep their first pieces.
        max_output_tokens: the longest translation, in pieces.
        jit_compile: decode with one XLA program per batch shape (``Transformer.generate``):
            several times faster a batch once compiled, seconds to compile each new batch size
            and source length (sources are padded to a multiple of 8 pieces so lengths share
            programs). For evaluating many sentences; off for a few.

    Example:
        >>> translator.translate(["¿Todavía está en casa?"], beam_width=4)
        ['Is he still at home?']
    """

    def __init__(self, model: Transformer, source_tokenizer: WordPieceTokenizer,
                 target_tokenizer: WordPieceTokenizer, max_source_tokens: int = 100,
                 max_output_tokens: int = 60, jit_compile: bool = False):
        super().__init__(name="translator")
        self.jit_compile = jit_compile
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_tokens = min(max_source_tokens, model.max_length)
        self.max_output_tokens = min(max_output_tokens, model.max_length)

    @property
    def _capacity(self) -> int | None:
        """The decoding buffers' fixed length under XLA (else sized by each batch)."""
        return self.max_output_tokens if self.jit_compile else None

    def _source(self, texts):
        """Source ids (at least one row) and the real rows."""
        texts, rows = at_least_one_row(texts)
        ids = self.source_tokenizer.encode(texts, self.max_source_tokens - 2).to_tensor()
        if self.jit_compile:  # padding changes no real position; fewer shapes to compile
            length = tf.shape(ids)[1]
            padded = tf.minimum((length + 7) // 8 * 8, self.model.max_length)
            ids = tf.pad(ids, [[0, 0], [0, padded - length]])
        return ids, rows

    @property
    def source_limit(self) -> int:
        """Source pieces kept; a longer sentence is cut to its first ones."""
        return self.max_source_tokens - 2

    def source_lengths(self, texts: Sequence[str]) -> list[int]:
        """Pieces in each sentence, before the cut to ``source_limit``."""
        ids = self.source_tokenizer.encode(tf.constant(list(texts), tf.string))
        return [int(n) - 2 for n in ids.row_lengths().numpy()]

    def _outputs(self, source_ids, tokens, attention):
        ok = has_known_word(source_ids, self.source_tokenizer.vocabulary)
        return {
            "translation": tf.where(ok, self.target_tokenizer.decode(tokens), tf.constant("")),
            "translated": ok,
            "output_tokens": self.target_tokenizer.pieces(tokens),
            "output_ids": tokens,
            "source_tokens": self.source_tokenizer.pieces(source_ids),
            "attention": attention,  # (batch, heads, steps, source_len), last decoder layer
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.int64)],
                 reduce_retracing=True, autograph=False)
    def sample(self, texts, temperature, top_k, seed):
        """Strings (batch,) -> translation (batch,), output_tokens (batch, steps),
        source_tokens (batch, source_len), attention (batch, heads, steps, source_len) of the
        last decoder layer: greedy at ``temperature`` 0, else sampled (``top_k``: 0 = all).
        The graph the exports serve."""
        source_ids, rows = self._source(texts)
        tokens, _, attention = self.model.generate(
            source_ids, row_limits(source_ids, self.max_output_tokens),
            self.target_tokenizer.start_id, self.target_tokenizer.end_id,
            Sampling(temperature, top_k, seed), jit_compile=self.jit_compile,
            capacity=self._capacity)
        return first_rows(self._outputs(source_ids, tokens, attention), rows)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                  tf.TensorSpec([], tf.int32)],
                 reduce_retracing=True, autograph=False)
    def beam(self, texts, beam_width):
        """As :meth:`sample`, by beam search with ``beam_width`` hypotheses."""
        return self._beam_body(texts, beam_width)

    @tf.function(reduce_retracing=True, autograph=False)
    def _beam_xla(self, texts, beam_width: int):
        """As :meth:`beam`, as one XLA program; ``beam_width`` is a Python int (it sets shapes)."""
        return self._beam_body(texts, beam_width)

    def _beam_search(self, texts: tf.Tensor, beam_width: int) -> dict:
        if self.jit_compile:
            return self._beam_xla(texts, beam_width)
        return super()._beam_search(texts, beam_width)

    def _beam_body(self, texts, beam_width):
        source_ids, rows = self._source(texts)
        tokens = self.model.beam_search(
            source_ids, row_limits(source_ids, self.max_output_tokens), beam_width,
            self.target_tokenizer.start_id, self.target_tokenizer.end_id,
            jit_compile=self.jit_compile,
            capacity=self._capacity)
        target_in = teacher_forced_input(tokens, self.target_tokenizer.start_id)
        _, scores = self.model((source_ids, target_in), return_attention=True)
        return first_rows(self._outputs(source_ids, tokens, scores[-1]), rows)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                  tf.TensorSpec([None, None], tf.int64)],
                 reduce_retracing=True, autograph=False)
    def attention(self, texts, output_ids):
        """Every attention map of the translations ``output_ids`` (batch, steps: the
        ``output_ids`` that :meth:`sample` or :meth:`beam` returned) of ``texts``:
        ``source_tokens`` (batch, source_len), and ``encoder_self``, ``decoder_self`` and
        ``cross``, each (layers, batch, heads, queries, keys) float32, one teacher-forced
        pass (:meth:`Transformer.attention_scores`). What the attention explorer shows."""
        source_ids, rows = self._source(texts)
        output_ids = tf.cond(rows > 0, lambda: output_ids,
                             lambda: tf.zeros([1, 1], tf.int64))
        maps = self.model.attention_scores(
            source_ids, teacher_forced_input(output_ids, self.target_tokenizer.start_id))
        maps = {name: tf.cast(value, tf.float32)[:, :rows] for name, value in maps.items()}
        return {"source_tokens": self.source_tokenizer.pieces(source_ids)[:rows], **maps}

    def for_serving(self) -> Translator:
        """This translator in graph mode: an export meets every batch shape, and XLA would
        compile a program for each."""
        if not self.jit_compile:
            return self
        return Translator(self.model, self.source_tokenizer, self.target_tokenizer,
                          self.max_source_tokens, self.max_output_tokens)


def attention_maps(translator: Translator, sentence: str) -> dict:
    """Every layer's attention for one sentence and its greedy translation.

    Returns a dict: ``translation``; ``source_tokens`` and ``output_tokens`` (pieces, with
    ``[START]``/``[END]``); ``encoder_self`` and ``decoder_cross``: one array per layer,
    (heads, source_len, source_len) and (heads, output_len, source_len). The maps are
    :meth:`Translator.attention`'s, as the exports serve them.
    """
    result = translator.run([sentence])
    output = [p.decode() for p in result["output_tokens"][0] if p and p != b"[PAD]"]
    maps = translator.attention(tf.constant([sentence]), tf.constant(result["output_ids"]))
    source = [p.decode() for p in maps["source_tokens"][0].numpy() if p != b"[PAD]"]
    keys, queries = len(source), len(output)
    return {
        "translation": result["translation"][0].decode(),
        "source_tokens": source,
        "output_tokens": output,
        "encoder_self": [m[0, :, :keys, :keys] for m in maps["encoder_self"].numpy()],
        "decoder_cross": [m[0, :, :queries, :keys] for m in maps["cross"].numpy()],
    }
