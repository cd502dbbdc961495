"""What both translation tutorials' training does alike on the engine of
:mod:`common.training`: the corpus and the two vocabularies of a run, and its plan's batches."""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from common.data.corpus import corpus_of
from common.training import RunContext, TrainingPlan

__all__ = ["translation_data", "translation_plan"]


def translation_data(context: RunContext, folder: str, learn: Callable[[list[str]], list[str]],
                     make: Callable[[list[str]], object]) -> tuple:
    """``(corpus, source, target)`` for a translation run: the corpus its config names, and
    the two vocabularies ``make(tokens)``: learned from the training split with ``learn``
    (and written to ``RUN/folder`` with ``data.json``, on the chief), or read back on resume.

    Raises:
        DataError: the data cannot be read, or has too few pairs to split.
    """
    corpus = corpus_of(context.config)
    context.log(corpus.report)
    train_es, train_en, _, _ = corpus.training_parts()
    if context.resume:
        return corpus, *context.run.read_pair(folder, make)
    context.log(f"learning the vocabularies ({folder}/) from the training split ...")
    tokens = learn(train_es), learn(train_en)
    if context.chief:
        context.run.write_pair(folder, *tokens)
        context.run.write_json("data.json", corpus.summary(), indent=2)
    return corpus, make(tokens[0]), make(tokens[1])


def translation_plan(config, dataset: Callable[[str, bool], tf.data.Dataset],
                     validation_pairs: int, **plan) -> TrainingPlan:
    """The TrainingPlan of a translation run: ``dataset(split, reshuffle)`` gives the training
    batches (reshuffled every epoch) and the validation batches (one fixed order), and
    validation reads at most ``config.validation_steps`` batches, never more than the split
    holds. ``plan``: ``build``, ``compile``, ``title``, ``drawer``."""
    steps = min(config.validation_steps, math.ceil(validation_pairs / config.batch_size))
    return TrainingPlan(train_ds=dataset("train", True), val_ds=dataset("validation", False),
                        steps_per_epoch=config.steps_per_epoch, validation_steps=steps, **plan)
