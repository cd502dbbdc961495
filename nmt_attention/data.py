"""From a corpus on disk (or the generated one) to batches of token ids.

Two input pipelines, so their speed can be compared (``bench/nmt_attention_speed.py``):

* ``"faithful"``: the tutorial's: random batches, each padded to its longest sentence.
* ``"fast"``: sentences grouped by length into buckets before batching, so a batch of short
  sentences is not padded to the length of one long one; most of the padded steps the GRUs
  would run for nothing disappear.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from common.data import (
    GeneratedPair,
    download_spa_eng,
    generate_pairs,
    load_pairs,
    split_indices,
    take,
)
from common.data.splits import Splits
from common.text import Vocabulary
from nmt_attention.config import Config

__all__ = ["PIPELINES", "Corpus", "encode_texts", "load_corpus", "make_dataset"]

PIPELINES = ("fast", "faithful")
BUCKET_BOUNDARIES = (6, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64)


@dataclasses.dataclass
class Corpus:
    """Spanish sources, English targets, their split, and (generated data) the alignments."""

    spanish: list[str]
    english: list[str]
    splits: Splits
    report: str
    malformed: list[tuple[int, str]]
    generated: list[GeneratedPair] | None = None

    def part(self, name: str) -> tuple[list[str], list[str]]:
        indices = getattr(self.splits, name)
        return take(self.spanish, indices), take(self.english, indices)


def load_corpus(config: Config) -> Corpus:
    """Reads ``config.data``: ``"generated"``, ``"download"`` or a file path."""
    generated = None
    if config.data == "generated":
        generated = generate_pairs(config.generated_pairs, seed=config.seed)
        english = [p.english for p in generated]
        spanish = [p.spanish for p in generated]
        report = f"generated {len(generated)} pairs (seed {config.seed})"
        malformed = []
    else:
        path = download_spa_eng() if config.data == "download" else config.data
        loaded = load_pairs(path)
        english, spanish = loaded.english, loaded.spanish
        report, malformed = loaded.report(), loaded.malformed
    splits = split_indices(
        len(english), config.seed, config.validation_fraction, config.test_fraction
    )
    return Corpus(spanish, english, splits, report, malformed, generated)


def encode_texts(
    vocabulary: Vocabulary, texts: list[str], max_words: int | None = None, chunk: int = 8192
) -> tf.RaggedTensor:
    """Strings -> (len(texts), None) int64 ids, ``[START] ... [END]``."""
    parts = [
        vocabulary.encode(tf.constant(texts[i : i + chunk]), max_words)
        for i in range(0, len(texts), chunk)
    ]
    return tf.concat(parts, axis=0)


def make_dataset(
    source_ids: tf.RaggedTensor,
    target_ids: tf.RaggedTensor,
    batch_size: int,
    pipeline: str = "fast",
    shuffle: bool = True,
    repeat: bool = True,
    seed: int = 0,
    reshuffle: bool = True,
) -> tf.data.Dataset:
    """Batches of ``((source_ids, target_in), target_out)``, padded with 0.

    ``target_in`` is the target without its last token and ``target_out`` the target
    without ``[START]``: the decoder reads one and predicts the other (teacher forcing).
    With ``reshuffle=False`` the order is shuffled once and kept: validation then sees the
    same random sample every epoch (files such as spa.txt are sorted by length, so the
    first batches of an unshuffled split would be the shortest sentences only).
    """
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, received {pipeline!r}")
    source_lengths = source_ids.row_lengths()
    target_lengths = target_ids.row_lengths()
    ds = tf.data.Dataset.from_tensor_slices(
        (source_ids.to_tensor(), source_lengths, target_ids.to_tensor(), target_lengths)
    )
    ds = ds.map(lambda s, ls, t, lt: (s[:ls], t[:lt]), num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(
            int(source_lengths.shape[0]), seed=seed, reshuffle_each_iteration=reshuffle
        )
    if repeat:
        ds = ds.repeat()
    if pipeline == "faithful":
        ds = ds.padded_batch(batch_size)
    else:
        ds = ds.bucket_by_sequence_length(
            lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
            bucket_boundaries=list(BUCKET_BOUNDARIES),
            bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
        )
    ds = ds.map(lambda s, t: ((s, t[:, :-1]), t[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def real_token_count(targets: tf.Tensor) -> int:
    return int(np.count_nonzero(targets.numpy()))
