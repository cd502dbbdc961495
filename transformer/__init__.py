"""The TensorFlow tutorial "Neural machine translation with a Transformer and Keras".

The names below load on first use (PEP 562): ``import transformer`` alone imports no
TensorFlow, so the CTranslate2 engine (:mod:`transformer.ctranslate2_engine`) and the command
line's ``--help`` start without it.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "CausalSelfAttention": "transformer.attention",
    "CrossAttention": "transformer.attention",
    "GlobalSelfAttention": "transformer.attention",
    "MultiHeadAttention": "transformer.attention",
    "scaled_dot_product_attention": "transformer.attention",
    "Config": "transformer.config",
    "Decoder": "transformer.decoder",
    "DecoderLayer": "transformer.decoder",
    "Encoder": "transformer.encoder",
    "EncoderLayer": "transformer.encoder",
    "FeedForward": "transformer.feed_forward",
    "Transformer": "transformer.model",
    "build_model": "transformer.model",
    "WarmupSchedule": "transformer.schedule",
    "transformer_optimizer": "transformer.schedule",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'transformer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
