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

``--task marked``: contrary evidence. Each input holds three key phrases, each at its own
sentence boundary, of random labels; in one of them the marker word "notice" stands right
before the noun, and the label is that phrase's. The other two are evidence a mean pools in
and [CLS] can ignore. Counting person against animal words (the majority of the three) is
right 75% of the time, the yardstick a model that cannot find the marked phrase reaches. It writes
``pooling_marked.md`` and ``.png``.

    python bench/experiments/pooling_length.py --filler ../shared/data/spa-eng/spa_train.txt \\
        --seeds 0 1 2
    python bench/experiments/pooling_length.py --filler ../shared/data/spa-eng/spa_train.txt \
        --task marked --seeds 0 1 2
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
MARKER = "notice"
TASKS = ("single", "marked")


def _phrase(rng: random.Random, label: int, marked: bool = False) -> str:
    """A key phrase; ``marked``: the marker word right before its noun."""
    from common.data.classification import ADJECTIVES, ANIMALS, PEOPLE, PLACES

    noun = rng.choice(PEOPLE if label else ANIMALS)
    adjective = f"{rng.choice(ADJECTIVES)} " if rng.random() < 0.5 else ""
    marker = f"{MARKER} " if marked else ""
    return f"the {adjective}{marker}{noun} {rng.choice(PLACES)}"


def labeled_sentences(args) -> tuple[list[list[str]], list[int]]:
    """``--examples`` inputs, each a list of key phrases, and their labels (1: a person, 0:
    an animal), balanced. ``single``: one phrase; ``marked``: three of random labels, the
    label that of the one after the marker word."""
    rng = random.Random(0)
    texts, labels = [], []
    for index in range(args.examples):
        label = index % 2
        if args.task == "single":
            texts.append([_phrase(rng, label)])
        else:
            others = [_phrase(rng, rng.randrange(2)) for _ in range(2)]
            phrases = [_phrase(rng, label, marked=True), *others]
            rng.shuffle(phrases)
            texts.append(phrases)
        labels.append(label)
    return texts, labels


def majority_accuracy(texts: list[list[str]], labels: list[int]) -> float:
    """How often the majority of the phrases' labels (person words against animal words)
    is the label: what a model that cannot tell which phrase is marked can reach."""
    from common.data.classification import PEOPLE

    people = set(PEOPLE)
    right = 0
    for phrases, label in zip(texts, labels, strict=True):
        votes = [int(any(w in people for w in p.split())) for p in phrases]
        right += int(2 * sum(votes) > len(votes)) == label
    return right / len(labels)


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
    task_words = ({w for t in texts for p in t for w in p.split()} | set(PEOPLE)
                  | set(ANIMALS) | {MARKER}) - FUNCTION_WORDS
    cleaned = [re.sub(r"[^a-z' ]+", " ", e.lower()).split() for e in english]
    return [words for words in cleaned if words and not task_words & set(words)]


def padded(texts, filler, length: int, seed: int) -> list[str]:
    """Each text (a string, or a list of phrases) hidden among filler sentences: ``length``
    - 1 tokens in all (room for [CLS]); each phrase whole, at a random sentence boundary,
    the phrases in their order."""
    rng = random.Random(seed)
    out = []
    for text in texts:
        phrases = [p.split() for p in ([text] if isinstance(text, str) else text)]
        room = length - 1 - sum(len(p) for p in phrases)
        if room < 0:
            raise ValueError(f"{length} tokens cannot hold {text!r}")
        sentences = []
        while room > 0:
            sentence = rng.choice(filler)[:room]
            sentences.append(sentence)
            room -= len(sentence)
        # The phrases go between filler sentences at random boundaries, in order.
        slots = sorted(rng.randrange(len(sentences) + 1) for _ in phrases)
        pieces, taken = [], 0
        for slot, phrase in zip(slots, phrases, strict=True):
            pieces += sentences[taken:slot] + [phrase]
            taken = slot
        pieces += sentences[taken:]
        out.append(" ".join(sum(pieces, [])))
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
    parser.add_argument("--task", choices=TASKS, default="single",
                        help="single: one key phrase; marked: three, the label the marked "
                        "one's (contrary evidence)")
    parser.set_defaults(epochs=12)
    args = lab.parse(parser, argv)
    if not args.quick and not args.filler:
        raise SystemExit("the full setting needs --filler PATH (English<TAB>Spanish pairs)")
    args.examples = args.examples or (300 if args.quick else 2000)
    shortest = 16 if args.task == "single" else 32  # three phrases need about 20 tokens
    args.lengths = args.lengths or ([shortest, 48] if args.quick else
                                    [n for n in LENGTHS if n >= shortest])
    from classify.config import TextConfig
    from classify.evaluate import evaluate
    from classify.runs import load_run
    from classify.train import train
    from common.files import atomic_write_text

    work = lab.work_folder(args, "pooling" if args.task == "single" else "pooling-marked")
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
                       "test_accuracy": round(metrics["test_accuracy"], 4),
                       "epochs_to_95": first_epoch_past(run, 0.95)}
                results.append(row)
                lab.emit({"experiment": "pooling_length", **row})
    _write(Path(args.out), results, args,
           majority_accuracy(texts, labels) if args.task == "marked" else None)
    return 0


def first_epoch_past(run: Path, accuracy: float) -> int | None:
    """The first epoch whose validation accuracy reached ``accuracy`` (None: never): how
    fast a model learned, where several end at the same test accuracy."""
    from common.run_folder import RunFolder

    values = RunFolder(run).history().get("val_accuracy", [])
    return next((epoch for epoch, value in enumerate(values, 1) if value >= accuracy), None)


def _interval(values: list[float]) -> tuple[float, float]:
    """The mean's 95% interval over seeds (Student's t); the mean itself with one seed."""
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return max(mean - half, 0.0), min(mean + half, 1.0)  # an accuracy stays in [0, 1]


def _write(out, results, args, majority: float | None = None):
    from matplotlib.figure import Figure

    from common.plotting import save_figure

    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    table = []
    for pooling in POOLINGS:
        means, low, high = [], [], []
        for length in args.lengths:
            values = [r["test_accuracy"] for r in results
                      if r["pooling"] == pooling and r["length"] == length]
            mean, (lo, hi) = statistics.fmean(values), _interval(values)
            means.append(mean)
            low.append(mean - lo)
            high.append(hi - mean)
            epochs = [r["epochs_to_95"] for r in results
                      if r["pooling"] == pooling and r["length"] == length]
            table.append([length, pooling, f"{mean:.3f}", f"[{lo:.3f}, {hi:.3f}]",
                          ", ".join(f"{v:.3f}" for v in values),
                          ", ".join("never" if e is None else str(e) for e in epochs)])
        shift = 0.99 if pooling == "cls" else 1.01  # side by side, on the log axis
        bars = ax.errorbar([n * shift for n in args.lengths], means, yerr=[low, high],
                           marker="o", capsize=3, label=f"{pooling} pooling, mean")
        seeds = [(r["length"] * shift, r["test_accuracy"]) for r in results
                 if r["pooling"] == pooling]
        ax.scatter(*zip(*seeds, strict=True), s=14, alpha=0.5, color=bars[0].get_color(),
                   label=f"{pooling} pooling, each seed")
    ax.set_xscale("log", base=2)
    ax.set_xticks(args.lengths, [str(n) for n in args.lengths])
    ax.axhline(0.5, color="0.5", linestyle=":", label="chance")
    if majority is not None:
        ax.axhline(majority, color="tab:red", linestyle="--",
                   label=f"majority of the phrases ({majority:.2f})")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("input length, tokens (the phrases plus neutral filler)")
    ax.set_ylabel("test accuracy (mean, 95% interval over seeds)")
    ax.set_title("[CLS] vs mean pooling as inputs grow"
                 + (": the marked phrase among three" if args.task == "marked" else ""))
    ax.legend(fontsize=8)
    name = "pooling_length" if args.task == "single" else "pooling_marked"
    save_figure(fig, out / f"{name}.png")
    filler = "generated English" if args.quick else "English sentences of the spa-eng pairs"
    if args.task == "single":
        what = (f"{args.examples} key phrases (a person or an animal somewhere; label: which), "
                "each hidden")
        title = "[CLS] vs mean pooling by input length"
    else:
        what = (f"{args.examples} inputs of three key phrases each (a person or an animal "
                f"somewhere, labels drawn at random), one of them with the marker word "
                f"\"{MARKER}\" right before its noun (label: the marked phrase's), each "
                "phrase hidden at its own sentence boundary")
        title = "[CLS] vs mean pooling with contrary evidence: the marked phrase among three"
    body = (f"{what} among neutral filler sentences ({filler} that use none of the "
            "phrases' words) up to the input length; split 70/10/20; each seed draws its own "
            "split and weights; early stopping on validation loss (patience 4). The interval "
            "is the mean's over seeds (Student's t, 95%).\n\n"
            + (f"The majority of the three phrases' labels is the answer for {majority:.3f} "
               "of the inputs: what a model reaches that counts people against animals "
               "without finding the marked phrase.\n\n" if majority is not None else "")
            + lab.markdown_table(["tokens", "pooling", "test accuracy, mean",
                                  "95% interval", "each seed",
                                  "first epoch at 0.95 validation accuracy, each seed"],
                                 table)
            + f"\n![accuracy by input length]({name}.png)\n")
    print(lab.results_page(out, name, title, body, args.seeds))


if __name__ == "__main__":
    raise SystemExit(main())
