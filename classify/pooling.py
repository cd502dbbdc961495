"""From one vector per token to one vector per sequence: a [CLS] token or a masked mean."""

from __future__ import annotations

import keras

from common.masks import masked_mean

__all__ = ["POOLINGS", "SequencePooling", "check_pooling"]

POOLINGS = ("cls", "mean")


def check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, received pooling={pooling!r}")
    return pooling


@keras.saving.register_keras_serializable(package="classify")
class SequencePooling(keras.layers.Layer):
    """Summarizes an encoder's outputs as one vector for a classifier head.

    ``"mean"`` averages every real position: simple, but one word's signal is diluted by all
    the others, the more so the longer the input. ``"cls"`` reads position 0, where every
    input carries a dummy [CLS] token: attention lets that one position gather what the task
    needs from all the others, so its output can stand for the sequence (BERT, ViT).

    Masking: ``padding_mask`` (batch, length), True at real positions; the mean skips
    padding, so adding padding changes nothing.

    Args:
        pooling: ``"cls" | "mean"``.

    Call arguments:
        x: (batch, length, hidden_dim); padding_mask: optional (batch, length) bool.

    Returns:
        (batch, hidden_dim).

    Example:
        >>> SequencePooling("mean")(tf.ones([2, 5, 8])).shape
        TensorShape([2, 8])
    """

    def __init__(self, pooling: str = "cls", **kwargs):
        super().__init__(**kwargs)
        self.pooling = check_pooling(pooling)

    def call(self, x, padding_mask=None):
        if self.pooling == "cls":
            return x[:, 0]  # (batch, hidden_dim): the [CLS] token's output
        return masked_mean(x, padding_mask, axis=1)  # (batch, hidden_dim)

    def compute_output_shape(self, x_shape, padding_mask_shape=None):
        return (x_shape[0], x_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(pooling=self.pooling)
        return config
