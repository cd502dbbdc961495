"""Which pretraining? BERT's masked-LM pretraining at several sizes and warm-ups, each for the
same short budget on the same text, chosen on validation masked-word accuracy.

Every candidate is ``pretraining.py``'s setting (SST-2's training sentences on the grouped
split and the English of the translation pairs, packed into rows of 64; 15% of words chosen,
80/10/10; peak learning rate 2e-3 reached after the warm-up, then cosine decay) with one
thing changed, pretrained for ``--search-epochs`` epochs (its schedule run to its end over
those epochs). The candidate with the best validation masked-word accuracy (the masked words
of the validation split's whole sentences, the same for all) is the one to pretrain for
long; its unigram baseline is printed beside.

    python bench/experiments/pretraining_search.py --sst ../shared/data/sst2/train.tsv \\
        --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/pretraining_search.py --quick     # a minute: generated data
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import lab
import numpy as np
from pretraining import pretraining_config

# name -> (what changes, the config's fields): one thing at a time against "base".
CANDIDATES = {
    "base": ("4 layers of width 128 (feed-forward 256), warm-up 10%", {}),
    "small": ("2 layers", {"num_layers": 2}),
    "wide": ("width 256 (feed-forward 512)", {"hidden_dim": 256, "intermediate_dim": 512}),
    "short warm-up": ("warm-up 1% of the steps", {"warmup_fraction": 0.01}),
}


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--sst", metavar="PATH", help="SST-2's train.tsv (sentence<TAB>label)")
    parser.add_argument("--search-epochs", type=int, default=4,
                        help="pretraining epochs of every candidate (default 4)")
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES),
                        default=list(CANDIDATES))
    args = lab.parse(parser, argv)
    if not args.quick and not (args.sst and args.data):
        parser.error("the full setting needs --sst PATH (SST-2's train.tsv) and --data PATH "
                     "(English<TAB>Spanish pairs: their English is the unlabeled text)")
    from classify.train import train
    from common.run_folder import RunFolder

    work = lab.work_folder(args, "pretraining-search")
    if args.quick:
        import sst2

        sst, unlabeled = sst2.quick_files(Path(tempfile.mkdtemp(prefix="search-data-")))
        args.search_epochs = min(args.search_epochs, 2)
    else:
        sst, unlabeled = Path(args.sst), Path(args.data)
    base = pretraining_config(args, sst, unlabeled)
    records = {}
    for name in args.candidates:
        _, changes = CANDIDATES[name]
        # Fine-tuning is not what is compared: one epoch of 100 labelled texts.
        config = base.replace(pretraining_epochs=args.search_epochs, labeled_examples=100,
                              epochs=1, **changes)
        run_dir = work / name.replace(" ", "-")
        start = time.perf_counter()
        fresh = not (run_dir / "experiment-trained").exists()
        lab.trained(run_dir, train, config, lambda m: print(m, flush=True))
        history = RunFolder(run_dir / "pretrain").history()
        best = int(np.argmax(history["val_masked_accuracy"]))
        records[name] = {
            "candidate": name, "epochs": len(history["val_masked_accuracy"]),
            "val_masked_accuracy": round(history["val_masked_accuracy"][best], 4),
            "val_loss": round(history["val_loss"][best], 4), "best_epoch": best + 1,
            "curve": [round(v, 4) for v in history["val_masked_accuracy"]],
            **({"seconds": round(time.perf_counter() - start)} if fresh else {})}
        timing = run_dir / "search-seconds.json"
        if fresh:
            timing.write_text(json.dumps(records[name]["seconds"]), encoding="utf-8")
        elif timing.exists():
            records[name]["seconds"] = json.loads(timing.read_text(encoding="utf-8"))
        lab.emit({"experiment": "pretraining-search", **records[name]})
    chosen = max(records.values(), key=lambda r: (r["val_masked_accuracy"], -r["val_loss"]))
    lab.emit({"experiment": "pretraining-search", "chosen": chosen["candidate"]})
    _write(Path(args.out), work, records, chosen, args)
    return 0


def _write(out: Path, work: Path, records: dict, chosen: dict, args) -> None:
    from common.plotting import save_figure

    baseline = json.loads((work / records[chosen["candidate"]]["candidate"].replace(" ", "-")
                           / "pretrain" / "baseline.json").read_text(encoding="utf-8"))
    save_figure(_curves_figure(records, baseline, args.search_epochs),
                out / "pretraining_search.png")
    rows = [[name + (" (chosen)" if name == chosen["candidate"] else ""),
             CANDIDATES[name][0], f"{r['val_masked_accuracy']:.1%}", f"{r['val_loss']:.3f}",
             f"{r['best_epoch']}/{r['epochs']}",
             f"{r['seconds'] / 60:.1f}" if "seconds" in r else "-"]
            for name, r in records.items()]
    body = (f"Every candidate pretrained for {args.search_epochs} epochs on the same text "
            "(SST-2's training sentences on the grouped split and the English of the "
            "translation pairs), its warm-up and cosine decay run over those epochs; peak "
            "learning rate 2e-3, batches of 64 rows of 64 positions, bfloat16. Validation: "
            f"the masked words of the validation split's whole sentences "
            f"({baseline['masked_tokens']:,} words, masked once, the same for all); the "
            f"unigram baseline (always \"{baseline['word']}\") guesses "
            f"{baseline['accuracy']:.1%}. Minutes: the candidate's whole run on this "
            "machine (pretraining, then one epoch of 100 labelled texts).\n\n"
            + lab.markdown_table(["candidate", "what changes", "validation masked-word "
                                  "accuracy", "validation loss", "best epoch", "minutes"],
                                 rows)
            + "\n![validation masked-word accuracy by epoch](pretraining_search.png)\n")
    print(lab.results_page(out, "pretraining_search", "Which pretraining? Size and warm-up "
                           "chosen on validation", body, args.seeds))


def _curves_figure(records: dict, baseline: dict, epochs: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for name, r in records.items():
        ax.plot(np.arange(1, len(r["curve"]) + 1), r["curve"], marker="o",
                label=f"{name}: {CANDIDATES[name][0]}")
    ax.axhline(baseline["accuracy"], color="gray", linestyle="--",
               label=f"always \"{baseline['word']}\" (unigram baseline)")
    ax.set_xticks(range(1, epochs + 1))
    ax.set_ylim(0, None)
    ax.set_xlabel("epoch of pretraining")
    ax.set_ylabel("validation masked-word accuracy")
    ax.set_title("BERT pretraining candidates, the same text and budget", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
