"""Transformer classification: [CLS] vs mean pooling, a small BERT, a Vision Transformer.

Importing the package registers its Keras layers (a saved ``.keras`` model loads after
``import classify``). Where only the inference part is installed (no TensorFlow), the package
still imports, without these names, so that ``python -m classify`` can say in one line what
to install.
"""

from common.cli import of_the_extra

try:
    from classify.bert import BertPretrainer, MaskedLanguageModelHead, copy_encoder, mask_tokens
    from classify.config import BertConfig, TextConfig, VitConfig
    from classify.pooling import SequencePooling
    from classify.text_classifier import TextClassifier
    from classify.vit import ClassToken, PatchEmbedding, VisionTransformer, attention_rollout
    from classify.vocabulary import (
        build_text_vocabulary,
        build_word_vocabulary,
        text_vocabulary,
        word_vocabulary,
    )
except ModuleNotFoundError as error:  # the "tensorflow" extra is not installed
    if not of_the_extra(error):
        raise

__all__ = [
    "BertConfig",
    "BertPretrainer",
    "ClassToken",
    "MaskedLanguageModelHead",
    "PatchEmbedding",
    "SequencePooling",
    "TextClassifier",
    "TextConfig",
    "VisionTransformer",
    "VitConfig",
    "attention_rollout",
    "build_text_vocabulary",
    "build_word_vocabulary",
    "copy_encoder",
    "mask_tokens",
    "text_vocabulary",
    "word_vocabulary",
]
