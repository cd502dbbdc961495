"""Training runs for the Transformer: tokenizers learned from the training split, the
warm-up schedule, a checkpoint every epoch, resume, early stopping, history.

The run folder has the same shape as nmt_attention's (``common/runs.py``), with
``tokenizer/source.json`` and ``tokenizer/target.json`` holding the WordPiece vocabularies.
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
from common.data.batching import encode_texts, make_dataset
from common.data.corpus import Corpus, load_corpus
from common.distribute import is_chief, make_strategy, precision_policy
from common.masks import MaskedAccuracy, MaskedSparseCrossEntropy
from common.runs import (
    AttentionImages,
    RecentWeights,
    RunError,
    TimeLimit,
    atomic_write_text,
    fit_run,
    keep_best_average,
    load_checkpoint,
    open_run,
    write_data_report,
)
from transformer.config import Config
from transformer.model import Transformer, build_model
from transformer.schedule import transformer_optimizer
from transformer.tokenizer import WordPieceTokenizer, build_wordpiece_vocabulary
from transformer.translator import Translator

__all__ = ["load_run", "load_translator", "train"]


def compile_model(model: Transformer, config: Config) -> None:
    model.compile(
        optimizer=transformer_optimizer(config.hidden_dim, config.warmup_steps),
        loss=MaskedSparseCrossEntropy(config.label_smoothing),
        metrics=[MaskedAccuracy()],
        jit_compile=config.jit_compile,
        steps_per_execution=max(1, min(config.steps_per_execution, config.steps_per_epoch)),
    )


def corpus_of(config: Config) -> Corpus:
    return load_corpus(config.data, config.generated_pairs, config.seed,
                       config.validation_fraction, config.test_fraction)


def load_run(run_dir: str | os.PathLike) -> tuple[Config, WordPieceTokenizer,
                                                  WordPieceTokenizer]:
    """The config and both tokenizers of a run folder."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise RunError(f"{run_dir} is not a run folder (no config.json); train one first")
    config = Config.from_json(run_dir / "config.json")
    tokenizers = []
    for name in ("source", "target"):
        path = run_dir / "tokenizer" / f"{name}.json"
        try:
            vocabulary = json.loads(path.read_text(encoding="utf-8"))
            tokenizers.append(WordPieceTokenizer(vocabulary, config.text_mode))
        except (OSError, ValueError) as error:
            raise RunError(f"cannot read the tokenizer {path}: {error}") from None
    return config, tokenizers[0], tokenizers[1]


def load_model(run_dir: str | os.PathLike, which: str = "best") -> Transformer:
    run_dir = Path(run_dir)
    config, source, target = load_run(run_dir)
    return load_checkpoint(run_dir, which,
                           lambda: build_model(config, source.size, target.size))


def load_translator(run_dir: str | os.PathLike, jit_compile: bool = False) -> Translator:
    """The run's best model with its tokenizers; ``jit_compile``: see ``Translator``."""
    config, source, target = load_run(run_dir)
    return Translator(load_model(run_dir), source, target, config.max_length,
                      config.max_output_tokens, jit_compile=jit_compile)


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
        RunError: a run already in ``run_dir`` (without ``resume``), or nothing to resume.
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
    corpus = corpus_of(config)
    log(corpus.report)
    train_es, train_en = corpus.part("train")
    val_es, val_en = corpus.part("validation")
    if not train_es or not val_es:
        raise DataError(f"too few pairs to split ({len(corpus.english)}); give more data")
    if resume:
        _, source, target = load_run(run_dir)
    else:
        log("learning the WordPiece vocabularies from the training split ...")
        vocabularies = {
            name: build_wordpiece_vocabulary(texts, config.vocabulary_size, config.text_mode)
            for name, texts in (("source", train_es), ("target", train_en))
        }
        source = WordPieceTokenizer(vocabularies["source"], config.text_mode)
        target = WordPieceTokenizer(vocabularies["target"], config.text_mode)
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            for name, vocabulary in vocabularies.items():
                atomic_write_text(run_dir / "tokenizer" / f"{name}.json",
                                  json.dumps(vocabulary, ensure_ascii=False))
            write_data_report(run_dir, corpus)
        config.to_json(run_dir / "config.json")

    def dataset(spanish, english, reshuffle):
        limit = config.max_length - 2
        return make_dataset(encode_texts(source, spanish, limit),
                            encode_texts(target, english, limit), config.batch_size,
                            "fast", seed=config.seed, reshuffle=reshuffle,
                            fixed_shapes=config.jit_compile)  # XLA: one program a bucket

    train_ds = dataset(train_es, train_en, reshuffle=True)
    val_ds = dataset(val_es, val_en, reshuffle=False)
    validation_steps = min(config.validation_steps, math.ceil(len(val_es) / config.batch_size))
    with strategy.scope(), precision_policy(config.precision):
        if resume:
            model = load_model(run_dir, which="last")
            log(f"resuming {run_dir} after epoch {state['epoch']}")
        else:
            model = build_model(config, source.size, target.size)
            compile_model(model, config)

    def drawer(twin):
        from transformer.plots import cross_attention_figure
        from transformer.translator import attention_maps

        translator = Translator(twin, source, target, config.max_length,
                                config.max_output_tokens)
        return lambda: cross_attention_figure(attention_maps(translator, val_es[0]), val_es[0])

    images = AttentionImages(run_dir / "logs",
                             lambda: build_model(config, source.size, target.size), drawer)

    extra = [TimeLimit(config.time_limit_minutes)] if config.time_limit_minutes else []
    recent = RecentWeights(config.average_last) if config.average_last >= 2 else None
    extra += [recent] if recent else []
    fit_run(model, train_ds, val_ds, run_dir, state, epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch, validation_steps=validation_steps,
            patience=config.patience, callbacks=[*extra, *callbacks], verbose=verbose,
            title="NMT with a Transformer: training", chief=chief, images=images)
    if recent is not None and len(recent.saved) >= 2:
        with strategy.scope():
            count = keep_best_average(model, recent, val_ds, validation_steps, run_dir, state,
                                      chief, log)
        log(f"best weights: the average of the last {count} epochs" if count else
            "best weights: a single epoch's (no average of the last epochs did better)")
    return TrainResult(run_dir, config, corpus, state["epoch"], state["best_epoch"],
                       bool(state.get("stopped_early", False)), chief)
