"""Training runs: a run folder, checkpoints every epoch, resume, early stopping, history.

A run folder holds everything needed to translate, evaluate, plot and export later::

    runs/nmt_attention/<name>/
        config.json            every setting (rebuilds data, vocabularies and model)
        vocabulary/            source.json, target.json
        data.json              where the data came from, split sizes, skipped lines
        checkpoints/last.keras model and optimizer after the last finished epoch
        checkpoints/state.json epoch, best validation loss, early-stopping counter
        checkpoints/best.weights.h5
        history.csv            one row an epoch
        plots/history.png
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import tensorflow as tf

from common.data import DataError
from common.distribute import is_chief, make_strategy, precision_policy
from common.masks import MaskedAccuracy, masked_loss
from common.runs import (
    AttentionImages,
    RunCheckpoint,
    RunError,
    atomic_write_text,
    fit_run,
    load_checkpoint,
    open_run,
    read_history,
    write_data_report,
)
from common.text import Vocabulary, build_vocabulary
from nmt_attention.config import Config
from nmt_attention.data import (
    Corpus,
    encode_texts,
    load_corpus,
    make_dataset,
    make_text_dataset,
)
from nmt_attention.optimizer import FusedAdam
from nmt_attention.translator import Seq2SeqModel, Translator, build_model

__all__ = ["RunCheckpoint", "RunError", "load_run", "load_translator", "read_history", "train"]


def compile_model(model: Seq2SeqModel, config: Config) -> None:
    optimizer = FusedAdam if config.optimizer == "fused_adam" else keras.optimizers.Adam
    model.compile(
        optimizer=optimizer(config.learning_rate),
        loss=masked_loss,
        metrics=[MaskedAccuracy()],
        jit_compile=config.jit_compile,
        steps_per_execution=max(1, min(config.steps_per_execution, config.steps_per_epoch)),
    )


def _save_vocabulary(run_dir: Path, name: str, vocabulary: Vocabulary) -> None:
    path = run_dir / "vocabulary" / f"{name}.json"
    atomic_write_text(path, json.dumps(vocabulary.tokens, ensure_ascii=False))


def _load_vocabulary(run_dir: Path, name: str, mode: str) -> Vocabulary:
    path = run_dir / "vocabulary" / f"{name}.json"
    try:
        return Vocabulary(json.loads(path.read_text(encoding="utf-8")), mode)
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read the vocabulary {path}: {error}") from None


def load_run(run_dir: str | os.PathLike) -> tuple[Config, Vocabulary, Vocabulary]:
    """The config and both vocabularies of a run folder."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise RunError(f"{run_dir} is not a run folder (no config.json); train one first")
    config = Config.from_json(run_dir / "config.json")
    source = _load_vocabulary(run_dir, "source", config.text_mode)
    target = _load_vocabulary(run_dir, "target", config.text_mode)
    return config, source, target


def load_model(run_dir: str | os.PathLike, which: str = "best") -> Seq2SeqModel:
    """The run's model with its best (or last) weights."""
    run_dir = Path(run_dir)
    config, source, target = load_run(run_dir)
    return load_checkpoint(run_dir, which,
                           lambda: build_model(config, source.size, target.size))


def load_translator(run_dir: str | os.PathLike) -> Translator:
    config, source, target = load_run(run_dir)
    model = load_model(run_dir)
    return Translator(model, source, target, config.max_source_words, config.max_output_tokens)


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    config: Config
    corpus: Corpus
    epochs_done: int
    best_epoch: int
    stopped_early: bool
    chief: bool = True  # False on the workers of a multi-worker run that write nothing


def train(
    config: Config,
    run_dir: str | os.PathLike,
    resume: bool = False,
    epochs: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    log: Callable[[str], None] = print,
    verbose: int = 2,
    strategy: str | tf.distribute.Strategy = "default",
) -> TrainResult:
    """Trains into ``run_dir``; with ``resume``, continues after its last finished epoch.

    ``strategy`` is a :mod:`common.distribute` name or a tf.distribute strategy; only its
    chief writes the run folder. ``config.batch_size`` is the global batch.

    Raises:
        RunError: ``run_dir`` holds a run and ``resume`` is False, or ``resume`` is asked of
            a folder with no checkpoint.
        DataError: the data cannot be read.
        DistributeError: a strategy or precision that cannot be set up.
    """
    run_dir = Path(run_dir)
    strategy = make_strategy(strategy)  # first: multi-worker must precede other TF work
    chief = is_chief(strategy)
    state = open_run(run_dir, resume, chief)
    if resume:
        config = Config.from_json(run_dir / "config.json")
    if epochs is not None:
        config = config.replace(epochs=epochs)
    keras.utils.set_random_seed(config.seed)

    corpus = load_corpus(config)
    log(corpus.report)
    train_es, train_en = corpus.part("train")
    val_es, val_en = corpus.part("validation")
    if not train_es or not val_es:
        raise DataError(f"too few pairs to split ({len(corpus.english)}); give more data")
    if resume:
        _, source_vocab, target_vocab = load_run(run_dir)
    else:
        source_vocab = Vocabulary(
            build_vocabulary(train_es, config.vocabulary_size, config.text_mode),
            config.text_mode,
        )
        target_vocab = Vocabulary(
            build_vocabulary(train_en, config.vocabulary_size, config.text_mode),
            config.text_mode,
        )
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            _save_vocabulary(run_dir, "source", source_vocab)
            _save_vocabulary(run_dir, "target", target_vocab)
            write_data_report(run_dir, corpus)
        config.to_json(run_dir / "config.json")

    def dataset(spanish, english, reshuffle):
        if config.pipeline == "faithful":
            return make_text_dataset(
                spanish, english, source_vocab, target_vocab, config.batch_size,
                config.max_source_words, seed=config.seed, reshuffle=reshuffle,
            )
        return make_dataset(
            encode_texts(source_vocab, spanish, config.max_source_words),
            encode_texts(target_vocab, english, config.max_source_words),
            config.batch_size,
            config.pipeline,
            seed=config.seed,
            reshuffle=reshuffle,
            fixed_shapes=config.jit_compile,
        )

    train_ds = dataset(train_es, train_en, reshuffle=True)
    val_ds = dataset(val_es, val_en, reshuffle=False)
    validation_steps = min(config.validation_steps, math.ceil(len(val_es) / config.batch_size))

    with strategy.scope(), precision_policy(config.precision):
        if resume:
            model = load_model(run_dir, which="last")
            log(f"resuming {run_dir} after epoch {state['epoch']}")
        else:
            model = build_model(config, source_vocab.size, target_vocab.size)
            compile_model(model, config)

    def drawer(twin):
        from nmt_attention.plots import sentence_figure

        translator = Translator(twin, source_vocab, target_vocab, config.max_source_words,
                                config.max_output_tokens)
        return lambda: sentence_figure(translator, val_es[0])

    images = AttentionImages(
        run_dir / "logs", lambda: build_model(config, source_vocab.size, target_vocab.size),
        drawer)

    fit_run(model, train_ds, val_ds, run_dir, state, epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch, validation_steps=validation_steps,
            patience=config.patience, callbacks=callbacks, verbose=verbose,
            title="NMT with attention: training", chief=chief, images=images)
    return TrainResult(
        run_dir,
        config,
        corpus,
        state["epoch"],
        state["best_epoch"],
        bool(state.get("stopped_early", False)),
        chief,
    )


