"""The demos: the translation tutorials' demo written once (:func:`translation_demo`), the
end of every demo, and what a demo checks in a fresh process: the export reloaded where
nothing of the training process is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common.cli import TranslationLibrary, translation_explorer
from common.explorer_file import LECTURE_SENTENCE, translation_notes
from common.files import claim_demo_folder

__all__ = ["finish_demo", "list_files", "run_in_fresh_process", "translate_in_fresh_process",
           "translation_demo"]

# Beside the first held-out sentences, one the demo's readers can check by eye and the
# lecture's (the generated corpus holds both kinds of sentence).
OWN_SENTENCES = (("¿Quién no compró el coche rojo?", "Who didn't buy the red car?"),
                 (LECTURE_SENTENCE, "Is he still at home?"))


def translation_demo(library: TranslationLibrary, run_dir: str | os.PathLike,
                     epochs: int | None, title: str, config, evaluation: dict,
                     plot_sentences: Sequence[str], imports: str = "") -> bool:
    """A translation tutorial's demo: ``config`` trained into ``run_dir`` (a folder a demo
    made, or a new or empty one) on the generated corpus, scored on its test split
    (``evaluate_run(run_dir, **evaluation)``), six sentences translated greedy, by beam
    search and sampled, ``plot_sentences`` drawn, and the export reloaded in a fresh process
    (``imports``: what it needs besides TensorFlow). Returns whether the export gave the same
    translations."""
    started = time.time()
    run_dir = claim_demo_folder(run_dir)
    print(f"== {title}: quick preset on the generated corpus -> {run_dir}")
    result = library.train(config, run_dir, epochs=epochs)
    print(f"trained {result.epochs_done} epochs in {time.time() - started:.0f} s")
    if library.after_training is not None:
        library.after_training(run_dir, result.config)
    limit = evaluation.get("limit")
    print(f"test metrics ({f'{limit} test pairs spread over' if limit else 'all of'} the "
          "split):", json.dumps(library.evaluate_run(run_dir, **evaluation)))
    translator = library.load_translator(run_dir)
    spanish, english = result.data.part("test")
    samples = spanish[:4] + [source for source, _ in OWN_SENTENCES]
    references = english[:4] + [target for _, target in OWN_SENTENCES]
    greedy = translator.translate(samples)
    beam = translator.translate(samples, beam_width=4)
    sampled = translator.translate(samples, temperature=0.7, seed=1)
    print("translations (source | reference | greedy | beam 4 | sampled at T=0.7):")
    for row in zip(samples, references, greedy, beam, sampled, strict=True):
        print("  " + " | ".join(row))
    for sentence in plot_sentences:
        paths = library.plot_sentence(run_dir, sentence, translator=translator)
        for path in paths if isinstance(paths, list) else [paths]:
            print("attention plot:", path)
    from common.run_folder import RunFolder

    saved_model = library.export(translator, RunFolder(run_dir).export)
    # The corpus the run was trained on is at hand: its notes without reading it again.
    notes = translation_notes(result.data, result.config.data)
    explorer = translation_explorer(run_dir, [LECTURE_SENTENCE], library, notes).save(
        run_dir / "explorer.html")
    print(f"attention explorer, one file (open it in a browser, no server): {explorer}")
    return finish_demo(run_dir, saved_model, samples, greedy, imports, started)


def list_files(run_dir: Path) -> None:
    print(f"files written under {run_dir}:")
    for path in sorted(run_dir.rglob("*")):
        if (path.is_file() and "saved_model/variables" not in str(path)
                and path.name != ".made-by-demo"):
            print("  ", path)


def finish_demo(run_dir: Path, saved_model: Path, samples: list[str], expected: list[str],
                imports: str, started: float) -> bool:
    """The end of a translation demo: the SavedModel, reloaded in a fresh process, must give
    ``expected`` for ``samples``; lists the files and the time. Returns whether it did."""
    print("SavedModel:", saved_model)
    same = translate_in_fresh_process(saved_model, samples, imports) == expected
    print(f"reloaded in a fresh process: {'same translations' if same else 'DIFFERENT'}")
    list_files(run_dir)
    print(f"demo finished in {time.time() - started:.0f} s")
    return same


def translate_in_fresh_process(saved_model: Path, texts: list[str],
                               imports: str = "") -> list[str]:
    """Loads the SavedModel in a new Python process and translates ``texts`` there."""
    code = (
        f"import json, sys, tensorflow as tf{imports}\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.translate(tf.constant(json.loads(sys.argv[2])))['translation']\n"
        "print(json.dumps([t.decode() for t in out.numpy()]))\n"
    )
    return run_in_fresh_process(code, str(saved_model), json.dumps(texts))


def run_in_fresh_process(code: str, *args: str):
    """Runs Python ``code`` with ``args`` as ``sys.argv[1:]`` in a new interpreter and
    returns the JSON its last printed line holds: what a user's own process would see."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
