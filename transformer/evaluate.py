"""Evaluation of a Transformer run on its test split: BLEU and chrF (sacrebleu, and BLEU in
the tutorial's normalization: see :mod:`common.evaluation`), greedy and beam search."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from common.data.corpus import corpus_of
from common.errors import InputError
from common.evaluation import bleu_scores, to_stderr, translate_all, write_evaluation
from common.run_folder import RunFolder
from transformer.ctranslate2_engine import CTranslate2Translator
from transformer.runs import load_run, load_translator

__all__ = ["evaluate_run"]


def evaluate_run(run_dir: str | os.PathLike, limit: int | None = None, beam_width: int = 4,
                 jit_compile: bool = False,
                 progress: Callable[[str], None] | None = to_stderr,
                 split: str = "test", engine: str = "tensorflow",
                 compute_type: str | None = None) -> dict:
    """Translates the test split (``limit`` of its pairs, spread over it:
    :meth:`~common.data.corpus.Corpus.indices`) greedily and, if ``beam_width``
    > 1, by beam search; writes ``RUN/metrics.json`` and ``RUN/translations.tsv`` and returns
    the metrics. ``jit_compile``: decode with XLA (the same translations, faster);
    ``split="validation"`` scores the validation split instead (to choose settings),
    written to ``metrics-validation.json`` and ``translations-validation.tsv``.
    ``engine="ctranslate2"`` translates with the run's CTranslate2 export
    (:class:`transformer.ctranslate2_engine.CTranslate2Translator`, ``compute_type`` float32
    or int8), written to ``metrics-ctranslate2[-int8].json`` and its translations file."""
    run_dir = Path(run_dir)
    config, _, _ = load_run(run_dir)
    if engine == "ctranslate2":
        translator = CTranslate2Translator(run_dir, compute_type)
        tag = "ctranslate2" + ("-int8" if translator.compute_type == "int8" else "")
    elif engine == "tensorflow":
        translator, tag = load_translator(run_dir, jit_compile=jit_compile), ""
    else:
        raise InputError(f"engine must be 'tensorflow' or 'ctranslate2', received {engine!r}")
    spanish, english = corpus_of(config).part(split, limit)
    if not spanish:
        raise InputError(f"no {split} pairs to evaluate: give a --limit of at least 1, or "
                         "more data")
    metrics = {"split": split, "sentences": len(spanish)}
    if tag:
        metrics["engine"] = tag
    hypotheses = {}
    for name, width in [("greedy", 1)] + ([(f"beam_{beam_width}", beam_width)]
                                          if beam_width > 1 else []):
        started = time.perf_counter()
        hypotheses[name] = translate_all(translator, spanish, beam_width=width,
                                         progress=progress)
        metrics[name] = {**bleu_scores(hypotheses[name], english),
                         "seconds": round(time.perf_counter() - started, 1)}
    write_evaluation(RunFolder(run_dir), "metrics.json", metrics, spanish, english, hypotheses,
                     tag)
    return metrics
