"""Subword tokenization: a WordPiece vocabulary learned from the training split, applied with
``tensorflow_text.BertTokenizer``, as the tutorial's tokenizer does.

The published tutorial downloads ready-made Portuguese/English tokenizers; here each run
learns its own Spanish and English vocabularies (``bert_vocab_from_dataset``) from its
training split only, and saves them with the run and inside the export. Text is first
standardized with ``common.text.standardize`` (the ``"better"`` mode keeps accents, so
``está`` and ``esta`` stay different words), then split into word pieces: a rare word
becomes several known pieces (``rápidamente`` -> ``rapida ##mente``) instead of ``[UNK]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
import tensorflow_text as tf_text

from common.text import Vocabulary, check_mode, detokenize, standardize

__all__ = ["RESERVED_TOKENS", "WordPieceTokenizer", "build_wordpiece_vocabulary"]

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[START]", "[END]")


def build_wordpiece_vocabulary(
    texts: Sequence[str], vocabulary_size: int, mode: str = "better",
    reserved: Sequence[str] = RESERVED_TOKENS,
) -> list[str]:
    """Learns a WordPiece vocabulary of about ``vocabulary_size`` pieces from ``texts``.

    The ``reserved`` tokens come first: the translators' ``RESERVED_TOKENS`` put padding at
    id 0, ``[START]`` at 2 and ``[END]`` at 3 (the classifiers pass their own specials).
    """
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

    check_mode(mode)
    if not texts:
        raise ValueError("cannot learn a vocabulary from no text")
    dataset = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024)
    dataset = dataset.map(lambda batch: standardize(batch, mode))
    vocabulary = bert_vocab.bert_vocab_from_dataset(
        dataset,
        vocab_size=vocabulary_size,
        reserved_tokens=list(reserved),
        bert_tokenizer_params={"lower_case": False},
        learn_params={},
    )
    return list(vocabulary)


class WordPieceTokenizer(tf.Module):
    """Strings to WordPiece ids and back; exports with a SavedModel.

    The pieces and their ids are a :class:`common.text.Vocabulary` (``vocabulary``) with the
    reserved tokens as its specials; ``tensorflow_text.BertTokenizer`` splits words into
    pieces with its lookup table.

    Args:
        tokens: the piece list, starting with ``RESERVED_TOKENS``.
        mode: ``common.text`` standardization mode.

    Example:
        >>> tokenizer = WordPieceTokenizer(build_wordpiece_vocabulary(texts, 2000))
        >>> ids = tokenizer.encode(tf.constant(["¿Dónde está?"]))  # [START] ... [END]
        >>> tokenizer.decode(ids.to_tensor())
    """

    def __init__(self, tokens: Sequence[str], mode: str = "better", name=None):
        super().__init__(name=name)
        self.mode = check_mode(mode)
        self.vocabulary = Vocabulary(tokens, mode, specials=RESERVED_TOKENS)
        self._tokenizer = tf_text.BertTokenizer(self.vocabulary.table, lower_case=False,
                                                token_out_type=tf.int64)

    @property
    def size(self) -> int:
        return self.vocabulary.size

    @property
    def start_id(self) -> int:
        return self.vocabulary.start_id

    @property
    def end_id(self) -> int:
        return self.vocabulary.end_id

    def encode(self, text: tf.Tensor, max_tokens: int | None = None) -> tf.RaggedTensor:
        """Strings (batch,) -> ids (batch, None): ``[START] pieces [END]``; longer inputs
        keep their first ``max_tokens`` pieces."""
        pieces = self._tokenizer.tokenize(standardize(text, self.mode))  # (batch, words, p)
        pieces = pieces.merge_dims(-2, -1)  # (batch, pieces)
        if max_tokens is not None:
            pieces = pieces[:, :max_tokens]
        return self.vocabulary.frame(pieces)

    def pieces(self, ids: tf.Tensor) -> tf.Tensor:
        """Ids of any shape -> the same shape of piece strings (for plots)."""
        return self.vocabulary.words(ids)

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """Ids (batch, length), padded with 0 -> sentences (batch,)."""
        ids = tf.RaggedTensor.from_tensor(tf.cast(ids, tf.int64), padding=0)
        reserved = tf.range(len(RESERVED_TOKENS), dtype=tf.int64)
        keep = tf.reduce_all(tf.not_equal(ids[..., None], reserved), axis=-1)
        ids = tf.ragged.boolean_mask(ids, keep)
        words = self._tokenizer.detokenize(ids)  # (batch, words) strings
        text = detokenize(words.to_tensor(default_value=""), self.mode)
        # BERT's basic tokenizer splits "weren't" into weren ' t; join it back.
        return tf.strings.regex_replace(text, r"(\pL) ' (\pL)", r"\1'\2")
