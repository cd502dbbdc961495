"""Words or WordPiece pieces for the text classifier, on SST-2's grouped split.

A word list keeps the training texts' most frequent words and reads every other word as
[UNK]; WordPiece (BERT's tokenizer) keeps frequent words whole and spells the rest from
pieces learned on the same texts (``unwatchable`` -> ``un ##watch ##able``), so a test word
the training texts never had is still read, at the price of longer rows. Each variant is
what the command line trains:

    python -m classify text train --preset base --data SST --split grouped --epochs 2 \\
        [--tokenizer wordpiece]

(2 epochs: the text classifier overfits after one, docs/experiments/sst2.md), the preset's
20,000 tokens asked of both (WordPiece's learner keeps fewer: a piece seen 10 times).
Scored on the grouped test split (no test sentence seen in whole or in part): accuracy on
every test text and on the whole sentences only, mean over seeds with the 95% t-interval,
and the paired difference from words (the variants of one seed share its split); and what
the tokenizer does to the test texts: the share of their tokens that are [UNK], tokens a
text, the share of texts cut at the row's 63 tokens.

    python bench/experiments/wordpiece.py --sst ../shared/data/sst2/train.tsv --seeds 0 1 2
    python bench/experiments/wordpiece.py --quick      # seconds, generated data, tiny models
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import lab
import numpy as np
import sst2

VARIANTS = ("words", "wordpiece")


def config_of(variant: str, seed: int, args, sst: Path):
    from classify.config import TextConfig

    config = TextConfig.tiny() if args.quick else TextConfig.base()
    return config.replace(data=str(sst.resolve()), split="grouped", seed=seed,
                          tokenizer=variant, epochs=2 if not args.quick else config.epochs)


def token_counts(run_dir: Path) -> dict:
    """What the run's tokenizer makes of its test texts: the share of [UNK] tokens, tokens a
    text, the share of texts longer than a row holds, the vocabulary's size."""
    import tensorflow as tf

    from classify.runs import load_run

    run = load_run(run_dir)
    rows = (run_dir / "test_predictions.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts = [row.split("\t")[0] for row in rows]
    tokens = run.vocabulary.tokenize(tf.constant(texts))  # words, or pieces
    lengths = tokens.row_lengths().numpy()
    ids = run.vocabulary.lookup(tokens.flat_values)  # a word not in the list: [UNK]'s id
    unknown = int(tf.reduce_sum(tf.cast(ids == run.vocabulary.id_of("[UNK]"), tf.int32)))
    room = run.config.sequence_length - 1  # [CLS] first
    return {"vocabulary": run.vocabulary.size,
            "unknown_share": round(unknown / max(int(lengths.sum()), 1), 4),
            "tokens_per_text": round(float(lengths.mean()), 2),
            "cut_share": round(float((lengths > room).mean()), 4)}


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--sst", metavar="PATH", help="SST-2's train.tsv (sentence<TAB>label)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = lab.parse(parser, argv)
    if not args.quick and not args.sst:
        parser.error("the full setting needs --sst PATH (SST-2's train.tsv)")
    work = lab.work_folder(args, "wordpiece")
    if args.quick:
        sst, _ = sst2.quick_files(Path(tempfile.mkdtemp(prefix="wordpiece-data-")))
    else:
        sst = Path(args.sst)
    from classify.train import train

    results: dict[str, list[dict]] = {}
    for variant in args.variants:
        for seed in args.seeds:
            run_dir = work / f"{variant}-seed{seed}"
            lab.trained(run_dir, train, config_of(variant, seed, args, sst),
                        lambda m: print(m, flush=True))
            record = {"seed": seed, **sst2.scored(run_dir, seed), **token_counts(run_dir)}
            results.setdefault(variant, []).append(record)
            lab.emit({"experiment": "wordpiece", "variant": variant, **record})
        _write(Path(args.out), results, args.seeds)
    return 0


def _write(out: Path, results: dict[str, list[dict]], seeds) -> None:
    def cell(values, sign=""):
        mean, half = lab.t_interval(values)
        return f"{mean:{sign}.1%}" + ("" if math.isnan(half) else f" ± {half:.1%}")

    words = {r["seed"]: r for r in results.get("words", [])}
    rows = []
    for variant, records in results.items():
        def mean(key, records=records):
            return float(np.mean([r[key] for r in records]))

        paired = [r["accuracy"] - words[r["seed"]]["accuracy"] for r in records
                  if r["seed"] in words]
        rows.append([variant, f"{mean('vocabulary'):,.0f}", f"{mean('unknown_share'):.2%}",
                     f"{mean('tokens_per_text'):.1f}", f"{mean('cut_share'):.2%}",
                     cell([r["accuracy"] for r in records]),
                     cell([r["sentence_accuracy"] for r in records]),
                     "" if variant == "words" or not paired else cell(paired, "+"),
                     ", ".join(f"{r['accuracy']:.1%}" for r in records)])
    first = next(iter(results.values()))[0]
    body = ("The text classifier's base preset, trained one at a time on this machine on the "
            f"grouped split of the labeled file (test: about {first['texts']:,} texts, "
            f"{first['sentences']:,} of them whole sentences; never used for a choice), "
            "2 epochs, the best by validation loss kept. Each seed draws its own split; the "
            "variants of one seed share it, so \"against words\" is the paired difference "
            "on the same test texts. Vocabulary, [UNK], tokens a text and texts cut (longer "
            "than the row's 63 tokens after [CLS]): on the test texts, mean over seeds. "
            "Accuracy: mean over seeds ± the half-width of the 95% t-interval. WordPiece's "
            "learner (tensorflow-text's bert_vocab_from_dataset) keeps a piece seen at least "
            "10 times, so its vocabulary can stay under the size asked (20,000 here).\n\n"
            + lab.markdown_table(["tokenizer", "vocabulary", "[UNK] of test tokens",
                                  "tokens a text", "texts cut", "accuracy, every test text",
                                  "accuracy, whole sentences", "against words",
                                  "each seed"], rows))
    print(lab.results_page(out, "wordpiece", "Words or WordPiece for the text classifier "
                           "(SST-2, grouped split)", body, seeds))


if __name__ == "__main__":
    raise SystemExit(main())
