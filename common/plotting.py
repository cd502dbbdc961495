"""Plots as pure functions: arrays and token lists in, a matplotlib Figure out.

Nothing here touches a model or calls ``plt.show()``; figures are built on
``matplotlib.figure.Figure`` directly, so they work headless and leave no global state.
:func:`save_figure` writes a PNG atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "attention_figure",
    "attention_heads_figure",
    "learning_rate_figure",
    "history_figure",
    "positional_encoding_figure",
    "save_figure",
]


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
    width = 1.6 + 0.48 * max(len(source_tokens), 4)
    height = 1.4 + 0.42 * max(len(output_tokens), 4)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source_tokens)), labels=source_tokens, rotation=60, ha="right")
    ax.set_yticks(range(len(output_tokens)), labels=output_tokens)
    ax.set_xlabel("source token (keys and values)")
    ax.set_ylabel("output token (query)")
    if title:
        ax.set_title(title, fontsize=10, wrap=True)
    fig.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    return fig


def attention_heads_figure(
    scores: np.ndarray,
    key_tokens: Sequence[str],
    query_tokens: Sequence[str],
    title: str | None = None,
) -> Figure:
    """One heatmap per head: ``scores`` is (heads, len(query_tokens), len(key_tokens)).

    Keys on x, queries on y in every panel; each head is free to learn its own pattern.
    """
    scores = np.asarray(scores, dtype=np.float32)
    heads = scores.shape[0]
    if scores.shape[1:] != (len(query_tokens), len(key_tokens)):
        raise ValueError(f"scores has shape {scores.shape}, tokens need "
                         f"(heads, {len(query_tokens)}, {len(key_tokens)})")
    columns = min(heads, 4)
    rows = -(-heads // columns)
    width = 0.9 + 0.36 * max(len(key_tokens), 4)
    height = 0.9 + 0.34 * max(len(query_tokens), 4)
    fig = Figure(figsize=(columns * width, rows * height + 0.6), dpi=100, layout="constrained")
    axes = []
    for head in range(heads):
        ax = fig.add_subplot(rows, columns, head + 1)
        axes.append(ax)
        image = ax.imshow(scores[head], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(key_tokens)), labels=key_tokens, rotation=70, ha="right",
                      fontsize=8)
        ax.set_yticks(range(len(query_tokens)), labels=query_tokens, fontsize=8)
        ax.set_title(f"head {head + 1}", fontsize=9)
        if head % columns == 0:
            ax.set_ylabel("query token")
        if head >= heads - columns:
            ax.set_xlabel("key token")
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def learning_rate_figure(steps: Sequence[int], rates: Sequence[float],
                         warmup_steps: int | None = None) -> Figure:
    """The learning rate against the training step."""
    fig = Figure(figsize=(6, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(steps, rates)
    if warmup_steps:
        ax.axvline(warmup_steps, color="gray", linestyle="--", label="end of warm-up")
        ax.legend()
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.set_title("warm-up, then 1/sqrt(step)")
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
        ax.plot(epochs, history[name], marker="o", label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.replace("_", " "))
        if "loss" in name and min(history[name]) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def positional_encoding_figure(encoding: np.ndarray) -> Figure:
    """The encoding matrix, and the dot product of every position's encoding with every
    other's: bright near the diagonal (nearby positions alike), dim far from it."""
    encoding = np.asarray(encoding, dtype=np.float32)
    normed = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    fig = Figure(figsize=(11, 4.4), dpi=100, layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    image = left.imshow(encoding.T, cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
    left.set_xlabel("position")
    left.set_ylabel("depth (sin half, then cos half)")
    left.set_title("positional encoding")
    fig.colorbar(image, ax=left, shrink=0.8)
    image = right.imshow(normed @ normed.T, cmap="viridis", aspect="equal")
    right.set_xlabel("position")
    right.set_ylabel("position")
    right.set_title("cosine similarity between positions")
    fig.colorbar(image, ax=right, shrink=0.8)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Writes ``fig`` as a PNG, atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png.tmp")
    os.close(handle)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
