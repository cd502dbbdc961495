import unicodedata

import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from common.text import SPECIAL_TOKENS, Vocabulary, build_vocabulary, detokenize, standardize


def _decode(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


def _tutorial_standardize(text):
    """The published tutorial's function, with tensorflow-text's NFKD."""
    text = tf_text.normalize_utf8(text, "NFKD")
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, "[^ a-z.?!,¿]", "")
    text = tf.strings.regex_replace(text, "[.?!,¿]", r" \0 ")
    return tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))


SENTENCES = [
    "¿Todavía está en casa?",
    "It's very cold here!",
    "ÁÉÍÓÚÑÜ çàèìòù âêîôû ãõ äëïöÿ, Žluťoučký kůň.",
    unicodedata.normalize("NFD", "La canción del año."),
    "  Tom  habló   con  María...  ",
    "😀 東京 42",
    "",
]


def test_faithful_mode_equals_the_tutorial_with_tensorflow_text():
    ours = standardize(tf.constant(SENTENCES), "faithful")
    assert _decode(ours) == _decode(_tutorial_standardize(tf.constant(SENTENCES)))
    assert _decode(ours)[0] == "¿ todavia esta en casa ?"


# Every character of the real spa-eng file (tab, NBSP, zero-width space, ª, º, ¨, ₂, ...),
# and what format, space and compatibility characters look like elsewhere.
REAL_FILE_CHARACTERS = ("\t\u00a0\u200b !\"$%&'()+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "abcdefghijklmnopqrstuvwxyz¡¨ª«°º»¿ÁÉÍÓÚáãåèéêíñóöúüčśс—‘’₂€…")
ODD_CHARACTERS = ("\u00ad\u200c\u200d\u2060\ufeff\u200e\u202f\u2009\u3000ﬁﬀﬃ"
                  "ⅫⅣ㎞㏂ℌ𝐚𝔷🄰①⑴¼µ\u0301\u0303İıŁøßÆæŒœ")


def test_faithful_mode_is_the_tutorials_nfkd_on_every_character_that_has_one():
    from common.plain_text import NFKD_RANGES

    characters = [chr(c) for block in NFKD_RANGES for c in block]
    characters += list(REAL_FILE_CHARACTERS + ODD_CHARACTERS)
    # Each character between two letters, so a character that becomes a space or nothing
    # shows as "a b" or "ab"; 64 characters a sentence.
    sentences = [" ".join(f"k{c}q" for c in characters[i : i + 64])
                 for i in range(0, len(characters), 64)]
    ours = _decode(standardize(tf.constant(sentences), "faithful"))
    theirs = _decode(_tutorial_standardize(tf.constant(sentences)))
    differ = [(s, a, b) for s, a, b in zip(sentences, ours, theirs, strict=True) if a != b]
    assert not differ, differ[:2]
    spaced = _decode(standardize(tf.constant(["a\u00a0b", "a\tb", "ª º …", "ﬁn"]),
                                 "faithful"))
    assert spaced == ["a b", "ab", "a o . . .", "fin"]  # NBSP is a space; a tab is not


def test_better_mode_strips_format_characters_instead_of_splitting_words():
    texts = tf.constant(["pala\u200bbra", "co\u00adche", "\ufeffhola", "a\u00a0b"])
    assert _decode(standardize(texts, "better")) == ["palabra", "coche", "hola", "a b"]


def test_better_mode_keeps_accents_apostrophes_and_composes_nfd():
    better = _decode(standardize(tf.constant(SENTENCES), "better"))
    assert better[0] == "¿ todavía está en casa ?"
    assert better[1] == "it's very cold here !"
    assert better[3] == "la canción del año ."
    assert better[5] == "東京 42"


def test_unknown_mode_names_the_value():
    with pytest.raises(ValueError, match="'fancy'"):
        standardize(tf.constant(["x"]), "fancy")


def test_detokenize_better_reads_like_a_sentence():
    words = tf.constant([["it's", "very", "cold", "here", ".", "[END]", ""],
                         ["¿", "i", "am", "home", "?", "[END]", ""],
                         ["", "", "", "", "", "", ""]])
    assert _decode(detokenize(words, "better")) == ["It's very cold here.", "¿I am home?", ""]
    assert _decode(detokenize(words, "faithful"))[0] == "it's very cold here ."


def test_vocabulary_is_deterministic_and_starts_with_specials():
    texts = ["el gato come.", "el perro come pan.", "el gato duerme."]
    tokens = build_vocabulary(texts, max_tokens=8)
    assert tuple(tokens[:4]) == SPECIAL_TOKENS
    assert tokens[4:] == [".", "el", "come", "gato"]  # by count, ties alphabetically
    assert build_vocabulary(list(reversed(texts)), max_tokens=8) == tokens


def test_encode_adds_start_end_maps_unknown_and_cuts_long_input():
    vocab = Vocabulary(build_vocabulary(["el gato come."], 50))
    ids = vocab.encode(tf.constant(["El gato vuela.", "", "el " * 500]), max_words=4)
    rows = ids.to_list()
    assert rows[0] == [2, vocab.tokens.index("el"), vocab.tokens.index("gato"), 1,
                       vocab.tokens.index("."), 3]
    assert rows[1] == [2, 3]
    assert len(rows[2]) == 6
    assert _decode(vocab.words(tf.constant([2, 3])))[0] == "[START]"


def test_vocabulary_rejects_a_list_without_specials():
    with pytest.raises(ValueError, match="must start with"):
        Vocabulary(["a", "b"])


def test_a_row_has_a_known_word_only_with_a_known_letter_or_digit_token():
    from common.text import has_known_word

    vocab = Vocabulary(build_vocabulary(["el gato come.", "¿dónde?", "año 2024"], 50, "better"),
                       "better")
    texts = ["el gato", "¿?¡!", "", "中文 привет 🙂", "中文 gato", "2024", "...  ?"]
    ids = vocab.encode(tf.constant(texts)).to_tensor()
    assert has_known_word(ids, vocab).numpy().tolist() == [True, False, False, False, True,
                                                            True, False]


def test_a_lone_surrogate_is_one_input_error():
    from common.errors import InputError
    from common.inputs import check_sentences

    assert check_sentences(["ok", ""]) == ["ok", ""]
    with pytest.raises(InputError, match="sentence 2 is not valid Unicode"):
        check_sentences(["ok", "bad \ud800 text"])
