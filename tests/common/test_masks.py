import numpy as np
import tensorflow as tf

from common.masks import (
    MaskedAccuracy,
    causal_mask,
    masked_accuracy,
    masked_loss,
    masked_mean,
    merge_masks,
    padding_mask,
)


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(causal_mask(3).numpy(), np.tril(np.ones((3, 3), bool)))


def test_padding_and_merge():
    ids = tf.constant([[5, 6, 0]])
    np.testing.assert_array_equal(padding_mask(ids).numpy(), [[True, True, False]])
    merged = merge_masks(padding_mask(ids)[:, None, :], causal_mask(3)[None], None)
    assert merged.shape == (1, 3, 3)
    # Both: causal (no later key) and padding (never key 3).
    np.testing.assert_array_equal(merged.numpy()[0], [[True, False, False],
                                                      [True, True, False],
                                                      [True, True, False]])
    assert merge_masks(None, None) is None


def test_masked_mean_ignores_padding():
    values = tf.constant([[[1.0], [3.0], [100.0]]])
    mask = tf.constant([[True, True, False]])
    np.testing.assert_allclose(masked_mean(values, mask).numpy(), [[2.0]])
    np.testing.assert_allclose(masked_mean(values, tf.zeros_like(mask)).numpy(), [[0.0]])


def test_masked_loss_is_unchanged_by_extra_padding():
    logits = tf.random.normal([2, 3, 7], seed=1)
    labels = tf.constant([[3, 4, 0], [5, 0, 0]])
    padded_logits = tf.concat([logits, tf.random.normal([2, 4, 7], seed=2)], axis=1)
    padded_labels = tf.pad(labels, [[0, 0], [0, 4]])
    np.testing.assert_allclose(
        masked_loss(labels, logits).numpy(), masked_loss(padded_labels, padded_logits).numpy(),
        rtol=1e-6,
    )
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()
    expected = (per_token[0, 0] + per_token[0, 1] + per_token[1, 0]) / 3
    np.testing.assert_allclose(masked_loss(labels, logits).numpy(), expected, rtol=1e-6)


def test_masked_accuracy_does_not_count_padding_as_correct():
    labels = tf.constant([[3, 4, 0, 0]], tf.int64)
    # Predicts 3 (right), 1 (wrong) and 0 on the padding.
    logits = tf.one_hot([[3, 1, 0, 0]], 5)
    assert masked_accuracy(labels, logits).numpy() == 0.5
    # The published tutorial's version: padding predicted as 0 counts as a hit.
    match = tf.cast(tf.equal(labels, tf.argmax(logits, -1)), tf.float32)
    tutorial = tf.reduce_sum(match) / tf.reduce_sum(tf.cast(labels != 0, tf.float32))
    assert tutorial.numpy() == 1.5


def test_masked_accuracy_metric_weights_tokens_not_batches():
    metric = MaskedAccuracy()
    metric.update_state(tf.constant([[1, 0, 0, 0]]), tf.one_hot([[1, 0, 0, 0]], 3))  # 1/1
    metric.update_state(tf.constant([[1, 2, 2]]), tf.one_hot([[2, 1, 1]], 3))  # 0/3
    assert metric.result().numpy() == 0.25
    assert MaskedAccuracy.from_config(metric.get_config()).name == "masked_accuracy"
