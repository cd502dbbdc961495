"""WordPiece in plain Python: what ``tensorflow_text.BertTokenizer`` (``lower_case=False``, as
``transformer.tokenizer`` builds it) does to standardized text, and its detokenization, for
the TensorFlow-free inference engine (:mod:`transformer.ctranslate2_engine`).

Three steps, each the op's: control and format characters become spaces; the text is split
at whitespace (dropped) and at every punctuation mark and CJK ideograph (each kept as a token
of its own); each token is cut into the longest pieces of the vocabulary, left to right,
``##`` marking a piece inside a word, and a token no pieces spell, or longer than 100 bytes,
is ``[UNK]``. Tests compare it with tensorflow-text on every character and on generated
sentences; bench/translate_speed.py on the real pairs' test split.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from common.plain_text import detokenize, standardize

__all__ = ["WordPiece"]

# tensorflow_text.BertTokenizer's delimiters: RE2's \s (ASCII whitespace) runs, dropped; ASCII
# and Unicode punctuation and the CJK ideographs, one character each, kept.
_KEPT = (r"[!-/]|[:-@]|[\[-`]|[{-~]|[\p{P}]|[\U00004E00-\U00009FFF]|[\U00003400-\U00004DBF]|"
         r"[\U00020000-\U0002A6DF]|[\U0002A700-\U0002B73F]|[\U0002B740-\U0002B81F]|"
         r"[\U0002B820-\U0002CEAF]|[\U0000F900-\U0000FAFF]|[\U0002F800-\U0002FA1F]")
_DELIMITERS = regex.compile(r"[\t\n\f\r ]+|" + _KEPT)
_KEPT_DELIMITER = regex.compile(_KEPT)
_CONTROL = regex.compile(r"\p{Cc}|\p{Cf}")
_SUFFIX = "##"
_MAX_BYTES_A_WORD = 100
_LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")
_SPLIT_APOSTROPHE = regex.compile(r"(\p{L}) ' (\p{L})")


class WordPiece:
    """A run's WordPiece vocabulary (``[PAD] [UNK] [START] [END]`` first): text to pieces and
    ids, and ids back to text, as ``transformer.tokenizer.WordPieceTokenizer`` does.

    Args:
        tokens: the piece list of the run (``RUN/tokenizer/*.json``, or the CTranslate2
            export's vocabularies).
        mode: the ``common.text`` standardization the run was trained with.

    Example:
        >>> WordPiece(["[PAD]", "[UNK]", "[START]", "[END]", "¿", "?", "casa", "##s"],
        ...           "better").pieces("¿Casas?")
        ['¿', 'casa', '##s', '?']
    """

    def __init__(self, tokens: Sequence[str], mode: str = "better"):
        self.tokens = list(tokens)
        self.mode = mode
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    @property
    def size(self) -> int:
        return len(self.tokens)

    def words(self, text: str) -> list[str]:
        """BERT's basic split of standardized ``text``."""
        text = _CONTROL.sub(" ", text)
        words, begin = [], 0
        for match in _DELIMITERS.finditer(text):
            if match.start() > begin:
                words.append(text[begin : match.start()])
            if _KEPT_DELIMITER.fullmatch(match.group()):
                words.append(match.group())
            begin = match.end()
        if begin < len(text):
            words.append(text[begin:])
        return words

    def word_pieces(self, word: str) -> list[str]:
        """The longest pieces that spell ``word``, left to right; ``["[UNK]"]`` if none do."""
        if len(word.encode("utf-8")) > _MAX_BYTES_A_WORD:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else _SUFFIX + word[start:end]
                if piece in self.ids:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    def pieces(self, text: str) -> list[str]:
        """Standardized ``text`` cut into pieces (no ``[START]``/``[END]``)."""
        return [p for word in self.words(standardize(text, self.mode))
                for p in self.word_pieces(word)]

    def encode(self, text: str, max_pieces: int | None = None) -> list[str]:
        """``[START] pieces [END]``, its first ``max_pieces`` pieces kept."""
        return ["[START]", *self.pieces(text)[:max_pieces], "[END]"]

    def has_known_word(self, pieces: Sequence[str]) -> bool:
        """Whether ``pieces`` hold a piece of the vocabulary that is not reserved and has a
        letter or a digit (``common.text.has_known_word``)."""
        return any(self.ids.get(p, 1) >= 4 and _LETTER_OR_DIGIT.search(p) for p in pieces)

    def decode(self, pieces: Sequence[str]) -> str:
        """Pieces (reserved ones dropped) joined into words, then into a sentence."""
        kept = [p for p in pieces if self.ids.get(p, 1) >= 4]
        joined = " ".join(kept).replace(" " + _SUFFIX, "").strip(" ")
        words = [w for w in joined.split(" ") if w] if joined else []
        return _SPLIT_APOSTROPHE.sub(r"\1'\2", detokenize(words, self.mode))
