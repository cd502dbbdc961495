"""Training the three classifiers: what is this tutorial's own, on the shared skeleton
(:mod:`common.training`): the data and its splits, labels.json and vocabulary.json (text),
the models, AdamW with warm-up and cosine decay, and the attention figure each epoch.

BERT runs hold their pretraining in ``RUN/pretrain/`` (a run folder of its own, so an
interrupted pretraining resumes too); fine-tuning starts from its best encoder.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np

from classify.bert import (
    chosen_positions,
    copy_encoder,
    mask_tokens,
    pack_sentences,
)
from classify.config import GENERATED_TEXTS, TextConfig
from classify.data import (
    SplitData,
    TextSplits,
    arrays_dataset,
    encode,
    load_data,
    text_splits,
    token_batches,
)
from classify.model import build_model, build_pretrainer, separator_of
from classify.plots import rollout_figure, text_attention_figure
from classify.predictor import Predictor
from classify.vocabulary import (
    CLS,
    SEP,
    build_text_vocabulary,
    masking_options,
    text_vocabulary,
)
from common.data.classification import generate_order_task, read_unlabeled_texts
from common.data.splits import longest_of_groups
from common.masks import MaskedAccuracy, MaskedSparseCrossEntropy
from common.run_folder import RunFolder, TrainState
from common.text import Vocabulary
from common.training import RunContext, TrainingPlan, TrainResult, fit_epochs, train_run

__all__ = ["TrainResult", "compile_classifier", "train"]


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
        **config.execution(steps_per_epoch),
    )


def train(config, run_dir: str | os.PathLike, **options) -> TrainResult:
    """Trains ``config`` (a TextConfig, BertConfig or VitConfig) into ``run_dir``; with
    ``resume``, continues after the last finished epoch (of pretraining, then fine-tuning).
    ``options`` (resume, epochs, callbacks, log, verbose, strategy) as
    :func:`common.training.train_run`; ``result.data`` is the :class:`SplitData`."""
    return train_run(config, run_dir, _prepare, **options)


def _prepare(context: RunContext) -> tuple[TrainingPlan, SplitData]:
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
                  encode(vocabulary, _whole_texts(config, splits.texts["validation"])))

        def start(model):
            pretrainer = build_pretrainer(config, vocabulary)
            pretrainer.load_weights(pretrain.best_weights)
            copy_encoder(pretrainer, model)
            log("fine-tuning from the pretrained encoder")

    steps = math.ceil(len(data.y["train"]) / config.batch_size)

    def build():
        return build_model(config, len(data.label_names),
                           vocabulary.size if vocabulary else None, image_shape,
                           separator_of(config, vocabulary))

    def drawer(twin):
        predictor = Predictor(twin, data.label_names, vocabulary, image_shape)
        if vocabulary is None:
            image = data.x["validation"][0]
            truth = data.label_names[data.y["validation"][0]]
            return lambda: rollout_figure(predictor, image, config.patch_size, truth)
        return lambda: text_attention_figure(predictor, splits.texts["validation"][0])

    titles = {"text": "text classifier", "bert": "BERT fine-tuning", "vit": "ViT"}
    plan = TrainingPlan(
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
        tokens = build_text_vocabulary(labeled + unlabeled, config.vocabulary_size,
                                       config.text_mode, config.tokenizer)
        if chief:
            run.write_json("vocabulary.json", tokens)
    return text_vocabulary(tokens, config.sequence_length, config.text_mode, config.tokenizer)


def _whole_texts(config: TextConfig, texts: list[str]) -> list[str]:
    """``texts``, or on a grouped split the longest text of each group only: SST-2's
    phrases are cut from its sentences, so the sentences hold every word of them once."""
    if getattr(config, "split", "random") != "grouped":
        return list(texts)
    return [texts[i] for i in longest_of_groups(texts)]


def _pretraining_texts(config: TextConfig, splits: TextSplits, log=print) -> list[str]:
    """Unlabeled text for BERT: a larger generated set (another seed, so it shares no
    sentence order with the labeled splits by construction), or the training split's
    sentences of a real file (on a grouped split its whole sentences, not their phrases);
    then the texts of ``config.unlabeled`` (a file) that are not a validation or test text
    (compared in lower case). Nothing for the other models."""
    if not config.reads_unlabeled_text:
        return []
    if config.data in GENERATED_TEXTS:  # single sentences, packed
        texts = generate_order_task(config.pretraining_examples, config.seed + 1).texts
    else:
        texts = _whole_texts(config, splits.texts["train"])
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


def _pretrain(context: RunContext, run: RunFolder, vocabulary: Vocabulary,
              unlabeled: np.ndarray, validation: np.ndarray) -> None:
    """Masked-language-model pretraining into ``run`` (``RUN/pretrain``) on ``unlabeled``
    token ids, watching the masked-LM loss on the ``validation`` split's ids.

    Sentences are packed into full rows, ``[CLS] s1 [SEP] s2 [SEP] ...`` (with a [SEP] in
    the vocabulary; :func:`classify.bert.pack_sentences`). Padding, [CLS], [SEP] and [UNK]
    are never chosen (guessing [UNK] teaches nothing). ``RUN/pretrain/baseline.json`` holds
    what always guessing the most frequent word of ``unlabeled`` scores on the same masked
    validation tokens: the floor a pretraining that learned must clear.
    """
    config, log = context.config, context.log
    state = run.read_state(missing_ok=True) if context.resume else TrainState()
    baseline = run.path / "baseline.json"
    if (state.epoch >= config.pretraining_epochs or state.stopped_early) and (
            baseline.exists() or not context.chief):
        return
    rng = np.random.default_rng(config.seed)  # a resumed run skips the batches it used
    sentences = len(unlabeled)
    if vocabulary.separator is not None:
        packing = dict(cls_id=vocabulary.id_of(CLS), separator_id=vocabulary.id_of(SEP))
        unlabeled = pack_sentences(unlabeled, config.sequence_length, seed=config.seed,
                                   **packing)
        validation = pack_sentences(validation, config.sequence_length, seed=0, **packing)
    masking = masking_options(vocabulary, config.mask_rate)

    val_inputs, val_labels = mask_tokens(validation, np.random.default_rng(0), **masking)
    if context.chief and (not state.epoch or not baseline.exists()):
        run.write_json("baseline.json", unigram_baseline(unlabeled, val_labels, vocabulary),
                       indent=2)
    if state.epoch >= config.pretraining_epochs or state.stopped_early:
        return  # done before the baseline was written
    steps = max(1, len(unlabeled) // config.batch_size)

    def compile_pretrainer(model):
        model.compile(
            optimizer=_optimizer(config.pretraining_learning_rate, config.weight_decay,
                                 config.warmup_fraction, config.pretraining_epochs * steps),
            loss=MaskedSparseCrossEntropy(), metrics=[MaskedAccuracy()],
            **config.execution(steps))

    if not state.epoch:
        log(f"pretraining BERT (masked LM, {config.mask_rate:.0%} of tokens) on "
            f"{sentences} unlabeled sentences ({len(unlabeled)} rows) ...")
    plan = TrainingPlan(
        build=lambda: build_pretrainer(config, vocabulary), compile=compile_pretrainer,
        # a new masking every pass (dynamic masking, as RoBERTa)
        train_ds=token_batches(unlabeled, unlabeled, config.batch_size, rng, training=True,
                               transform=lambda ids, _: mask_tokens(ids, rng, **masking))
        .map(chosen_positions),
        val_ds=token_batches(val_inputs, val_labels, 256, 0, training=False)
        .map(chosen_positions),
        steps_per_epoch=steps, validation_steps=None, title="BERT masked-LM pretraining")
    fit_epochs(plan, run, state, config, context.strategy, epochs=config.pretraining_epochs,
             log=log, verbose=context.verbose, chief=context.chief)


def unigram_baseline(unlabeled: np.ndarray, labels: np.ndarray,
                     vocabulary: Vocabulary) -> dict:
    """Masked-word accuracy of always guessing the most frequent word of ``unlabeled``
    (ids), on the chosen positions of ``labels`` (``mask_tokens``'s: 0 where not chosen)."""
    counts = np.bincount(unlabeled.ravel(), minlength=vocabulary.size)
    counts[: vocabulary.first_word_id] = 0
    word = int(counts.argmax())
    chosen = labels[labels != 0]
    return {"word": vocabulary.tokens[word],
            "accuracy": round(float(np.mean(chosen == word)) if len(chosen) else 0.0, 4),
            "masked_tokens": int(len(chosen))}
