"""The classifiers' vocabulary: ``common.text.Vocabulary`` with the specials ``[CLS]``,
``[MASK]`` and ``[SEP]``, ``[CLS] w1 ... wn`` padded to a fixed length of int32 ids; its
tokens whole words (``tokenizer="words"``) or WordPiece pieces (``"wordpiece"``: a rare word
becomes known pieces, ``"unwatchable"`` -> ``un ##watch ##able``, where a word list has
``[UNK]``; BERT's tokenizer).

Id 0 is padding, 1 ``[UNK]`` (a word not in the list), 2 ``[CLS]``, 3 ``[MASK]`` (BERT's
pretraining), 4 ``[SEP]`` (between the two texts of a pair, written with a tab: ``"the dog
ran<TAB>a dog ran"`` -> ``[CLS] the dog ran [SEP] a dog ran``), then the words. Runs saved
before ``[SEP]`` was added list four specials, and read back with those four. The
standardization is ``common.text``'s (``"better"`` keeps accents and apostrophes). The same
object runs in ``tf.data`` and inside the exported SavedModel that takes raw strings: core
TensorFlow ops for words, and tensorflow-text's WordPiece op for pieces (load such an export
after ``import tensorflow_text``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tensorflow as tf

from common.text import PAD, UNK, Vocabulary, build_vocabulary

__all__ = ["CLS", "MASK", "SEP", "SPECIAL_TOKENS", "TOKENIZERS", "PieceVocabulary",
           "build_piece_vocabulary", "build_text_vocabulary", "build_word_vocabulary",
           "masking_options", "text_vocabulary", "word_vocabulary"]

CLS, MASK, SEP = "[CLS]", "[MASK]", "[SEP]"
SPECIAL_TOKENS = (PAD, UNK, CLS, MASK, SEP)
TOKENIZERS = ("words", "wordpiece")


def build_word_vocabulary(texts: Iterable[str], max_tokens: int,
                          mode: str = "better") -> list[str]:
    """Specials, then the training texts' words by frequency (ties alphabetical);
    ``max_tokens`` counts the five specials."""
    return build_vocabulary(texts, max_tokens, mode, specials=SPECIAL_TOKENS)


def word_vocabulary(tokens: Sequence[str], sequence_length: int,
                    mode: str = "better", kind: type[Vocabulary] = Vocabulary) -> Vocabulary:
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
    return kind(tokens, mode, specials=specials, prefix=(CLS,), suffix=(),
                      sequence_length=sequence_length, dtype="int32",
                      separator=SEP if SEP in specials else None)


def build_piece_vocabulary(texts: Iterable[str], max_tokens: int,
                           mode: str = "better") -> list[str]:
    """Specials, then about ``max_tokens`` WordPiece pieces learned from the training texts
    (``transformer.tokenizer.build_wordpiece_vocabulary``): every character seen, then
    whole frequent words and the pieces (``"##able"``) that spell the rare ones."""
    from transformer.tokenizer import build_wordpiece_vocabulary

    return build_wordpiece_vocabulary(list(texts), max_tokens, mode, reserved=SPECIAL_TOKENS)


class PieceVocabulary(Vocabulary):
    """The classifiers' vocabulary of WordPiece pieces: :meth:`tokenize` cuts each word
    (after ``common.text``'s standardization, ``[SEP]`` at a tab) into the longest pieces of
    the list, left to right (``tensorflow_text.WordpieceTokenizer``); a word no pieces spell
    (a character never seen) is ``[UNK]``. Takes :func:`word_vocabulary`'s arguments.

    Example:
        >>> vocab = text_vocabulary(["", "[UNK]", "[CLS]", "[MASK]", "[SEP]", "un",
        ...                          "##watch", "##able", "watch"], 8, tokenizer="wordpiece")
        >>> vocab.words(vocab.encode(tf.constant(["Unwatchable"]))).numpy()
        array([[b'[CLS]', b'un', b'##watch', b'##able', b'', b'', b'', b'']], dtype=object)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import tensorflow_text as tf_text

        pieces = tf.lookup.StaticHashTable(  # the op reads int64 ids; self.table's are int32
            tf.lookup.KeyValueTensorInitializer(
                self._words, tf.range(self.size, dtype=tf.int64)), default_value=-1)
        self._pieces = tf_text.WordpieceTokenizer(pieces, token_out_type=tf.string,
                                                  unknown_token=UNK)

    def tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """Strings (batch,) -> pieces (batch, None)."""
        return self._pieces.tokenize(super().tokenize(text)).merge_dims(1, 2)


def build_text_vocabulary(texts: Iterable[str], max_tokens: int, mode: str = "better",
                          tokenizer: str = "words") -> list[str]:
    """:func:`build_word_vocabulary` or :func:`build_piece_vocabulary`, by ``tokenizer``."""
    build = build_piece_vocabulary if _pieces(tokenizer) else build_word_vocabulary
    return build(texts, max_tokens, mode)


def text_vocabulary(tokens: Sequence[str], sequence_length: int, mode: str = "better",
                    tokenizer: str = "words") -> Vocabulary:
    """:func:`word_vocabulary`, or for ``tokenizer="wordpiece"`` the same rows of pieces
    (a :class:`PieceVocabulary`)."""
    return word_vocabulary(tokens, sequence_length, mode,
                           PieceVocabulary if _pieces(tokenizer) else Vocabulary)


def _pieces(tokenizer: str) -> bool:
    """Whether ``tokenizer`` (one of ``TOKENIZERS``) reads WordPiece pieces."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, received {tokenizer!r}")
    return tokenizer == "wordpiece"


def masking_options(vocabulary: Vocabulary, rate: float = 0.15) -> dict:
    """``classify.bert.mask_tokens``'s options for ``vocabulary``: its [MASK], its words as
    random replacements, and the ids never chosen: [CLS], [SEP] (where there is one: the
    segments must not move) and [UNK] (guessing it teaches nothing)."""
    protected = [vocabulary.id_of(CLS), vocabulary.id_of(UNK)]
    if vocabulary.separator is not None:
        protected.append(vocabulary.id_of(vocabulary.separator))
    return dict(mask_id=vocabulary.id_of(MASK), first_word_id=vocabulary.first_word_id,
                vocabulary_size=vocabulary.size, rate=rate, protected_ids=tuple(protected))
