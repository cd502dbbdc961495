"""Figures of a trained model, shared by the command line and TensorBoard logging."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import InputError
from common.files import slug
from common.run_folder import RunFolder

__all__ = ["cross_attention_figure", "plot_schedule_and_encoding", "plot_sentence"]


def cross_attention_figure(maps: dict, sentence: str, layer: int = -1):
    """Every head of one decoder layer's cross-attention, from :func:`attention_maps`."""
    from common.plotting import attention_heads_figure

    number = layer % len(maps["decoder_cross"])
    return attention_heads_figure(
        maps["decoder_cross"][layer], maps["source_tokens"], maps["output_tokens"],
        title=f"decoder layer {number} cross-attention: {sentence} → {maps['translation']}")


def plot_sentence(run_dir: str | os.PathLike, sentence: str, layer: int = -1,
                  translator=None) -> list[Path]:
    """Saves every head of one layer for ``sentence``: the decoder's cross-attention and the
    encoder's self-attention (``RUN/plots/cross-layerN-*.png``, ``self-layerN-*.png``)."""
    from common.plotting import attention_heads_figure, save_figure
    from transformer.train import load_translator
    from transformer.translator import attention_maps

    if not sentence.strip():
        raise InputError("the sentence to plot is empty")
    translator = translator or load_translator(run_dir)
    maps = attention_maps(translator, sentence)
    layers = len(maps["decoder_cross"])
    if not -layers <= layer < layers:
        raise InputError(f"--layer must be in [0, {layers - 1}], received {layer}")
    number = layer % layers
    cross = cross_attention_figure(maps, sentence, layer)
    own = attention_heads_figure(
        maps["encoder_self"][layer], maps["source_tokens"], maps["source_tokens"],
        title=f"encoder layer {number} self-attention: {sentence}")
    plots = RunFolder(run_dir).plots
    return [save_figure(cross, plots / f"cross-layer{number}-{slug(sentence)}.png"),
            save_figure(own, plots / f"self-layer{number}-{slug(sentence)}.png")]


def plot_schedule_and_encoding(run_dir: str | os.PathLike, config) -> list[Path]:
    """Saves the run's learning-rate schedule and the positional encoding of its width
    (``RUN/plots/learning_rate.png``, ``positional_encoding.png``)."""
    from common.plotting import learning_rate_figure, positional_encoding_figure, save_figure
    from common.positional_encoding import positional_encoding
    from transformer.schedule import WarmupSchedule

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
