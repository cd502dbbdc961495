"""The classifier a config describes: a text classifier (its own or BERT's encoder) or a ViT."""

from __future__ import annotations

import keras
import tensorflow as tf

from classify.text_classifier import TextClassifier
from classify.vit import VisionTransformer

__all__ = ["build_model"]


def build_model(config, num_classes: int, vocabulary_size: int | None = None,
                image_shape: tuple[int, ...] | None = None) -> keras.Model:
    """The classifier a config describes, built."""
    if config.inputs == "images":
        model = VisionTransformer(image_shape[:2], image_shape[2], config.patch_size,
                                  num_classes, config.num_layers, config.hidden_dim,
                                  config.num_heads, config.intermediate_dim, config.dropout)
        model(tf.zeros([1, *image_shape]))
        return model
    model = TextClassifier(
        vocabulary_size, num_classes, config.sequence_length, config.num_layers,
        config.hidden_dim, config.num_heads, config.intermediate_dim, config.dropout,
        config.pooling, config.positional_encoding,
        config.position_embedding)
    model(tf.zeros([1, config.sequence_length], tf.int32))
    return model
