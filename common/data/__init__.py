"""Corpus loaders, the generated corpus, and splits."""

from common.data.generated import GeneratedPair, generate_pairs, write_alignments, write_pairs
from common.data.pairs import (
    SPA_ENG_URL,
    DataError,
    LoadedPairs,
    download_spa_eng,
    load_pairs,
    read_pairs_text,
)
from common.data.splits import Splits, split_indices, take

__all__ = [
    "SPA_ENG_URL",
    "DataError",
    "GeneratedPair",
    "LoadedPairs",
    "Splits",
    "download_spa_eng",
    "generate_pairs",
    "load_pairs",
    "read_pairs_text",
    "split_indices",
    "take",
    "write_alignments",
    "write_pairs",
]
