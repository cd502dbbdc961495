"""Scoring translations: sacreBLEU's BLEU and chrF, and BLEU under the tutorial's
normalization (hypothesis and reference both standardized the tutorial's way first)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence

import sacrebleu
import tensorflow as tf
from sacrebleu.metrics import BLEU

from common.files import atomic_write_text
from common.inputs import batches_side_by_side
from common.text import standardize

__all__ = ["bleu_of", "bleu_scores", "sentence_bleu_statistics", "to_stderr", "translate_all",
           "tutorial_norm", "write_evaluation"]


def translate_all(translator, texts: Sequence[str], batch_size: int = 64, beam_width: int = 1,
                  progress: Callable[[str], None] | None = None) -> list[str]:
    """Translates in batches of similar length (less padding), side by side on the cores
    (:func:`common.decoding.batches_side_by_side`); returned in input order.

    ``progress`` (e.g. a print to stderr) hears how far it is, about every 10%."""
    out: list[str] = [""] * len(texts)
    started, reported, done = time.perf_counter(), 0, 0
    for chunk, translated in batches_side_by_side(
            texts, [len(t) for t in texts], batch_size,
            lambda batch: translator.translate(batch, beam_width=beam_width)):
        for index, text in zip(chunk, translated, strict=True):
            out[index] = text
        done += len(chunk)
        if progress is not None and (done - reported >= len(texts) / 10 or done == len(texts)):
            reported = done
            decoding = "greedy" if beam_width == 1 else f"beam {beam_width}"
            progress(f"translated {done}/{len(texts)} ({decoding}, "
                     f"{time.perf_counter() - started:.0f} s)")
    return out


def write_evaluation(run, metrics_name: str, metrics: dict, sources: Sequence[str],
                     references: Sequence[str], hypotheses: dict[str, Sequence[str]],
                     tag: str = "") -> None:
    """Writes ``RUN/metrics_name`` (the metrics as JSON) and ``RUN/translations.tsv`` (a
    row a sentence: source, reference, then one column per decoding in ``hypotheses``) in
    ``run``, a :class:`~common.run_folder.RunFolder`. Metrics of a split other than test
    (``metrics["split"]``) go to names that say it: ``metrics-validation.json``,
    ``translations-validation.tsv``; so do those ``tag`` names (another engine's:
    ``metrics-ctranslate2.json``)."""
    split = metrics.get("split", "test")
    suffix = ("" if split == "test" else f"-{split}") + (f"-{tag}" if tag else "")
    metrics_name = metrics_name.replace(".json", f"{suffix}.json")
    atomic_write_text(run / metrics_name, json.dumps(metrics, indent=2) + "\n")
    lines = ["\t".join(["source", "reference", *hypotheses])]
    lines += ["\t".join(row) for row in zip(sources, references, *hypotheses.values(),
                                            strict=True)]
    atomic_write_text(run / f"translations{suffix}.tsv", "\n".join(lines) + "\n")


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tutorial_norm(texts: Sequence[str]) -> list[str]:
    """``texts`` as the tutorial compares them: lowercased, accents folded, punctuation
    split off (its ``faithful`` standardization, without [START]/[END])."""
    if not texts:
        return []
    return [t.decode("utf-8") for t in standardize(tf.constant(list(texts)), "faithful").numpy()]


def sentence_bleu_statistics(hypotheses: Sequence[str],
                             references: Sequence[str]) -> list[tuple]:
    """Each sentence's BLEU statistics in the tutorial's normalization: ``(matches,
    totals, hypothesis length, reference length)``, n-grams of 1-4. Summed over any
    subset of sentences they give that subset's corpus BLEU (:func:`bleu_of`): what a
    bootstrap over sentences resamples."""
    metric = BLEU(tokenize="none", effective_order=True)
    scores = [metric.sentence_score(h, [r]) for h, r in
              zip(tutorial_norm(hypotheses), tutorial_norm(references), strict=True)]
    return [(s.counts, s.totals, s.sys_len, s.ref_len) for s in scores]


def bleu_of(statistics: Sequence[tuple]) -> float:
    """Corpus BLEU (as ``sacrebleu.corpus_bleu``) of summed
    :func:`sentence_bleu_statistics`."""
    matches = [sum(column) for column in zip(*[s[0] for s in statistics], strict=True)]
    totals = [sum(column) for column in zip(*[s[1] for s in statistics], strict=True)]
    return BLEU.compute_bleu(matches, totals, sum(s[2] for s in statistics),
                             sum(s[3] for s in statistics), smooth_method="exp").score


def bleu_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    hypotheses, references = list(hypotheses), list(references)
    return {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], force=True).score, 2),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
        "bleu_tutorial_norm": round(
            sacrebleu.corpus_bleu(tutorial_norm(hypotheses), [tutorial_norm(references)],
                                  tokenize="none", force=True).score,
            2,
        ),
    }
