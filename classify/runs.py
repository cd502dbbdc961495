"""A trained classifier run, loaded: its config, label names, vocabulary, model, predictor.

What training writes into a run folder (``common.run_folder``), read back for evaluating,
plotting, exporting and serving. Below training in the package's layers: loading a run
never needs the training code.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import keras

from classify.config import load_config
from classify.model import build_model, build_pretrainer, separator_of
from classify.predictor import Predictor
from classify.vocabulary import text_vocabulary
from common.errors import RunError
from common.run_folder import RunFolder
from common.text import Vocabulary

__all__ = ["LoadedRun", "load_predictor", "load_pretrainer", "load_run", "unigram_baseline_of"]


@dataclasses.dataclass
class LoadedRun:
    """What a run folder holds, loaded: its config, label names, vocabulary (text), input
    image shape (ViT) and model (best weights)."""

    run_dir: Path
    config: object
    label_names: list[str]
    vocabulary: Vocabulary | None
    image_shape: tuple[int, ...] | None
    model: keras.Model


def load_run(run_dir: str | os.PathLike, which: str = "best") -> LoadedRun:
    """Loads a trained run; ``which`` is ``"best"`` (weights) or ``"last"`` (the .keras
    checkpoint with its optimizer).

    Raises:
        RunError: not a run folder, or a missing or damaged checkpoint.
    """
    run = RunFolder(run_dir).require()
    config = load_config(run.config_path)
    meta = run.read_json("labels.json", "label list")
    vocabulary = None
    if config.inputs == "texts":
        vocabulary = text_vocabulary(run.read_json("vocabulary.json", "vocabulary"),
                                     config.sequence_length, config.text_mode, config.tokenizer)
    try:
        label_names = list(meta["label_names"])
        image_shape = tuple(meta["image_shape"]) if meta.get("image_shape") else None
    except (KeyError, TypeError, AttributeError) as error:
        raise RunError(f"{run / 'labels.json'} is damaged ({error!r}); retrain") from None
    model = run.load_model(which, lambda: build_model(
        config, len(label_names), vocabulary.size if vocabulary else None, image_shape,
        separator_of(config, vocabulary)))
    return LoadedRun(run.path, config, label_names, vocabulary, image_shape, model)


def load_predictor(run_dir: str | os.PathLike) -> tuple[LoadedRun, Predictor]:
    """``(run, predictor)``: a trained run (:func:`load_run`) and a Predictor on its best
    weights."""
    run = load_run(run_dir)
    return run, Predictor(run.model, run.label_names, run.vocabulary, run.image_shape)


def load_pretrainer(run: LoadedRun) -> keras.Model:
    """A BERT run's masked-LM pretrainer with its best pretraining weights (``RUN/pretrain``).

    Raises:
        RunError: the run did no pretraining.
    """
    pretrain = RunFolder(run.run_dir).child("pretrain")
    if run.config.kind != "bert" or not pretrain.best_weights.exists():
        raise RunError(f"{run.run_dir} holds no pretraining (a BERT run with "
                       "pretraining_epochs > 0 has RUN/pretrain)")
    model = build_pretrainer(run.config, run.vocabulary)
    model.load_weights(pretrain.best_weights)
    return model


def unigram_baseline_of(run_dir: str | os.PathLike) -> dict | None:
    """A BERT run's unigram baseline (``RUN/pretrain/baseline.json``: the word always
    guessed, its masked-word accuracy on the validation words, how many), or None where the
    run did no pretraining or predates the file."""
    path = RunFolder(run_dir).child("pretrain").path / "baseline.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"{path} is damaged ({error}); delete it and train with --resume "
                       "to write it again") from None
