"""From token ids (or raw strings) to training batches.

Two input pipelines, so their speed can be compared (see the bench scripts):

* ``"faithful"``: the tutorials': batches of raw strings, standardized and tokenized batch by
  batch inside ``tf.data`` (on the same cores as training), random batches each padded to
  its longest sentence (:func:`make_text_dataset`).
* ``"fast"``: text tokenized once up front; sentences grouped by (source, target) length
  before batching, so a batch of short sentences is not padded to the length of one long
  one: most of the padded positions the model would compute for nothing disappear
  (:func:`make_dataset`).

An *encoder* here is anything with ``encode(strings, max_tokens) -> RaggedTensor`` of ids
(``common.text.Vocabulary``, ``transformer.tokenizer.WordPieceTokenizer``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

__all__ = [
    "PIPELINES",
    "encode_texts",
    "length_grouped_batches",
    "make_dataset",
    "make_text_dataset",
]

PIPELINES = ("fast", "faithful")
BUCKET_BOUNDARIES = (6, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 128)


def encode_texts(encoder, texts: list[str], max_words: int | None = None,
                 chunk: int = 8192) -> tf.RaggedTensor:
    """Strings -> (len(texts), None) int64 ids, ``[START] ... [END]``."""
    parts = [
        encoder.encode(tf.constant(texts[i : i + chunk]), max_words)
        for i in range(0, len(texts), chunk)
    ]
    return tf.concat(parts, axis=0)


@dataclasses.dataclass(frozen=True)
class Batching:
    """How sentence pairs become batches.

    ``pipeline`` ``"fast"`` groups sentences by (source length, target length) before
    batching (:func:`length_grouped_batches`); ``"faithful"`` pads random batches to their
    longest sentence, as the tutorial does. ``fixed_shapes`` instead pads every batch of a
    length bucket to the bucket's boundary, so XLA compiles one program a bucket rather than
    one per batch shape. With ``reshuffle=False`` the order is shuffled once and kept:
    validation then sees the same random sample every epoch (files such as spa.txt are
    sorted by length, so the first batches of an unshuffled split would be the shortest
    sentences only). ``repeat=False`` gives one pass.
    """

    batch_size: int
    pipeline: str = "fast"  # "fast" | "faithful"
    seed: int = 0
    reshuffle: bool = True
    fixed_shapes: bool = False
    repeat: bool = True


def make_dataset(source_ids: tf.RaggedTensor, target_ids: tf.RaggedTensor,
                 batching: Batching) -> tf.data.Dataset:
    """Batches of ``((source_ids, target_in), target_out)``, padded with 0, as ``batching``
    says.

    ``target_in`` is the target without its last token and ``target_out`` the target
    without ``[START]``: the decoder reads one and predicts the other (teacher forcing).
    """
    pipeline, batch_size, seed = batching.pipeline, batching.batch_size, batching.seed
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, received {pipeline!r}")
    if pipeline == "fast" and not batching.fixed_shapes:
        return _grouped_dataset(source_ids, target_ids, batching)
    source_lengths = source_ids.row_lengths()
    target_lengths = target_ids.row_lengths()
    ds = tf.data.Dataset.from_tensor_slices(
        (source_ids.to_tensor(), source_lengths, target_ids.to_tensor(), target_lengths)
    )
    ds = ds.map(lambda s, ls, t, lt: (s[:ls], t[:lt]), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.shuffle(int(source_lengths.shape[0]), seed=seed,
                    reshuffle_each_iteration=batching.reshuffle)
    if batching.repeat:
        ds = ds.repeat()
    if pipeline == "faithful":
        ds = ds.padded_batch(batch_size)
    else:
        ds = ds.bucket_by_sequence_length(
            lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
            bucket_boundaries=list(BUCKET_BOUNDARIES),
            bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
            pad_to_bucket_boundary=True,
            drop_remainder=True,
        )
    ds = ds.map(lambda s, t: ((s, t[:, :-1]), t[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def length_grouped_batches(
    source_lengths: np.ndarray, target_lengths: np.ndarray, batch_size: int,
    rng: np.random.Generator | None,
) -> list[np.ndarray]:
    """Index batches of sentences with the same (source, target) length bucket.

    Within a group the order is shuffled by ``rng`` (kept when ``None``); leftovers of every
    group are sorted by length and batched together, and the batch order is shuffled.
    Every index appears exactly once.
    """
    keys = _bucket_of(source_lengths) * 1000 + _bucket_of(target_lengths)
    batches, leftovers = [], []
    for key in np.unique(keys):
        members = np.flatnonzero(keys == key)
        if rng is not None:
            members = rng.permutation(members)
        full = len(members) - len(members) % batch_size
        batches += np.split(members[:full], full // batch_size) if full else []
        leftovers.append(members[full:])
    rest = np.concatenate(leftovers)
    rest = rest[np.lexsort((target_lengths[rest], source_lengths[rest]))]
    batches += [rest[i : i + batch_size] for i in range(0, len(rest), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _bucket_of(lengths: np.ndarray) -> np.ndarray:
    """Exact lengths up to 24 tokens, then buckets of 8."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.where(lengths <= 24, lengths, 24 + (lengths - 24 + 7) // 8)


def _grouped_dataset(source_ids, target_ids, batching: Batching):
    """Batches grouped by length, planned in NumPy once an epoch (no per-example tf.data
    work competing with training for the CPU)."""
    source = source_ids.to_tensor().numpy()
    target = target_ids.to_tensor().numpy()
    source_lengths = source_ids.row_lengths().numpy()
    target_lengths = target_ids.row_lengths().numpy()

    def batches():
        rng = np.random.default_rng(batching.seed)
        fixed = length_grouped_batches(source_lengths, target_lengths, batching.batch_size,
                                       rng)
        while True:
            for index in fixed:
                s = source[index, : source_lengths[index].max()]
                t = target[index, : target_lengths[index].max()]
                yield (s, t[:, :-1]), t[:, 1:]
            if not batching.repeat:
                return
            if batching.reshuffle:
                fixed = length_grouped_batches(source_lengths, target_lengths,
                                               batching.batch_size, rng)

    spec = tf.TensorSpec([None, None], tf.int64)
    ds = tf.data.Dataset.from_generator(batches, output_signature=((spec, spec), spec))
    return ds.prefetch(4)


def make_text_dataset(spanish: list[str], english: list[str], source_vocabulary,
                      target_vocabulary, batching: Batching,
                      max_words: int | None = None) -> tf.data.Dataset:
    """The tutorial's pipeline: shuffle raw string pairs, batch, then tokenize each batch
    (``batching``'s batch size, seed, reshuffle and repeat; longer sentences keep their first
    ``max_words`` words). Same output as :func:`make_dataset`."""

    def to_ids(source, target):
        source_ids = source_vocabulary.encode(source, max_words).to_tensor()
        target_ids = target_vocabulary.encode(target, max_words)
        return (source_ids, target_ids[:, :-1].to_tensor()), target_ids[:, 1:].to_tensor()

    ds = tf.data.Dataset.from_tensor_slices((spanish, english))
    ds = ds.shuffle(len(spanish), seed=batching.seed,
                    reshuffle_each_iteration=batching.reshuffle)
    if batching.repeat:
        ds = ds.repeat()
    ds = ds.batch(batching.batch_size).map(to_ids, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
