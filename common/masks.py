"""Masks and masked reductions, each a small pure function.

Id 0 is padding everywhere in this project. A mask is boolean and ``True`` where a position
is real (Keras's convention).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from common.distribute import global_sum

__all__ = [
    "MaskedAccuracy",
    "MaskedSparseCrossEntropy",
    "causal_mask",
    "large_negative",
    "masked_accuracy",
    "masked_loss",
    "masked_mean",
    "merge_masks",
    "padding_mask",
]


def padding_mask(ids: tf.Tensor, pad_id: int = 0) -> tf.Tensor:
    """Token ids (batch, length) -> (batch, length) bool, True at real tokens."""
    return tf.not_equal(ids, tf.cast(pad_id, ids.dtype))


def causal_mask(length: int | tf.Tensor) -> tf.Tensor:
    """(length, length) bool: query position i may attend to key positions j <= i."""
    row = tf.range(length)[:, None]
    col = tf.range(length)[None, :]
    return row >= col


def large_negative(dtype: tf.DType) -> float:
    """The score given to masked positions: ``exp`` of it is 0 beside any real score.
    -1e9, except in float16, whose largest magnitude is 65504."""
    return -6.0e4 if dtype == tf.float16 else -1e9


def merge_masks(*masks: tf.Tensor | None) -> tf.Tensor | None:
    """Logical AND of broadcastable masks, skipping ``None``; ``None`` if all are."""
    present = [tf.cast(m, tf.bool) for m in masks if m is not None]
    if not present:
        return None
    merged = present[0]
    for mask in present[1:]:
        merged = tf.logical_and(merged, mask)
    return merged


def masked_mean(values: tf.Tensor, mask: tf.Tensor | None, axis: int = 1) -> tf.Tensor:
    """Mean of ``values`` over ``axis`` counting only positions where ``mask`` is True.

    ``values`` is (batch, length, ...) and ``mask`` (batch, length); an all-padding row
    gives zeros rather than NaN.
    """
    if mask is None:
        return tf.reduce_mean(values, axis=axis)
    weights = tf.cast(mask, values.dtype)
    while weights.shape.rank < values.shape.rank:
        weights = weights[..., None]
    total = tf.reduce_sum(values * weights, axis=axis)
    count = tf.reduce_sum(weights, axis=axis)
    return total / tf.maximum(count, tf.ones_like(count))


@keras.saving.register_keras_serializable(package="common")
def masked_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Sparse cross-entropy from logits, averaged over real (non-zero) target tokens only.

    ``y_true`` (batch, length) ids, ``y_pred`` (batch, length, vocabulary) logits. A plain
    mean would count padding positions and make short batches look better than they are.
    Under tf.distribute the count is the global batch's (see
    :func:`common.distribute.global_sum`), so N replicas give the single-device gradient.
    """
    y_true = tf.cast(y_true, tf.int64)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y_true, logits=tf.cast(y_pred, tf.float32)
    )
    return _mean_over_real_tokens(loss, y_true)


def _mean_over_real_tokens(loss: tf.Tensor, y_true: tf.Tensor) -> tf.Tensor:
    """This replica's summed loss over real tokens / the real tokens of the global batch."""
    mask = tf.cast(padding_mask(y_true), loss.dtype)
    return tf.reduce_sum(loss * mask) / tf.maximum(global_sum(tf.reduce_sum(mask)), 1.0)


@keras.saving.register_keras_serializable(package="common")
class MaskedSparseCrossEntropy(keras.losses.Loss):
    """:func:`masked_loss` with optional label smoothing (the Transformer paper uses 0.1).

    With smoothing ``e``, the target distribution puts ``1 - e`` on the right token and
    spreads ``e`` over the whole vocabulary; padding positions still count for nothing.
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "masked_cross_entropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        if not self.label_smoothing:
            return masked_loss(y_true, y_pred)
        y_true = tf.cast(y_true, tf.int64)
        logits = tf.cast(y_pred, tf.float32)
        vocabulary = tf.shape(logits)[-1]
        target = tf.one_hot(y_true, vocabulary) * (1.0 - self.label_smoothing)
        target += self.label_smoothing / tf.cast(vocabulary, tf.float32)
        loss = tf.nn.softmax_cross_entropy_with_logits(target, logits)
        return _mean_over_real_tokens(loss, y_true)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def masked_accuracy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Share of real target tokens predicted correctly; padding is in neither count.

    The published tutorial's version counts padding positions as correct in the numerator
    while dividing by real tokens, so it can exceed the true accuracy.
    """
    correct, count = _accuracy_counts(y_true, y_pred)
    return correct / tf.maximum(count, 1.0)


def _accuracy_counts(y_true: tf.Tensor, y_pred: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    y_true = tf.cast(y_true, tf.int64)
    mask = padding_mask(y_true)
    hit = tf.logical_and(tf.equal(tf.argmax(y_pred, axis=-1), y_true), mask)
    return tf.reduce_sum(tf.cast(hit, tf.float32)), tf.reduce_sum(tf.cast(mask, tf.float32))


@keras.saving.register_keras_serializable(package="common")
class MaskedAccuracy(keras.metrics.Metric):
    """Token accuracy over real tokens, accumulated over batches (not a mean of means).

    Example:
        >>> model.compile(loss=masked_loss, metrics=[MaskedAccuracy()])
    """

    def __init__(self, name: str = "masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        correct, count = _accuracy_counts(y_true, y_pred)
        self.correct.assign_add(correct)
        self.count.assign_add(count)

    def result(self):
        return self.correct / tf.maximum(self.count, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)
