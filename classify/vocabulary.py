"""The classifiers' vocabulary: ``common.text.Vocabulary`` with the specials ``[CLS]`` and
``[MASK]``, ``[CLS] w1 ... wn`` padded to a fixed length of int32 ids.

Id 0 is padding, 1 ``[UNK]`` (a word not in the list), 2 ``[CLS]``, 3 ``[MASK]`` (BERT's
pretraining), then the words. The standardization is ``common.text``'s (``"better"`` keeps
accents and apostrophes); everything is core TensorFlow ops, so the same object runs in
``tf.data`` and inside the exported SavedModel that takes raw strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from common.text import PAD, UNK, Vocabulary, build_vocabulary

__all__ = ["CLS", "MASK", "SPECIAL_TOKENS", "build_word_vocabulary", "word_vocabulary"]

CLS, MASK = "[CLS]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, MASK)


def build_word_vocabulary(texts: Iterable[str], max_tokens: int,
                          mode: str = "better") -> list[str]:
    """Specials, then the training texts' words by frequency (ties alphabetical);
    ``max_tokens`` counts the four specials."""
    return build_vocabulary(texts, max_tokens, mode, specials=SPECIAL_TOKENS)


def word_vocabulary(tokens: Sequence[str], sequence_length: int,
                    mode: str = "better") -> Vocabulary:
    """The classifiers' :class:`~common.text.Vocabulary` of ``tokens``: rows of
    ``sequence_length`` int32 ids, ``[CLS]`` first; longer texts keep their first
    ``sequence_length - 1`` words.

    Example:
        >>> vocab = word_vocabulary(build_word_vocabulary(["a cat sat"], 20), 6)
        >>> vocab.encode(tf.constant(["the cat sat"])).numpy()
        array([[2, 1, 5, 6, 0, 0]], dtype=int32)
    """
    return Vocabulary(tokens, mode, specials=SPECIAL_TOKENS, prefix=(CLS,), suffix=(),
                      sequence_length=sequence_length, dtype="int32")
