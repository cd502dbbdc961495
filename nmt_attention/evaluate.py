"""Evaluation on the test split: BLEU and chrF (sacrebleu), and alignment accuracy.

Two BLEU figures are reported:

* ``bleu``: sacreBLEU's standard score on the translations as printed (detokenized).
* ``bleu_tutorial_norm``: hypothesis and reference both put through the tutorial's
  standardization first (lowercase, no accents, punctuation split), the normalization under
  which the published tutorial's figures are quoted.

On the generated corpus the true word alignment is known, so the attention weights are
checked too: with the reference as decoder input (teacher forcing), does each English word's
strongest attention fall on the Spanish word it translates?
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from common.data import GeneratedPair, take
from common.data.batching import encode_texts
from common.data.corpus import Corpus, corpus_of
from common.errors import InputError
from common.evaluation import bleu_scores, to_stderr, translate_all, write_evaluation
from common.run_folder import RunFolder
from common.text import tokenize
from nmt_attention.runs import load_run, load_translator
from nmt_attention.translator import Translator

__all__ = ["Evaluation", "alignment_accuracy", "alignment_error_rate", "evaluate",
           "evaluate_run"]


def alignment_error_rate(hits: int, predicted: int, gold: int) -> float:
    """AER (Och and Ney 2003) with every gold link sure: ``1 - 2 |A & G| / (|A| + |G|)``,
    for ``predicted`` links (one per English word: its strongest attention), ``gold`` links
    and ``hits`` predicted links that are gold."""
    return round(1.0 - 2.0 * hits / max(predicted + gold, 1), 4)


def alignment_accuracy(
    translator: Translator, pairs: Sequence[GeneratedPair], batch_size: int = 128
) -> dict[str, float]:
    """Share of English words whose strongest attention lands on an aligned Spanish word,
    and the alignment error rate of those strongest links.

    Teacher forcing: the decoder reads the reference, so every English word has a row of
    attention weights. Pairs whose standardized tokens do not match the generator's (cut by
    ``max_source_words``) are skipped and counted.
    """
    model = translator.model
    mode = translator.source_vocabulary.mode
    hits = {"content": 0, "all": 0}
    totals = {"content": 0, "all": 0}
    gold_links = skipped = 0
    for begin in range(0, len(pairs), batch_size):
        batch = list(pairs[begin : begin + batch_size])
        spanish = [p.spanish for p in batch]
        english = [p.english for p in batch]
        source_words = tokenize(tf.constant(spanish), mode).to_list()
        target_words = tokenize(tf.constant(english), mode).to_list()
        source = encode_texts(translator.source_vocabulary, spanish,
                              translator.max_source_words).to_tensor()
        target = encode_texts(translator.target_vocabulary, english,
                              translator.max_source_words).to_tensor()
        _, weights = model((source, target[:, :-1]), return_attention=True)
        weights = weights.numpy()  # (batch, target_len, source_len)
        for row, pair in enumerate(batch):
            if (len(source_words[row]) != len(pair.spanish_tokens)
                    or len(target_words[row]) != len(pair.english_tokens)):
                skipped += 1
                continue
            for e, is_content in enumerate(pair.content):
                sources = pair.sources_of(e)
                if not sources:
                    continue
                # Row e predicts English word e; source position p is Spanish word p - 1.
                looked_at = int(np.argmax(weights[row, e])) - 1
                hit = looked_at in sources
                hits["all"] += hit
                totals["all"] += 1
                gold_links += len(sources)
                if is_content:
                    hits["content"] += hit
                    totals["content"] += 1
    return {
        "alignment_accuracy_content": round(hits["content"] / max(totals["content"], 1), 4),
        "alignment_accuracy_all": round(hits["all"] / max(totals["all"], 1), 4),
        "alignment_error_rate": alignment_error_rate(hits["all"], totals["all"], gold_links),
        "alignment_words_content": totals["content"],
        "alignment_pairs_skipped": skipped,
    }


@dataclasses.dataclass
class Evaluation:
    metrics: dict
    sources: list[str]
    references: list[str]
    hypotheses: list[str]


def evaluate(translator: Translator, corpus: Corpus, limit: int | None = None,
             beam_width: int = 1, progress: Callable[[str], None] | None = None,
             split: str = "test") -> Evaluation:
    """Translations of the test split (or ``split``; ``limit`` of its pairs, spread over
    it: :meth:`~common.data.corpus.Corpus.indices`), scored;
    greedy, or beam search with ``beam_width`` above 1."""
    spanish, english = corpus.part(split, limit)
    if not spanish:
        raise InputError(f"the {split} split is empty; use more data")
    hypotheses = translate_all(translator, spanish, beam_width=beam_width, progress=progress)
    decoding = "greedy" if beam_width == 1 else f"beam {beam_width}"
    metrics = {"split": split, "sentences": len(spanish), "decoding": decoding}
    metrics.update(bleu_scores(hypotheses, english))
    if corpus.generated is not None and translator.model.use_attention:
        pairs = take(corpus.generated, corpus.indices(split, limit))
        metrics.update(alignment_accuracy(translator, pairs))
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            metrics[key] = None
    return Evaluation(metrics, spanish, english, hypotheses)


def evaluate_run(run_dir: str | os.PathLike, limit: int | None = None, beam_width: int = 1,
                 replace_unknown: bool = False,
                 progress: Callable[[str], None] | None = to_stderr,
                 split: str = "test") -> dict:
    """Evaluates a run on its test split (or ``split``; ``limit`` pairs of it): writes
    ``RUN/metrics.json`` (``metrics-beamN.json`` for beam search, ``-replace-unknown`` with
    unknown-word replacement, ``-validation`` for that split) and ``RUN/translations.tsv``,
    and returns the metrics."""
    run_dir = Path(run_dir)
    config, _, _ = load_run(run_dir)
    result = evaluate(load_translator(run_dir, replace_unknown), corpus_of(config), limit,
                      beam_width, progress, split)
    result.metrics["replace_unknown"] = replace_unknown
    name = "metrics" if beam_width == 1 else f"metrics-beam{beam_width}"
    name += "-replace-unknown.json" if replace_unknown else ".json"
    write_evaluation(RunFolder(run_dir), name, result.metrics, result.sources, result.references,
                     {"translation": result.hypotheses})
    return result.metrics
