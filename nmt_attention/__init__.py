"""The TensorFlow tutorial "Neural machine translation with attention"."""

from nmt_attention.config import Config
from nmt_attention.cross_attention import CrossAttention
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder
from nmt_attention.model import Seq2SeqModel, build_model
from nmt_attention.optimizer import FusedAdam
from nmt_attention.translator import Translator

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
