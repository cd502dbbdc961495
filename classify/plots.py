"""Figures of a trained classifier, shared by the command line and TensorBoard logging."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classify.data import load_data
from classify.predictor import read_image
from classify.runs import load_predictor, unigram_baseline_of
from classify.vit import attention_rollout
from common.errors import InputError
from common.files import slug
from common.plotting import (
    attention_heads_figure,
    image_attention_figure,
    layer_number,
    save_figure,
)
from common.run_folder import RunFolder

__all__ = ["pretraining_figure", "rollout_figure", "text_attention_figure"]


def pretraining_figure(run_dir: str | os.PathLike, title: str | None = None):
    """A BERT run's masked-LM pretraining, epoch by epoch: loss and masked-word accuracy,
    training and validation, beside the unigram baseline (always guessing the most frequent
    word of the pretraining text) that a pretraining which learned must clear."""
    from matplotlib.figure import Figure

    history = RunFolder(run_dir).child("pretrain").history()
    if not history.get("val_masked_accuracy"):
        raise InputError(f"{run_dir} holds no pretraining history (a BERT run pretrains "
                         "into RUN/pretrain)")
    baseline = unigram_baseline_of(run_dir)
    fig = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    epochs = np.arange(1, len(history["loss"]) + 1)
    marker = "o" if len(epochs) <= 30 else None
    for index, (name, label) in enumerate((("loss", "masked-LM loss (cross-entropy)"),
                                           ("masked_accuracy", "masked-word accuracy"))):
        ax = fig.add_subplot(1, 2, index + 1)
        ax.plot(epochs, history[name], marker=marker, label="training")
        ax.plot(epochs, history[f"val_{name}"], marker=marker, label="validation")
        if name == "masked_accuracy" and baseline is not None:
            ax.axhline(baseline["accuracy"], color="gray", linestyle="--",
                       label=f"always \"{baseline['word']}\" (unigram baseline)")
        if name == "masked_accuracy":
            ax.set_ylim(0, None)
        ax.set_xlabel("epoch of pretraining")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "BERT's masked-LM pretraining")
    return fig


def text_attention_figure(predictor, sentence: str, layer: int = -1):
    """Every head of one block's self-attention over ``sentence``'s tokens."""
    ids, scores = predictor.attention([sentence])
    length = int((ids.numpy()[0] != 0).sum())
    tokens = [t.decode() for t in predictor.vocabulary.words(ids[0, :length]).numpy()]
    label, probability = predictor.predict([sentence])[0]
    shown = sentence.replace("\t", " | ")  # a pair's two texts
    return attention_heads_figure(
        scores[layer][0, :, :length, :length].numpy(), tokens, tokens,
        title=f"block {layer % len(scores) + 1} of {len(scores)} self-attention ([CLS] is the "
              "top row): "
              f"{shown} → {label} ({probability:.0%})")


def rollout_figure(predictor, image: np.ndarray, patch_size: int, truth: str | None = None):
    """The [CLS] token's attention rollout over ``image``'s patches."""
    _, scores = predictor.attention(image[None])
    weights = attention_rollout([s[0].numpy() for s in scores])
    label, probability = predictor.predict(image[None])[0]
    title = f"predicted {label} ({probability:.0%})" + (f", true {truth}" if truth else "") \
        + f"; attention rollout over {len(scores)} blocks"
    return image_attention_figure(image, weights.reshape(image.shape[0] // patch_size, -1),
                                  title)


def plot_text(run_dir: str | os.PathLike, sentence: str, layer: int | None = None,
              loaded=None) -> list[Path]:
    """Saves the [CLS] attention of ``sentence`` in block ``layer`` of a text run
    (``RUN/plots/attention-blockN-*.png``); ``layer`` counts from 1, the lowest, as the
    figures do (default: the top block); ``loaded``: a ``load_predictor`` result."""
    run, predictor = loaded or load_predictor(run_dir)
    if not sentence.strip():
        raise InputError("the sentence to plot is empty")
    layers = run.config.num_layers
    number = layer_number(layer, layers)
    figure = text_attention_figure(predictor, sentence, number - 1)
    return [save_figure(figure, RunFolder(run_dir).plots /
                        f"attention-block{number}-{slug(sentence)}.png")]


def plot_image(run_dir: str | os.PathLike, image_path: str | None = None, index: int = 0,
               loaded=None) -> list[Path]:
    """Saves the attention rollout of a ViT run over an image file, or else over test image
    ``index`` (``RUN/plots/cls-attention-*.png``)."""
    run, predictor = loaded or load_predictor(run_dir)
    if image_path:
        image = read_image(image_path, predictor.image_shape)
        name, truth = slug(Path(image_path).stem), None
    else:
        data = load_data(run.config)
        if not 0 <= index < len(data.y["test"]):
            raise InputError(f"--index must be in [0, {len(data.y['test']) - 1}]")
        image = data.x["test"][index]
        name, truth = f"test{index}", run.label_names[data.y["test"][index]]
    figure = rollout_figure(predictor, image, run.config.patch_size, truth)
    return [save_figure(figure, RunFolder(run_dir).plots / f"cls-attention-{name}.png")]
