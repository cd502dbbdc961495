"""``common.text``'s standardization and detokenization in plain Python: what the TensorFlow-free
inference engine (:mod:`transformer.ctranslate2_engine`) reads and writes text with.

Each step is the TensorFlow op's, in the same order: TensorFlow's regular expressions (RE2)
become the ``regex`` module's, with RE2's ASCII ``\\s`` spelled out and the Unicode classes
(``\\p{L}`` ...) built from Python's own character database (the ``regex`` module's newer
tables call letters some 18,000 characters RE2 does not know);
``tf.strings.lower(..., encoding="utf-8")`` and ``upper`` are ICU's full case mappings, as
``str.lower`` and ``str.upper`` are. The tables the two share (the faithful mode's NFKD
replacements, the Spanish letters composed) are defined here once.

Measured on every character (tests/common/test_plain_text.py): the faithful mode is equal on
all; the better mode differs on characters newer than Python 3.11's database (Unicode 14;
TensorFlow's RE2 knows Unicode 15's), on the 40 capital letters Unicode 14 added (Vithkuqi,
some Latin and Glagolitic), which TensorFlow's ICU leaves uppercase, and on NUL, at which
TensorFlow's lowercasing ends the text. bench/translate_speed.py checks the real pairs' test
split.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import regex

__all__ = ["COMPOSE", "FAITHFUL_KEPT", "MODES", "NFKD_RANGES", "PUNCTUATION",
           "SPECIAL_TOKENS", "ascii_lower", "detokenize", "faithful_replacements",
           "standardize"]

MODES = ("faithful", "better")
SPECIAL_TOKENS = ("", "[UNK]", "[START]", "[END]")  # common.text's, dropped by detokenize
PUNCTUATION = r"[.?!,¿¡]"
FAITHFUL_KEPT = frozenset(" abcdefghijklmnopqrstuvwxyz.?!,¿")
# Where a non-ASCII character has NFKD forms that keep an ASCII letter, space or kept mark.
NFKD_RANGES = (range(0x80, 0xD800), range(0xE000, 0x10000), range(0x10780, 0x107C0),
               range(0x1D400, 0x1D800), range(0x1F100, 0x1F200))
# Spanish letters typed as a letter plus a combining mark (NFD), composed as NFC would.
COMPOSE = {
    base + chr(mark): composed
    for base, mark, composed in [
        (b, 0x301, c) for b, c in zip("aeiouAEIOU", "áéíóúÁÉÍÓÚ", strict=True)
    ] + [("n", 0x303, "ñ"), ("N", 0x303, "Ñ"), ("u", 0x308, "ü"), ("U", 0x308, "Ü")]
}

_ASCII_SPACES = "[\t\n\f\r ]+"  # RE2's \s
_STRIPPED = " \t\n\v\f\r"  # tf.strings.strip's (absl's ASCII whitespace)


# Where letters, numbers, marks and format characters are: planes 0-3 and 14 (4-13 hold no
# character, 15-16 private use only); scanning only these is a tenth of the code points.
_ASSIGNED = (range(0x40000), range(0xE0000, 0xE1000))


def _classes(wanted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """For each name, a character class of every character whose Unicode category (Python's
    database) starts with one of its prefixes (``("L",)``: letters; ``("Cf",)``: format
    characters); one pass over the code points."""
    ranges: dict[str, list[list[int]]] = {name: [] for name in wanted}
    for block in _ASSIGNED:
        for code in block:
            category = unicodedata.category(chr(code))
            for name, prefixes in wanted.items():
                if category.startswith(prefixes):
                    spans = ranges[name]
                    if spans and spans[-1][1] == code - 1:
                        spans[-1][1] = code
                    else:
                        spans.append([code, code])
    return {name: "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}"
                          for a, b in spans) for name, spans in ranges.items()}


@functools.cache
def _patterns() -> dict[str, regex.Pattern]:
    classes = _classes({"letters": ("L",), "kept": ("L", "N", "M"), "format": ("Cf",)})
    letters, kept = classes["letters"], classes["kept"]
    return {"format": regex.compile(f"[{classes['format']}]"),
            "not_kept": regex.compile(f"[^{kept}'.?!,¿¡]+"),
            "edge_apostrophes": regex.compile(f"(^|[^{letters}])'+|'+([^{letters}]|$)")}


def ascii_lower(text: str) -> str:
    """Lowercases A-Z only, as ``tf.strings.lower`` without an encoding."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


@functools.cache
def faithful_replacements() -> dict[str, str]:
    """What the tutorial's ``normalize_utf8(NFKD)``, ASCII ``lower`` and ``[^ a-z.?!,¿]``
    filter leave of each non-ASCII character that keeps something (``"é"`` -> ``"e"``,
    ``"ﬁ"`` -> ``"fi"``); characters not listed are dropped by the filter."""
    table = {}
    for block in NFKD_RANGES:
        for code in block:
            decomposed = unicodedata.normalize("NFKD", chr(code))
            kept = "".join(c for c in ascii_lower(decomposed) if c in FAITHFUL_KEPT)
            if kept and kept != chr(code):
                table[chr(code)] = kept
    return table


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"text mode must be one of {MODES}, received mode={mode!r}")
    return mode


def standardize(text: str, mode: str = "faithful") -> str:
    """``common.text.standardize`` of one string; punctuation becomes separate words."""
    check_mode(mode)
    if mode == "faithful":
        table = faithful_replacements()
        text = ascii_lower("".join(table.get(c, c) for c in text))
        text = regex.sub(r"[^ a-z.?!,¿]", "", text)
    else:
        patterns = _patterns()
        text = patterns["format"].sub("", text)
        for decomposed, composed in COMPOSE.items():
            text = text.replace(decomposed, composed)
        text = text.lower()
        text = regex.sub("[’‘`´]", "'", text)
        text = patterns["not_kept"].sub(" ", text)
        text = patterns["edge_apostrophes"].sub(r"\1 \2", text)
    text = regex.sub(PUNCTUATION, r" \g<0> ", text)
    text = regex.sub(_ASCII_SPACES, " ", text)
    return text.strip(_STRIPPED)


def detokenize(words: Sequence[str], mode: str = "faithful") -> str:
    """``common.text.detokenize`` of one row of words: special tokens dropped; ``"better"``
    joins punctuation back and capitalizes the first letter and the pronoun "i"."""
    check_mode(mode)
    text = " ".join("" if w in SPECIAL_TOKENS else w for w in words)
    text = regex.sub(_ASCII_SPACES, " ", text).strip(_STRIPPED)
    if mode == "faithful":
        return text
    text = regex.sub(r" ([.?!,])", r"\1", text)
    text = regex.sub(r"([¿¡]) ", r"\1", text)
    text = regex.sub(r"(^|[ ¿¡])i('|$| )", r"\1I\2", text)
    skip = 1 if text[:1] in ("¿", "¡") else 0
    return text[:skip] + text[skip : skip + 1].upper() + text[skip + 1 :]
