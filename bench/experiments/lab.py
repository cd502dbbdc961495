"""What the lecture-claim experiments share: their command line, data by length, BLEU with a
bootstrap interval, runs trained once and reused, and the results page each one writes.

Every experiment is one script, ``python bench/experiments/NAME.py``, with a ``--quick``
setting (generated data, tiny models: seconds, what the tests run) and a full one (real data
passed with ``--data``). It prints one JSON line a result and writes ``OUT/NAME.md`` (its
table, the date, the machine, the command and the seeds) and ``OUT/NAME.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import random
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.data.generated import generate_pairs  # noqa: E402
from common.data.pairs import load_pairs  # noqa: E402
from common.files import atomic_write_text  # noqa: E402
from common.machine import machine_description  # noqa: E402

__all__ = ["Bucket", "LengthSplit", "bleu_with_interval", "bucket_figure", "bucket_of",
           "t_interval",
           "emit", "experiment_parser", "markdown_table", "paired_difference",
           "pairs_file", "results_page", "score_by_length", "trained", "work_folder", "write_tsv"]


def experiment_parser(description: str) -> argparse.ArgumentParser:
    """The options every experiment takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="generated data and tiny models: seconds (what the tests run)")
    parser.add_argument("--data", metavar="PATH",
                        help="English<TAB>Spanish pairs (the full setting needs real data)")
    parser.add_argument("--work", metavar="DIR",
                        help="where runs are trained, each experiment's in a folder of its "
                        "own (reused when there); default: runs/experiments, a temporary "
                        "folder with --quick")
    parser.add_argument("--out", metavar="DIR", default="docs/experiments",
                        help="where the page and figure go (default: docs/experiments)")
    parser.add_argument("--epochs", type=int, default=24,
                        help="training budget of each model in the full setting, in epochs "
                        "of the preset's steps (the same for every model compared)")
    parser.add_argument("--max-words", type=int, default=15,
                        help="longest training source, in words (default 15; 7 with --quick)")
    parser.add_argument("--per-bucket", type=int,
                        help="most sentences scored a length bucket (1500; 16 with --quick)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="N")
    return parser


def parse(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.per_bucket is None:
        args.per_bucket = 16 if args.quick else 1500
    return args


def work_folder(args, name: str) -> Path:
    if args.work:
        return Path(args.work) / name
    if args.quick:
        return Path(tempfile.mkdtemp(prefix=f"{name}-"))
    return ROOT / "runs" / "experiments" / name


def pairs_file(args) -> tuple[list[str], list[str]]:
    """(spanish, english) of ``--data``, or of a generated corpus with ``--quick``."""
    if args.data:
        loaded = load_pairs(args.data)
        return loaded.spanish, loaded.english
    if not args.quick:
        raise SystemExit("the full setting needs --data PATH (English<TAB>Spanish pairs)")
    pairs = generate_pairs(1200, seed=0)
    return [p.spanish for p in pairs], [p.english for p in pairs]


def write_tsv(path: Path, spanish: Sequence[str], english: Sequence[str]) -> Path:
    """Pairs in the spa.txt layout (English<TAB>Spanish), for a run's ``data``."""
    atomic_write_text(path, "".join(f"{e}\t{s}\n" for s, e in zip(spanish, english,
                                                                   strict=True)))
    return path


def words(text: str) -> int:
    return len(text.split())


class Bucket:
    """A source-length range, inclusive; ``high`` None: no upper end."""

    def __init__(self, low: int, high: int | None, note: str = ""):
        self.low, self.high, self.note = low, high, note

    @property
    def name(self) -> str:
        span = f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"
        return f"{span} {self.note}".strip()

    def holds(self, length: int) -> bool:
        return length >= self.low and (self.high is None or length <= self.high)


def bucket_of(buckets: Sequence[Bucket], spanish: Sequence[str]) -> list[list[int]]:
    """For each bucket, the indices of the sentences whose word count it holds."""
    return [[i for i, s in enumerate(spanish) if b.holds(words(s))] for b in buckets]


@dataclasses.dataclass
class LengthSplit:
    """The pairs of ``--data`` split by source length: ``data``, a file of the pairs of at
    most ``cut`` words (what the models train on), and the longer ones, held out."""

    cut: int
    data: Path
    long_spanish: list[str]
    long_english: list[str]

    @classmethod
    def of(cls, args, work: Path) -> LengthSplit:
        spanish, english = pairs_file(args)
        cut = 7 if args.quick and args.max_words == 15 else args.max_words
        short = [i for i, s in enumerate(spanish) if words(s) <= cut]
        longer = [i for i, s in enumerate(spanish) if words(s) > cut]
        data = write_tsv(work / f"pairs-up-to-{cut}-words.txt", [spanish[i] for i in short],
                         [english[i] for i in short])
        return cls(cut, data, [spanish[i] for i in longer], [english[i] for i in longer])

    def length_sets(self, test_es, test_en, per_bucket: int, seed: int) -> list[tuple]:
        """``(name, spanish, english)`` sets: the test split in three length buckets up to
        ``cut``, the held-out longer pairs, and test sentences joined into two lengths past
        ``cut`` (at most ``per_bucket`` sentences each). The last three hold only lengths no
        training sentence had."""
        cut = self.cut
        thirds = [round(cut / 3), round(2 * cut / 3), cut]
        seen = [Bucket(1, thirds[0]), Bucket(thirds[0] + 1, thirds[1]),
                Bucket(thirds[1] + 1, cut)]
        sets = []
        for bucket, indices in zip(seen, bucket_of(seen, test_es), strict=True):
            indices = indices[:per_bucket]
            sets.append((bucket.name, [test_es[i] for i in indices],
                         [test_en[i] for i in indices]))
        sets.append((f"{cut + 1}+ real", self.long_spanish[:per_bucket],
                     self.long_english[:per_bucket]))
        middle = round(1.7 * cut)
        for low, high in ((cut + 1, middle), (middle + 1, round(2.7 * cut))):
            made = joined(test_es, test_en, low, high, min(300, per_bucket), seed)
            sets.append((f"{low}-{high} joined", *made))
        return sets


def joined(spanish, english, low: int, high: int, count: int, seed: int):
    """``count`` pairs of ``low``-``high`` source words, each made of pairs joined."""
    rng = random.Random(seed)
    made_es, made_en = [], []
    for _ in range(50 * count):
        if len(made_es) == count:
            break
        parts = []
        while sum(words(spanish[i]) for i in parts) < low:
            parts.append(rng.randrange(len(spanish)))
        if sum(words(spanish[i]) for i in parts) <= high:
            made_es.append(" ".join(spanish[i] for i in parts))
            made_en.append(" ".join(english[i] for i in parts))
    return made_es, made_en


def score_by_length(translators: dict, sets: Sequence[tuple], label: dict,
                    seed: int) -> dict[str, list[dict]]:
    """For each named translator, BLEU with its interval on each ``(name, spanish,
    english)`` set; every row is also printed as a JSON line with ``label`` and the name
    (under ``label["name"]``)."""
    from common.evaluation import translate_all

    results: dict[str, list[dict]] = {}
    for name, translator in translators.items():
        results[name] = []
        for bucket, sources, references in sets:
            row = {"bucket": bucket, **bleu_with_interval(
                translate_all(translator, sources), references, seed=seed)}
            results[name].append(row)
            emit({"experiment": label["experiment"], label["name"]: name, **row})
    return results


def bleu_with_interval(hypotheses: Sequence[str], references: Sequence[str],
                       resamples: int = 300, seed: int = 0) -> dict:
    """BLEU in the tutorial's normalization with a 95% bootstrap interval over sentences
    (resampled with replacement; Koehn 2004; none with ``resamples`` 0), and chrF."""
    from common.evaluation import bleu_of, bleu_scores, sentence_bleu_statistics

    scores = bleu_scores(hypotheses, references)
    result = {"bleu": scores["bleu_tutorial_norm"], "chrf": scores["chrf"]}
    if resamples:
        stats = sentence_bleu_statistics(hypotheses, references)
        rng = random.Random(seed)
        samples = sorted(bleu_of([stats[rng.randrange(len(stats))] for _ in stats])
                         for _ in range(resamples))
        result.update(bleu_low=round(samples[int(0.025 * resamples)], 2),
                      bleu_high=round(samples[int(0.975 * resamples) - 1], 2))
    return {**result, "sentences": len(hypotheses)}


def paired_difference(hypotheses_a: Sequence[str], hypotheses_b: Sequence[str],
                      references: Sequence[str], resamples: int = 300, seed: int = 0) -> dict:
    """BLEU(b) - BLEU(a) (tutorial normalization) with a 95% paired bootstrap interval: both
    systems scored on the same resampled sentences each time (Koehn 2004)."""
    from common.evaluation import bleu_of, sentence_bleu_statistics

    stats_a = sentence_bleu_statistics(hypotheses_a, references)
    stats_b = sentence_bleu_statistics(hypotheses_b, references)

    def difference(picked):
        return bleu_of([stats_b[i] for i in picked]) - bleu_of([stats_a[i] for i in picked])

    rng = random.Random(seed)
    differences = sorted(difference([rng.randrange(len(stats_a)) for _ in stats_a])
                         for _ in range(resamples))
    return {"difference": round(difference(range(len(stats_a))), 2),
            "difference_low": round(differences[int(0.025 * resamples)], 2),
            "difference_high": round(differences[int(0.975 * resamples) - 1], 2)}


# Student's t, 95% two-sided, by degrees of freedom (seeds - 1).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}


def t_interval(values) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval over seeds (nan for one value)."""
    import math

    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, T_975[len(values) - 1] * std / math.sqrt(len(values))


def trained(run_dir: Path, train: Callable, config, log: Callable[[str], None]) -> Path:
    """``run_dir`` trained with ``train(config, run_dir, ...)``: a finished run is reused,
    an interrupted one resumed."""
    done = run_dir / "experiment-trained"
    if done.exists():
        log(f"reusing {run_dir}")
        return run_dir
    log(f"training {run_dir} ...")
    from common.run_folder import RunFolder

    resume = RunFolder(run_dir).config_path.exists()
    train(config, run_dir, resume=resume, verbose=0, log=log)
    atomic_write_text(done, "")
    return run_dir


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def results_page(out: Path, name: str, title: str, body: str, seeds: Sequence[int]) -> Path:
    """Writes ``out/name.md``: the title, when and where it ran, the command, the seeds, and
    ``body`` (the tables and the figure)."""
    command = "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    header = (f"# {title}\n\n"
              f"- Date: {datetime.date.today().isoformat()}\n"
              f"- Machine: {machine_description()}\n"
              f"- Command: `{command}`\n"
              f"- Seeds: {', '.join(str(s) for s in seeds)}\n\n")
    atomic_write_text(out / f"{name}.md", header + body)
    return out / f"{name}.md"


def bucket_figure(buckets: Sequence[str], series: dict[str, Sequence[dict]], ylabel: str,
                  title: str, unseen_from: int | None = None, value: str = "bleu"):
    """Lines of ``value`` per bucket, one per series, with their intervals (``value_low``,
    ``value_high``) as error bars; buckets from ``unseen_from`` on are shaded as lengths
    no training sentence had."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.6), layout="constrained")
    absolute, relative = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    x = list(range(len(buckets)))
    for offset, (name, rows) in zip((-0.08, 0.0, 0.08, 0.16), series.items(), strict=False):
        values = [r[value] for r in rows]
        low = [r[value] - r[f"{value}_low"] for r in rows]
        high = [r[f"{value}_high"] - r[value] for r in rows]
        absolute.errorbar([i + offset for i in x], values, yerr=[low, high], marker="o",
                          capsize=3, label=name)
        first = values[0] or float("nan")  # a model that scores 0 there has no share to keep
        relative.plot(x, [100 * v / first for v in values], marker="o", label=name)
    for ax in (absolute, relative):
        if unseen_from is not None:
            ax.axvspan(unseen_from - 0.5, len(buckets) - 0.5, color="0.9", zorder=0)
        ax.set_xticks(x, buckets, rotation=20)
        ax.set_xlabel("source words\n(shaded: longer than any training sentence)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="lower left")
    absolute.set_ylabel(ylabel)
    absolute.set_title(title)
    relative.set_ylabel(f"% of the model's own {value.upper()} on {buckets[0]} words")
    relative.set_title("What each model keeps as inputs grow")
    relative.set_ylim(0, 110)
    return fig


# What the buckets of a BLEU-by-length page mean (why_attention.py, positions.py).
BUCKETS_NOTE = ("\"real\": held-out pairs longer than any training sentence; \"joined\": "
                "test sentences joined into longer inputs.")


def bleu_cell(record: dict) -> str:
    """A table cell: BLEU and its 95% interval, ``"31.2 [29.0, 33.5]"``."""
    return f"{record['bleu']:.1f} [{record['bleu_low']:.1f}, {record['bleu_high']:.1f}]"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
