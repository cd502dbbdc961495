"""Plots as pure functions: arrays and token lists in, a matplotlib Figure out.

Nothing here touches a model or calls ``plt.show()``; figures are built on
``matplotlib.figure.Figure`` directly, so they work headless and leave no global state.
:func:`save_figure` writes a PNG atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from common.files import atomic_save

__all__ = [
    "attention_figure",
    "attention_heads_figure",
    "token_ticks",
    "comparison_figure",
    "confusion_matrix_figure",
    "image_attention_figure",
    "learning_rate_figure",
    "history_figure",
    "mask_figure",
    "layer_number",
    "positional_encoding_figure",
    "scatter_panels_figure",
    "token_matrix_figure",
    "figure_png",
    "save_figure",
]


# At most this many tokens labelled on an axis: a longer input labels every k-th token and
# keeps the figure this size (a 256-token input drew a 37,000-pixel-wide PNG, unreadable and
# a minute to render).
MAX_TOKEN_LABELS = 48


def token_ticks(tokens: Sequence[str]) -> tuple[list[int], list[str], str]:
    """``(positions, labels, note)`` for an axis of ``tokens``: every token up to
    :data:`MAX_TOKEN_LABELS`, else every k-th (labelled ``index:token``) and a note for the
    axis label that says so."""
    tokens = list(tokens)
    if len(tokens) <= MAX_TOKEN_LABELS:
        return list(range(len(tokens))), tokens, ""
    every = -(-len(tokens) // MAX_TOKEN_LABELS)
    positions = list(range(0, len(tokens), every))
    return (positions, [f"{i}:{tokens[i]}" for i in positions],
            f" (1 in {every} of {len(tokens)} labelled)")


def layer_number(layer: int | None, layers: int) -> int:
    """The layer a plot command draws, counted from 1 (the lowest) as every figure counts
    them; ``None`` is the top one.

    Raises:
        InputError: a number outside ``[1, layers]``.
    """
    from common.errors import InputError

    number = layers if layer is None else layer
    if not 1 <= number <= layers:
        raise InputError(f"--layer must be in [1, {layers}] (1 is the lowest), received {layer}")
    return number


def _axis_inches(count: int, per_token: float, margin: float) -> float:
    return margin + per_token * min(max(count, 4), MAX_TOKEN_LABELS)


def attention_figure(
    weights: np.ndarray,
    source_tokens: Sequence[str],
    output_tokens: Sequence[str],
    title: str | None = None,
) -> Figure:
    """Heatmap of attention weights: source tokens on x, output tokens on y.

    Args:
        weights: (len(output_tokens), len(source_tokens)); row i is what output token i
            looked at, and sums to 1.
    """
    weights = np.asarray(weights, dtype=np.float32)
    expected = (len(output_tokens), len(source_tokens))
    if weights.shape != expected:
        raise ValueError(f"weights has shape {weights.shape}, tokens need {expected}")
    width = _axis_inches(len(source_tokens), 0.48, 1.6)
    height = _axis_inches(len(output_tokens), 0.42, 1.4)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    x_positions, x_labels, x_note = token_ticks(source_tokens)
    y_positions, y_labels, y_note = token_ticks(output_tokens)
    ax.set_xticks(x_positions, labels=x_labels, rotation=60, ha="right")
    ax.set_yticks(y_positions, labels=y_labels)
    ax.set_xlabel("source token (keys and values)" + x_note)
    ax.set_ylabel("output token (query)" + y_note)
    if title:
        ax.set_title(title, fontsize=10, wrap=True)
    fig.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    return fig


def attention_heads_figure(
    scores: np.ndarray,
    key_tokens: Sequence[str],
    query_tokens: Sequence[str],
    title: str | None = None,
    query_label: str = "query token",
    key_label: str = "key token",
) -> Figure:
    """One heatmap per head: ``scores`` is (heads, len(query_tokens), len(key_tokens)).

    Keys on x, queries on y in every panel (``key_label``, ``query_label`` name them); each
    head is free to learn its own pattern. Heads are numbered from 1.
    """
    scores = np.asarray(scores, dtype=np.float32)
    heads = scores.shape[0]
    if scores.shape[1:] != (len(query_tokens), len(key_tokens)):
        raise ValueError(f"scores has shape {scores.shape}, tokens need "
                         f"(heads, {len(query_tokens)}, {len(key_tokens)})")
    columns = min(heads, 4)
    rows = -(-heads // columns)
    width = _axis_inches(len(key_tokens), 0.36, 0.9)
    height = _axis_inches(len(query_tokens), 0.34, 0.9)
    x_positions, x_labels, x_note = token_ticks(key_tokens)
    y_positions, y_labels, y_note = token_ticks(query_tokens)
    fig = Figure(figsize=(columns * width, rows * height + 0.6), dpi=100, layout="constrained")
    axes = []
    for head in range(heads):
        ax = fig.add_subplot(rows, columns, head + 1)
        axes.append(ax)
        image = ax.imshow(scores[head], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(x_positions, labels=x_labels, rotation=70, ha="right", fontsize=8)
        ax.set_yticks(y_positions, labels=y_labels, fontsize=8)
        ax.set_title(f"head {head + 1}", fontsize=9)
        if head % columns == 0:
            ax.set_ylabel(query_label + y_note)
        if head >= heads - columns:
            ax.set_xlabel(key_label + x_note)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def token_matrix_figure(values: np.ndarray, column_tokens: Sequence[str],
                        row_tokens: Sequence[str], column_label: str, row_label: str,
                        value_label: str, title: str | None = None) -> Figure:
    """Heatmap of any (rows, columns) matrix over tokens, each cell printed: e.g. the cosine
    similarity of every output with every input of a sentence."""
    values = np.asarray(values, dtype=np.float32)
    if values.shape != (len(row_tokens), len(column_tokens)):
        raise ValueError(f"values has shape {values.shape}, tokens need "
                         f"{(len(row_tokens), len(column_tokens))}")
    width = _axis_inches(len(column_tokens), 0.62, 2.0)
    height = _axis_inches(len(row_tokens), 0.45, 1.5)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    x_positions, x_labels, x_note = token_ticks(column_tokens)
    y_positions, y_labels, y_note = token_ticks(row_tokens)
    ax.set_xticks(x_positions, labels=x_labels, rotation=60, ha="right")
    ax.set_yticks(y_positions, labels=y_labels)
    if len(column_tokens) <= 16 and len(row_tokens) <= 16:
        middle = (values.max() + values.min()) / 2
        for (i, j), value in np.ndenumerate(values):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if value > middle else "white")
    ax.set_xlabel(column_label + x_note)
    ax.set_ylabel(row_label + y_note)
    if title:
        ax.set_title(title, fontsize=10, wrap=True)
    fig.colorbar(image, ax=ax, shrink=0.8, label=value_label)
    return fig


def mask_figure(tokens: Sequence[str], masks: Mapping[str, np.ndarray],
                title: str | None = None) -> Figure:
    """Which positions each position may attend to, one panel a mask: (length, length)
    booleans, row = the attending token (query), column = the token attended to (key);
    dark where allowed. E.g. an encoder's bidirectional mask beside a decoder's causal one."""
    length = len(tokens)
    for name, mask in masks.items():
        if np.shape(mask) != (length, length):
            raise ValueError(f"mask {name!r} has shape {np.shape(mask)}, {length} tokens "
                             f"need {(length, length)}")
    side = _axis_inches(length, 0.42, 1.6)
    fig = Figure(figsize=(side * len(masks) + 0.4, side + 0.5), dpi=100, layout="constrained")
    for index, (name, mask) in enumerate(masks.items()):
        ax = fig.add_subplot(1, len(masks), index + 1)
        ax.imshow(np.asarray(mask, np.float32), cmap="Blues", vmin=0, vmax=1.25)
        ax.set_xticks(range(length), labels=tokens, rotation=60, ha="right")
        ax.set_yticks(range(length), labels=tokens)
        ax.set_xlabel("attended to (key)")
        ax.set_ylabel("attending (query)")
        allowed = int(np.sum(mask))
        ax.set_title(f"{name}\n{allowed} of {length * length} pairs allowed", fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def scatter_panels_figure(panels: Sequence[tuple[str, np.ndarray, Sequence[str]]],
                          xlabel: str, ylabel: str, title: str | None = None) -> Figure:
    """One scatter plot a panel, points coloured by their label: ``panels`` holds
    ``(title, points (n, 2), labels (n,))`` each."""
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(3.3 * columns, 3.1 * rows + 0.4), dpi=100, layout="constrained")
    for index, (name, points, labels) in enumerate(panels):
        ax = fig.add_subplot(rows, columns, index + 1)
        labels = np.asarray(labels)
        for color, label in enumerate(sorted(set(labels.tolist()))):
            chosen = labels == label
            ax.scatter(points[chosen, 0], points[chosen, 1], s=14, alpha=0.7,
                       color=f"C{color}", label=f"{label} ({int(chosen.sum())})")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(xlabel, fontsize=8)
        if index % columns == 0:
            ax.set_ylabel(ylabel, fontsize=8)
        ax.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def learning_rate_figure(steps: Sequence[int], rates: Sequence[float],
                         warmup_steps: int | None = None,
                         title: str = "warm-up, then 1/sqrt(step)") -> Figure:
    """The learning rate against the training step."""
    fig = Figure(figsize=(6, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(steps, rates)
    if warmup_steps:
        ax.axvline(warmup_steps, color="gray", linestyle="--", label="end of warm-up")
        ax.legend()
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


def history_figure(history: Mapping[str, Sequence[float]], title: str | None = None) -> Figure:
    """Training curves: one panel per metric, training and validation together.

    ``history`` maps names such as ``"loss"`` and ``"val_loss"`` to one value per epoch.
    """
    names = [k for k in history if not k.startswith("val_") and k not in ("epoch", "lr")]
    if not names:
        raise ValueError("history has no metric to plot")
    fig = Figure(figsize=(4.2 * len(names), 3.4), dpi=100, layout="constrained")
    for index, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), index + 1)
        epochs = np.arange(1, len(history[name]) + 1)
        marker = "o" if len(epochs) <= 30 else None  # dots only while they stay apart
        ax.plot(epochs, history[name], marker=marker, label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker=marker, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.replace("_", " "))
        values = [*history[name], *history.get(f"val_{name}", [])]
        # A log axis where a loss falls by a factor of 10 or more (its tail stays visible);
        # over less than a decade it would label one or two ticks.
        if "loss" in name and min(values) > 0 and max(values) >= 10 * min(values):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def positional_encoding_figure(encoding: np.ndarray, near: int = 50) -> Figure:
    """The encoding as the lecture pictures it, three panels: the first ``near`` positions'
    encodings; their cosine similarity with each other (bright near the diagonal: nearby
    positions alike); and the similarity by distance over the whole table (it depends on the
    distance only, so one row of the table gives it exactly, without the aliasing of a
    2,048 x 2,048 image squeezed into a few hundred pixels)."""
    encoding = np.asarray(encoding, dtype=np.float32)
    length, depth = encoding.shape
    near = min(near, length)
    normed = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    fig = Figure(figsize=(13.5, 4.2), dpi=100, layout="constrained")
    left, middle, right = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
    image = left.imshow(encoding[:near].T, cmap="RdBu", aspect="auto", vmin=-1, vmax=1,
                        interpolation="antialiased")
    left.set_xlabel("position")
    left.set_ylabel(f"dimension (of {depth}: sin half, then cos half)")
    left.set_title(f"encodings of positions 0-{near - 1}")
    fig.colorbar(image, ax=left, shrink=0.8, label="value")
    image = middle.imshow(normed[:near] @ normed[:near].T, cmap="viridis", aspect="equal",
                          interpolation="nearest", vmin=0.0, vmax=1.0)  # 0: unrelated
    middle.set_xlabel("position")
    middle.set_ylabel("position")
    middle.set_title(f"cosine similarity, positions 0-{near - 1}")
    fig.colorbar(image, ax=middle, shrink=0.8)
    right.plot(np.arange(length), normed @ normed[0])
    right.set_xscale("symlog", linthresh=10)
    right.set_xlabel(f"distance between positions (up to {length - 1:,})")
    right.set_ylabel("cosine similarity")
    right.set_title(f"by distance, all {length:,} positions")
    right.grid(alpha=0.3)
    return fig


def confusion_matrix_figure(matrix: np.ndarray, label_names: Sequence[str],
                            title: str | None = None) -> Figure:
    """Counts of (true label, predicted label): the diagonal is right, the rest shows which
    classes are taken for which. Each cell shows its count."""
    matrix = np.asarray(matrix)
    classes = len(label_names)
    if matrix.shape != (classes, classes):
        raise ValueError(f"matrix has shape {matrix.shape}, {classes} labels need "
                         f"({classes}, {classes})")
    side = 2.4 + 0.5 * max(classes, 3)
    fig = Figure(figsize=(side + 1.2, side), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    long = classes * max(len(name) for name in label_names) > 40  # else they fit upright
    ax.set_xticks(range(classes), labels=label_names, rotation=45 if long else 0,
                  ha="right" if long else "center")
    ax.set_yticks(range(classes), labels=label_names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        ax.text(column, row, str(int(count)), ha="center", va="center", fontsize=8,
                color="white" if count > threshold else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="test examples")
    ax.set_title(title or "confusion matrix (test split)", fontsize=10)
    return fig


def image_attention_figure(image: np.ndarray, weights: np.ndarray,
                           title: str | None = None) -> Figure:
    """An image next to where the [CLS] token looked: ``weights`` is (rows, cols) over the
    patch grid (e.g. attention rollout), drawn at the image's size and over it."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    weights = np.asarray(weights, dtype=np.float32)
    height, width = image.shape[:2]
    if height % weights.shape[0] or width % weights.shape[1]:
        raise ValueError(f"a {weights.shape} patch grid does not tile a {height}x{width} image")
    patch = (height // weights.shape[0], width // weights.shape[1])
    upsampled = np.kron(weights, np.ones(patch))  # (height, width)
    cmap = "gray" if image.ndim == 2 else None
    fig = Figure(figsize=(9.6, 3.6), dpi=100, layout="constrained")
    panels = [fig.add_subplot(1, 3, i + 1) for i in range(3)]
    panels[0].imshow(image, cmap=cmap, vmin=0, vmax=1)
    panels[0].set_title("image", fontsize=10)
    shown = panels[1].imshow(upsampled, cmap="inferno", vmin=0)
    panels[1].set_title("[CLS] attention per patch", fontsize=10)
    fig.colorbar(shown, ax=panels[1], shrink=0.8, label="share of attention")
    panels[2].imshow(image, cmap=cmap, vmin=0, vmax=1)
    panels[2].imshow(upsampled, cmap="inferno", alpha=0.55, vmin=0)
    panels[2].set_title("overlay", fontsize=10)
    rows, columns = weights.shape
    for ax in panels:  # patch numbers at the patches' centres, lines at their borders
        ax.set_xticks(np.arange(columns) * patch[1] + (patch[1] - 1) / 2,
                      labels=range(columns))
        ax.set_yticks(np.arange(rows) * patch[0] + (patch[0] - 1) / 2, labels=range(rows))
        ax.set_xticks(np.arange(0, width + 1, patch[1]) - 0.5, minor=True)
        ax.set_yticks(np.arange(0, height + 1, patch[0]) - 0.5, minor=True)
        ax.tick_params(which="both", length=0)
        ax.grid(which="minor", color="white", alpha=0.35, linewidth=0.8)
        ax.set_xlabel("patch column")
    panels[0].set_ylabel("patch row")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def comparison_figure(groups: Sequence[str], means: Sequence[float], spreads,
                      values: Sequence[Sequence[float]], ylabel: str = "test accuracy",
                      title: str | None = None, chance: float | None = None) -> Figure:
    """Bars with the mean per group, error bars for the spread, and each run as a dot.

    ``spreads`` is what matplotlib's ``yerr`` takes: one value per group (symmetric) or
    two rows, the distances down and up (e.g. to the minimum and the maximum).
    """
    fig = Figure(figsize=(1.6 + 1.5 * len(groups), 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    positions = np.arange(len(groups))
    ax.bar(positions, means, yerr=spreads, capsize=6, color="#9ecae1", edgecolor="#3182bd",
           label="mean (bar: min to max)")
    for x, runs in zip(positions, values, strict=True):
        ax.scatter(np.full(len(runs), x), runs, color="#08519c", zorder=3, s=18)
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(positions, labels=groups, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (for TensorBoard images)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Writes ``fig`` as a PNG, atomically (a reader never sees half a file)."""
    path = Path(path)
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png"), ".png.tmp")
    return path
