"""Forgetting by position: which source words make it into the translation, by where they
stand, with and without attention.

The three GRU encoder-decoders of ``why_attention.py`` (with attention; without, at the same
budget; without, trained to its own convergence; trained once and reused) translate the same
sentences. Each Spanish word is followed to the English word it stands for, through a
dictionary read off the training pairs: for each Spanish word seen at least ``--min-count``
times, the English word with the highest Dice coefficient over the sentences (how often the
two occur in the same pair, against how often each occurs), kept when that coefficient is at
least 0.5 and the English word is in fewer than 5% of the sentences (a content word, not
"the" or "I"). A source word is tested where it occurs once in its sentence and its English
word once in the reference; it *made it* when that English word is in the translation.

Recall (words that made it / words tested) by the word's position in its sentence, with a
95% bootstrap interval over sentences: by absolute position on the longest test sentences,
by thirds of the sentence on every length set (``why_attention.py``'s sets).

    python bench/experiments/forgetting.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/forgetting.py --quick      # seconds, generated data
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import lab

THIRDS = ("first third", "middle third", "last third")


def words_of(text: str) -> list[str]:
    """The sentence's words, lower-cased, punctuation dropped; one per whitespace token
    (its first run of letters or digits; a token with none, e.g. "¿", counts as a place
    with no word, ``""``)."""
    out = []
    for token in text.split():
        found = re.search(r"\w+", token.lower())
        out.append(found.group() if found else "")
    return out


def dictionary(spanish: Sequence[str], english: Sequence[str], min_count: int = 20,
               min_dice: float = 0.5, max_share: float = 0.05) -> dict[str, tuple[str, float]]:
    """``{spanish word: (english word, dice)}``: each Spanish word's most associated English
    word over the pairs (Dice: 2 c(s, e) / (c(s) + c(e)), counts of sentences), for Spanish
    words in at least ``min_count`` pairs, kept when the Dice is at least ``min_dice`` and
    the English word is in at most ``max_share`` of the pairs (of equals, the first in
    alphabetical order)."""
    count_es, count_en, together = Counter(), Counter(), Counter()
    for es, en in zip(spanish, english, strict=True):
        seen_es = set(words_of(es)) - {""}
        seen_en = set(re.findall(r"\w+", en.lower()))
        count_es.update(seen_es)
        count_en.update(seen_en)
        together.update((s, e) for s in seen_es for e in seen_en)
    best: dict[str, tuple[str, float]] = {}
    for (s, e), both in together.items():
        if count_es[s] < min_count or count_en[e] > max_share * len(spanish):
            continue
        dice = 2 * both / (count_es[s] + count_en[e])
        held, held_dice = best.get(s, ("", 0.0))
        if dice >= min_dice and (dice, held) > (held_dice, e):  # ties: the first in A-Z
            best[s] = (e, dice)
    return best


def tested_words(source: str, reference: str, hypothesis: str,
                 lexicon: dict[str, tuple[str, float]]) -> list[tuple[int, int, bool]]:
    """``(position, length, made it)`` for each word of ``source`` that can be followed:
    in the dictionary, once in the source, its English word once in the reference.
    Positions count from 1 over the source's whitespace tokens (``length`` of them)."""
    spanish = words_of(source)
    in_source = Counter(spanish)
    in_reference = Counter(re.findall(r"\w+", reference.lower()))
    translated = set(re.findall(r"\w+", hypothesis.lower()))
    out = []
    for position, word in enumerate(spanish, start=1):
        if word in lexicon and in_source[word] == 1:
            english = lexicon[word][0]
            if in_reference[english] == 1:
                out.append((position, len(spanish), english in translated))
    return out


def third(position: int, length: int) -> int:
    """0, 1 or 2: which third of a ``length``-token sentence ``position`` (from 1) is in."""
    return min(2, 3 * (position - 1) // length)


def recall(per_sentence: Sequence[tuple[int, int]], resamples: int = 500,
           seed: int = 0) -> dict:
    """Words made it over words tested, summed over sentences (``(made it, tested)`` each),
    with a 95% bootstrap interval over sentences."""
    per_sentence = [p for p in per_sentence if p[1]]
    tested = sum(t for _, t in per_sentence)
    if not tested:
        return {"recall": float("nan"), "recall_low": float("nan"),
                "recall_high": float("nan"), "words": 0}
    value = sum(h for h, _ in per_sentence) / tested
    rng = random.Random(seed)
    samples = []
    for _ in range(resamples):
        picked = [per_sentence[rng.randrange(len(per_sentence))] for _ in per_sentence]
        samples.append(sum(h for h, _ in picked) / max(sum(t for _, t in picked), 1))
    samples.sort()
    return {"recall": round(value, 4), "recall_low": round(samples[int(0.025 * resamples)], 4),
            "recall_high": round(samples[int(0.975 * resamples) - 1], 4), "words": tested}


def by_group(tested: Sequence[list[tuple[int, int, bool]]], group, seed: int) -> dict:
    """Recall with its interval for each value of ``group(position, length)``."""
    groups = sorted({group(p, n) for words in tested for p, n, _ in words})
    return {g: recall([(sum(hit for p, n, hit in words if group(p, n) == g),
                        sum(1 for p, n, _ in words if group(p, n) == g)) for words in tested],
                      seed=seed)
            for g in groups}


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--converged-epochs", type=int, default=None,
                        help="most epochs of the converged no-attention model (100; 2 with "
                        "--quick), as in why_attention.py")
    parser.add_argument("--min-count", type=int, default=None,
                        help="fewest pairs a Spanish word is in to enter the dictionary (20; "
                        "3 with --quick)")
    args = lab.parse(parser, argv)
    args.converged_epochs = args.converged_epochs or (2 if args.quick else 100)
    min_count = args.min_count or (3 if args.quick else 20)
    from why_attention import gru_runs

    from common.data.corpus import corpus_of
    from common.evaluation import translate_all
    from nmt_attention.runs import load_translator

    runs, pairs, base = gru_runs(args, converged=True)
    seed = args.seeds[0]
    corpus = corpus_of(base)
    lexicon = dictionary(*corpus.part("train"), min_count=min_count)
    test_es, test_en = corpus.part("test")
    sets = pairs.length_sets(test_es, test_en, args.per_bucket, seed)
    longest = sets[2]  # the longest lengths the models trained on
    thirds = {}  # (set, model) -> {third: recall}
    lengths = {}  # (set, model) -> translation words / reference words
    positions = {}  # model -> {position: recall} on the longest trained lengths
    for name, run in runs.items():
        translator = load_translator(run)
        for set_name, sources, references in sets:
            hypotheses = translate_all(translator, sources)
            tested = [tested_words(s, r, h, lexicon)
                      for s, r, h in zip(sources, references, hypotheses, strict=True)]
            thirds[set_name, name] = by_group(tested, third, seed)
            lengths[set_name, name] = (sum(len(re.findall(r"\w+", h)) for h in hypotheses)
                                       / max(1, sum(len(re.findall(r"\w+", r))
                                                    for r in references)))
            lab.emit({"experiment": "forgetting", "model": name, "set": set_name,
                      "length_ratio": round(lengths[set_name, name], 3)})
            for index, row in thirds[set_name, name].items():
                lab.emit({"experiment": "forgetting", "model": name, "set": set_name,
                          "part": THIRDS[index], **row})
            if set_name == longest[0]:
                positions[name] = by_group(tested, lambda p, n: p, seed)
    _write(Path(args.out), lexicon, sets, thirds, lengths, positions, longest[0], seed)
    return 0


def _figure(sets, thirds, positions, longest):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    models = list(positions)
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for offset, name in zip((-0.15, 0.0, 0.15), models, strict=False):
        rows = positions[name]
        x = [p for p in rows if rows[p]["words"] >= 20]
        left.errorbar([p + offset for p in x], [100 * rows[p]["recall"] for p in x],
                      yerr=[[100 * (rows[p]["recall"] - rows[p]["recall_low"]) for p in x],
                            [100 * (rows[p]["recall_high"] - rows[p]["recall"]) for p in x]],
                      marker="o", capsize=2, label=name)
    left.set_xticks(sorted({p for rows in positions.values() for p in rows}))
    left.set_xlabel(f"position of the Spanish word in its sentence ({longest} words)")
    left.set_ylabel("% of source words whose English word\nis in the translation (95% interval)")
    left.set_title(f"Which words make it, by position: test sentences of {longest} words")
    left.grid(axis="y", alpha=0.3)
    left.legend(loc="lower left")
    names = [set_name for set_name, _, _ in sets]
    width = 0.8 / (3 * len(models))
    for m, name in enumerate(models):
        for t in range(3):
            values = [100 * thirds[s, name].get(t, {"recall": float("nan")})["recall"]
                      for s in names]
            right.bar([i + (3 * m + t - (3 * len(models) - 1) / 2) * width
                       for i in range(len(names))], values, width,
                      color=f"C{m}", alpha=(1.0, 0.7, 0.45)[t])
    right.set_xticks(range(len(names)), names, rotation=20)
    right.set_xlabel("source words (shaded: longer than any training sentence)\n"
                     "each model's three bars: first, middle, last third, dark to light")
    right.set_ylabel("% of words that made it")
    right.set_title("By thirds of the sentence, every length")
    right.grid(axis="y", alpha=0.3)
    from matplotlib.patches import Patch

    right.legend(handles=[Patch(color=f"C{m}", label=name) for m, name in enumerate(models)],
                 loc="upper right")
    right.axvspan(2.5, len(names) - 0.5, color="0.9", zorder=0)
    right.set_ylim(0, 119)
    return fig


def _cell(row: dict) -> str:
    if not row["words"]:
        return "-"
    return (f"{100 * row['recall']:.1f} [{100 * row['recall_low']:.1f}, "
            f"{100 * row['recall_high']:.1f}] ({row['words']})")


def _write(out, lexicon, sets, thirds, lengths, positions, longest, seed):
    from common.plotting import save_figure

    models = list(positions)
    save_figure(_figure(sets, thirds, positions, longest), out / "forgetting.png")
    names = [set_name for set_name, _, _ in sets]
    third_rows = [[s, THIRDS[t], *[_cell(thirds[s, m].get(t, {"words": 0})) for m in models]]
                  for s in names for t in range(3)]
    all_positions = sorted({p for rows in positions.values() for p in rows})
    position_rows = [[p, *[_cell(positions[m].get(p, {"words": 0})) for m in models]]
                     for p in all_positions]
    sample = sorted(lexicon.items(), key=lambda item: -item[1][1])
    examples = ", ".join(f"{s} → {e}" for s, (e, _) in random.Random(seed).sample(
        sample, min(12, len(sample))))
    body = (
        "The three GRU encoder-decoders of [why attention](why_attention.md) (trained once, "
        "reused) translate the same test sentences greedily. Each Spanish word is followed to "
        "its English word through a dictionary read off the training pairs (Dice "
        f"coefficient over sentences, at least 0.5; {len(lexicon)} Spanish words, e.g. "
        f"{examples}). A word is tested where it occurs once in the source and its English "
        "word once in the reference; it made it when that English word is in the "
        "translation. Cells: % of tested words that made it, 95% bootstrap interval over "
        f"sentences, (words tested). {lab.BUCKETS_NOTE}\n\n"
        f"## By position, test sentences of {longest} words\n\n"
        + lab.markdown_table(["position", *models], position_rows)
        + "\n![Recall by source position](forgetting.png)\n\n"
        "## By thirds of the sentence, every length\n\n"
        + lab.markdown_table(["source words", "part", *models], third_rows)
        + "\n## How long the translations are\n\nWords in the translations over words in the "
        "references, each set:\n\n"
        + lab.markdown_table(["source words", *models],
                             [[s, *[f"{lengths[s, m]:.2f}" for m in models]] for s in names]))
    page = lab.results_page(out, "forgetting",
                            "Forgetting by position: which source words make it into the "
                            "translation", body, [seed])
    print(page)


if __name__ == "__main__":
    raise SystemExit(main())
