"""The classifiers' vocabulary: ``common.text.Vocabulary`` with the specials ``[CLS]``,
``[MASK]`` and ``[SEP]``, ``[CLS] w1 ... wn`` padded to a fixed length of int32 ids.

Id 0 is padding, 1 ``[UNK]`` (a word not in the list), 2 ``[CLS]``, 3 ``[MASK]`` (BERT's
pretraining), 4 ``[SEP]`` (between the two texts of a pair, written with a tab: ``"the dog
ran<TAB>a dog ran"`` -> ``[CLS] the dog ran [SEP] a dog ran``), then the words. Runs saved
before ``[SEP]`` was added list four specials, and read back with those four. The
standardization is ``common.text``'s (``"better"`` keeps accents and apostrophes); everything
is core TensorFlow ops, so the same object runs in ``tf.data`` and inside the exported
SavedModel that takes raw strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from common.text import PAD, UNK, Vocabulary, build_vocabulary

__all__ = ["CLS", "MASK", "SEP", "SPECIAL_TOKENS", "build_word_vocabulary", "masking_options",
           "word_vocabulary"]

CLS, MASK, SEP = "[CLS]", "[MASK]", "[SEP]"
SPECIAL_TOKENS = (PAD, UNK, CLS, MASK, SEP)


def build_word_vocabulary(texts: Iterable[str], max_tokens: int,
                          mode: str = "better") -> list[str]:
    """Specials, then the training texts' words by frequency (ties alphabetical);
    ``max_tokens`` counts the five specials."""
    return build_vocabulary(texts, max_tokens, mode, specials=SPECIAL_TOKENS)


def word_vocabulary(tokens: Sequence[str], sequence_length: int,
                    mode: str = "better") -> Vocabulary:
    """The classifiers' :class:`~common.text.Vocabulary` of ``tokens``: rows of
    ``sequence_length`` int32 ids, ``[CLS]`` first; longer texts keep their first
    ``sequence_length - 1`` words.

    Example:
        >>> vocab = word_vocabulary(build_word_vocabulary(["a cat sat"], 20), 6)
        >>> vocab.encode(tf.constant(["the cat sat"])).numpy()
        array([[2, 1, 6, 7, 0, 0]], dtype=int32)
        >>> vocab.encode(tf.constant(["cat\tsat a"])).numpy()
        array([[2, 6, 4, 7, 5, 0]], dtype=int32)
    """
    specials = SPECIAL_TOKENS if SEP in tokens[: len(SPECIAL_TOKENS)] else SPECIAL_TOKENS[:4]
    return Vocabulary(tokens, mode, specials=specials, prefix=(CLS,), suffix=(),
                      sequence_length=sequence_length, dtype="int32",
                      separator=SEP if SEP in specials else None)


def masking_options(vocabulary: Vocabulary, rate: float = 0.15) -> dict:
    """``classify.bert.mask_tokens``'s options for ``vocabulary``: its [MASK], its words as
    random replacements, and the ids never chosen: [CLS], [SEP] (where there is one: the
    segments must not move) and [UNK] (guessing it teaches nothing)."""
    protected = [vocabulary.id_of(CLS), vocabulary.id_of(UNK)]
    if vocabulary.separator is not None:
        protected.append(vocabulary.id_of(vocabulary.separator))
    return dict(mask_id=vocabulary.id_of(MASK), first_word_id=vocabulary.first_word_id,
                vocabulary_size=vocabulary.size, rate=rate, protected_ids=tuple(protected))
