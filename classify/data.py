"""The classifiers' data: each task's examples cut into train, validation and test, encoded
for the model, and batched.

Texts: the generated word-order task, IMDB or a TSV (SST-2), split at random or by phrase
groups; images: scikit-learn's digits or a Keras data set. Splits are seeded, so a run and
its evaluation see the same test examples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from classify.config import TextConfig, VitConfig
from common.data import DataError, split_indices
from common.data.batching import length_grouped_batches
from common.data.classification import (
    ImageSet,
    LabeledTexts,
    generate_order_task,
    generate_pair_task,
    load_digits,
    load_imdb,
    load_keras_images,
    read_labeled_tsv,
)
from common.data.splits import phrase_groups, split_groups
from common.text import Vocabulary

__all__ = ["SplitData", "TextSplits", "arrays_dataset", "encode", "load_data", "text_splits",
           "token_batches"]


@dataclasses.dataclass
class SplitData:
    """Model inputs and labels of the three splits; ``texts`` keeps the test sentences."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    label_names: list[str]
    report: str
    test_texts: list[str] | None = None


def load_labeled_texts(config: TextConfig) -> LabeledTexts:
    if config.data == "generated":
        return generate_order_task(config.generated_examples, config.seed)
    if config.data == "generated-pairs":
        return generate_pair_task(config.generated_examples, config.seed)
    if config.data == "imdb":
        return load_imdb()
    return read_labeled_tsv(config.data)


def load_images(config: VitConfig) -> ImageSet:
    if config.data == "digits":
        return load_digits()
    return load_keras_images(config.data)


def _splits(count: int, config, texts: list[str] | None = None):
    if getattr(config, "split", "random") == "grouped":
        splits = split_groups(phrase_groups(texts), config.seed, config.validation_fraction,
                              config.test_fraction)
    else:
        splits = split_indices(count, config.seed, config.validation_fraction,
                               config.test_fraction)
    if not len(splits.train) or not len(splits.validation) or not len(splits.test):
        raise DataError(f"{count} examples are too few to split; give more data")
    return {"train": splits.train, "validation": splits.validation, "test": splits.test}


@dataclasses.dataclass
class TextSplits:
    """A text data set cut into its three splits (the whole training split: BERT's label
    budget is applied by :func:`load_data`)."""

    data: LabeledTexts
    texts: dict[str, list[str]]
    labels: dict[str, np.ndarray]


def text_splits(config: TextConfig) -> TextSplits:
    data = load_labeled_texts(config)
    parts = _splits(len(data), config, data.texts)
    return TextSplits(data, {name: [data.texts[i] for i in index] for name, index in
                             parts.items()},
                      {name: data.labels[index] for name, index in parts.items()})


def load_data(config, vocabulary: Vocabulary | None = None,
              splits: TextSplits | None = None) -> SplitData:
    """The three splits as arrays: token ids for text (with ``vocabulary``; ``splits`` when
    already read), images for ViT."""
    if config.inputs == "images":
        images = load_images(config)
        parts = _splits(len(images), config)
        return SplitData({n: images.images[i] for n, i in parts.items()},
                         {n: images.labels[i] for n, i in parts.items()},
                         images.label_names, images.report)
    splits = splits or text_splits(config)
    texts, labels = dict(splits.texts), dict(splits.labels)
    budget = config.label_budget
    texts["train"], labels["train"] = texts["train"][:budget], labels["train"][:budget]
    x = {name: encode(vocabulary, part) for name, part in texts.items()}
    return SplitData(x, labels, splits.data.label_names, splits.data.report, texts["test"])


def encode(vocabulary: Vocabulary, texts: Sequence[str], batch: int = 4096) -> np.ndarray:
    rows = [vocabulary.encode(tf.constant(list(texts[i : i + batch]))).numpy()
            for i in range(0, len(texts), batch)]
    return np.concatenate(rows) if rows else np.zeros([0, vocabulary.sequence_length],
                                                      np.int32)


def arrays_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
                   training: bool) -> tf.data.Dataset:
    """Batches of ``(x, y)``: shuffled and repeated for training, one pass in order otherwise
    (token ids then by :func:`token_batches`, cut to their longest row). Training batches
    stay random and full width: grouped by length, a batch holds one construction, often one
    class (on the generated task a [CLS] seed that reached 0.97 fell to 0.52), and the
    seeded stream of every measured run would change.
    """
    if not training and x.ndim == 2 and np.issubdtype(x.dtype, np.integer):
        return token_batches(x, y, batch_size, seed, training)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def token_batches(ids: np.ndarray, labels: np.ndarray, batch_size: int,
                  seed: int | np.random.Generator, training: bool,
                  transform=None) -> tf.data.Dataset:
    """Batches of token ids grouped by length, each cut to its longest row.

    ``ids`` are padded with 0 at the end to the preset's ``sequence_length`` (64 for SST-2),
    but most texts are much shorter: grouping them by length
    (``common.data.batching.length_grouped_batches``) and dropping the columns a batch pads
    leaves the model the same numbers to compute on (padding is masked everywhere) at a
    fraction of the positions. Training (masked-LM pretraining; classifier training keeps
    random batches, :func:`arrays_dataset`): a new grouping each pass drawn from ``seed`` (an
    int, or a NumPy generator to share with ``transform``), full batches only, repeated;
    otherwise one pass in a fixed order. ``labels`` may be anything indexable by rows of the
    same count (class ids, or per-token labels, cut with the ids). ``transform(ids,
    labels)`` (NumPy, training only) makes each batch's ``(inputs, targets)`` of the same
    dtype as ``ids``: pretraining masks tokens there, a new masking each pass.
    """
    lengths = np.maximum(1, np.count_nonzero(ids, axis=1))
    cut_labels = labels.ndim == 2

    def batches():
        rng = np.random.default_rng(seed) if training else None  # a Generator: itself
        while True:
            for index in length_grouped_batches(lengths, lengths, batch_size, rng):
                if training and len(index) < batch_size:
                    continue
                width = lengths[index].max()
                batch = ids[index, :width], labels[index, :width] if cut_labels else labels[index]
                yield transform(*batch) if transform and training else batch
            if not training:
                return

    label_shape = [None, None] if cut_labels else [None]
    label_dtype = ids.dtype if transform and training else labels.dtype
    spec = (tf.TensorSpec([None, None], tf.as_dtype(ids.dtype)),
            tf.TensorSpec(label_shape, tf.as_dtype(label_dtype)))
    ds = tf.data.Dataset.from_generator(batches, output_signature=spec)
    if not training:  # one pass of known length (Keras then reads it to the end quietly)
        ds = ds.apply(tf.data.experimental.assert_cardinality(-(-len(ids) // batch_size)))
    return ds.prefetch(4)
