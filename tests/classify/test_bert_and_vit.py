import numpy as np
import pytest

from classify.bert import mask_tokens
from classify.predictor import check_images, check_texts
from classify.vit import PatchEmbedding, attention_rollout


def test_masking_rates_hold_and_spare_padding_and_cls():
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 100, size=(2000, 32))
    ids[:, 0] = 2  # [CLS]
    ids[:, 24:] = 0  # padding
    inputs, labels = mask_tokens(ids, rng, mask_id=3, first_word_id=4, vocabulary_size=100,
                                 protected_ids=(2,))
    chosen = labels != 0
    eligible = ids[:, 1:24].size
    assert abs(chosen.sum() / eligible - 0.15) < 0.005
    assert not chosen[:, 0].any() and not chosen[:, 24:].any()
    np.testing.assert_array_equal(inputs[:, 0], 2)
    np.testing.assert_array_equal(inputs[:, 24:], 0)
    np.testing.assert_array_equal(labels[chosen], ids[chosen])
    masked = (inputs == 3) & chosen
    kept = (inputs == ids) & chosen
    replaced = chosen & ~masked & ~kept
    total = chosen.sum()
    assert abs(masked.sum() / total - 0.8) < 0.01
    # a random replacement can draw the same word: kept ~ 0.1 + 0.1/96, replaced ~ 0.1 - that
    assert abs(kept.sum() / total - 0.1) < 0.01
    assert abs(replaced.sum() / total - 0.1) < 0.01
    assert (inputs[replaced] >= 4).all() and (inputs[replaced] < 100).all()
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])


def test_patches_are_cut_row_major():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    layer = PatchEmbedding(2, 4)
    layer.build(image.shape)
    layer.projection.set_weights([np.eye(4, dtype=np.float32), np.zeros(4, np.float32)])
    patches = layer(image).numpy()[0]
    np.testing.assert_array_equal(patches, [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13],
                                            [10, 11, 14, 15]])


def test_attention_rollout():
    tokens = 5
    uniform = [np.full([2, tokens, tokens], 1 / tokens)] * 3
    np.testing.assert_allclose(attention_rollout(uniform), np.full(4, 0.25))
    focused = np.zeros([1, tokens, tokens])
    focused[:, :, 3] = 1.0  # everyone looks at token 3 (patch 2)
    weights = attention_rollout([focused, focused])
    assert weights.argmax() == 2 and abs(weights.sum() - 1) < 1e-9

    def looking_at(token):
        blocks = np.zeros([1, tokens, tokens])
        blocks[:, :, token] = 1.0
        return blocks

    # Each block mixed with the residual (half each), multiplied first block first, read
    # from [CLS]: a rollout of the last block alone, or without the residual, is one-hot, and
    # the reversed product gives [2/3, 0, 1/3, 0].
    np.testing.assert_allclose(attention_rollout([looking_at(3), looking_at(1)]),
                               [1 / 3, 0, 2 / 3, 0], atol=1e-9)


@pytest.mark.parametrize("images,message", [
    (np.zeros([2, 8, 8, 1], np.uint8), "divide by 255"),
    (np.zeros([2, 7, 8, 1], np.float32), "shape"),
    (np.full([1, 8, 8, 1], 255.0, np.float32), r"\[0, 1\]"),
    (np.full([1, 8, 8, 1], np.nan, np.float32), "NaN"),
])
def test_bad_images_get_one_clear_error(images, message):
    with pytest.raises(ValueError, match=message):
        check_images(images, (8, 8, 1))


def test_single_grey_image_gets_batch_and_channel_axes():
    image = np.arange(64.0).reshape(8, 8) / 64
    checked = check_images(image, (8, 8, 1))
    assert checked.shape == (1, 8, 8, 1)
    np.testing.assert_array_equal(checked[0, ..., 0], image)  # the pixels where they were
    batch = np.stack([image, image[::-1]]).astype(np.float32)
    np.testing.assert_array_equal(check_images(batch, (8, 8, 1))[..., 0], batch)


def test_texts_must_be_a_list_of_strings_and_may_be_blank():
    assert check_texts(["a cat", "   ", ""]) == ["a cat", "   ", ""]  # blank: no label
    assert check_texts([]) == []
    with pytest.raises(ValueError, match="list of texts"):
        check_texts("a cat")
    with pytest.raises(ValueError, match="text 2 is a int"):
        check_texts(["a cat", 3])


def test_pairs_are_one_row_with_sep_between():
    import tensorflow as tf

    from classify.vocabulary import build_word_vocabulary, word_vocabulary

    tokens = build_word_vocabulary(["the dog ran", "a dog"], 20)
    assert tokens[:5] == ["", "[UNK]", "[CLS]", "[MASK]", "[SEP]"]
    vocab = word_vocabulary(tokens, 8)
    ids = {word: tokens.index(word) for word in ("the", "dog", "ran", "a")}
    rows = vocab.encode(tf.constant(["The dog ran\tA dog.", "the dog ran"])).numpy()
    np.testing.assert_array_equal(rows, [
        [2, ids["the"], ids["dog"], ids["ran"], 4, ids["a"], ids["dog"], 1],  # "." unknown
        [2, ids["the"], ids["dog"], ids["ran"], 0, 0, 0, 0]])
    # a run saved before [SEP] existed reads its four specials; a tab is then a space
    old = word_vocabulary(["", "[UNK]", "[CLS]", "[MASK]", "dog", "ran"], 5)
    np.testing.assert_array_equal(old.encode(tf.constant(["dog\tran"])).numpy(),
                                  [[2, 4, 5, 0, 0]])


def test_sentences_are_packed_whole_with_sep_after_each():
    from classify.bert import pack_sentences

    rows = np.array([[2, 5, 6, 7, 0, 0], [2, 8, 0, 0, 0, 0], [2, 9, 10, 0, 0, 0],
                     [2, 0, 0, 0, 0, 0]], np.int32)  # the last text is empty
    packed = pack_sentences(rows, 8, cls_id=2, separator_id=4, seed=0)
    assert packed.shape[1] == 8 and (packed[:, 0] == 2).all()
    sentences = sorted(tuple(part) for row in packed
                       for part in _split(row[1:np.count_nonzero(row)], 4))
    assert sentences == [(5, 6, 7), (8,), (9, 10)]  # each whole, once
    assert len(packed) == 2  # 3 + 1 + 2 words and their [SEP]s fill two rows of 8
    long = np.array([[2, *range(5, 20)]], np.int32)
    np.testing.assert_array_equal(pack_sentences(long, 8, cls_id=2, separator_id=4),
                                  [[2, 5, 6, 7, 8, 9, 10, 4]])  # cut to fit a row


def _split(ids, separator):
    part = []
    for i in ids:
        if i == separator:
            yield part
            part = []
        else:
            part.append(int(i))


def test_pairs_survive_a_tsv_round_trip(tmp_path):
    from common.data.classification import (
        generate_pair_task,
        read_labeled_tsv,
        write_labeled_tsv,
    )

    pairs = generate_pair_task(40, seed=1)
    path = write_labeled_tsv(tmp_path / "pairs.tsv", pairs)
    assert path.read_text().splitlines()[0] == "sentence1\tsentence2\tlabel"
    back = read_labeled_tsv(path)
    assert back.texts == pairs.texts and back.label_names == ["no", "yes"]
    np.testing.assert_array_equal(back.labels, pairs.labels)


def test_wordpiece_cuts_words_as_the_rule_says():
    """The classifiers' pieces are WordPiece's rule (the longest piece that starts the word,
    then the longest ``##`` piece from there; [UNK] where none does), written in plain
    Python in common.wordpiece."""
    import tensorflow as tf

    from classify.vocabulary import build_text_vocabulary, text_vocabulary
    from common.text import tokenize
    from common.wordpiece import WordPiece

    learned_from = ["the watchers watched the watchable film", "an unwatchable film",
                    "she rewatched it twice", "the films were watched", "a filmmaker"] * 5
    tokens = build_text_vocabulary(learned_from, 60, tokenizer="wordpiece")
    assert tokens[:5] == ["", "[UNK]", "[CLS]", "[MASK]", "[SEP]"]
    vocab = text_vocabulary(tokens, 40, tokenizer="wordpiece")
    texts = ["Unwatchable films, rewatched!", "the filmmakers' watchers", "naïve 日本 watch",
             "watch\trewatch"]
    got = vocab.tokenize(tf.constant(texts)).to_list()
    for text, row in zip(texts, got, strict=True):
        parts = text.split("\t")
        words = [w.decode() for part in parts for w in
                 tokenize(tf.constant([part]), "better")[0].numpy()]
        if len(parts) == 2:  # [SEP] between the two texts of a pair
            first = len(tokenize(tf.constant([parts[0]]), "better")[0])
            words.insert(first, "[SEP]")
        rule = WordPiece(tokens)
        expected = [p for w in words for p in rule.word_pieces(w)]
        assert [p.decode() for p in row] == expected, text
    assert "[UNK]" in [p.decode() for p in got[2]]  # 日本: no piece spells it
    assert any(p.startswith(b"##") for p in got[0])  # a word unseen whole, spelled in pieces
    ids = vocab.encode(tf.constant(texts[:1])).numpy()[0]
    assert ids[0] == 2 and list(vocab.words(ids[1 : len(got[0]) + 1]).numpy()) == got[0]
