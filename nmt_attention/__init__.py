"""The TensorFlow tutorial "Neural machine translation with attention"."""

from nmt_attention.config import Config
from nmt_attention.cross_attention import CrossAttention
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder
from nmt_attention.optimizer import FusedAdam
from nmt_attention.translator import Seq2SeqModel, Translator, build_model

__all__ = [
    "Config",
    "CrossAttention",
    "Decoder",
    "Encoder",
    "FusedAdam",
    "Seq2SeqModel",
    "Translator",
    "build_model",
]
