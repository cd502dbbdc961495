"""A parallel corpus and its seeded split, from the generated data, a file or the download."""

from __future__ import annotations

import dataclasses

import numpy as np

from common.data.generated import GeneratedPair, generate_pairs
from common.data.pairs import download_spa_eng, load_pairs
from common.data.splits import Splits, split_indices, take
from common.errors import DataError

__all__ = ["Corpus", "corpus_of", "load_corpus"]


@dataclasses.dataclass
class Corpus:
    """Spanish sources, English targets, their split, and (generated data) the alignments."""

    spanish: list[str]
    english: list[str]
    splits: Splits
    report: str
    malformed: list[tuple[int, str]]
    generated: list[GeneratedPair] | None = None

    def indices(self, name: str, limit: int | None = None) -> np.ndarray:
        """The pair indices of split ``name``, in file order; with ``limit``, ``limit`` of
        them spread evenly over the split (every k-th), not its first: a file such as
        spa-eng runs from the shortest sentences to the longest, so its first pairs would be
        the easiest."""
        indices = getattr(self.splits, name)
        if limit is None or limit >= len(indices):
            return indices
        if limit <= 0:
            return indices[:0]
        return indices[np.arange(limit) * len(indices) // limit]

    def part(self, name: str, limit: int | None = None) -> tuple[list[str], list[str]]:
        """Spanish and English of split ``name`` (``limit``: see :meth:`indices`)."""
        indices = self.indices(name, limit)
        return take(self.spanish, indices), take(self.english, indices)

    def training_parts(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """Spanish and English of the training split, then of the validation split.

        Raises:
            DataError: too few pairs to give both splits a sentence.
        """
        train_es, train_en = self.part("train")
        val_es, val_en = self.part("validation")
        if not train_es or not val_es:
            raise DataError(f"too few pairs to split ({len(self.english)}); give more data")
        return train_es, train_en, val_es, val_en

    def summary(self) -> dict:
        """What a run's data.json records: the source, the skipped lines, the split sizes."""
        return {"report": self.report, "malformed_lines": self.malformed[:1000],
                "train": len(self.splits.train), "validation": len(self.splits.validation),
                "test": len(self.splits.test)}


def load_corpus(
    data: str = "generated",
    generated_pairs: int = 24000,
    seed: int = 0,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> Corpus:
    """Reads ``data``: ``"generated"`` (the embedded corpus), ``"download"`` (the tutorial's
    spa-eng.zip) or a file path; splits it with ``seed``."""
    generated = None
    if data == "generated":
        generated = generate_pairs(generated_pairs, seed=seed)
        english = [p.english for p in generated]
        spanish = [p.spanish for p in generated]
        report = f"generated {len(generated)} pairs (seed {seed})"
        malformed = []
    else:
        path = download_spa_eng() if data == "download" else data
        loaded = load_pairs(path)
        english, spanish = loaded.english, loaded.spanish
        report, malformed = loaded.report(), loaded.malformed
    splits = split_indices(len(english), seed, validation_fraction, test_fraction)
    return Corpus(spanish, english, splits, report, malformed, generated)


def corpus_of(config) -> Corpus:
    """The corpus a translation config names (its data, generated_pairs, seed and split
    fractions)."""
    return load_corpus(config.data, config.generated_pairs, config.seed,
                       config.validation_fraction, config.test_fraction)
