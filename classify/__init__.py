"""Transformer classification: [CLS] vs mean pooling, a small BERT, a Vision Transformer.

The names below load on first use (PEP 562): ``import classify`` alone imports no
TensorFlow, so ``python -m classify`` can say in one line what to install where only the
inference part is.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "BertPretrainer": "classify.bert",
    "MaskedLanguageModelHead": "classify.bert",
    "copy_encoder": "classify.bert",
    "mask_tokens": "classify.bert",
    "BertConfig": "classify.config",
    "TextConfig": "classify.config",
    "VitConfig": "classify.config",
    "SequencePooling": "classify.pooling",
    "TextClassifier": "classify.text_classifier",
    "ClassToken": "classify.vit",
    "PatchEmbedding": "classify.vit",
    "VisionTransformer": "classify.vit",
    "attention_rollout": "classify.vit",
    "build_text_vocabulary": "classify.vocabulary",
    "build_word_vocabulary": "classify.vocabulary",
    "text_vocabulary": "classify.vocabulary",
    "word_vocabulary": "classify.vocabulary",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'classify' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
