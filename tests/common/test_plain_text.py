"""The TensorFlow-free text path (common.plain_text, common.wordpiece) against the TensorFlow
ops it stands in for: the same standardization, pieces and sentences."""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from common import plain_text
from common import text as tf_text_ops
from common.wordpiece import WordPiece

# Plane 0 whole (every script in use), planes 1 and 2 (historic scripts, symbols, emoji,
# rare ideographs) every 7th: what a sentence can hold, at a few seconds a mode.
CHARACTERS = [chr(c) for c in [*range(0x10000), *range(0x10000, 0x30000, 7)]
              if not 0xD800 <= c < 0xE000]
HOSTILE = ["", "   ", "¿?¡!", "日本語のテキスト", "naïve café", "x" * 300, "a" * 10000,
           "Él dijo: «¡Hola!» — ¿qué?", "l'eau d'été", "rock'n'roll", "''quoted''",
           "a\u200bb", "tab\there", "emoji 😀 here", "ＦＵＬＬ ｗｉｄｔｈ", "ﬁnal ﬂag",
           "Ĳssel", "İstanbul", "ΟΔΟΣ", "Straße", "e\u0301xito", "ni\u00f1o", "I'm", "i i i"]


def _standardized(texts, mode):
    python = [plain_text.standardize(t, mode) for t in texts]
    tensorflow = [s.decode() for s in tf_text_ops.standardize(tf.constant(texts),
                                                              mode).numpy()]
    return python, tensorflow


# The 40 capital letters Unicode 14 added (Python 3.11 lowercases them; TensorFlow's ICU
# does not know them).
UNICODE_14_CAPITALS = frozenset(map(chr, [0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8,
                                          *range(0x10570, 0x1057B), *range(0x1057C, 0x1058B),
                                          *range(0x1058C, 0x10593), 0x10594, 0x10595]))


def _known_difference(char: str) -> bool:
    """Where the two may differ (common.plain_text's docstring): characters newer than
    Python's database, the capitals Unicode 14 added, NUL."""
    return unicodedata.category(char) == "Cn" or char == "\0" or char in UNICODE_14_CAPITALS


@pytest.mark.parametrize("mode", ["faithful", "better"])
def test_standardize_equals_tensorflow_on_every_character(mode):
    texts = [f"A{c}b {c}'x ¿{c}?" for c in CHARACTERS] + HOSTILE
    python, tensorflow = _standardized(texts, mode)
    differ = [c for c, a, b in zip(CHARACTERS, python, tensorflow, strict=False) if a != b]
    unexplained = [hex(ord(c)) for c in differ if not _known_difference(c)]
    assert not unexplained, unexplained[:10]
    assert python[len(CHARACTERS):] == tensorflow[len(CHARACTERS):]  # the hostile lines
    if mode == "faithful":
        assert not differ  # no exception at all
    assert len(UNICODE_14_CAPITALS) == 40


def test_detokenize_equals_tensorflow():
    rng = np.random.default_rng(0)
    words = ["i", "I'm", "¿", "?", "¡", "!", ".", ",", "hola", "i", "[UNK]", "", "[END]",
             "élan", "straße", "'", "i'd"]
    rows = [list(rng.choice(words, size=rng.integers(0, 9))) for _ in range(3000)]
    width = max(len(r) for r in rows)
    padded = tf.constant([r + [""] * (width - len(r)) for r in rows])
    for mode in ("faithful", "better"):
        tensorflow = [s.decode() for s in tf_text_ops.detokenize(padded, mode).numpy()]
        assert [plain_text.detokenize(r, mode) for r in rows] == tensorflow


@pytest.fixture(scope="module")
def vocabularies():
    from common.data import generate_pairs
    from transformer.tokenizer import build_wordpiece_vocabulary

    pairs = generate_pairs(3000, seed=0)
    spanish, english = [p.spanish for p in pairs], [p.english for p in pairs]
    return (spanish, build_wordpiece_vocabulary(spanish, 300),
            english, build_wordpiece_vocabulary(english, 300))


def test_wordpiece_cuts_as_tensorflow_text_does(vocabularies):
    from transformer.tokenizer import WordPieceTokenizer

    spanish, tokens, _, _ = vocabularies
    ours, theirs = WordPiece(tokens, "better"), WordPieceTokenizer(tokens, "better")
    texts = spanish + HOSTILE + [f"a{c}b {c}" for c in CHARACTERS[::7]
                                 if not _known_difference(c)]
    ids = theirs.encode(tf.constant(texts), 30)
    expected = [[p.decode() for p in row] for row in theirs.pieces(ids).to_list()]
    assert [ours.encode(t, 30) for t in texts] == expected
    assert ours.encode("rápidamente")[1:-1] != ["[UNK]"]  # spelled from pieces


def test_wordpiece_decodes_as_tensorflow_text_does(vocabularies):
    from transformer.tokenizer import WordPieceTokenizer

    _, _, english, tokens = vocabularies
    ours, theirs = WordPiece(tokens, "better"), WordPieceTokenizer(tokens, "better")
    rng = np.random.default_rng(0)
    rows = theirs.encode(tf.constant(english[:300])).to_list()
    rows += [list(rng.integers(1, len(tokens), size=rng.integers(0, 15))) for _ in range(1500)]
    width = max(len(r) for r in rows)
    ids = tf.constant([r + [0] * (width - len(r)) for r in rows])
    expected = [s.decode() for s in theirs.decode(ids).numpy()]
    assert [ours.decode([tokens[i] for i in r]) for r in rows] == expected


def test_a_known_word_is_what_tensorflow_calls_one(vocabularies):
    from common.text import has_known_word
    from transformer.tokenizer import WordPieceTokenizer

    spanish, tokens, _, _ = vocabularies
    ours, theirs = WordPiece(tokens, "better"), WordPieceTokenizer(tokens, "better")
    texts = spanish[:50] + HOSTILE
    ids = theirs.encode(tf.constant(texts)).to_tensor()
    expected = has_known_word(ids, theirs.vocabulary).numpy().tolist()
    assert [ours.has_known_word(ours.encode(t)) for t in texts] == expected
    assert not all(expected) and any(expected)
