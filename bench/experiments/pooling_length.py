"""[CLS] vs mean pooling as inputs grow: is a mean "muddy" for long inputs?

Each example is a short key phrase, a person or an animal somewhere ("the tired farmer near
the river", "the fox on the hill"; label: person or animal), hidden at a random sentence
boundary among neutral filler sentences until the input holds ``L`` tokens, for L from 16
to 256. The answer is one word among L: the setting where the lecture says one [CLS] output
beats the mean of all outputs. The filler is real English, the English side of ``--filler``
(the spa-eng pairs; generated sentences with ``--quick``), lowercased, without punctuation
(one word, one token) and without any sentence that uses a word of the key phrases' people,
animals or places, so it carries no evidence either way. A Transformer classifier (2 layers,
d_model 64, 4 heads) with [CLS] or mean pooling trains until validation loss stops improving
(early stopping, patience 4, at most ``--epochs``), for several seeds (each draws its own
split and weights); test accuracy against L.

    python bench/experiments/pooling_length.py --filler ../shared/data/spa-eng/spa_train.txt \\
        --seeds 0 1 2
    python bench/experiments/pooling_length.py --quick      # seconds, generated filler
"""

from __future__ import annotations

import random
import re
import statistics
from pathlib import Path

import lab

LENGTHS = (16, 32, 64, 128, 256)
POOLINGS = ("cls", "mean")


FUNCTION_WORDS = {"the", "a", "an", "in", "at", "on", "near", "behind"}


def labeled_sentences(args) -> tuple[list[str], list[int]]:
    """``--examples`` key phrases and their labels (1: a person, 0: an animal), balanced."""
    from common.data.classification import ADJECTIVES, ANIMALS, PEOPLE, PLACES

    rng = random.Random(0)
    texts, labels = [], []
    for index in range(args.examples):
        label = index % 2
        noun = rng.choice(PEOPLE if label else ANIMALS)
        adjective = f"{rng.choice(ADJECTIVES)} " if rng.random() < 0.5 else ""
        texts.append(f"the {adjective}{noun} {rng.choice(PLACES)}")
        labels.append(label)
    return texts, labels


def filler_sentences(args, texts) -> list[list[str]]:
    """Neutral sentences as word lists (lowercase, no punctuation), none with a content
    word of ``texts`` or a word of its people and animals."""
    from common.data.classification import ANIMALS, PEOPLE

    if args.quick:
        from common.data.generated import generate_pairs

        english = [p.english for p in generate_pairs(600, seed=1)]
    else:
        from common.data.pairs import load_pairs

        english = load_pairs(args.filler).english
    task_words = ({w for t in texts for w in t.split()} | set(PEOPLE) | set(ANIMALS)
                  ) - FUNCTION_WORDS
    cleaned = [re.sub(r"[^a-z' ]+", " ", e.lower()).split() for e in english]
    return [words for words in cleaned if words and not task_words & set(words)]


def padded(texts, filler, length: int, seed: int) -> list[str]:
    """Each text hidden among filler sentences: ``length`` - 1 tokens in all (room for
    [CLS]); the text whole, at a random sentence boundary."""
    rng = random.Random(seed)
    out = []
    for text in texts:
        words = text.split()[: length - 1]
        room = length - 1 - len(words)
        before, after = [], []
        while room > 0:
            sentence = rng.choice(filler)[:room]
            (before if rng.random() < 0.5 else after).append(sentence)
            room -= len(sentence)
        out.append(" ".join(sum(before, []) + words + sum(after, [])))
    return out


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--filler", metavar="PATH",
                        help="English<TAB>Spanish pairs whose English is the filler")
    parser.add_argument("--examples", type=int, default=None,
                        help="labeled sentences used (2000; 300 with --quick)")
    parser.add_argument("--lengths", type=int, nargs="+",
                        help=f"input lengths, tokens (default {' '.join(map(str, LENGTHS))}; "
                        "16 48 with --quick)")
    parser.set_defaults(epochs=12)
    args = lab.parse(parser, argv)
    if not args.quick and not args.filler:
        raise SystemExit("the full setting needs --filler PATH (English<TAB>Spanish pairs)")
    args.examples = args.examples or (300 if args.quick else 2000)
    args.lengths = args.lengths or ([16, 48] if args.quick else list(LENGTHS))
    from classify.config import TextConfig
    from classify.evaluate import evaluate
    from classify.train import load_run, train
    from common.files import atomic_write_text

    work = lab.work_folder(args, "pooling")
    texts, labels = labeled_sentences(args)
    filler = filler_sentences(args, texts)
    results = []
    for length in args.lengths:
        data = work / f"length-{length}.tsv"
        lines = "sentence\tlabel\n" + "".join(
            f"{t}\t{y}\n" for t, y in zip(padded(texts, filler, length, 0), labels,
                                           strict=True))
        atomic_write_text(data, lines)
        for pooling in POOLINGS:
            for seed in args.seeds:
                if args.quick:
                    config = TextConfig.tiny().replace(epochs=1)
                else:
                    config = TextConfig(epochs=args.epochs, patience=4, warmup_fraction=0.05,
                                        vocabulary_size=8000)
                config = config.replace(data=str(data), sequence_length=length,
                                        pooling=pooling, seed=seed)
                run = lab.trained(work / f"{length}-{pooling}-seed{seed}", train, config,
                                  lambda m: None)
                metrics = evaluate(load_run(run))
                row = {"length": length, "pooling": pooling, "seed": seed,
                       "test_accuracy": round(metrics["test_accuracy"], 4)}
                results.append(row)
                lab.emit({"experiment": "pooling_length", **row})
    _write(Path(args.out), results, args)
    return 0


def _write(out, results, args):
    from matplotlib.figure import Figure

    from common.plotting import save_figure

    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    table = []
    for pooling in POOLINGS:
        means, spreads = [], []
        for length in args.lengths:
            values = [r["test_accuracy"] for r in results
                      if r["pooling"] == pooling and r["length"] == length]
            mean = statistics.fmean(values)
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            means.append(mean)
            spreads.append(spread)
            table.append([length, pooling, f"{mean:.3f} ± {spread:.3f}",
                          f"{min(values):.3f}", f"{max(values):.3f}", len(values)])
        ax.errorbar(args.lengths, means, yerr=spreads, marker="o", capsize=3,
                    label=f"{pooling} pooling")
    ax.set_xscale("log", base=2)
    ax.set_xticks(args.lengths, [str(n) for n in args.lengths])
    ax.axhline(0.5, color="0.5", linestyle=":", label="chance")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("input length, tokens (the sentence plus neutral filler)")
    ax.set_ylabel("test accuracy (mean ± std over seeds)")
    ax.set_title("[CLS] vs mean pooling as inputs grow")
    ax.legend()
    save_figure(fig, out / "pooling_length.png")
    filler = "generated English" if args.quick else "English sentences of the spa-eng pairs"
    body = (f"{args.examples} key phrases (a person or an animal somewhere; label: which), "
            f"each hidden among neutral filler sentences ({filler} that use none of the "
            "phrases' words) up to the input length; split 70/10/20; each seed draws its own "
            "split and weights; early stopping on validation loss (patience 4).\n\n"
            + lab.markdown_table(["tokens", "pooling", "test accuracy, mean ± std", "min",
                                  "max", "seeds"], table)
            + "\n![accuracy by input length](pooling_length.png)\n")
    print(lab.results_page(out, "pooling_length", "[CLS] vs mean pooling by input length",
                           body, args.seeds))


if __name__ == "__main__":
    raise SystemExit(main())
