"""The tutorial's data: the corpus named by the config, and its batches.

The pipelines themselves are shared with the Transformer tutorial (``common/data/``):
``"faithful"`` tokenizes raw strings batch by batch and pads random batches to their longest
sentence, as the tutorial does; ``"fast"`` tokenizes once and groups sentences by length.
"""

from __future__ import annotations

from common.data.batching import (
    PIPELINES,
    encode_texts,
    length_grouped_batches,
    make_dataset,
    make_text_dataset,
)
from common.data.corpus import Corpus
from common.data.corpus import load_corpus as _load_corpus
from nmt_attention.config import Config

__all__ = [
    "PIPELINES",
    "Corpus",
    "encode_texts",
    "length_grouped_batches",
    "load_corpus",
    "make_dataset",
    "make_text_dataset",
]


def load_corpus(config: Config) -> Corpus:
    """Reads ``config.data`` (``"generated"``, ``"download"`` or a path) and splits it."""
    return _load_corpus(config.data, config.generated_pairs, config.seed,
                        config.validation_fraction, config.test_fraction)
