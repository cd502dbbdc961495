"""Scoring translations: sacreBLEU's BLEU and chrF, and BLEU under the tutorial's
normalization (hypothesis and reference both standardized the tutorial's way first)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence

import sacrebleu
import tensorflow as tf

from common.files import atomic_write_text
from common.text import standardize

__all__ = ["bleu_scores", "to_stderr", "translate_all", "write_evaluation"]


def translate_all(translator, texts: Sequence[str], batch_size: int = 64, beam_width: int = 1,
                  progress: Callable[[str], None] | None = None) -> list[str]:
    """Translates in batches of similar length (less padding), returned in input order.

    ``progress`` (e.g. a print to stderr) hears how far it is, about every 10%."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[str] = [""] * len(texts)
    started, reported = time.perf_counter(), 0
    for begin in range(0, len(order), batch_size):
        chunk = order[begin : begin + batch_size]
        translated = translator.translate([texts[i] for i in chunk], beam_width=beam_width)
        for index, text in zip(chunk, translated, strict=True):
            out[index] = text
        done = begin + len(chunk)
        if progress is not None and (done - reported >= len(texts) / 10 or done == len(texts)):
            reported = done
            decoding = "greedy" if beam_width == 1 else f"beam {beam_width}"
            progress(f"translated {done}/{len(texts)} ({decoding}, "
                     f"{time.perf_counter() - started:.0f} s)")
    return out


def write_evaluation(run, metrics_name: str, metrics: dict, sources: Sequence[str],
                     references: Sequence[str], hypotheses: dict[str, Sequence[str]]) -> None:
    """Writes ``RUN/metrics_name`` (the metrics as JSON) and ``RUN/translations.tsv`` (a
    row a sentence: source, reference, then one column per decoding in ``hypotheses``) in
    ``run``, a :class:`~common.run_folder.RunFolder`."""
    atomic_write_text(run / metrics_name, json.dumps(metrics, indent=2) + "\n")
    lines = ["\t".join(["source", "reference", *hypotheses])]
    lines += ["\t".join(row) for row in zip(sources, references, *hypotheses.values(),
                                            strict=True)]
    atomic_write_text(run / "translations.tsv", "\n".join(lines) + "\n")


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tutorial_norm(texts: Sequence[str]) -> list[str]:
    if not texts:
        return []
    return [t.decode("utf-8") for t in standardize(tf.constant(list(texts)), "faithful").numpy()]


def bleu_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    hypotheses, references = list(hypotheses), list(references)
    return {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], force=True).score, 2),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
        "bleu_tutorial_norm": round(
            sacrebleu.corpus_bleu(_tutorial_norm(hypotheses), [_tutorial_norm(references)],
                                  tokenize="none", force=True).score,
            2,
        ),
    }
