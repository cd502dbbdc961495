"""Training the GRU translator: what is this tutorial's own, on the shared skeleton
(:mod:`common.training`), which adds the run folder, checkpoints, resume, early stopping,
strategies, precision and TensorBoard.

Its own: word vocabularies learned from the training split (``RUN/vocabulary/source.json``
and ``target.json``), the batches (the tutorial's pipeline or length buckets), Adam on the
masked loss and accuracy, and the attention figure of a validation sentence each epoch.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from common.data.batching import Batching, encode_texts, make_dataset, make_text_dataset
from common.data.corpus import Corpus
from common.masks import MaskedAccuracy, masked_loss
from common.text import Vocabulary, build_vocabulary
from common.training import RunContext, TrainingPlan, TrainResult, train_run
from common.translation_training import translation_data, translation_plan
from nmt_attention.config import Config
from nmt_attention.model import Seq2SeqModel, build_model
from nmt_attention.optimizer import FusedAdam
from nmt_attention.plots import sentence_figure
from nmt_attention.translator import Translator

__all__ = ["TrainResult", "compile_model", "train"]


def compile_model(model: Seq2SeqModel, config: Config) -> None:
    optimizer = FusedAdam if config.optimizer == "fused_adam" else keras.optimizers.Adam
    model.compile(
        optimizer=optimizer(config.learning_rate),
        loss=masked_loss,
        metrics=[MaskedAccuracy()],
        **config.execution(config.steps_per_epoch),
    )


def train(config: Config, run_dir: str | os.PathLike, **options) -> TrainResult:
    """Trains the GRU translator into ``run_dir``; ``options`` (resume, epochs, callbacks,
    log, verbose, strategy) as :func:`common.training.train_run`. ``result.data`` is the
    :class:`~common.data.corpus.Corpus`."""
    return train_run(config, run_dir, _prepare, **options)


def _prepare(context: RunContext) -> tuple[TrainingPlan, Corpus]:
    config = context.config
    corpus, source, target = translation_data(
        context, "vocabulary",
        learn=lambda texts: build_vocabulary(texts, config.vocabulary_size, config.text_mode),
        make=lambda words: Vocabulary(words, config.text_mode))
    val_es = corpus.part("validation")[0]

    def dataset(split: str, reshuffle: bool) -> tf.data.Dataset:
        spanish, english = corpus.part(split)
        batching = Batching(config.batch_size, config.pipeline, config.seed, reshuffle,
                            fixed_shapes=config.jit_compile)
        if config.pipeline == "faithful":
            return make_text_dataset(spanish, english, source, target, batching,
                                     config.max_source_words)
        return make_dataset(encode_texts(source, spanish, config.max_source_words),
                            encode_texts(target, english, config.max_source_words), batching)

    def build() -> Seq2SeqModel:
        return build_model(config, source.size, target.size)

    def drawer(twin):
        translator = Translator(twin, source, target, config.max_source_words,
                                config.max_output_tokens)
        return lambda: sentence_figure(translator, val_es[0])

    plan = translation_plan(config, dataset, len(val_es), build=build,
                            compile=lambda model: compile_model(model, config),
                            title="NMT with attention: training",
                            drawer=drawer if config.use_attention else None)
    return plan, corpus

