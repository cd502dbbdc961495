"""Transformer classification: [CLS] vs mean pooling, a small BERT, a Vision Transformer."""

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
