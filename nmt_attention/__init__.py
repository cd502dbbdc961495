"""The TensorFlow tutorial "Neural machine translation with attention".

Where only the inference part is installed (no TensorFlow), the package imports without
these names, so that ``python -m nmt_attention`` can say in one line what to install.
"""

from common.cli import of_the_extra

try:
    from nmt_attention.config import Config
    from nmt_attention.cross_attention import CrossAttention
    from nmt_attention.decoder import Decoder
    from nmt_attention.encoder import Encoder
    from nmt_attention.model import Seq2SeqModel, build_model
    from nmt_attention.optimizer import FusedAdam
    from nmt_attention.translator import Translator
except ModuleNotFoundError as error:  # the "tensorflow" extra is not installed
    if not of_the_extra(error):
        raise

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
