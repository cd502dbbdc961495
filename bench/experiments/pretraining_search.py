"""Which pretraining? BERT's masked-LM pretraining at several sizes and warm-ups, each for the
same short budget on the same text, chosen on validation masked-word accuracy.

Every candidate is ``pretraining.py``'s setting (SST-2's training sentences on the grouped
split and the English of the translation pairs, packed into rows of 64; 15% of words chosen,
80/10/10; peak learning rate 2e-3 reached after the warm-up, then cosine decay) with one
thing changed, pretrained for ``--search-epochs`` epochs (its schedule run to its end over
those epochs). The candidate with the best validation masked-word accuracy (the masked words
of the validation split's whole sentences, the same for all) is the one to pretrain for
long; its unigram baseline is printed beside. Then the number of epochs: the two best
candidates are pretrained for ``--long-epochs`` (16, the hour of 2 cores the experiment
affords) and the better on validation is the pretraining ``pretraining.py`` should use (a
run of the same setting already trained there, ``--reuse``, is read, not trained again).

    python bench/experiments/pretraining_search.py --sst ../shared/data/sst2/train.tsv \\
        --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/pretraining_search.py --quick     # a minute: generated data
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import lab
import numpy as np
from pretraining import pretraining_config, text_files

# name -> (what changes, the config's fields): one thing at a time against "base" (the wide
# model also at a lower peak rate: a wider post-norm model may need one).
CANDIDATES = {
    "base": ("4 layers of width 128 (feed-forward 256), warm-up 10%", {}),
    "small": ("2 layers", {"num_layers": 2}),
    "wide": ("width 256 (feed-forward 512)", {"hidden_dim": 256, "intermediate_dim": 512}),
    "wide, rate 1e-3": ("width 256 (feed-forward 512), peak learning rate 1e-3",
                        {"hidden_dim": 256, "intermediate_dim": 512,
                         "pretraining_learning_rate": 1e-3}),
    "short warm-up": ("warm-up 1% of the steps", {"warmup_fraction": 0.01}),
}


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--sst", metavar="PATH", help="SST-2's train.tsv (sentence<TAB>label)")
    parser.add_argument("--search-epochs", type=int, default=4,
                        help="pretraining epochs of every candidate (default 4)")
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES),
                        default=list(CANDIDATES))
    parser.add_argument("--long-epochs", type=int, default=16,
                        help="pretraining epochs of the two best candidates (0: skip)")
    parser.add_argument("--reuse", metavar="RUN", action="append", default=[],
                        help="a BERT run already pretrained (e.g. pretraining.py's "
                        "runs/experiments/pretraining/bert): read where its setting is a "
                        "finalist's")
    args = lab.parse(parser, argv)
    sst, unlabeled = text_files(args, parser)
    from classify.model import build_pretrainer
    from classify.runs import load_run
    from classify.train import train
    from common.run_folder import RunFolder

    work = lab.work_folder(args, "pretraining-search")
    if args.quick:
        args.search_epochs = min(args.search_epochs, 2)
        args.long_epochs = min(args.long_epochs, 3)
    base = pretraining_config(args, sst, unlabeled).replace(seed=args.seeds[0])

    def pretrained(name: str, epochs: int) -> dict:
        # Fine-tuning is not what is compared: one epoch of 100 labelled texts.
        config = base.replace(pretraining_epochs=epochs, labeled_examples=100, epochs=1,
                              **CANDIDATES[name][1])
        reused = [Path(run) for run in args.reuse if _same_pretraining(Path(run), config)]
        slug = name.replace(",", "").replace(" ", "-")
        run_dir = reused[0] if reused else work / f"{slug}-{epochs}"
        start = time.perf_counter()
        fresh = not reused and not (run_dir / "experiment-trained").exists()
        if not reused:
            lab.trained(run_dir, train, config, lambda m: print(m, flush=True))
        history = RunFolder(run_dir / "pretrain").history()
        best = int(np.argmax(history["val_masked_accuracy"]))
        loaded = load_run(run_dir)
        encoder = build_pretrainer(loaded.config, loaded.vocabulary).encoder
        record = {
            "candidate": name, "parameters": encoder.count_params(),
            "epochs": len(history["val_masked_accuracy"]),
            "val_masked_accuracy": round(history["val_masked_accuracy"][best], 4),
            "val_loss": round(history["val_loss"][best], 4), "best_epoch": best + 1,
            "curve": [round(v, 4) for v in history["val_masked_accuracy"]],
            "run": str(run_dir)}
        timing = run_dir / "search-seconds.json"
        if fresh:
            record["seconds"] = round(time.perf_counter() - start)
            timing.write_text(json.dumps(record["seconds"]), encoding="utf-8")
        elif timing.exists():
            record["seconds"] = json.loads(timing.read_text(encoding="utf-8"))
        lab.emit({"experiment": "pretraining-search", **record})
        return record

    def rank(record):
        return record["val_masked_accuracy"], -record["val_loss"]

    short = {name: pretrained(name, args.search_epochs) for name in args.candidates}
    finalists = sorted(short, key=lambda name: rank(short[name]), reverse=True)[:2]
    long = ({name: pretrained(name, args.long_epochs) for name in finalists}
            if args.long_epochs else {})
    chosen = max((long or short).values(), key=rank)
    lab.emit({"experiment": "pretraining-search", "chosen": chosen["candidate"],
              "epochs": chosen["epochs"]})
    _write(Path(args.out), short, long, chosen, base, args)
    return 0


# What the pretraining depends on: a run that agrees on these pretrained the same way.
_PRETRAINING = ("data", "split", "unlabeled", "vocabulary_size", "tokenizer",
                "sequence_length", "text_mode", "num_layers", "hidden_dim", "num_heads",
                "intermediate_dim", "dropout", "positional_encoding", "pretraining_examples",
                "pretraining_epochs", "pretraining_learning_rate", "warmup_fraction",
                "weight_decay", "mask_rate", "batch_size", "seed", "precision",
                "validation_fraction", "test_fraction", "patience", "time_limit_minutes")


def _same_pretraining(run_dir: Path, config) -> bool:
    path = run_dir / "config.json"
    if not (run_dir / "pretrain" / "history.csv").exists() or not path.exists():
        return False
    theirs, mine = json.loads(path.read_text(encoding="utf-8")), config.to_dict()
    defaults = type(config)().to_dict()  # what a setting an older run did not write was
    return all(theirs.get(key, defaults.get(key)) == mine.get(key) for key in _PRETRAINING)


def _write(out: Path, short: dict, long: dict, chosen: dict, base, args) -> None:
    from common.plotting import save_figure

    baseline = json.loads((Path(chosen["run"]) / "pretrain" / "baseline.json")
                          .read_text(encoding="utf-8"))
    save_figure(_curves_figure(short, long, baseline), out / "pretraining_search.png")

    def rows(records):
        return [[name + (" (chosen)" if record is chosen else ""), CANDIDATES[name][0],
                 f"{record['val_masked_accuracy']:.1%}", f"{record['val_loss']:.3f}",
                 f"{record['best_epoch']}/{record['epochs']}", f"{record['parameters']:,}"]
                for name, record in records.items()]

    header = ["candidate", "what changes", "validation masked-word accuracy",
              "validation loss", "best epoch", "encoder parameters"]
    body = (f"Every candidate pretrained for {args.search_epochs} epochs on the same text "
            "(SST-2's training sentences on the grouped split and the English of the "
            "translation pairs), its warm-up and cosine decay run over those epochs; peak "
            f"learning rate {base.pretraining_learning_rate:g} unless a row says otherwise, "
            f"batches of {base.batch_size} "
            f"rows of {base.sequence_length} positions, {base.precision}. Validation: "
            f"the masked words of the validation split's whole sentences "
            f"({baseline['masked_tokens']:,} words, masked once, the same for all); the "
            f"unigram baseline (always \"{baseline['word']}\") guesses "
            f"{baseline['accuracy']:.1%}. Encoder parameters: the embeddings and layers, "
            "without the masked-LM head.\n\n"
            + lab.markdown_table(header, rows(short)))
    if long:
        body += (f"\n\nThe two best, pretrained for {args.long_epochs} epochs (the schedule "
                 "stretched over them):\n\n" + lab.markdown_table(header, rows(long)))
    body += "\n\n![validation masked-word accuracy by epoch](pretraining_search.png)\n"
    print(lab.results_page(out, "pretraining_search", "Which pretraining? Size, warm-up and "
                           "epochs chosen on validation", body, args.seeds))


def _curves_figure(short: dict, long: dict, baseline: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 6.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    colors = {name: f"C{i}" for i, name in enumerate(CANDIDATES)}
    markers = dict(zip(CANDIDATES, "osxD^", strict=True))  # lines that coincide stay apart
    for records, style in ((short, "-"), (long, "--")):
        for name, r in records.items():
            ax.plot(np.arange(1, len(r["curve"]) + 1), r["curve"], style,
                    marker=markers[name], markersize=10 if markers[name] == "x" else 5,
                    color=colors[name],
                    label=f"{name}, {r['epochs']} epochs: {CANDIDATES[name][0]}")
    ax.axhline(baseline["accuracy"], color="gray", linestyle=":",
               label=f"always \"{baseline['word']}\" (unigram baseline)")
    ax.set_ylim(0, None)
    ax.set_xlabel("epoch of pretraining")
    ax.set_ylabel("validation masked-word accuracy")
    ax.set_title("BERT pretraining candidates on the same text", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
