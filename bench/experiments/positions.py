"""Positions: sinusoidal vs learned vs no position embedding in the Transformer, by length.

Three Transformers with the tutorial's size (4+4 layers, d_model 128, dff 512, 8 heads), the
same seed and the same number of steps, differing only in how positions are marked, train on
pairs of at most ``--max-words`` Spanish words (15). Each is scored (BLEU in the tutorial's
normalization, 95% bootstrap interval over sentences) on the test split by source length
and on inputs longer than any it trained on: real held-out pairs and test sentences joined.
A learned table's rows past the longest training sentence were never trained; sines and
cosines are defined at every position; without positions the model sees a bag of pieces.

    python bench/experiments/positions.py --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/positions.py --quick      # seconds, generated data
"""

from __future__ import annotations

from pathlib import Path

import lab

KINDS = ("sinusoidal", "learned", "none")


def transformer_runs(args, log=lambda m: print(m, flush=True),
                     kinds=KINDS) -> tuple[dict, lab.LengthSplit]:
    """The runs (trained once, reused) of ``kinds`` of position embedding, and their data."""
    from transformer.config import Config
    from transformer.train import train

    work = lab.work_folder(args, "transformer")
    pairs = lab.LengthSplit.of(args, work)
    if args.quick:
        base = Config.tiny().replace(data=str(pairs.data), epochs=1)
    else:
        base = Config.tutorial().replace(data=str(pairs.data), epochs=args.epochs,
                                         warmup_steps=1000, average_last=8)
    base = base.replace(seed=args.seeds[0])
    runs = {kind: lab.trained(work / kind, train, base.replace(position_embedding=kind), log)
            for kind in kinds}
    return runs, pairs


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.set_defaults(epochs=12)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="which position embeddings to compare (default: all three)")
    args = lab.parse(parser, argv)
    from common.data.corpus import corpus_of
    from transformer.runs import load_run, load_translator

    runs, pairs = transformer_runs(args, kinds=tuple(args.kinds))
    seed = args.seeds[0]
    config = load_run(next(iter(runs.values())))[0]
    test_es, test_en = corpus_of(config).part("test")
    sets = pairs.length_sets(test_es, test_en, args.per_bucket, seed)
    translators = {kind: load_translator(run) for kind, run in runs.items()}
    results = lab.score_by_length(
        translators, sets, {"experiment": "positions", "name": "position_embedding"}, seed)
    _write(Path(args.out), results, sets, pairs.cut, runs, seed)
    return 0


def _write(out, results, sets, cut, runs, seed):
    from common.plotting import save_figure
    from common.run_folder import RunFolder

    names = [bucket for bucket, _, _ in sets]
    figure = lab.bucket_figure(
        names, results, "BLEU (tutorial normalization), 95% interval",
        f"Position embeddings: Transformers trained on sentences of 1-{cut} words",
        unseen_from=3)
    save_figure(figure, out / "positions.png")
    rows = [[bucket, next(iter(results.values()))[i]["sentences"],
             *[lab.bleu_cell(r[i]) for r in results.values()]]
            for i, bucket in enumerate(names)]
    epochs = {kind: RunFolder(run).read_state().epoch for kind, run in runs.items()}
    count = {1: "One Transformer", 2: "Two Transformers", 3: "Three Transformers"}[len(runs)]
    body = (f"{count}, the same but for how positions are marked, trained for the "
            f"same number of steps on pairs of at most {cut} Spanish words (epochs reached: "
            + ", ".join(f"{k} {v}" for k, v in epochs.items())
            + "); greedy decoding, BLEU (tutorial normalization) with a 95% bootstrap "
            f"interval over sentences. {lab.BUCKETS_NOTE}\n\n"
            + lab.markdown_table(["source words", "sentences",
                                  *[f"BLEU, {k}" for k in results]], rows)
            + "\n![BLEU by source length](positions.png)\n")
    print(lab.results_page(out, "positions", "Positions: sinusoidal, learned or none",
                           body, [seed]))


if __name__ == "__main__":
    raise SystemExit(main())
