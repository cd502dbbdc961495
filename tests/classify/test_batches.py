"""Token batches grouped by length and cut to their longest row (classify.data)."""

import numpy as np
import pytest
import tensorflow as tf

from classify.data import token_batches
from classify.text_classifier import TextClassifier


def _padded_ids(lengths, width=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.zeros([len(lengths), width], np.int32)
    for row, length in enumerate(lengths):
        ids[row, 0] = 2  # [CLS]
        ids[row, 1:length] = rng.integers(4, 50, length - 1)
    return ids


def test_every_row_once_cut_to_its_batch_and_nothing_else_cut():
    lengths = np.random.default_rng(1).integers(2, 13, 103)
    ids, labels = _padded_ids(lengths), np.arange(103, dtype=np.int32)
    batches = list(token_batches(ids, labels, 8, seed=0, training=False).as_numpy_iterator())
    seen = np.concatenate([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(103))
    for x, y in batches:
        assert x.shape[1] == lengths[y].max()
        np.testing.assert_array_equal(x, ids[y, : x.shape[1]])  # the cut columns were padding
    # rows of a batch have close lengths: far fewer positions than padding to 12
    assert sum(x.size for x, _ in batches) < 0.7 * ids.size


def test_training_batches_are_full_regrouped_each_pass_and_transformed():
    lengths = np.repeat([3, 5, 7, 9, 11], 8)  # five full batches a pass ...
    ids = _padded_ids(np.concatenate([lengths, [12, 12, 12]]))  # ... and one short of rows
    seen = []

    def transform(x, y):
        seen.append(len(x))
        return x, y * 10

    stream = token_batches(ids, ids, 8, seed=3, training=True, transform=transform)
    batches = list(stream.take(10).as_numpy_iterator())
    first, second = batches[:5], batches[5:]
    for x, y in batches:
        assert x.shape[0] == 8 and x.shape[1] in lengths  # the 3 rows of 12 never come
        np.testing.assert_array_equal(y, x * 10)
    assert set(seen) == {8}
    assert sorted(np.concatenate([x[:, 1] for x, _ in first]).tolist()) == \
        sorted(ids[:40, 1].tolist())  # one pass is every row of a full batch once
    assert any(a[0].shape != b[0].shape or (a[0] != b[0]).any()
               for a, b in zip(first, second, strict=True))  # the next pass is regrouped


def test_the_classifier_gives_the_same_logits_on_cut_batches():
    """Padding is masked everywhere, so cutting it changes no number the model computes."""
    ids = _padded_ids([3, 5, 4, 2], width=16)
    for pooling in ("cls", "mean"):
        model = TextClassifier(60, 2, 16, 2, 16, 2, 32, 0.0, pooling)
        full = model(tf.constant(ids)).numpy()
        cut = model(tf.constant(ids[:, :5])).numpy()
        np.testing.assert_allclose(cut, full, rtol=1e-5, atol=1e-6)


def test_bert_pretrains_on_more_unlabeled_text_but_never_on_held_out_texts(tmp_path):
    from classify.config import BertConfig
    from classify.data import text_splits
    from classify.train import _pretraining_texts

    data = tmp_path / "labeled.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"text number {i}\t{i % 2}\n"
                                                  for i in range(40)))
    config = BertConfig.tiny().replace(data=str(data))
    splits = text_splits(config)
    test_text, validation_text = splits.texts["test"][0], splits.texts["validation"][0]
    unlabeled = tmp_path / "more.txt"
    unlabeled.write_text(f"a new sentence\tuna frase\n{test_text.upper()}\n"
                         f"{validation_text}\na new sentence\n")
    logs = []
    texts = _pretraining_texts(config.replace(unlabeled=str(unlabeled)), splits, logs.append)
    assert texts == list(splits.texts["train"]) + ["a new sentence"]
    assert logs == [f"unlabeled text: 1 texts from {unlabeled} (2 left out: they are "
                    "validation or test texts)"]
    assert _pretraining_texts(config, splits, logs.append) == list(splits.texts["train"])


def test_the_masked_lm_loss_at_chosen_positions_is_the_loss_at_every_position():
    """Pretraining runs the vocabulary-wide head at the chosen positions only: the same
    loss and accuracy as over every position with 0 labels elsewhere."""
    from classify.bert import BertPretrainer, chosen_positions, mask_tokens
    from common.masks import MaskedAccuracy, MaskedSparseCrossEntropy

    ids = _padded_ids([9, 4, 12, 7], width=12, seed=3)
    inputs, labels = mask_tokens(ids, np.random.default_rng(0), mask_id=3, first_word_id=4,
                                 vocabulary_size=50, rate=0.3, protected_ids=(2,))
    (same_inputs, positions), targets = chosen_positions(tf.constant(inputs),
                                                         tf.constant(labels))
    chosen = (labels != 0).sum(axis=1)
    assert positions.shape == (4, chosen.max()) and (same_inputs.numpy() == inputs).all()
    for row in range(4):  # each row's chosen positions first, in order, then targets of 0
        k = chosen[row]
        np.testing.assert_array_equal(positions[row, :k], np.flatnonzero(labels[row]))
        np.testing.assert_array_equal(targets[row, :k], labels[row][labels[row] != 0])
        assert (targets[row, k:].numpy() == 0).all()
    model = BertPretrainer(50, 12, num_layers=1, hidden_dim=16, num_heads=2,
                           intermediate_dim=32, dropout=0.0)
    full = model(tf.constant(inputs))
    gathered = model((tf.constant(inputs), positions))
    np.testing.assert_allclose(gathered, tf.gather(full, positions, batch_dims=1), atol=1e-5)
    loss = MaskedSparseCrossEntropy()
    assert float(loss(targets, gathered)) == pytest.approx(float(loss(labels, full)), rel=1e-5)
    accuracies = []
    for y, logits in ((targets, gathered), (labels, full)):
        metric = MaskedAccuracy()
        metric.update_state(y, logits)
        accuracies.append(float(metric.result()))
    assert accuracies[0] == accuracies[1]
