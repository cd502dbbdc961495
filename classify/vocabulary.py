"""Words to ids for the text classifiers: ``[CLS] w1 ... wn`` padded to a fixed length.

The standardization is ``common.text``'s (``"better"`` keeps accents and apostrophes);
everything is core TensorFlow ops, so the same object runs in ``tf.data`` and inside the
exported SavedModel that takes raw strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tensorflow as tf

from common.text import build_vocabulary, check_mode, tokenize

__all__ = ["CLS", "MASK", "SPECIAL_TOKENS", "WordVocabulary", "build_word_vocabulary"]

PAD, UNK, CLS, MASK = "", "[UNK]", "[CLS]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, MASK)


def build_word_vocabulary(texts: Iterable[str], max_tokens: int,
                          mode: str = "better") -> list[str]:
    """Specials, then the training texts' words by frequency (ties alphabetical);
    ``max_tokens`` counts the four specials."""
    words = build_vocabulary(texts, max_tokens, mode)[4:]  # drop common.text's specials
    return list(SPECIAL_TOKENS) + [w for w in words if w not in SPECIAL_TOKENS]


class WordVocabulary(tf.Module):
    """Maps sentences to fixed-length id rows: [CLS] first, words, then padding.

    Id 0 is padding, 1 ``[UNK]`` (a word not in the list), 2 ``[CLS]``, 3 ``[MASK]``
    (used by BERT pretraining), then the words.

    Args:
        tokens: the word list, starting with ``SPECIAL_TOKENS``.
        sequence_length: the length of every row, [CLS] included; longer texts keep their
            first ``sequence_length - 1`` words.
        mode: standardization, ``"better"`` or ``"faithful"`` (see ``common.text``).

    Example:
        >>> vocab = WordVocabulary(build_word_vocabulary(["a cat sat"], 20), 6)
        >>> vocab.encode(tf.constant(["the cat sat"])).numpy()
        array([[2, 1, 5, 6, 0, 0]], dtype=int32)
    """

    def __init__(self, tokens: Sequence[str], sequence_length: int, mode: str = "better",
                 name: str | None = None):
        super().__init__(name=name)
        tokens = list(tokens)
        if tuple(tokens[:4]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}, received "
                             f"{tokens[:4]}")
        if sequence_length < 2:
            raise ValueError(f"sequence_length must be at least 2, received {sequence_length}")
        self.tokens = tokens
        self.sequence_length = sequence_length
        self.mode = check_mode(mode)
        self._words = tf.constant(tokens)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(self._words,
                                                tf.range(len(tokens), dtype=tf.int32)),
            default_value=1)

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def cls_id(self) -> int:
        return 2

    @property
    def mask_id(self) -> int:
        return 3

    @property
    def first_word_id(self) -> int:
        return 4

    def encode(self, texts: tf.Tensor) -> tf.Tensor:
        """Strings (batch,) -> ids (batch, sequence_length) int32."""
        words = tokenize(tf.convert_to_tensor(texts, tf.string), self.mode)
        words = words[:, : self.sequence_length - 1]
        ids = tf.ragged.map_flat_values(self._table.lookup, words)
        cls = tf.fill([ids.nrows(), 1], tf.constant(self.cls_id, tf.int32))
        ids = tf.concat([cls, ids], axis=1)
        return ids.to_tensor(default_value=0, shape=[None, self.sequence_length])

    def words(self, ids: tf.Tensor) -> tf.Tensor:
        """Ids of any shape -> the same shape of words."""
        return tf.gather(self._words, tf.cast(ids, tf.int32))
