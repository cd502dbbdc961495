"""A Vision Transformer: an image cut into patches is a sequence of tokens.

Each patch is flattened and projected linearly to a vector (a "word"), a learned [CLS]
vector is put in front, learned position embeddings are added, pre-norm Transformer blocks
mix the patches, and a dense head reads the [CLS] output.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from classify.pooling import SequencePooling, check_pooling
from common.dropout import Dropout
from common.positional_encoding import PositionEmbedding
from common.xla import traced_for_xla
from transformer.encoder import EncoderBlocks

__all__ = ["ClassToken", "PatchEmbedding", "VisionTransformer", "attention_rollout",
           "attention_rollout_batch", "shuffled_patches"]


def shuffled_patches(images: np.ndarray, patch_size: int, seed: int = 0) -> np.ndarray:
    """``images`` (n, H, W, C) with each image's square patches put in a random order (one
    permutation an image, drawn from ``seed``): the same patches, not where they were. A
    ViT without position embeddings cannot tell the two apart."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    rows, cols, p = height // patch_size, width // patch_size, patch_size
    x = images.reshape(n, rows, p, cols, p, channels).transpose(0, 1, 3, 2, 4, 5)
    x = x.reshape(n, rows * cols, p, p, channels)
    rng = np.random.default_rng(seed)
    x = np.stack([image[rng.permutation(rows * cols)] for image in x])
    x = x.reshape(n, rows, cols, p, p, channels).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, height, width, channels)


@keras.saving.register_keras_serializable(package="classify")
class PatchEmbedding(keras.layers.Layer):
    """Images to a sequence of patch vectors: cut, flatten, project.

    An (H, W, C) image with ``patch_size`` p gives (H/p) * (W/p) patches in row-major order
    (left to right, then top to bottom), each a p*p*C vector, projected to ``hidden_dim``.

    Args:
        patch_size: side of the square patches, in pixels; must divide the image's sides.
        hidden_dim: width of each patch vector.

    Call arguments:
        images: (batch, H, W, C) float.

    Returns:
        (batch, (H/p) * (W/p), hidden_dim).
    """

    def __init__(self, patch_size: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.projection = keras.layers.Dense(hidden_dim, name="projection")

    def build(self, images_shape):
        _, height, width, channels = images_shape
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(f"patch_size={p} must divide the image size {height}x{width}")
        self.grid = (height // p, width // p)
        self.projection.build((None, None, p * p * channels))
        self.built = True

    def call(self, images):
        p = self.patch_size
        rows, cols = self.grid
        channels = images.shape[-1]
        x = tf.reshape(images, [-1, rows, p, cols, p, channels])
        x = tf.transpose(x, [0, 1, 3, 2, 4, 5])  # (batch, rows, cols, p, p, channels)
        x = tf.reshape(x, [-1, rows * cols, p * p * channels])  # (batch, patches, p*p*C)
        return self.projection(x)  # (batch, patches, hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(patch_size=self.patch_size, hidden_dim=self.hidden_dim)
        return config


@keras.saving.register_keras_serializable(package="classify")
class ClassToken(keras.layers.Layer):
    """Puts one learned [CLS] vector in front of every sequence.

    Call arguments:
        x: (batch, length, hidden_dim).

    Returns:
        (batch, length + 1, hidden_dim), the [CLS] vector at position 0.
    """

    def build(self, x_shape):
        self.token = self.add_weight(name="token", shape=(1, 1, x_shape[-1]),
                                     initializer="zeros")
        self.built = True

    def call(self, x):
        batch = tf.shape(x)[0]
        cls = tf.cast(tf.tile(self.token, [batch, 1, 1]), x.dtype)  # (batch, 1, hidden_dim)
        return tf.concat([cls, x], axis=1)


@keras.saving.register_keras_serializable(package="classify")
class VisionTransformer(keras.Model):
    """Images to class logits, read from the [CLS] token.

    No convolution: the only image-specific step is cutting patches. With no notion of
    neighbouring pixels built in, a ViT needs more data or more epochs than a CNN; on small
    sets, small patches and augmentation (random shifts) make up for it.

    Masking: none (every patch is real).

    Args:
        image_size: (height, width) of the inputs.
        channels: colour channels (1 for digits and MNIST, 3 for CIFAR-10).
        patch_size: side of the square patches.
        num_classes: number of labels.
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout: the encoder's; blocks
            are pre-norm, as in the ViT paper.
        pooling: ``"cls"`` reads the [CLS] output (the paper's), ``"mean"`` averages every
            output, [CLS] included.
        position_embedding: ``"learned"`` (the paper's) or ``"none"``: without positions
            the patches are a set, and the model cannot tell an image from its patches
            shuffled.

    Call arguments:
        images: (batch, height, width, channels) float, pixel values in [0, 1].

    Returns:
        (batch, num_classes) logits; with ``return_attention_scores`` also a list of
        (batch, num_heads, patches + 1, patches + 1), one per block.

    Example:
        >>> vit = VisionTransformer((8, 8), 1, patch_size=2, num_classes=10, num_layers=1,
        ...                         hidden_dim=16, num_heads=2, intermediate_dim=32)
        >>> vit(tf.zeros([3, 8, 8, 1])).shape
        TensorShape([3, 10])

    Reference: Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words", 3.1.
    """

    def __init__(self, image_size: tuple[int, int] | list[int], channels: int,
                 patch_size: int, num_classes: int, num_layers: int = 4,
                 hidden_dim: int = 64, num_heads: int = 4, intermediate_dim: int = 128,
                 dropout: float = 0.1, pooling: str = "cls",
                 position_embedding: str = "learned", **kwargs):
        super().__init__(**kwargs)
        if position_embedding not in ("learned", "none"):
            raise ValueError("position_embedding must be 'learned' or 'none', received "
                             f"{position_embedding!r}")
        self.pooling = check_pooling(pooling)
        self.position_embedding = position_embedding
        self.image_size = tuple(int(s) for s in image_size)
        self.channels = channels
        self.patch_size = patch_size
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        height, width = self.image_size
        if height % patch_size or width % patch_size:
            raise ValueError(
                f"patch_size={patch_size} must divide the image size {height}x{width}")
        self.num_patches = (height // patch_size) * (width // patch_size)
        self.patches = PatchEmbedding(patch_size, hidden_dim, name="patches")
        self.class_token = ClassToken(name="class_token")
        self.positions = PositionEmbedding(self.num_patches + 1, position_embedding,
                                           name="positions")
        self.embedding_dropout = Dropout(dropout)
        self.blocks = EncoderBlocks(num_layers, hidden_dim, num_heads, intermediate_dim,
                                    dropout, norm_first=True, norm_epsilon=1e-6, name="blocks")
        self.pool = SequencePooling(pooling, name="pooling")
        self.head = keras.layers.Dense(num_classes, dtype="float32", name="head")  # float32 logits

    def build(self, images_shape):
        tokens = (images_shape[0], self.num_patches + 1, self.hidden_dim)
        self.patches.build(images_shape)
        self.class_token.build(tokens)
        self.positions.build(tokens)
        self.blocks.build(tokens)
        self.head.build((images_shape[0], self.hidden_dim))
        self.built = True

    @traced_for_xla
    def call(self, images, training=None, return_attention_scores=False):
        x = self.class_token(self.patches(images))  # (batch, patches + 1, hidden_dim)
        x = self.embedding_dropout(self.positions(x), training=training)
        x, scores = self.blocks(x, training=training, return_attention_scores=True)
        logits = self.head(self.pool(x))  # (batch, num_classes), from [CLS] or the mean
        return (logits, scores) if return_attention_scores else logits

    def get_config(self):
        config = super().get_config()
        config.update(image_size=list(self.image_size), channels=self.channels,
                      patch_size=self.patch_size, num_classes=self.num_classes,
                      num_layers=self.num_layers, hidden_dim=self.hidden_dim,
                      num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, pooling=self.pooling,
                      position_embedding=self.position_embedding)
        return config


def attention_rollout(scores: list[np.ndarray]) -> np.ndarray:
    """How much the [CLS] output draws on each patch, through every block.

    One block's attention says where each position looked; stacked blocks compose, and the
    residual connection carries each position's own vector on. Rollout averages the heads,
    adds the identity for the residual, renormalizes the rows, and multiplies the blocks'
    matrices (Abnar and Zuidema 2020).

    Args:
        scores: one (num_heads, tokens, tokens) array per block, for one image, [CLS] first.

    Returns:
        (tokens - 1,) weights over the patches, summing to 1.
    """
    if not len(scores):
        raise ValueError("attention_rollout needs the scores of at least one block")
    stacked = np.stack([np.asarray(block, np.float64) for block in scores])[:, None]
    return attention_rollout_batch(tf.constant(stacked)).numpy()[0]


def attention_rollout_batch(scores: tf.Tensor) -> tf.Tensor:
    """:func:`attention_rollout` of a batch, in the graph (the export serves it): ``scores``
    (blocks, batch, num_heads, tokens, tokens) -> (batch, tokens - 1)."""
    tokens = tf.shape(scores)[-1]
    identity = tf.eye(tokens, dtype=scores.dtype)
    rollout = tf.eye(tokens, batch_shape=tf.shape(scores)[1:2], dtype=scores.dtype)
    for block in tf.unstack(scores):
        attention = tf.reduce_mean(block, axis=1) + identity
        attention /= tf.reduce_sum(attention, axis=-1, keepdims=True)
        rollout = attention @ rollout
    weights = rollout[:, 0, 1:]
    return weights / tf.reduce_sum(weights, axis=-1, keepdims=True)
