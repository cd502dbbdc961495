"""Scoring translations: sacreBLEU's BLEU and chrF, and BLEU under the tutorial's
normalization (hypothesis and reference both standardized the tutorial's way first)."""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu
import tensorflow as tf

from common.text import standardize

__all__ = ["bleu_scores", "translate_all"]


def translate_all(
    translator, texts: Sequence[str], batch_size: int = 64, beam_width: int = 1
) -> list[str]:
    """Translates in batches of similar length (less padding), returned in input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[str] = [""] * len(texts)
    for begin in range(0, len(order), batch_size):
        chunk = order[begin : begin + batch_size]
        translated = translator.translate([texts[i] for i in chunk], beam_width=beam_width)
        for index, text in zip(chunk, translated, strict=True):
            out[index] = text
    return out


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
