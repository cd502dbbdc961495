import collections
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.data import (
    DataError,
    download_spa_eng,
    generate_pairs,
    load_pairs,
    split_indices,
    write_alignments,
    write_pairs,
)
from common.text import tokenize


@pytest.fixture(scope="module")
def pairs():
    return generate_pairs(20000, seed=0)


def test_generated_corpus_is_deterministic_distinct_and_large_enough(pairs):
    assert generate_pairs(50, seed=0) == pairs[:50]
    assert generate_pairs(50, seed=1) != pairs[:50]
    assert len({(p.english, p.spanish) for p in pairs}) == 20000


def test_generated_corpus_has_a_few_hundred_word_types_per_side(pairs):
    spanish = {w for p in pairs for w in p.spanish_tokens}
    english = {w for p in pairs for w in p.english_tokens}
    assert 300 <= len(spanish) <= 1500
    assert 150 <= len(english) <= 1000


def test_generated_corpus_covers_the_grammar(pairs):
    spanish = " ".join(p.spanish for p in pairs)
    english = " ".join(p.english for p in pairs)
    for phrase in ["las casas blancas", "el coche rojo", "¿Qué", "¿Dónde", "no ", "Lo ",
                   "comió", "comerá", "jóvenes", " al "]:
        assert phrase in spanish, phrase
    for phrase in ["the white houses", "the red car", "didn't", "won't", "doesn't", "Will "]:
        assert phrase in english, phrase


def test_the_lectures_sentence_is_in_the_grammar_todavia_aligned_to_still(pairs):
    lecture = [p for p in pairs if p.spanish == "¿Todavía está en casa?"]
    assert lecture and {p.english for p in lecture} <= {"Is he still at home?",
                                                       "Is she still at home?"}
    pair = lecture[0]
    assert pair.sources_of(pair.english_tokens.index("still")) == (1,)  # todavía
    assert pair.sources_of(pair.english_tokens.index("home")) == (4,)  # casa
    assert pair.sources_of(0) == (2,)  # is: está
    still = [p for p in pairs if "todavía" in p.spanish_tokens]
    assert len(still) > len(pairs) // 50
    for p in still:  # todavía is always still, wherever the two languages put it
        assert "still" in p.english_tokens
        assert p.sources_of(p.english_tokens.index("still")) == (
            p.spanish_tokens.index("todavía"),)


def test_adjectives_agree_in_gender_and_number(pairs):
    from common.data.generated import _ADJECTIVES, _NOUNS, _VERBS, TENSES, _adjective, _conjugate

    verb_forms = {_conjugate(v[0], v[3], t, p) for v in _VERBS for t in TENSES for p in range(5)}

    nouns = {}
    for singular, plural, gender, *_ in _NOUNS:
        nouns[singular] = (gender, False)
        nouns[plural] = (gender, True)
    forms = {}
    for base, *_ in _ADJECTIVES:
        for gender in "mf":
            for plural in (False, True):
                forms.setdefault(_adjective(base, gender, plural), set()).add((gender, plural))
    checked = 0
    for pair in pairs:
        tokens = pair.spanish_tokens
        for noun, following in zip(tokens, tokens[1:], strict=False):
            if noun in nouns and following in forms and following not in verb_forms:
                assert nouns[noun] in forms[following], pair.spanish
                checked += 1
    assert checked > 1000
    assert "blancas" in " ".join(p.spanish for p in pairs)


def test_alignment_links_are_in_range_and_cover_content_words(pairs):
    for pair in pairs[:2000]:
        assert len(pair.content) == len(pair.english_tokens)
        for s, e in pair.alignment:
            assert 0 <= s < len(pair.spanish_tokens) and 0 <= e < len(pair.english_tokens)
        for e, is_content in enumerate(pair.content):
            if is_content:
                assert pair.sources_of(e), (pair.english, e)


def test_adjective_after_noun_gives_crossing_alignment(pairs):
    pair = next(p for p in pairs if " coche rojo" in p.spanish and "red car" in p.english)
    noun, adjective = pair.spanish_tokens.index("coche"), pair.spanish_tokens.index("rojo")
    assert pair.sources_of(pair.english_tokens.index("red")) == (adjective,)
    assert pair.sources_of(pair.english_tokens.index("car")) == (noun,)


@pytest.mark.parametrize("mode", ["faithful", "better"])
def test_generator_tokens_are_the_standardized_tokens(pairs, mode):
    sample = pairs[:500]
    spanish = tokenize(tf.constant([p.spanish for p in sample]), mode).to_list()
    english = tokenize(tf.constant([p.english for p in sample]), mode).to_list()
    for pair, es, en in zip(sample, spanish, english, strict=True):
        assert len(es) == len(pair.spanish_tokens)
        assert len(en) == len(pair.english_tokens)
        if mode == "better":
            assert [w.decode() for w in es] == list(pair.spanish_tokens)


def test_written_corpus_loads_back_in_spa_txt_format(pairs, tmp_path):
    path = write_pairs(tmp_path / "spa.txt", pairs[:100])
    loaded = load_pairs(path)
    assert loaded.english == [p.english for p in pairs[:100]]
    assert loaded.spanish == [p.spanish for p in pairs[:100]]
    assert loaded.malformed == []
    lines = write_alignments(tmp_path / "align.txt", pairs[:3]).read_text().splitlines()
    assert lines[0] == " ".join(f"{s}-{e}" for s, e in pairs[0].alignment)


def test_malformed_lines_are_counted_with_line_numbers(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text("Go.\tVe.\nno tab here\n\nHi.\tHola.\tCC-BY attribution\n\tsolo\n",
                    encoding="utf-8")
    loaded = load_pairs(path)
    assert loaded.english == ["Go.", "Hi."] and loaded.spanish == ["Ve.", "Hola."]
    assert [n for n, _ in loaded.malformed] == [2, 5]
    assert "skipped 2 malformed line(s) (2, 5)" in loaded.report()


def test_zip_like_the_tutorials_loads(tmp_path):
    archive = tmp_path / "spa-eng.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("spa-eng/_about.txt", "about")
        z.writestr("spa-eng/spa.txt", "Go.\tVe.\nHi.\tHola.\n")
    assert load_pairs(archive).spanish == ["Ve.", "Hola."]


def test_bad_files_give_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_pairs(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_pairs(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Hi.\tAdiós, señor.\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8.*iconv"):
        load_pairs(latin1)
    no_pairs = tmp_path / "nopairs.txt"
    no_pairs.write_text("just text\nmore text\n")
    with pytest.raises(DataError, match="no 'English<TAB>Spanish' line"):
        load_pairs(no_pairs)


def test_download_offline_says_how_to_pass_a_file(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DataError, match="--data PATH"):
        download_spa_eng()


def test_splits_are_seeded_disjoint_and_complete():
    a, b = split_indices(1000, seed=3), split_indices(1000, seed=3)
    np.testing.assert_array_equal(a.test, b.test)
    assert len(a.validation) == len(a.test) == 100
    together = np.concatenate([a.train, a.validation, a.test])
    assert sorted(together.tolist()) == list(range(1000))
    assert not np.array_equal(split_indices(1000, seed=4).test, a.test)
    counts = collections.Counter(together.tolist())
    assert max(counts.values()) == 1


def test_a_limited_split_spreads_over_a_file_sorted_by_length():
    """``evaluate --limit`` scores every k-th pair of the split, not its first: on a file
    that runs from short sentences to long ones the first would be the shortest."""
    from common.data.corpus import Corpus

    english = ["word " * (1 + i // 10) for i in range(1000)]  # sorted by length
    corpus = Corpus(english, english, split_indices(1000, seed=0), "", [])
    test = corpus.splits.test
    chosen = corpus.indices("test", 10)
    np.testing.assert_array_equal(chosen, test[np.arange(10) * len(test) // 10])
    assert set(chosen) <= set(test) and np.all(np.diff(chosen) > 0)
    lengths = [len(corpus.part("test", 10)[1][i].split()) for i in range(10)]
    everything = [len(text.split()) for text in corpus.part("test")[1]]
    assert lengths[0] == everything[0] and lengths[-1] >= np.percentile(everything, 85)
    assert abs(np.mean(lengths) - np.mean(everything)) < 0.1 * np.mean(everything)
    np.testing.assert_array_equal(corpus.indices("test", 10_000), test)
    assert len(corpus.indices("test", 1)) == 1 and len(corpus.indices("test", 0)) == 0


def test_phrases_join_the_group_of_the_sentence_that_holds_them():
    from common.data.splits import phrase_groups

    texts = ["The film is  good ", "film is", "is good", "a bad film", "bad", "good",
             "the plot", "the films", "FILM IS"]
    groups = phrase_groups(texts)
    assert groups[1] == groups[2] == groups[5] == groups[8] == groups[0]
    assert groups[4] == groups[3] != groups[0]
    # Whole words only: "film" is not held by "films"; unrelated texts stand alone.
    assert len({groups[0], groups[3], groups[6], groups[7]}) == 4


def test_grouped_splits_keep_each_group_on_one_side():
    from common.data.splits import split_groups

    rng = np.random.default_rng(0)
    groups = rng.integers(0, 300, size=3000)
    splits = split_groups(groups, seed=1, validation_fraction=0.1, test_fraction=0.2)
    parts = [set(groups[index]) for index in (splits.train, splits.validation, splits.test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert sorted(np.concatenate([splits.train, splits.validation, splits.test])) == \
        list(range(3000))
    assert abs(len(splits.test) - 600) < 40 and abs(len(splits.validation) - 300) < 40
    # Groups of one: exactly the random split of the same seed.
    single = split_groups(np.arange(500), seed=4, validation_fraction=0.1, test_fraction=0.2)
    plain = split_indices(500, seed=4, validation_fraction=0.1, test_fraction=0.2)
    for a, b in zip((single.train, single.validation, single.test),
                    (plain.train, plain.validation, plain.test), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_grouped_text_split_tests_on_sentences_it_never_trained_on(tmp_path):
    from classify.config import TextConfig
    from classify.data import text_splits

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    rows = ["sentence\tlabel"]
    for _ in range(120):
        sentence = list(rng.choice(words, size=8))
        rows.append(" ".join(sentence) + "\t1")
        for start in range(0, 6, 2):  # phrases cut from it
            rows.append(" ".join(sentence[start:start + 3]) + "\t0")
    path = tmp_path / "phrases.tsv"
    path.write_text("\n".join(rows) + "\n")
    for split, leaks in (("random", True), ("grouped", False)):
        texts = text_splits(TextConfig.tiny().replace(data=str(path), split=split)).texts
        train = [f" {t} " for t in texts["train"]]
        leaked = sum(any(f" {t} " in s for s in train) for t in texts["test"])
        assert (leaked > 0) == leaks, (split, leaked)


def test_validation_datasets_are_split_by_example_and_untuned():
    from common.distribute import distribute_dataset

    ds = tf.data.Dataset.range(10).map(lambda x: x + 1, num_parallel_calls=tf.data.AUTOTUNE)
    shard = tf.data.experimental.AutoShardPolicy.DATA
    tuned, untuned = distribute_dataset(ds), distribute_dataset(ds, autotune=False)
    assert tuned.options().experimental_distribute.auto_shard_policy == shard
    assert untuned.options().experimental_distribute.auto_shard_policy == shard
    assert tuned.options().autotune.enabled is not False
    assert untuned.options().autotune.enabled is False
    assert list(untuned.as_numpy_iterator()) == list(range(1, 11))
