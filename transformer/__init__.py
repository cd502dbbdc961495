"""The TensorFlow tutorial "Neural machine translation with a Transformer and Keras"."""

from transformer.attention import (
    CausalSelfAttention,
    CrossAttention,
    GlobalSelfAttention,
    MultiHeadAttention,
    scaled_dot_product_attention,
)
from transformer.config import Config
from transformer.decoder import Decoder, DecoderLayer
from transformer.encoder import Encoder, EncoderLayer
from transformer.feed_forward import FeedForward
from transformer.model import Transformer, build_model
from transformer.schedule import WarmupSchedule, transformer_optimizer

__all__ = [
    "CausalSelfAttention",
    "Config",
    "CrossAttention",
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "FeedForward",
    "GlobalSelfAttention",
    "MultiHeadAttention",
    "Transformer",
    "WarmupSchedule",
    "build_model",
    "scaled_dot_product_attention",
    "transformer_optimizer",
]
