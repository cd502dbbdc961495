"""Text processing shared by the tutorials: standardization, vocabularies, detokenization.

Two modes:

* ``"faithful"`` is the tutorial's standardization: Unicode NFKD, lowercase, keep only
  ``a-z`` and ``.?!,¿``, put spaces around punctuation. Accents and apostrophes are lost, so
  the tutorial prints ``"its very cold here ."``.
* ``"better"`` keeps accents, apostrophes, digits and every letter (NFC, Unicode lowercase),
  and :func:`detokenize` joins punctuation back and capitalizes, so the same model prints
  ``"It's very cold here."``.

Everything here is core TensorFlow ops, so the same functions run eagerly, inside
``tf.data`` and inside an exported SavedModel that loads with TensorFlow alone
(``saved_model_cli``, TF Serving): no tensorflow-text op ends up in the graph. The tutorial
calls ``tf_text.normalize_utf8(text, "NFKD")`` and then drops every non-ASCII character,
which for Latin letters amounts to removing their accents; :func:`standardize` does that
with a table of accented letters, and a test checks it against tensorflow-text's NFKD.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable, Sequence

import tensorflow as tf

from common.plain_text import COMPOSE, MODES, PUNCTUATION, check_mode, faithful_replacements

__all__ = [
    "END",
    "MODES",
    "PAD",
    "SPECIAL_TOKENS",
    "START",
    "UNK",
    "Vocabulary",
    "build_vocabulary",
    "check_mode",
    "detokenize",
    "has_known_word",
    "standardize",
    "tokenize",
]

PAD, UNK, START, END = "", "[UNK]", "[START]", "[END]"
SPECIAL_TOKENS = (PAD, UNK, START, END)

@functools.cache
def _faithful_table() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """:func:`common.plain_text.faithful_replacements` as ``(character class, replacement)``
    pairs for ``tf.strings.regex_replace``: those replaced by one character, those by several
    (ligatures, units, roman numerals), and a class of all the latter. Characters that leave
    nothing are dropped by the filter. Measured against tensorflow-text in the tests."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for char, kept in faithful_replacements().items():
        groups[kept].append(char)

    def members(chars):
        return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"

    single = [(members(chars), kept) for kept, chars in groups.items() if len(kept) == 1]
    several = [(members(chars), kept) for kept, chars in groups.items() if len(kept) > 1]
    return single, several, members([c for kept, chars in groups.items() if len(kept) > 1
                                     for c in chars])


def standardize(text: tf.Tensor, mode: str = "faithful") -> tf.Tensor:
    """Standardizes a string tensor of any shape; punctuation becomes separate words."""
    check_mode(mode)
    text = tf.convert_to_tensor(text, dtype=tf.string)
    if mode == "faithful":  # NFKD, ASCII lowercase, keep a-z and .?!,¿: the tutorial's
        single, several, rare = _faithful_table()
        for members, kept in single:
            text = tf.strings.regex_replace(text, members, kept)
        if several:  # ligatures, units, roman numerals: only where there are any

            def replace_several(text=text):
                for members, kept in several:
                    text = tf.strings.regex_replace(text, members, kept)
                return text

            has_rare = tf.reduce_any(tf.strings.regex_full_match(text, f".*{rare}.*"))
            text = tf.cond(has_rare, replace_several, lambda: text)
        text = tf.strings.lower(text)  # ASCII only, as the tutorial's
        text = tf.strings.regex_replace(text, r"[^ a-z.?!,¿]", "")
    else:
        # Format characters (zero-width space and joiners, soft hyphen, BOM, direction
        # marks) are invisible inside a word: drop them rather than split the word there.
        text = tf.strings.regex_replace(text, r"\p{Cf}", "")
        for decomposed, composed in COMPOSE.items():
            text = tf.strings.regex_replace(text, decomposed, composed)
        text = tf.strings.lower(text, encoding="utf-8")
        text = tf.strings.regex_replace(text, "[’‘`´]", "'")
        text = tf.strings.regex_replace(text, r"[^\p{L}\p{N}\p{M}'.?!,¿¡]+", " ")
        # An apostrophe is kept inside a word ("it's"), dropped at its edges ('quoted').
        text = tf.strings.regex_replace(text, r"(^|[^\p{L}])'+|'+([^\p{L}]|$)", r"\1 \2")
    text = tf.strings.regex_replace(text, PUNCTUATION, r" \0 ")
    text = tf.strings.regex_replace(text, r"\s+", " ")
    return tf.strings.strip(text)


def tokenize(text: tf.Tensor, mode: str = "faithful") -> tf.RaggedTensor:
    """Standardizes a 1-D string tensor and splits it into words: (batch, None) strings."""
    return tf.strings.split(standardize(text, mode))


def build_vocabulary(texts: Iterable[str], max_tokens: int, mode: str = "faithful",
                     batch_size: int = 4096,
                     specials: Sequence[str] = SPECIAL_TOKENS) -> list[str]:
    """Builds a word list from training texts: ``specials`` first, then by frequency.

    Ties in frequency are broken alphabetically, so the vocabulary is deterministic.
    ``max_tokens`` counts the special tokens, as ``TextVectorization(max_tokens=...)``.
    """
    if max_tokens <= len(specials):
        raise ValueError(f"max_tokens must be > {len(specials)}, received {max_tokens}")
    counts: collections.Counter[str] = collections.Counter()
    texts = list(texts)
    for begin in range(0, len(texts), batch_size):
        words = tokenize(tf.constant(texts[begin : begin + batch_size]), mode)
        counts.update(w.decode("utf-8") for w in words.flat_values.numpy())
    for special in specials:
        counts.pop(special, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words = [word for word, _ in ranked[: max_tokens - len(specials)]]
    return list(specials) + words


class Vocabulary(tf.Module):
    """Maps tokens to ids and back with lookup tables that export with a SavedModel; the one
    vocabulary class of the package (the translators' words, WordPiece's pieces, the
    classifiers' words).

    The special tokens are data: ``specials`` names the first entries of ``tokens`` (id 0 is
    padding, id 1 the unknown token), ``prefix`` and ``suffix`` the specials :meth:`encode`
    puts around every sentence, and ``sequence_length`` (if set) pads or cuts every row to
    that length. The translators use ``("", "[UNK]", "[START]", "[END]")`` with
    ``[START]`` ... ``[END]`` around ragged rows (the default); the classifiers
    ``("", "[UNK]", "[CLS]", "[MASK]")`` with ``[CLS]`` in front of fixed-length int32 rows.

    Args:
        tokens: the token list, starting with ``specials`` (see :func:`build_vocabulary`).
        mode: the standardization used by :meth:`encode`, ``"faithful"`` or ``"better"``.
        specials: the special tokens, in id order.
        prefix, suffix: the specials put before and after each encoded sentence.
        sequence_length: every encoded row's length (``None``: ragged rows).
        dtype: the ids' dtype, ``"int64"`` or ``"int32"``.
        separator: a special that :meth:`encode` puts where the text has a tab, so one
            string holds a pair of texts (``"premise<TAB>hypothesis"`` -> ``a b [SEP] c d``);
            ``None``: a tab is a space.

    Example:
        >>> vocab = Vocabulary(build_vocabulary(["Hola, mundo."], 100))
        >>> vocab.encode(tf.constant(["hola mundo"])).to_list()
        [[2, 6, 7, 3]]
    """

    def __init__(self, tokens: Sequence[str], mode: str = "faithful",
                 specials: Sequence[str] = SPECIAL_TOKENS, prefix: Sequence[str] = (START,),
                 suffix: Sequence[str] = (END,), sequence_length: int | None = None,
                 dtype: str = "int64", separator: str | None = None,
                 name: str | None = None):
        super().__init__(name=name)
        tokens, specials = list(tokens), tuple(specials)
        if separator is not None and separator not in specials:
            raise ValueError(f"separator must be one of the specials {specials}, received "
                             f"{separator!r}")
        if tuple(tokens[: len(specials)]) != specials:
            raise ValueError(
                f"a vocabulary must start with {specials}, received {tokens[:len(specials)]}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not list a word twice")
        if not set(prefix) | set(suffix) <= set(specials):
            raise ValueError(f"prefix and suffix must be specials {specials}")
        if sequence_length is not None and sequence_length <= len(prefix) + len(suffix):
            raise ValueError(f"sequence_length must be more than {len(prefix) + len(suffix)}, "
                             f"received {sequence_length}")
        self.tokens = tokens
        self.mode = check_mode(mode)
        self.specials = specials
        self.prefix = tuple(prefix)
        self.suffix = tuple(suffix)
        self.sequence_length = sequence_length
        self.dtype = tf.as_dtype(dtype)
        self.separator = separator
        self._words = tf.constant(tokens)
        self.table = tf.lookup.StaticHashTable(  # token -> id; unknown tokens get 1
            tf.lookup.KeyValueTensorInitializer(
                self._words, tf.range(len(tokens), dtype=self.dtype)),
            default_value=1,
        )

    @property
    def size(self) -> int:
        return len(self.tokens)

    def id_of(self, special: str) -> int:
        """The id of a special token (``"[START]"``, ``"[CLS]"``, ...)."""
        if special not in self.specials:
            raise ValueError(f"this vocabulary has no {special!r}; its specials are "
                             f"{self.specials}")
        return self.specials.index(special)

    @property
    def start_id(self) -> int:
        return self.id_of(START)

    @property
    def end_id(self) -> int:
        return self.id_of(END)

    @property
    def first_word_id(self) -> int:
        """The first id that is not a special token."""
        return len(self.specials)

    def lookup(self, tokens: tf.Tensor | tf.RaggedTensor) -> tf.Tensor | tf.RaggedTensor:
        """Token strings of any shape (ragged too) -> ids; unknown tokens get id 1."""
        if isinstance(tokens, tf.RaggedTensor):
            return tf.ragged.map_flat_values(self.table.lookup, tokens)
        return self.table.lookup(tokens)

    def frame(self, ids: tf.RaggedTensor) -> tf.RaggedTensor | tf.Tensor:
        """Ragged ids (batch, None) -> ``prefix ids suffix``, padded or cut to
        ``sequence_length`` when it is set."""
        batch = ids.nrows()
        parts = [tf.fill([batch, 1], tf.constant(self.id_of(t), self.dtype))
                 for t in self.prefix]
        parts += [ids]
        parts += [tf.fill([batch, 1], tf.constant(self.id_of(t), self.dtype))
                  for t in self.suffix]
        framed = tf.concat(parts, axis=1)
        if self.sequence_length is None:
            return framed
        return framed.to_tensor(default_value=0, shape=[None, self.sequence_length])

    def encode(self, text: tf.Tensor, max_words: int | None = None):
        """Strings (batch,) -> ids: ``prefix w1 ... wn suffix``, ragged (batch, None), or
        (batch, sequence_length) when it is set.

        Sentences longer than ``max_words`` words (or than ``sequence_length`` leaves room
        for) keep their first words.
        """
        words = self.tokenize(tf.convert_to_tensor(text, tf.string))
        if self.sequence_length is not None:
            room = self.sequence_length - len(self.prefix) - len(self.suffix)
            max_words = room if max_words is None else min(max_words, room)
        if max_words is not None:
            words = words[:, :max_words]
        return self.frame(self.lookup(words))

    def tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """Strings (batch,) -> words (batch, None): :func:`tokenize`, with the
        ``separator`` token where a text has a tab (when there is a separator)."""
        if self.separator is None:
            return tokenize(text, self.mode)
        parts = tf.strings.split(text, "\t")  # (batch, parts)
        parts = parts.with_flat_values(standardize(parts.flat_values, self.mode))
        return tf.strings.split(
            tf.strings.reduce_join(parts, axis=1, separator=f" {self.separator} "))

    def words(self, ids: tf.Tensor) -> tf.Tensor:
        """Ids of any shape -> the same shape of tokens."""
        return tf.gather(self._words, tf.cast(ids, self.dtype))


def has_known_word(ids: tf.Tensor, vocabulary: Vocabulary) -> tf.Tensor:
    """(batch,) bool: whether a row of ``ids`` (batch, length) holds a token of
    ``vocabulary`` that is not special and has a letter or a digit in it.

    Rows without one hold nothing a model could honestly answer about: empty or blank input,
    punctuation only ("¿?¡!"), or only words the training data never had (another script,
    emoji: all ``[UNK]``). The translators translate such a row to ``""`` and the
    classifiers give it no label, rather than a fluent answer made up from nothing.
    """
    ids = tf.cast(ids, tf.int64)
    tokens = vocabulary.words(ids)
    known = (ids >= vocabulary.first_word_id) & tf.strings.regex_full_match(
        tokens, r".*[\pL\pN].*")
    return tf.reduce_any(known, axis=1)


def detokenize(words: tf.Tensor, mode: str = "faithful") -> tf.Tensor:
    """Words (batch, length) -> sentences (batch,); drops padding and special tokens.

    ``"faithful"`` joins with spaces as the tutorial prints. ``"better"`` attaches
    punctuation, capitalizes the first letter and the pronoun "i".
    """
    check_mode(mode)
    words = tf.convert_to_tensor(words, dtype=tf.string)
    keep = tf.logical_not(
        tf.reduce_any(tf.equal(words[..., None], tf.constant(SPECIAL_TOKENS)), axis=-1)
    )
    words = tf.where(keep, words, "")
    text = tf.strings.reduce_join(words, axis=-1, separator=" ")
    text = tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))
    if mode == "faithful":
        return text
    text = tf.strings.regex_replace(text, r" ([.?!,])", r"\1")
    text = tf.strings.regex_replace(text, r"([¿¡]) ", r"\1")
    text = tf.strings.regex_replace(text, r"(^|[ ¿¡])i('|$| )", r"\1I\2")
    return _capitalize(text)


def _capitalize(text: tf.Tensor) -> tf.Tensor:
    """Uppercases the first letter, after a leading ¿ or ¡."""
    skip = tf.cast(tf.strings.regex_full_match(text, r"[¿¡].*"), tf.int32)
    length = tf.strings.length(text, unit="UTF8_CHAR")
    head = tf.strings.substr(text, tf.zeros_like(skip), skip, unit="UTF8_CHAR")
    letter = tf.strings.substr(text, skip, tf.ones_like(skip), unit="UTF8_CHAR")
    rest = tf.minimum(skip + 1, length)
    tail = tf.strings.substr(text, rest, length - rest, unit="UTF8_CHAR")
    return head + tf.strings.upper(letter, encoding="utf-8") + tail
