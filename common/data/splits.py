"""Seeded, deterministic train / validation / test splits.

The test split is for final numbers only: vocabularies are built from the training split and
early stopping watches the validation split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = ["Splits", "longest_of_groups", "phrase_groups", "split_groups", "split_indices"]


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


def phrase_groups(texts: Sequence[str]) -> np.ndarray:
    """One group id a text: a text joins the group of a longer text that holds it word for
    word (case and spacing aside), so a phrase cut from a sentence goes with it; a text no
    longer one holds starts a group (SST-2's training file: about 60,000 phrases cut from
    some 6,900 sentences).

    Each text is looked for only in the longer texts that hold its rarest word, so the
    whole file takes seconds.
    """
    from collections import Counter, defaultdict

    normalized = [" " + " ".join(text.lower().split()) + " " for text in texts]
    words = [set(text.split()) for text in normalized]
    frequency = Counter(word for text_words in words for word in text_words)
    order = sorted(range(len(texts)), key=lambda i: -len(normalized[i]))
    groups = np.full(len(texts), -1, dtype=np.int64)
    holders = defaultdict(list)  # word -> the group-starting texts that hold it
    next_group = 0
    for i in order:
        text = normalized[i]
        rarest = min(words[i], key=frequency.__getitem__) if words[i] else None
        for j in holders.get(rarest, ()) if rarest is not None else ():
            if text in normalized[j]:
                groups[i] = groups[j]
                break
        else:
            groups[i] = next_group
            next_group += 1
            for word in words[i]:
                holders[word].append(i)
    return groups


def longest_of_groups(texts: Sequence[str], groups: np.ndarray | None = None) -> np.ndarray:
    """Index of the longest text of each group (of :func:`phrase_groups` when ``groups`` is
    not given), in order: the whole sentences that SST-2's phrases were cut from, each once.

    Example:
        >>> longest_of_groups(["a good film", "good", "a dull plot", "dull plot"]).tolist()
        [0, 2]
    """
    groups = phrase_groups(texts) if groups is None else np.asarray(groups)
    longest: dict[int, int] = {}
    for i, group in enumerate(groups.tolist()):
        if group not in longest or len(texts[i]) > len(texts[longest[group]]):
            longest[group] = i
    return np.array(sorted(longest.values()), dtype=np.int64)


def split_groups(groups: np.ndarray, seed: int = 0, validation_fraction: float = 0.1,
                 test_fraction: float = 0.1) -> Splits:
    """As :func:`split_indices`, with whole groups (:func:`phrase_groups`) on one side:
    groups in a seeded order fill the test split to ``test_fraction`` of the texts, then
    validation, and the rest trains. Texts in groups of one split as ``split_indices``
    would split them with the same seed."""
    groups = np.asarray(groups)
    if not 0 <= validation_fraction < 1 or not 0 <= test_fraction < 1:
        raise ValueError("fractions must lie in [0, 1)")
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must be below 1")
    names, members = np.unique(groups, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(names))
    sizes = np.bincount(members, minlength=len(names))[order]
    filled = np.cumsum(sizes)
    n_test = int(round(len(groups) * test_fraction))
    n_validation = int(round(len(groups) * validation_fraction))
    # A group goes to the split in which its first text falls.
    first = filled - sizes
    part = np.where(first < n_test, 0, np.where(first < n_test + n_validation, 1, 2))
    where = np.empty(len(names), dtype=np.int64)
    where[order] = part
    side = where[members]
    return Splits(train=np.flatnonzero(side == 2), validation=np.flatnonzero(side == 1),
                  test=np.flatnonzero(side == 0))


def take(items: Sequence, indices: np.ndarray) -> list:
    return [items[i] for i in indices]
