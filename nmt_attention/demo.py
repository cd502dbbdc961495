"""The demo: the quick preset on the generated corpus, trained, evaluated, translated three
ways, plotted and exported, with the export checked in a fresh process. ``make demo`` and
``python -m nmt_attention demo`` run it; every step is a library call a user can make."""

from __future__ import annotations

import json
import os
import time

from common.cli import finish_demo
from common.files import claim_demo_folder
from common.run_folder import RunFolder
from nmt_attention.config import Config
from nmt_attention.evaluate import evaluate_run
from nmt_attention.export import export
from nmt_attention.plots import plot_sentence
from nmt_attention.runs import load_translator
from nmt_attention.train import train

__all__ = ["demo"]


def demo(run_dir: str | os.PathLike, epochs: int | None = None) -> bool:
    """Runs the demo into ``run_dir`` (a folder a demo made, or a new or empty one);
    returns whether the reloaded export gave the same translations."""
    started = time.time()
    run_dir = claim_demo_folder(run_dir)
    print(f"== NMT with attention: quick preset on the generated corpus -> {run_dir}")
    result = train(Config.quick(), run_dir, epochs=epochs)
    print(f"trained {result.epochs_done} epochs in {time.time() - started:.0f} s")
    print("test metrics:", json.dumps(evaluate_run(run_dir)))
    translator = load_translator(run_dir)
    spanish, english = result.data.part("test")
    samples = spanish[:6]
    greedy = translator.translate(samples)
    beam = translator.translate(samples, beam_width=4)
    sampled = translator.translate(samples, temperature=0.7, seed=1)
    print("held-out translations (source | reference | greedy | beam 4 | sampled at T=0.7):")
    for row in zip(samples, english[:6], greedy, beam, sampled, strict=True):
        print("  " + " | ".join(row))
    for sentence in samples[:3] + ["¿Quién no compró el coche rojo?", "Nosotros lo vendimos."]:
        print("attention plot:", plot_sentence(run_dir, sentence, translator=translator))
    return finish_demo(run_dir, export(translator, RunFolder(run_dir).export), samples, greedy, "",
                       started)
