"""Seeded, deterministic train / validation / test splits.

The test split is for final numbers only: vocabularies are built from the training split and
early stopping watches the validation split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = ["Splits", "split_indices"]


@dataclasses.dataclass(frozen=True)
class Splits:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_indices(
    count: int, seed: int = 0, validation_fraction: float = 0.1, test_fraction: float = 0.1
) -> Splits:
    """Shuffles ``range(count)`` with ``seed`` and cuts it into three disjoint index arrays."""
    if not 0 <= validation_fraction < 1 or not 0 <= test_fraction < 1:
        raise ValueError("fractions must lie in [0, 1)")
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must be below 1")
    order = np.random.default_rng(seed).permutation(count)
    n_test = int(round(count * test_fraction))
    n_validation = int(round(count * validation_fraction))
    return Splits(
        train=np.sort(order[n_test + n_validation :]),
        validation=np.sort(order[n_test : n_test + n_validation]),
        test=np.sort(order[:n_test]),
    )


def take(items: Sequence, indices: np.ndarray) -> list:
    return [items[i] for i in indices]
