"""The demo: the quick preset on the generated corpus with checkpoint averaging, trained,
evaluated greedy and beam 4, translated, its heads plotted and exported, with the export
checked in a fresh process. ``make demo`` and ``python -m transformer demo`` run it; every
step is a library call a user can make."""

from __future__ import annotations

import json
import os
import time

from common.cli import finish_demo
from common.files import claim_demo_folder
from common.run_folder import RunFolder
from transformer.config import Config
from transformer.evaluate import evaluate_run
from transformer.export import export
from transformer.plots import plot_schedule_and_encoding, plot_sentence
from transformer.runs import load_translator
from transformer.train import train

__all__ = ["demo"]


def demo(run_dir: str | os.PathLike, epochs: int | None = None) -> bool:
    """Runs the demo into ``run_dir`` (a folder a demo made, or a new or empty one);
    returns whether the reloaded export gave the same translations."""
    started = time.time()
    run_dir = claim_demo_folder(run_dir)
    print(f"== NMT with a Transformer: quick preset on the generated corpus -> {run_dir}")
    # average_last=4: checkpoint averaging of the last epochs, kept if it validates better.
    result = train(Config.quick().replace(average_last=4), run_dir, epochs=epochs)
    print(f"trained {result.epochs_done} epochs in {time.time() - started:.0f} s")
    plot_schedule_and_encoding(run_dir, result.config)
    metrics = evaluate_run(run_dir, limit=600, beam_width=4)
    print("test metrics (600 test pairs, spread over the split):", json.dumps(metrics))
    translator = load_translator(run_dir)
    spanish, english = result.data.part("test")
    samples = spanish[:5] + ["¿Quién no compró el coche rojo?"]
    references = english[:5] + ["Who didn't buy the red car?"]
    greedy = translator.translate(samples)
    beam = translator.translate(samples, beam_width=4)
    print("translations (source | reference | greedy | beam 4):")
    for row in zip(samples, references, greedy, beam, strict=True):
        print("  " + " | ".join(row))
    for path in plot_sentence(run_dir, "Nosotros lo vendimos ayer.", translator=translator):
        print("attention heads:", path)
    return finish_demo(run_dir, export(translator, RunFolder(run_dir).export), samples, greedy,
                       ", tensorflow_text", started)
