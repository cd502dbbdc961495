"""Figures of a trained model, shared by the command line and TensorBoard logging."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import InputError
from common.files import slug
from common.plotting import attention_figure, save_figure
from common.run_folder import RunFolder
from nmt_attention.runs import load_translator

__all__ = ["plot_sentence", "sentence_figure"]


def sentence_figure(translator, sentence: str):
    """The cross-attention heatmap of ``translator`` translating ``sentence``."""
    result = translator.run([sentence])
    source = [w.decode() for w in result["source_tokens"][0] if w]
    output = [w.decode() for w in result["output_tokens"][0] if w]
    weights = result["attention"][0][: len(output), : len(source)]
    return attention_figure(
        weights, source, output, title=f"{sentence}\n→ {result['translation'][0].decode()}")


def plot_sentence(run_dir: str | os.PathLike, sentence: str, out: str | os.PathLike | None = None,
                  translator=None) -> Path:
    """Saves the attention heatmap of ``sentence`` (default
    ``RUN/plots/attention-<sentence>.png``) and returns its path."""
    if not sentence.strip():
        raise InputError("the sentence to plot is empty")
    translator = translator or load_translator(run_dir)
    if not translator.model.use_attention:
        raise InputError("this run's model has no attention (trained with --no-attention): "
                         "there is nothing to plot")
    figure = sentence_figure(translator, sentence)
    if out is None:
        out = RunFolder(run_dir).plots / f"attention-{slug(sentence)}.png"
    return save_figure(figure, Path(out))
