"""The demo: the quick preset on the generated corpus with checkpoint averaging, trained,
evaluated greedy and beam 4, translated three ways, its heads plotted and exported, with the
export checked in a fresh process. ``make demo`` and ``python -m transformer demo`` run it;
every step is a library call a user can make.

:func:`library` is the package's parts that the demo and the shared commands call."""

from __future__ import annotations

import os
from pathlib import Path

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
    returns whether the reloaded export gave the same translations, and the CTranslate2
    export the same greedy translations as the Keras model."""
    # average_last=4: checkpoint averaging of the last epochs, kept if it validates better.
    same = translation_demo(
        library(), run_dir, epochs, "NMT with a Transformer",
        Config.quick().replace(average_last=4), evaluation={"limit": 600, "beam_width": 4},
        plot_sentences=["¿Todavía está en casa?", "Nosotros lo vendimos ayer."],
        imports=", tensorflow_text")
    return ctranslate2_demo(Path(run_dir)) and same


def ctranslate2_demo(run_dir: Path, count: int = 200) -> bool:
    """The run exported to CTranslate2 and ``count`` test sentences translated by
    ``translate --engine ctranslate2`` (a process that imports no TensorFlow: a test runs
    it with TensorFlow unimportable), against the Keras model's greedy translations;
    returns whether they are the same."""
    import subprocess
    import sys
    import time

    from common.data.corpus import corpus_of
    from common.run_folder import RunFolder

    translator = load_translator(run_dir)
    folder = export(translator, RunFolder(run_dir).export, format="ctranslate2")
    print(f"CTranslate2 export: {folder}")
    spanish, _ = corpus_of(RunFolder(run_dir).read_config(Config)).part("test", count)
    keras_model = translator.translate(spanish)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "transformer", "translate", "--run",
                           str(run_dir), "--engine", "ctranslate2"],
                          input="\n".join(spanish) + "\n", capture_output=True, text=True,
                          check=True)
    seconds = time.perf_counter() - started
    same = done.stdout.splitlines() == keras_model
    print(f"{len(spanish)} test sentences, translate --engine ctranslate2, {seconds:.1f} s "
          f"(the whole command): {'the same' if same else 'NOT the same'} greedy "
          "translations as the Keras model")
    return same
