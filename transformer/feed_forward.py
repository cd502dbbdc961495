"""The position-wise feed-forward block of a Transformer layer."""

from __future__ import annotations

import keras

from common.dropout import Dropout

__all__ = ["FeedForward"]


@keras.saving.register_keras_serializable(package="transformer")
class FeedForward(keras.layers.Layer):
    """Two dense layers applied to every position alike, with a residual and LayerNorm.

    ``LayerNorm(x + Dropout(W_2 relu(W_1 x)))`` (post-norm), or ``x + Dropout(W_2 relu(W_1
    LayerNorm(x)))`` with ``norm_first``. Attention mixes positions; this block transforms
    each one.

    Masking: position-wise, so padding cannot leak; the incoming mask is passed on.

    Args:
        hidden_dim: input and output width (the tutorial's ``d_model``).
        intermediate_dim: the inner width (the tutorial's ``dff``).
        dropout: dropout rate on the block's output.
        norm_first: pre-norm instead of post-norm.

    Call arguments:
        x: (batch, length, hidden_dim).

    Returns:
        (batch, length, hidden_dim).

    Example:
        >>> FeedForward(hidden_dim=8, intermediate_dim=32)(tf.zeros([2, 5, 8])).shape
        TensorShape([2, 5, 8])

    Reference: Vaswani et al. 2017, 3.3; the TensorFlow Transformer tutorial.
    """

    def __init__(self, hidden_dim: int, intermediate_dim: int, dropout: float = 0.0,
                 norm_first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.supports_masking = True
        self.inner = keras.layers.Dense(intermediate_dim, activation="relu", name="inner")
        self.outer = keras.layers.Dense(hidden_dim, name="outer")
        self.dropout_layer = Dropout(dropout)
        self.norm = keras.layers.LayerNormalization(name="layer_norm")

    def build(self, x_shape):
        self.inner.build(x_shape)
        self.outer.build(tuple(x_shape[:-1]) + (self.intermediate_dim,))
        self.norm.build(x_shape)
        self.built = True

    def call(self, x, training=None):
        y = self.norm(x) if self.norm_first else x
        y = self.outer(self.inner(y))  # (batch, length, hidden_dim)
        x = x + self.dropout_layer(y, training=training)
        return x if self.norm_first else self.norm(x)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, norm_first=self.norm_first)
        return config
