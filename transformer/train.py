"""Training the Transformer: what is this tutorial's own, on the shared skeleton
(:mod:`common.training`), which adds the run folder, checkpoints, resume, early stopping,
time limit, checkpoint averaging, strategies, precision and TensorBoard.

Its own: WordPiece vocabularies learned from the training split (``RUN/tokenizer/source.json``
and ``target.json``), length-bucketed batches, Adam with the paper's warm-up schedule, the
(label-smoothed) masked loss, and the cross-attention figure of a validation sentence.
"""

from __future__ import annotations

import os

import tensorflow as tf

from common.data.batching import Batching, encode_texts, make_dataset
from common.data.corpus import Corpus
from common.masks import MaskedAccuracy, MaskedSparseCrossEntropy
from common.training import RunContext, TrainingPlan, TrainResult, train_run
from common.translation_training import translation_data, translation_plan
from transformer.config import Config
from transformer.model import Transformer, build_model
from transformer.plots import cross_attention_figure
from transformer.schedule import transformer_optimizer
from transformer.tokenizer import WordPieceTokenizer, build_wordpiece_vocabulary
from transformer.translator import Translator, attention_maps

__all__ = ["TrainResult", "compile_model", "train"]


def compile_model(model: Transformer, config: Config) -> None:
    model.compile(
        optimizer=transformer_optimizer(config.hidden_dim, config.warmup_steps,
                                        config.lr_decay),
        loss=MaskedSparseCrossEntropy(config.label_smoothing),
        metrics=[MaskedAccuracy()],
        **config.execution(config.steps_per_epoch),
    )


def train(config: Config, run_dir: str | os.PathLike, **options) -> TrainResult:
    """Trains the Transformer into ``run_dir``; ``options`` (resume, epochs, callbacks, log,
    verbose, strategy) as :func:`common.training.train_run`. ``result.data`` is the
    :class:`~common.data.corpus.Corpus`."""
    return train_run(config, run_dir, _prepare, **options)


def _prepare(context: RunContext) -> tuple[TrainingPlan, Corpus]:
    config = context.config
    corpus, source, target = translation_data(
        context, "tokenizer",
        learn=lambda texts: build_wordpiece_vocabulary(texts, config.vocabulary_size,
                                                       config.text_mode),
        make=lambda pieces: WordPieceTokenizer(pieces, config.text_mode))
    val_es = corpus.part("validation")[0]

    def dataset(split: str, reshuffle: bool) -> tf.data.Dataset:
        spanish, english = corpus.part(split)
        limit = config.max_length - 2
        batching = Batching(config.batch_size, "fast", config.seed, reshuffle,
                            fixed_shapes=config.jit_compile)  # XLA: one program a bucket
        return make_dataset(encode_texts(source, spanish, limit),
                            encode_texts(target, english, limit), batching)

    def build() -> Transformer:
        return build_model(config, source.size, target.size)

    def drawer(twin):
        translator = Translator(twin, source, target, config.max_length,
                                config.max_output_tokens)
        return lambda: cross_attention_figure(attention_maps(translator, val_es[0]), val_es[0])

    plan = translation_plan(config, dataset, len(val_es), build=build,
                            compile=lambda model: compile_model(model, config),
                            title="NMT with a Transformer: training", drawer=drawer)
    return plan, corpus
