"""Data for classification: a generated text task that needs word order, labeled TSV files
(SST-2 and the like), IMDB when online, scikit-learn's bundled digits, MNIST/CIFAR-10 when
online.

The generated task, "who acts?": each sentence names one person and one animal, and the label
says which of the two did the deed. Both orders and both voices occur equally often::

    the old teacher chased the dog yesterday        -> person
    the dog chased the old teacher yesterday        -> animal
    the dog was chased by the old teacher           -> person

The first two hold exactly the same words, so a bag-of-words model (a Transformer without
positional encoding is one) can do no better than chance; a model that reads order can learn
"subject before the verb, or after 'by' in the passive".
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from pathlib import Path

import numpy as np

from common.data.pairs import DataError, skipped_lines

__all__ = [
    "ADJECTIVES",
    "ANIMALS",
    "ORDER_TASK_LABELS",
    "PAIR_TASK_LABELS",
    "PEOPLE",
    "PLACES",
    "ImageSet",
    "check_labels",
    "LabeledTexts",
    "generate_order_task",
    "generate_pair_task",
    "load_digits",
    "load_imdb",
    "load_keras_images",
    "read_unlabeled_texts",
    "read_labeled_tsv",
    "write_labeled_tsv",
]

ORDER_TASK_LABELS = ("animal", "person")
# The order task's words (public: the pooling experiment builds its phrases from them).
PEOPLE = ["teacher", "doctor", "farmer", "child", "baker", "nurse", "pilot", "student",
          "girl", "boy", "king", "queen", "sailor", "painter"]
ANIMALS = ["dog", "cat", "horse", "wolf", "bear", "fox", "goose", "mouse", "lion", "rabbit",
           "owl", "snake", "goat", "crow"]
_VERBS = ["chased", "saw", "followed", "watched", "fed", "found", "heard", "helped", "scared",
          "pushed", "caught", "ignored", "surprised", "greeted", "woke", "bit"]
_PARTICIPLES = {"saw": "seen", "woke": "woken", "bit": "bitten"}
ADJECTIVES = ["old", "young", "small", "big", "hungry", "tired", "clever", "angry", "brave",
              "lazy"]
_TIMES = ["yesterday", "this morning", "last night", "at noon", "again", "on sunday"]
PLACES = ["in the garden", "near the river", "in the forest", "behind the barn",
          "on the hill", "at the market"]


def check_labels(labels, num_classes: int, source: str = "the data") -> np.ndarray:
    """Returns ``labels`` as int32 (n,); a label outside [0, num_classes) raises a DataError
    naming the first one, rather than a NaN loss or a crash deep inside TensorFlow."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{source}: labels must be a 1-D array of integers, received shape "
                        f"{labels.shape} and dtype {labels.dtype}")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DataError(f"{source}: label {labels[bad[0]]} of example {bad[0]} is outside "
                        f"[0, {num_classes}); {len(bad)} label(s) out of range")
    return labels.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class LabeledTexts:
    """Sentences and integer labels, with the labels' names and what was skipped.

    Attributes:
        texts: the sentences.
        labels: (n,) int32, indices into ``label_names``.
        label_names: one name per class, in id order.
        malformed: (line number, reason) for every skipped line of a file.
        source: where they came from.
    """

    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    malformed: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    source: str = "<generated>"

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise DataError(f"{self.source}: {len(self.texts)} texts but {len(self.labels)} "
                            "labels")
        check_labels(self.labels, len(self.label_names), self.source)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def report(self) -> str:
        return (f"read {len(self)} labeled sentences ({len(self.label_names)} classes) from "
                f"{self.source}" + skipped_lines(self.malformed))


def _noun_phrase(rng: np.random.Generator, noun: str) -> str:
    if rng.random() < 0.4:
        return f"the {rng.choice(ADJECTIVES)} {noun}"
    return f"the {noun}"


def generate_order_task(count: int, seed: int = 0) -> LabeledTexts:
    """``count`` "who acts?" sentences, deterministic from ``seed``; labels balanced.

    Label 1 (``"person"``) when the person did the deed, 0 (``"animal"``) when the animal
    did. Active sentences put the doer first; passive ones ("was ... by") put it last.
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        person_acts = bool(rng.integers(2))
        person = _noun_phrase(rng, str(rng.choice(PEOPLE)))
        animal = _noun_phrase(rng, str(rng.choice(ANIMALS)))
        doer, done_to = (person, animal) if person_acts else (animal, person)
        texts.append(_deed_sentence(rng, doer, str(rng.choice(_VERBS)), done_to))
        labels.append(int(person_acts))
    return LabeledTexts(texts, np.array(labels, np.int32), list(ORDER_TASK_LABELS))


def _deed_sentence(rng: np.random.Generator, doer: str, verb: str, done_to: str,
                   passive: bool | None = None) -> str:
    """``doer`` did ``verb`` to ``done_to``: active or passive (at random unless
    ``passive`` says), sometimes with a place or a time."""
    if passive is None:
        passive = rng.random() >= 0.5
    if not passive:
        words = [doer, verb, done_to]
    else:
        words = [done_to, "was", _PARTICIPLES.get(verb, verb), "by", doer]
    extra = rng.random()
    if extra < 0.3:
        words.append(str(rng.choice(PLACES)))
    elif extra < 0.6:
        words.append(str(rng.choice(_TIMES)))
    return " ".join(words)


PAIR_TASK_LABELS = ("no", "yes")


def generate_pair_task(count: int, seed: int = 0) -> LabeledTexts:
    """``count`` pairs ``"sentence<TAB>character"``: did the character named in the second
    text do the deed of the first? Deterministic from ``seed``; each label drawn with
    probability 1/2.

    The first text is a "who acts?" sentence, active or passive; the second names one of
    its two characters, as the sentence does::

        the fox bit the old nurse<TAB>the old nurse               -> no
        the old nurse was bitten by the fox<TAB>the fox           -> yes

    Both characters are in the first text either way, so only a model that reads its order
    and knows which text a word is in (BERT's segments) can answer.
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        person = _noun_phrase(rng, str(rng.choice(PEOPLE)))
        animal = _noun_phrase(rng, str(rng.choice(ANIMALS)))
        doer, done_to = (person, animal) if rng.integers(2) else (animal, person)
        asked_doer = bool(rng.integers(2))
        sentence = _deed_sentence(rng, doer, str(rng.choice(_VERBS)), done_to)
        texts.append(f"{sentence}\t{doer if asked_doer else done_to}")
        labels.append(int(asked_doer))
    return LabeledTexts(texts, np.array(labels, np.int32), list(PAIR_TASK_LABELS))


def write_labeled_tsv(path: str | os.PathLike, data: LabeledTexts) -> Path:
    """Writes ``sentence<TAB>label`` with a header, labels by name: the format read back by
    :func:`read_labeled_tsv`; pairs (texts holding a tab) as ``sentence1<TAB>sentence2<TAB>
    label``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pairs = any("\t" in t for t in data.texts)
    if pairs and not all(t.count("\t") == 1 for t in data.texts):
        raise DataError("texts of a pair data set hold exactly one tab each (between the "
                        "two sentences)")
    lines = ["sentence1\tsentence2\tlabel" if pairs else "sentence\tlabel"]
    lines += [f"{t}\t{data.label_names[y]}" for t, y in zip(data.texts, data.labels,
                                                               strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_labeled_tsv(path: str | os.PathLike) -> LabeledTexts:
    """Reads a ``sentence<TAB>label`` file with a header line (SST-2's train.tsv and many
    others ship so). The columns are found by the header names ``sentence`` (or ``text``,
    ``review``) and ``label``; any other columns are ignored. Sentence pairs (GLUE's
    format): ``sentence1`` and ``sentence2`` columns, read as one text with a tab between
    them (the classifiers' vocabulary puts [SEP] there).

    Labels may be integers (sorted numerically: 0, 1, ...) or names (sorted
    alphabetically). A line with a missing or empty field is skipped and reported with its
    number.

    Raises:
        DataError: missing file, not UTF-8, a header without the two columns, no usable
            line, or a single class.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}; pass a 'sentence<TAB>label' TSV")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it to UTF-8") from None
    lines = text.splitlines()
    if not lines:
        raise DataError(f"{path} is empty; pass a 'sentence<TAB>label' TSV with a header")
    header = [h.strip().lower() for h in lines[0].split("\t")]
    text_column = next((header.index(n) for n in ("sentence", "text", "review")
                        if n in header), None)
    second_column = None  # pairs: sentence1<TAB>sentence2<TAB>label
    if text_column is None and {"sentence1", "sentence2"} <= set(header):
        text_column, second_column = header.index("sentence1"), header.index("sentence2")
    if text_column is None or "label" not in header:
        raise DataError(
            f"{path}: the header line {lines[0]!r} needs a 'sentence' and a 'label' column, "
            "separated by a tab (e.g. 'sentence<TAB>label')")
    label_column = header.index("label")
    needed = max(text_column, label_column, second_column or 0) + 1
    texts, raw_labels, malformed = [], [], []
    for number, row in enumerate(csv.reader(io.StringIO("\n".join(lines[1:])),
                                            delimiter="\t", quoting=csv.QUOTE_NONE),
                                 start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < needed:
            malformed.append((number, f"expected {len(header)} tab-separated columns, "
                                      f"found {len(row)}"))
            continue
        sentence, label = row[text_column].strip(), row[label_column].strip()
        if second_column is not None:  # one text, the pair's two with a tab between
            second = row[second_column].strip()
            sentence = f"{sentence}\t{second}" if sentence and second else ""
        if not sentence or not label:
            malformed.append((number, "the sentence or the label is empty"))
            continue
        texts.append(sentence)
        raw_labels.append(label)
    if not texts:
        raise DataError(f"{path} holds no usable 'sentence<TAB>label' line")
    names = sorted(set(raw_labels), key=lambda v: (0, int(v), v) if _is_int(v) else (1, 0, v))
    if len(names) < 2:
        raise DataError(f"{path} has a single label ({names[0]!r}); a classifier needs two")
    index = {name: i for i, name in enumerate(names)}
    labels = np.array([index[v] for v in raw_labels], np.int32)
    return LabeledTexts(texts, labels, names, malformed, str(path))


def read_unlabeled_texts(path: str | os.PathLike) -> list[str]:
    """Unlabeled text for pretraining: one text a line; of a tab-separated line, its first
    field (so the ``English<TAB>Spanish`` pairs of the translation tutorials give their
    English side, and a ``sentence<TAB>label`` TSV its sentences). Blank lines are skipped
    and repeated texts kept once, in the order they first appear.

    Raises:
        DataError: missing file, not UTF-8, or no text in it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"unlabeled text file not found: {path}; pass a text file, one text "
                        "a line (or tab-separated lines: the first field is read)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it to UTF-8") from None
    texts = list(dict.fromkeys(t for t in (line.split("\t", 1)[0].strip() for line in lines)
                               if t))
    if not texts:
        raise DataError(f"{path} holds no text; pass a text file, one text a line")
    return texts


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def load_imdb(cache_dir: str | None = None) -> LabeledTexts:
    """The IMDB movie reviews (50,000, 2 classes) through ``keras.datasets`` (downloads
    once), decoded back to text.

    Raises:
        DataError: when the download fails (offline): pass a local TSV instead.
    """
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data()
        index = keras.datasets.imdb.get_word_index()
    except Exception as error:  # noqa: BLE001 - network errors come in many kinds
        raise DataError(
            f"could not download IMDB ({type(error).__name__}); offline, pass a local "
            "'sentence<TAB>label' file with --data") from None
    words = {i + 3: w for w, i in index.items()}  # keras shifts ids by 3 (pad, start, oov)
    texts = [" ".join(words.get(i, "[UNK]") for i in review[1:])
             for review in [*x_train, *x_test]]
    labels = np.concatenate([y_train, y_test]).astype(np.int32)
    return LabeledTexts(texts, labels, ["negative", "positive"], source="keras.datasets.imdb")


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Images scaled to [0, 1] and integer labels.

    Attributes:
        images: (n, height, width, channels) float32.
        labels: (n,) int32.
        label_names: one name per class.
        source: where they came from.
    """

    images: np.ndarray
    labels: np.ndarray
    label_names: list[str]
    source: str

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise DataError(f"{self.source}: {len(self.images)} images but {len(self.labels)} "
                            "labels")
        check_labels(self.labels, len(self.label_names), self.source)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def report(self) -> str:
        shape = "x".join(str(s) for s in self.images.shape[1:])
        return f"read {len(self)} images ({shape}, {len(self.label_names)} classes) from " \
               f"{self.source}"


def load_digits() -> ImageSet:
    """scikit-learn's bundled handwritten digits: 1,797 real 8x8 grey images, 10 classes,
    no download (a copy of the UCI test set of "Optical Recognition of Handwritten Digits")."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # values 0..16 -> [0, 1]
    return ImageSet(images, digits.target.astype(np.int32), [str(d) for d in range(10)],
                    "sklearn.datasets.load_digits")


_KERAS_IMAGES = {
    "mnist": [str(d) for d in range(10)],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"],
}


def load_keras_images(name: str) -> ImageSet:
    """MNIST or CIFAR-10 through ``keras.datasets`` (downloads once); train and test parts
    are pooled and split again by ``split_indices`` like every other set here.

    Raises:
        DataError: an unknown name, or the download failed.
    """
    import keras

    if name not in _KERAS_IMAGES:
        raise DataError(f"image set must be one of {sorted(_KERAS_IMAGES)}, received {name!r}")
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # noqa: BLE001 - network errors come in many kinds
        raise DataError(f"could not download {name} ({type(error).__name__}); offline, use "
                        "the bundled digits (the default)") from None
    images = np.concatenate([x_train, x_test]).astype(np.float32) / 255.0
    if images.ndim == 3:
        images = images[..., None]
    labels = np.concatenate([y_train, y_test]).reshape(-1).astype(np.int32)
    return ImageSet(images, labels, _KERAS_IMAGES[name], f"keras.datasets.{name}")

