"""The demo: the quick preset on the generated corpus, trained, evaluated, translated three
ways, plotted and exported, with the export checked in a fresh process. ``make demo`` and
``python -m nmt_attention demo`` run it; every step is a library call a user can make.

:func:`library` is the package's parts that the demo and the shared commands call."""

from __future__ import annotations

import os

from common.cli import TranslationLibrary
from common.demo import translation_demo
from nmt_attention.config import Config, time_budget_recipe
from nmt_attention.evaluate import evaluate_run
from nmt_attention.export import export
from nmt_attention.plots import plot_sentence
from nmt_attention.runs import load_translator
from nmt_attention.train import train

__all__ = ["demo", "library"]


def library() -> TranslationLibrary:
    return TranslationLibrary(Config, time_budget_recipe, train, load_translator, export,
                              evaluate_run, plot_sentence, demo)


def demo(run_dir: str | os.PathLike, epochs: int | None = None) -> bool:
    """Runs the demo into ``run_dir`` (a folder a demo made, or a new or empty one);
    returns whether the reloaded export gave the same translations."""
    return translation_demo(
        library(), run_dir, epochs, "NMT with attention", Config.quick(), evaluation={},
        plot_sentences=["¿Quién no compró el coche rojo?", "Nosotros lo vendimos."])
