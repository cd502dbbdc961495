"""Training the three classifiers: what is this tutorial's own, on the shared skeleton
(:mod:`common.training`): the data and its splits, labels.json and vocabulary.json (text),
the models, AdamW with warm-up and cosine decay, and the attention figure each epoch.

BERT runs hold their pretraining in ``RUN/pretrain/`` (a run folder of its own, so an
interrupted pretraining resumes too); fine-tuning starts from its best encoder.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from classify.bert import BertPretrainer, chosen_positions, copy_encoder, mask_tokens
from classify.config import BertConfig, TextConfig, VitConfig, load_config
from classify.text_classifier import TextClassifier
from classify.vit import VisionTransformer
from classify.vocabulary import CLS, MASK, build_word_vocabulary, word_vocabulary
from common.data import DataError, split_indices
from common.data.batching import length_grouped_batches
from common.data.classification import (
    ImageSet,
    LabeledTexts,
    generate_order_task,
    load_digits,
    load_imdb,
    load_keras_images,
    read_labeled_tsv,
    read_unlabeled_texts,
)
from common.data.splits import phrase_groups, split_groups
from common.errors import RunError
from common.masks import MaskedAccuracy, MaskedSparseCrossEntropy
from common.run_folder import RunFolder, TrainState
from common.text import Vocabulary
from common.training import FitPlan, RunContext, TrainResult, fit_plan, train_run

__all__ = ["LoadedRun", "SplitData", "TrainResult", "build_model", "load_data", "load_run",
           "train"]


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


def build_model(config, num_classes: int, vocabulary_size: int | None = None,
                image_shape: tuple[int, ...] | None = None) -> keras.Model:
    """The classifier a config describes, built."""
    if config.inputs == "images":
        model = VisionTransformer(image_shape[:2], image_shape[2], config.patch_size,
                                  num_classes, config.num_layers, config.hidden_dim,
                                  config.num_heads, config.intermediate_dim, config.dropout)
        model(tf.zeros([1, *image_shape]))
        return model
    model = TextClassifier(
        vocabulary_size, num_classes, config.sequence_length, config.num_layers,
        config.hidden_dim, config.num_heads, config.intermediate_dim, config.dropout,
        config.pooling, config.positional_encoding,
        config.position_embedding)
    model(tf.zeros([1, config.sequence_length], tf.int32))
    return model


def _optimizer(learning_rate: float, weight_decay: float, warmup_fraction: float,
               total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW with a linear warm-up to ``learning_rate``, then cosine decay to 1% of it."""
    warmup = int(total_steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else learning_rate, max(1, total_steps - warmup), alpha=0.01,
        warmup_target=learning_rate if warmup else None, warmup_steps=warmup)
    return keras.optimizers.AdamW(schedule, weight_decay=weight_decay)


def compile_classifier(model: keras.Model, config, steps_per_epoch: int) -> None:
    model.compile(
        optimizer=_optimizer(config.learning_rate, config.weight_decay,
                             config.warmup_fraction, config.epochs * steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=config.jit_compile,
        steps_per_execution=max(1, min(config.steps_per_execution, steps_per_epoch)),
    )


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
        vocabulary = word_vocabulary(run.read_json("vocabulary.json", "vocabulary"),
                                    config.sequence_length, config.text_mode)
    try:
        label_names = list(meta["label_names"])
        image_shape = tuple(meta["image_shape"]) if meta.get("image_shape") else None
    except (KeyError, TypeError, AttributeError) as error:
        raise RunError(f"{run / 'labels.json'} is damaged ({error!r}); retrain") from None
    model = run.load_model(which, lambda: build_model(
        config, len(label_names), vocabulary.size if vocabulary else None, image_shape))
    return LoadedRun(run.path, config, label_names, vocabulary, image_shape, model)


def train(config, run_dir: str | os.PathLike, **options) -> TrainResult:
    """Trains ``config`` (a TextConfig, BertConfig or VitConfig) into ``run_dir``; with
    ``resume``, continues after the last finished epoch (of pretraining, then fine-tuning).
    ``options`` (resume, epochs, callbacks, log, verbose, strategy) as
    :func:`common.training.train_run`; ``result.data`` is the :class:`SplitData`."""
    return train_run(config, run_dir, _prepare, **options)


def _prepare(context: RunContext) -> tuple[FitPlan, SplitData]:
    config, run, resume, chief, log = (context.config, context.run, context.resume,
                                       context.chief, context.log)
    vocabulary, image_shape, unlabeled, splits = None, None, [], None
    if config.inputs == "images":
        data = load_data(config)
        image_shape = tuple(int(s) for s in data.x["train"].shape[1:])
    else:
        splits = text_splits(config)
        unlabeled = _pretraining_texts(config, splits, log)
        vocabulary = _vocabulary(config, run, resume, splits, unlabeled, chief)
        data = load_data(config, vocabulary, splits)
    log(data.report)
    if chief and not resume:
        run.write_json("labels.json", {"label_names": data.label_names,
                                       "image_shape": image_shape}, indent=2)
    start = None
    if config.pretrains:
        pretrain = run.child("pretrain")
        _pretrain(context, pretrain, vocabulary, encode(vocabulary, unlabeled),
                  data.x["validation"])

        def start(model):
            pretrainer = _pretrainer(config, vocabulary.size)
            pretrainer.load_weights(pretrain.best_weights)
            copy_encoder(pretrainer, model)
            log("fine-tuning from the pretrained encoder")

    steps = math.ceil(len(data.y["train"]) / config.batch_size)

    def build():
        return build_model(config, len(data.label_names),
                           vocabulary.size if vocabulary else None, image_shape)

    def drawer(twin):
        from classify.plots import rollout_figure, text_attention_figure
        from classify.predictor import Predictor

        predictor = Predictor(twin, data.label_names, vocabulary, image_shape)
        if vocabulary is None:
            image = data.x["validation"][0]
            truth = data.label_names[data.y["validation"][0]]
            return lambda: rollout_figure(predictor, image, config.patch_size, truth)
        return lambda: text_attention_figure(predictor, splits.texts["validation"][0])

    titles = {"text": "text classifier", "bert": "BERT fine-tuning", "vit": "ViT"}
    plan = FitPlan(
        build=build, compile=lambda model: compile_classifier(model, config, steps),
        train_ds=arrays_dataset(data.x["train"], data.y["train"], config.batch_size,
                                config.seed, training=True),
        val_ds=arrays_dataset(data.x["validation"], data.y["validation"], 256, 0,
                              training=False),
        steps_per_epoch=steps, validation_steps=None,
        title=f"{titles[config.kind]}: training", plotted=("loss", "accuracy"),
        drawer=drawer, start=start)
    return plan, data


def _vocabulary(config: TextConfig, run: RunFolder, resume: bool, splits: TextSplits,
                unlabeled: list[str], chief: bool = True) -> Vocabulary:
    """The run's vocabulary: read back on resume, else built from the labeled training
    texts and BERT's unlabeled text (never from validation or test)."""
    if resume:
        tokens = run.read_json("vocabulary.json", "vocabulary")
    else:
        labeled = splits.texts["train"][: config.label_budget]
        tokens = build_word_vocabulary(labeled + unlabeled, config.vocabulary_size,
                                       config.text_mode)
        if chief:
            run.write_json("vocabulary.json", tokens)
    return word_vocabulary(tokens, config.sequence_length, config.text_mode)


def _pretraining_texts(config: TextConfig, splits: TextSplits, log=print) -> list[str]:
    """Unlabeled text for BERT: a larger generated set (another seed, so it shares no
    sentence order with the labeled splits by construction), or the training split's
    sentences of a real file; then the texts of ``config.unlabeled`` (a file) that are not
    a validation or test text (compared in lower case). Nothing for the other models."""
    if not config.reads_unlabeled_text:
        return []
    if config.data == "generated":
        texts = generate_order_task(config.pretraining_examples, config.seed + 1).texts
    else:
        texts = list(splits.texts["train"])
    if config.unlabeled:
        def key(text):
            return " ".join(text.lower().split())

        held_out = {key(t) for name in ("validation", "test") for t in splits.texts[name]}
        read = read_unlabeled_texts(config.unlabeled)
        extra = [t for t in read if key(t) not in held_out]
        log(f"unlabeled text: {len(extra)} texts from {config.unlabeled} "
            f"({len(read) - len(extra)} left out: they are validation or test texts)")
        texts += extra
    return texts


def _pretrainer(config: BertConfig, vocabulary_size: int) -> BertPretrainer:
    model = BertPretrainer(vocabulary_size, config.sequence_length, config.num_layers,
                           config.hidden_dim, config.num_heads, config.intermediate_dim,
                           config.dropout)
    model(tf.zeros([1, config.sequence_length], tf.int32))
    return model


def _pretrain(context: RunContext, run: RunFolder, vocabulary: Vocabulary,
              unlabeled: np.ndarray, validation: np.ndarray) -> None:
    """Masked-language-model pretraining into ``run`` (``RUN/pretrain``) on ``unlabeled``
    token ids, watching the masked-LM loss on the ``validation`` split's ids."""
    config, log = context.config, context.log
    state = run.read_state(missing_ok=True) if context.resume else TrainState()
    if state.epoch >= config.pretraining_epochs or state.stopped_early:
        return
    rng = np.random.default_rng(config.seed)  # a resumed run skips the batches it used
    masking = dict(mask_id=vocabulary.id_of(MASK), first_word_id=vocabulary.first_word_id,
                   vocabulary_size=vocabulary.size, rate=config.mask_rate,
                   protected_ids=(vocabulary.id_of(CLS),))

    val_inputs, val_labels = mask_tokens(validation, np.random.default_rng(0), **masking)
    steps = max(1, len(unlabeled) // config.batch_size)

    def compile_pretrainer(model):
        model.compile(
            optimizer=_optimizer(config.pretraining_learning_rate, config.weight_decay,
                                 config.warmup_fraction, config.pretraining_epochs * steps),
            loss=MaskedSparseCrossEntropy(), metrics=[MaskedAccuracy()],
            jit_compile=config.jit_compile,
            steps_per_execution=max(1, min(config.steps_per_execution, steps)))

    if not state.epoch:
        log(f"pretraining BERT (masked LM, {config.mask_rate:.0%} of tokens) on "
            f"{len(unlabeled)} unlabeled sentences ...")
    plan = FitPlan(
        build=lambda: _pretrainer(config, vocabulary.size), compile=compile_pretrainer,
        # a new masking every pass (dynamic masking, as RoBERTa)
        train_ds=token_batches(unlabeled, unlabeled, config.batch_size, rng, training=True,
                               transform=lambda ids, _: mask_tokens(ids, rng, **masking))
        .map(chosen_positions),
        val_ds=token_batches(val_inputs, val_labels, 256, 0, training=False)
        .map(chosen_positions),
        steps_per_epoch=steps, validation_steps=None, title="BERT masked-LM pretraining")
    fit_plan(plan, run, state, config, context.strategy, epochs=config.pretraining_epochs,
             log=log, verbose=context.verbose, chief=context.chief)
