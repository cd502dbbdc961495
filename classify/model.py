"""The classifier a config describes: a text classifier (its own or BERT's encoder) or a ViT."""

from __future__ import annotations

import keras
import tensorflow as tf

from classify.text_classifier import TextClassifier
from classify.vit import VisionTransformer

__all__ = ["build_model", "build_pretrainer", "separator_of"]


def separator_of(config, vocabulary) -> int | None:
    """The [SEP] id a BERT model counts segments from: BERT's when its vocabulary has one
    (runs saved before [SEP] was added have none); None for the other models."""
    if config.kind != "bert" or vocabulary is None or vocabulary.separator is None:
        return None
    return vocabulary.id_of(vocabulary.separator)


def build_pretrainer(config, vocabulary) -> keras.Model:
    """A BERT config's masked-LM pretrainer (:class:`classify.bert.BertPretrainer`), built."""
    from classify.bert import BertPretrainer

    model = BertPretrainer(vocabulary.size, config.sequence_length, config.num_layers,
                           config.hidden_dim, config.num_heads, config.intermediate_dim,
                           config.dropout, separator_of(config, vocabulary))
    model(tf.zeros([1, config.sequence_length], tf.int32))
    return model


def build_model(config, num_classes: int, vocabulary_size: int | None = None,
                image_shape: tuple[int, ...] | None = None,
                separator_id: int | None = None) -> keras.Model:
    """The classifier a config describes, built (``separator_id``: :func:`separator_of`)."""
    if config.inputs == "images":
        model = VisionTransformer(image_shape[:2], image_shape[2], config.patch_size,
                                  num_classes, config.num_layers, config.hidden_dim,
                                  config.num_heads, config.intermediate_dim, config.dropout,
                                  config.pooling,
                                  "learned" if config.positional_encoding else "none")
        model(tf.zeros([1, *image_shape]))
        return model
    model = TextClassifier(
        vocabulary_size, num_classes, config.sequence_length, config.num_layers,
        config.hidden_dim, config.num_heads, config.intermediate_dim, config.dropout,
        config.pooling, config.positional_encoding,
        config.position_embedding, separator_id)
    model(tf.zeros([1, config.sequence_length], tf.int32))
    return model
