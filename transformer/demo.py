"""The demo: the quick preset on the generated corpus with checkpoint averaging, trained,
evaluated greedy and beam 4, translated three ways, its heads plotted and exported, with the
export checked in a fresh process. ``make demo`` and ``python -m transformer demo`` run it;
every step is a library call a user can make.

:func:`library` is the package's parts that the demo and the shared commands call."""

from __future__ import annotations

import os

from common.cli import TranslationLibrary
from common.demo import translation_demo
from transformer.config import Config, time_budget_recipe
from transformer.evaluate import evaluate_run
from transformer.export import export
from transformer.plots import plot_schedule_and_encoding, plot_sentence
from transformer.runs import load_translator
from transformer.train import train

__all__ = ["demo", "library"]

TIME_LIMIT_NOTE = (
    "train until it is up (no epoch cap, no early stopping), warm-up and linear decay fitted "
    "to the steps it allows, the best average of the last 8 epochs kept (--epochs, "
    "--warmup-steps, --lr-decay and --average-last change each)")


def library() -> TranslationLibrary:
    return TranslationLibrary(Config, time_budget_recipe, train, load_translator, export,
                              evaluate_run, plot_sentence, demo,
                              after_training=plot_schedule_and_encoding,
                              time_limit_note=TIME_LIMIT_NOTE)


def demo(run_dir: str | os.PathLike, epochs: int | None = None) -> bool:
    """Runs the demo into ``run_dir`` (a folder a demo made, or a new or empty one);
    returns whether the reloaded export gave the same translations."""
    # average_last=4: checkpoint averaging of the last epochs, kept if it validates better.
    return translation_demo(
        library(), run_dir, epochs, "NMT with a Transformer",
        Config.quick().replace(average_last=4), evaluation={"limit": 600, "beam_width": 4},
        plot_sentences=["¿Todavía está en casa?", "Nosotros lo vendimos ayer."],
        imports=", tensorflow_text")
