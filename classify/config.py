"""Configuration of the three classifiers: one frozen dataclass each, with presets.

``quick`` is what ``make demo`` trains (minutes on 2 CPU cores), ``tiny`` is for tests,
``base`` is a larger model for real data (SST-2, IMDB, MNIST, CIFAR-10).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

from common.config import RunConfig, read_config_values
from common.errors import RunError, UsageError
from common.plain_text import MODES

__all__ = ["GENERATED_TEXTS", "BertConfig", "TextConfig", "VitConfig", "config_class",
           "load_config", "preset"]

GENERATED_TEXTS = ("generated", "generated-pairs")  # text data made here, not read


@dataclasses.dataclass(frozen=True)
class _Config(RunConfig):
    PRESETS = ("quick", "base", "tiny")
    kind = ""  # "text" | "bert" | "vit", set by each subclass
    inputs: ClassVar[str] = "texts"  # "texts" | "images": what the model reads
    position_embedding: ClassVar[str] = "sinusoidal"  # "sinusoidal" | "learned" (BERT)
    label_budget: ClassVar[int | None] = None  # labeled training examples used (None: all)
    pretrains: ClassVar[bool] = False  # masked-LM pretraining before fine-tuning
    reads_unlabeled_text: ClassVar[bool] = False  # unlabeled text joins the vocabulary
    CHOICES = {**RunConfig.CHOICES, "pooling": ("cls", "mean"), "split": ("random", "grouped"),
               "tokenizer": ("words", "wordpiece"), "text_mode": MODES}

    # Training.
    learning_rate: float = 1e-3  # peak, reached after the warm-up, then cosine decay
    warmup_fraction: float = 0.1  # of all training steps
    weight_decay: float = 0.01  # AdamW
    patience: int = 5  # early stopping on validation loss
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    steps_per_execution: int = 1  # training steps per call into TensorFlow



@dataclasses.dataclass(frozen=True)
class TextConfig(_Config):
    """The text classifier: [CLS] or mean pooling, with or without positional encoding."""

    kind = "text"
    # Data: "generated" (the "who acts?" task), "generated-pairs" (a sentence and one of its
    # characters: "did this one do it?"), "imdb" (downloads), or a TSV path.
    data: str = "generated"
    # "random" | "grouped": every text with the longer ones that hold it on one side
    # (SST-2's training file is phrases cut from sentences: a random split tests on phrases
    # of training sentences; see common.data.splits.phrase_groups).
    split: str = "random"
    generated_examples: int = 3000
    vocabulary_size: int = 2000  # words kept (WordPiece: about as many pieces), specials in
    # "words" (whole words, [UNK] for the rest) | "wordpiece" (pieces, so rare words spell
    # out; BERT's): classify.vocabulary
    tokenizer: str = "words"
    sequence_length: int = 16  # tokens per input, [CLS] included
    text_mode: str = "better"  # standardization, see common.text
    # Model (Keras names; the Transformer tutorial's in comments).
    num_layers: int = 2  # N
    hidden_dim: int = 64  # d_model
    num_heads: int = 4
    intermediate_dim: int = 128  # dff
    dropout: float = 0.1
    pooling: str = "cls"  # "cls" | "mean"
    positional_encoding: bool = True  # sinusoidal; False: a bag of words

    @classmethod
    def quick(cls):
        return cls(epochs=12)

    @classmethod
    def base(cls):
        return cls(vocabulary_size=20000, sequence_length=64, num_layers=4, hidden_dim=128,
                   num_heads=4, intermediate_dim=256, epochs=10, learning_rate=5e-4)

    @classmethod
    def tiny(cls):
        return cls(generated_examples=400, vocabulary_size=200, sequence_length=16,
                   num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                   dropout=0.0, batch_size=32, epochs=2)


@dataclasses.dataclass(frozen=True)
class BertConfig(TextConfig):
    """A small BERT: masked-LM pretraining on unlabeled text, then fine-tuning on [CLS].

    On the generated task, pretraining reads ``pretraining_examples`` unlabeled sentences
    and fine-tuning sees only ``labeled_examples`` labels: the setting where pretraining
    pays. On a real TSV, pretraining reads the training split's sentences (labels unused).
    """

    kind = "bert"
    position_embedding = "learned"
    reads_unlabeled_text = True
    pooling: str = "cls"
    positional_encoding: bool = True
    pretraining_examples: int = 10000
    # More unlabeled text for pretraining (a file, one text a line; see
    # common.data.classification.read_unlabeled_texts); "" for none.
    unlabeled: str = ""
    labeled_examples: int = 500  # labeled training examples for fine-tuning (0: all)
    pretraining_epochs: int = 6  # 0: no pretraining, the from-scratch baseline
    pretraining_learning_rate: float = 1e-3
    mask_rate: float = 0.15
    epochs: int = 40  # of fine-tuning, on the few labeled examples
    patience: int = 40

    @property
    def label_budget(self) -> int | None:
        return self.labeled_examples or None

    @property
    def pretrains(self) -> bool:
        return self.pretraining_epochs > 0

    @classmethod
    def quick(cls):
        return cls()

    @classmethod
    def base(cls):
        # Pretraining: the learning rate of the best validation masked-word accuracy after 4
        # epochs of 1e-3 and 2e-3 (11.3% and 12.0%, unigram 7.7%), then as many epochs as an
        # hour of 2 CPU cores gives (docs/experiments/pretraining.md); no size or warm-up
        # searched beat it (docs/experiments/pretraining_search.md).
        return cls(vocabulary_size=20000, sequence_length=64, num_layers=4, hidden_dim=128,
                   num_heads=4, intermediate_dim=256, epochs=5, pretraining_epochs=16,
                   pretraining_learning_rate=2e-3, labeled_examples=0, learning_rate=1e-4,
                   patience=3)

    @classmethod
    def tiny(cls):
        return cls(generated_examples=400, vocabulary_size=200, sequence_length=16,
                   num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, dropout=0.0,
                   batch_size=32, epochs=2, pretraining_examples=400, labeled_examples=100,
                   pretraining_epochs=2)


@dataclasses.dataclass(frozen=True)
class VitConfig(_Config):
    """The Vision Transformer."""

    kind = "vit"
    inputs = "images"
    CHOICES = {**_Config.CHOICES, "data": ("digits", "mnist", "cifar10")}
    # Data: "digits" (bundled with scikit-learn), "mnist" or "cifar10" (download).
    data: str = "digits"
    # 8x8 digits: a 4x4 grid of 2x2 patches, so the rollout can point at strokes (4x4
    # patches, a 2x2 grid, test as well: docs/experiments/vit.md)
    patch_size: int = 2
    num_layers: int = 2
    hidden_dim: int = 64
    num_heads: int = 4
    intermediate_dim: int = 128
    dropout: float = 0.1
    pooling: str = "cls"  # "cls" | "mean"
    positional_encoding: bool = True  # learned position embeddings; False: a set of patches
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    epochs: int = 100  # the test accuracy it reaches on the digits: docs/results.md
    patience: int = 100  # the validation split is small (180 images): no early stop

    @classmethod
    def quick(cls):
        return cls()

    @classmethod
    def base(cls):
        return cls(patch_size=4, num_layers=6, hidden_dim=128, num_heads=4,
                   intermediate_dim=256, epochs=30, patience=5, learning_rate=1e-3,
                   validation_fraction=0.05, test_fraction=0.1)

    @classmethod
    def tiny(cls):
        return cls(patch_size=4, num_layers=1, hidden_dim=16, num_heads=2,
                   intermediate_dim=32, dropout=0.0, epochs=2, batch_size=32)


_CLASSES = {"text": TextConfig, "bert": BertConfig, "vit": VitConfig}


def config_class(kind: str):
    if kind not in _CLASSES:
        raise UsageError(f"kind must be one of {sorted(_CLASSES)}, received {kind!r}")
    return _CLASSES[kind]


def load_config(path: str | Path):
    """The config a run saved: a TextConfig, BertConfig or VitConfig, by its ``kind``.

    Raises:
        RunError: a missing, damaged or foreign config.json.
    """
    values = read_config_values(path)
    kind = values.get("kind") if isinstance(values, dict) else None
    if kind not in _CLASSES:
        raise RunError(f"{path} is not a classify config (kind {kind!r})")
    return _CLASSES[kind].from_dict(values, str(path))


def preset(kind: str, name: str):
    return config_class(kind).preset(name)
