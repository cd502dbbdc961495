"""Figures of a trained model, shared by the command line and TensorBoard logging."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import InputError
from common.files import slug
from common.plotting import (
    attention_heads_figure,
    layer_number,
    learning_rate_figure,
    positional_encoding_figure,
    save_figure,
)
from common.positional_encoding import positional_encoding
from common.run_folder import RunFolder
from transformer.runs import load_translator
from transformer.schedule import WarmupSchedule
from transformer.translator import attention_maps

__all__ = ["architecture_figure", "cross_attention_figure", "plot_schedule_and_encoding",
           "plot_sentence"]


def architecture_figure(parts: dict):
    """The Transformer as the paper draws it, from :func:`transformer.architecture.describe`:
    the encoder stack on the left and the decoder stack on the right, each N layers high (N
    drawn as depth, one box a layer), every box naming the class and file that computes it,
    and the top encoder layer's output read by every decoder layer's cross-attention."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    layers, row = parts["num_layers"], 3.7
    height = 2.2 + layers * row + 3.4
    fig = Figure(figsize=(12.5, 0.5 * height + 0.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 16)
    ax.set_ylim(-0.9, height + 0.9)
    ax.axis("off")
    norm = "then residual + LayerNorm" if not parts["norm_first"] else \
        "LayerNorm first, then residual"

    def box(x, y, width, h, text, color, size=8.5, weight="normal"):
        ax.add_patch(FancyBboxPatch((x, y), width, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                    facecolor=color, edgecolor="#444444", linewidth=0.8))
        ax.text(x + width / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
                weight=weight)

    def arrow(start, end, color="#333333"):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": 1.0})

    columns = {"encoder": 0.3, "decoder": 8.7}
    width = 7.0
    box(0.3, 0.0, width, 1.2, "embedding x sqrt(d) + positional encoding\n"
        + parts["source_embedding"], "#e8eef7")
    box(8.7, 0.0, width, 1.2, "embedding x sqrt(d) + positional encoding\n"
        + parts["target_embedding"], "#e8eef7")
    ax.text(0.3 + width / 2, -0.6, "source pieces (Spanish)", ha="center", fontsize=9)
    ax.text(8.7 + width / 2, -0.6, "target pieces so far ([START] ...), shifted right",
            ha="center", fontsize=9)
    cross_points = []
    for n in range(layers):
        y = 1.7 + n * row
        for side, layer_name, sub in (("encoder", parts["encoder_layer"], parts["encoder_parts"]),
                                      ("decoder", parts["decoder_layer"], parts["decoder_parts"])):
            x = columns[side]
            box(x, y, width, row - 0.5, "", "#f6f6f6")
            ax.text(x + 0.15, y + row - 0.75, f"{side} layer {n + 1} of {layers}: {layer_name}",
                    fontsize=8.5, weight="bold", va="center")
            part_h = (row - 1.2) / len(sub)
            for i, (what, implementation) in enumerate(sub):
                part_y = y + 0.15 + i * part_h
                color = "#fde7c8" if what == "cross-attention" else "#dff0df" \
                    if what == "feed-forward" else "#e3e0f3"
                box(x + 0.3, part_y, width - 0.6, part_h - 0.15,
                    f"{what}, {norm}\n{implementation}", color, size=8)
                if what == "cross-attention":
                    cross_points.append((x + 0.3, part_y + (part_h - 0.15) / 2))
            arrow((x + width / 2, y - 0.5), (x + width / 2, y))
    top = 1.7 + layers * row - 0.5
    box(0.3, top + 0.5, width, 0.9, "encoder output: one vector a source piece", "#fde7c8")
    arrow((0.3 + width / 2, top), (0.3 + width / 2, top + 0.5))
    for point in cross_points:  # the top encoder layer's output: keys and values
        arrow((0.3 + width, top + 0.95), point, color="#c06000")
    ax.text(0.3 + width + 0.1, top + 1.1, "keys and values\nfor every decoder layer",
            fontsize=8, color="#c06000", va="bottom")
    box(8.7, top + 0.5, width, 1.0, "Linear to the target vocabulary (logits)\n"
        + parts["output"], "#f3e0e0")
    box(8.7, top + 2.0, width, 0.9, "softmax: next-piece probabilities", "#f3e0e0")
    arrow((8.7 + width / 2, top), (8.7 + width / 2, top + 0.5))
    arrow((8.7 + width / 2, top + 1.5), (8.7 + width / 2, top + 2.0))
    ax.text(0.3 + width / 2, top + 1.7, f"Encoder: N = {layers} layers\n{parts['encoder']}",
            ha="center", fontsize=9.5, weight="bold", va="bottom")
    ax.text(8.7 + width / 2, top + 3.1, f"Decoder: N = {parts['decoder_layers']} layers\n"
            f"{parts['decoder']}", ha="center", fontsize=9.5, weight="bold", va="bottom")
    ax.text(8.0, height + 0.8, parts["model"], ha="center", fontsize=10.5, weight="bold",
            va="top")
    return fig


def cross_attention_figure(maps: dict, sentence: str, layer: int = -1):
    """Every head of one decoder layer's cross-attention, from :func:`attention_maps`."""
    layers = len(maps["decoder_cross"])
    return attention_heads_figure(
        maps["decoder_cross"][layer], maps["source_tokens"], maps["output_tokens"],
        title=f"decoder layer {layer % layers + 1} of {layers} cross-attention: {sentence} → "
              f"{maps['translation']}",
        query_label="piece written (its query)", key_label="source piece (key, value)")


def plot_sentence(run_dir: str | os.PathLike, sentence: str, layer: int | None = None,
                  translator=None) -> list[Path]:
    """Saves every head of one layer for ``sentence``: the decoder's cross-attention and the
    encoder's self-attention (``RUN/plots/cross-layerN-*.png``, ``self-layerN-*.png``).
    ``layer`` counts from 1, the lowest, as the figures do (default: the top layer)."""
    if not sentence.strip():
        raise InputError("the sentence to plot is empty")
    translator = translator or load_translator(run_dir)
    maps = attention_maps(translator, sentence)
    layers = len(maps["decoder_cross"])
    number = layer_number(layer, layers)
    cross = cross_attention_figure(maps, sentence, number - 1)
    own = attention_heads_figure(
        maps["encoder_self"][number - 1], maps["source_tokens"], maps["source_tokens"],
        title=f"encoder layer {number} of {layers} self-attention: {sentence}")
    plots = RunFolder(run_dir).plots
    return [save_figure(cross, plots / f"cross-layer{number}-{slug(sentence)}.png"),
            save_figure(own, plots / f"self-layer{number}-{slug(sentence)}.png")]


def plot_schedule_and_encoding(run_dir: str | os.PathLike, config) -> list[Path]:
    """Saves the run's learning-rate schedule and the positional encoding of its width
    (``RUN/plots/learning_rate.png``, ``positional_encoding.png``)."""
    run = RunFolder(run_dir)
    if getattr(config, "lr_decay", "rsqrt") == "linear" and run.last_model.exists():
        # The schedule the run fitted to its time limit, as its last checkpoint holds it.
        import keras

        optimizer = keras.saving.load_model(run.last_model).optimizer
        fitted = optimizer.get_config()["learning_rate"]["config"]
        schedule = WarmupSchedule.from_config(fitted)
        warmup, end = fitted["warmup_steps"], fitted["total_steps"]
        steps = list(range(1, int(1.05 * end) + 2, max(1, int(end) // 400)))
        title = f"warm-up, then linear decay to step {end:.0f} (time limit)"
    else:
        schedule = WarmupSchedule(config.hidden_dim, config.warmup_steps)
        warmup = config.warmup_steps
        steps = list(range(1, max(4 * config.warmup_steps, 2000), 10))
        title = "warm-up, then 1/sqrt(step)"
    rates = [float(r) for r in schedule(steps).numpy()]
    plots = run.plots
    return [
        save_figure(learning_rate_figure(steps, rates, warmup, title),
                    plots / "learning_rate.png"),
        save_figure(positional_encoding_figure(positional_encoding(64, config.hidden_dim)),
                    plots / "positional_encoding.png"),
    ]
