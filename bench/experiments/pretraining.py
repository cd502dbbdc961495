"""Does BERT's pretraining pay? Masked-LM pretraining on the English at hand, then SST-2's
grouped split with few labels and with all of them, pretrained against the same model from
random weights.

Pretraining: ``python -m classify bert train --preset base`` on SST-2's training sentences
(on the grouped split: whole sentences only) and the English side of the translation pairs
(validation and test texts left out), sentences packed into rows of 64 positions,
``[CLS] s1 [SEP] s2 [SEP] ...``; 15% of the words chosen, of those 80% [MASK], 10% a
random word, 10% kept. Its curves (loss and masked-word accuracy, training and validation:
the validation split's whole sentences, packed and masked once) are drawn beside the
unigram baseline, always guessing the most frequent word of the pretraining text.

Few labels: for each number of labelled training texts (a seeded sample of the grouped
split's training texts), the classifier (BERT's encoder, [CLS], a dense head) is fine-tuned
from the pretrained encoder and trained from random weights, each with its own learning rate
(the best of a grid on validation, at seed 0) and its own stopping point (the best of ten
checkpoints on 1,000 validation texts). Both see the same texts, vocabulary and steps:
batches of 32, 20 epochs of the labelled texts but at least 300 steps and at most 1,000.
Accuracy on the whole test split (never used for a choice), mean over seeds with a 95%
t-interval (3 seeds: mean +- 4.30 standard errors).

    python bench/experiments/pretraining.py --sst ../shared/data/sst2/train.tsv \\
        --data ../shared/data/spa-eng/spa_train.txt
    python bench/experiments/pretraining.py --quick      # a minute: generated data
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import lab
import numpy as np

SIZES = (100, 300, 1000, 3000, 0)  # 0: every training text
RATES = (1e-4, 1e-3)
VARIANTS = ("pretrained", "from scratch")


def text_files(args, parser) -> tuple[Path, Path]:
    """SST-2's labelled texts and the unlabeled English: the files given, or with --quick
    small generated ones. The full setting without both files is a usage error."""
    if args.quick:
        import sst2

        return sst2.quick_files(Path(tempfile.mkdtemp(prefix="pretraining-data-")))
    if not (args.sst and args.data):
        parser.error("the full setting needs --sst PATH (SST-2's train.tsv) and --data PATH "
                     "(English<TAB>Spanish pairs: their English is the unlabeled text)")
    return Path(args.sst), Path(args.data)


def pretraining_config(args, sst: Path, unlabeled: Path):
    from classify.config import BertConfig

    if args.quick:
        return BertConfig.tiny().replace(data=str(sst.resolve()), split="grouped",
                                         unlabeled=str(unlabeled.resolve()),
                                         labeled_examples=0, epochs=1,
                                         pretraining_epochs=3)
    return BertConfig.base().replace(data=str(sst.resolve()), split="grouped",
                                     unlabeled=str(unlabeled.resolve()), epochs=1,
                                     precision="mixed_bfloat16")


class FineTuning:
    """What every fine-tuning run shares: the run's vocabulary and splits, encoded once."""

    def __init__(self, run_dir: Path, validation_texts: int, seed: int = 0):
        from classify.data import encode, text_splits
        from classify.runs import load_run

        self.run = load_run(run_dir)
        self.config = self.run.config
        self.vocabulary = self.run.vocabulary
        splits = text_splits(self.config)
        self.train_x = encode(self.vocabulary, splits.texts["train"])
        self.train_y = splits.labels["train"]
        pick = np.random.default_rng(seed).permutation(len(splits.labels["validation"]))
        pick = np.sort(pick[:validation_texts])
        self.val_x = encode(self.vocabulary, [splits.texts["validation"][i] for i in pick])
        self.val_y = splits.labels["validation"][pick]
        self.test_x = encode(self.vocabulary, splits.texts["test"])
        self.test_y = splits.labels["test"]
        self.classes = len(self.run.label_names)

    def sample(self, size: int, seed: int) -> np.ndarray:
        order = np.random.default_rng(1000 + seed).permutation(len(self.train_y))
        return order if not size else order[:size]

    def run_one(self, variant: str, size: int, rate: float, seed: int, batch_size: int,
                most_steps: int, least_steps: int) -> dict:
        import keras

        from classify.bert import copy_encoder
        from classify.model import build_model, separator_of
        from classify.runs import load_pretrainer
        from classify.train import compile_classifier

        index = self.sample(size, seed)
        steps_per_epoch = math.ceil(len(index) / batch_size)
        steps = int(min(most_steps, max(least_steps, 20 * steps_per_epoch)))
        chunk = math.ceil(steps / 10)
        keras.utils.set_random_seed(seed)
        config = self.config.replace(learning_rate=rate, epochs=10, seed=seed)
        model = build_model(config, self.classes, self.vocabulary.size, None,
                            separator_of(config, self.vocabulary))
        if variant == "pretrained":
            copy_encoder(load_pretrainer(self.run), model)
        compile_classifier(model, config, chunk)  # warm-up and decay over the 10 chunks
        train = _random_batches(self.train_x[index], self.train_y[index], batch_size, seed)
        best, best_weights, best_step, started = -1.0, None, 0, time.monotonic()
        for k in range(10):
            model.fit(train, epochs=k + 1, initial_epoch=k, steps_per_epoch=chunk, verbose=0)
            accuracy = _accuracy(model, self.val_x, self.val_y)
            if accuracy > best:
                best, best_weights, best_step = accuracy, model.get_weights(), (k + 1) * chunk
        model.set_weights(best_weights)
        return {"variant": variant, "labels": len(index), "learning_rate": rate,
                "seed": seed, "validation_accuracy": round(best, 4), "best_step": best_step,
                "steps": chunk * 10,
                "test_accuracy": round(_accuracy(model, self.test_x, self.test_y), 4),
                "seconds": round(time.monotonic() - started, 1)}


def _random_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled batches, repeated, each cut to its longest row (padding is masked: the
    model computes the same numbers on fewer positions)."""
    import tensorflow as tf

    def batches():
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(len(x))
            for begin in range(0, len(order) - batch_size + 1 if len(order) >= batch_size
                               else 1, batch_size):
                index = order[begin:begin + batch_size]
                width = max(1, int(np.count_nonzero(x[index], axis=1).max()))
                yield x[index, :width], y[index]

    spec = (tf.TensorSpec([None, None], tf.as_dtype(x.dtype)), tf.TensorSpec([None], tf.int32))
    return tf.data.Dataset.from_generator(batches, output_signature=spec).prefetch(4)


def _accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    from classify.data import token_batches

    _, accuracy = model.evaluate(token_batches(x, y, 256, 0, training=False), verbose=0)
    return float(accuracy)


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.add_argument("--sst", metavar="PATH", help="SST-2's train.tsv (sentence<TAB>label)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="labelled training texts (0: all)")
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.set_defaults(seeds=[0, 1, 2])
    args = lab.parse(parser, argv)
    sst, unlabeled = text_files(args, parser)
    from classify.train import train

    work = lab.work_folder(args, "pretraining")
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 100] or [100]
    run_dir = lab.trained(work / "bert", train, pretraining_config(args, sst, unlabeled),
                          lambda m: print(m, flush=True))
    tuning = FineTuning(run_dir, 200 if args.quick else 1000)
    budget = dict(batch_size=32, most_steps=40 if args.quick else 1000,
                  least_steps=20 if args.quick else 300)
    results_path = work / "few-labels.jsonl"
    done = {}
    if results_path.exists():
        for line in results_path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            done[(r["variant"], r["size"], r["learning_rate"], r["seed"])] = r

    def result(variant, size, rate, seed):
        key = (variant, size, rate, seed)
        if key not in done:
            done[key] = {"size": size, **tuning.run_one(variant, size, rate, seed, **budget)}
            with results_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(done[key]) + "\n")
            lab.emit({"experiment": "pretraining", **done[key]})
        return done[key]

    chosen = {}
    for size in args.sizes:
        for variant in VARIANTS:
            tried = [result(variant, size, rate, args.seeds[0]) for rate in args.rates]
            chosen[variant, size] = max(tried, key=lambda r: r["validation_accuracy"])
            for seed in args.seeds[1:]:
                result(variant, size, chosen[variant, size]["learning_rate"], seed)
    rows = {key: [done[(key[0], key[1], chosen[key]["learning_rate"], seed)]
                  for seed in args.seeds] for key in chosen}
    _write(Path(args.out), run_dir, rows, args, len(tuning.test_y), budget)
    return 0


def _write(out: Path, run_dir: Path, rows: dict, args, test_count: int,
           budget: dict) -> None:
    from common.plotting import save_figure
    from common.run_folder import RunFolder

    pretrain = RunFolder(run_dir / "pretrain")
    history = pretrain.history()
    baseline = json.loads((pretrain.path / "baseline.json").read_text(encoding="utf-8"))
    from classify.plots import pretraining_figure

    save_figure(pretraining_figure(run_dir, "BERT's masked-LM pretraining on SST-2 sentences "
                                   "and spa-eng English"), out / "pretraining_curves.png")
    sizes = sorted({size for _, size in rows}, key=lambda s: s or 10**9)
    save_figure(_few_labels_figure(rows, sizes), out / "few_labels.png")
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    epochs = len(history.get("val_masked_accuracy", []))
    curve = lab.markdown_table(
        ["epoch", "training loss", "validation loss", "training masked-word accuracy",
         "validation masked-word accuracy"],
        [[e + 1, f"{history['loss'][e]:.3f}", f"{history['val_loss'][e]:.3f}",
          f"{history['masked_accuracy'][e]:.1%}", f"{history['val_masked_accuracy'][e]:.1%}"]
         for e in range(epochs)])
    table = []
    for size in sizes:
        cells = [f"{rows[VARIANTS[0], size][0]['labels']:,}"]
        for variant in VARIANTS:
            mean, half = lab.t_interval([r["test_accuracy"] for r in rows[variant, size]])
            rate = rows[variant, size][0]["learning_rate"]
            cells += [f"{mean:.1%} ± {half:.1%}", f"{rate:g}",
                      ", ".join(f"{r['best_step']}/{r['steps']}" for r in rows[variant, size])]
        table.append(cells)
    settings = {k: config[k] for k in ("num_layers", "hidden_dim", "num_heads",
                                       "intermediate_dim", "vocabulary_size",
                                       "sequence_length", "pretraining_epochs",
                                       "pretraining_learning_rate", "mask_rate",
                                       "batch_size", "precision") if k in config}
    body = (f"## Pretraining\n\nSettings: `{json.dumps(settings)}`. Validation: the masked "
            f"words of the validation split's whole sentences ({baseline['masked_tokens']:,}"
            " words, masked once). Unigram baseline: always guessing "
            f"\"{baseline['word']}\", the most frequent word of the pretraining text: "
            f"{baseline['accuracy']:.1%}.\n\n" + curve
            + "\n![pretraining curves](pretraining_curves.png)\n\n"
            "## Few labels\n\nTest accuracy on the grouped test split "
            f"({test_count:,} texts), mean over seeds ± the 95% t-interval's "
            f"half-width; batches of {budget['batch_size']}, 20 epochs of the labelled texts "
            f"but at least {budget['least_steps']:,} steps and at most "
            f"{budget['most_steps']:,}; the learning rate chosen on validation at seed 0 from "
            f"{', '.join(f'{r:g}' for r in args.rates)}; the step of the best of ten "
            "checkpoints on validation, of the steps run, for each seed.\n\n"
            + lab.markdown_table(["labelled texts", "pretrained", "rate", "best step",
                                  "from scratch", "rate", "best step"], table)
            + "\n![accuracy against labelled texts](few_labels.png)\n")
    print(lab.results_page(out, "pretraining", "Does pretraining pay? Masked LM, then few "
                           "labels on SST-2's grouped split", body, args.seeds))


def _few_labels_figure(rows: dict, sizes: list[int]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for offset, variant in zip((0.97, 1.03), VARIANTS, strict=True):
        counts = [rows[variant, s][0]["labels"] for s in sizes]
        stats = [lab.t_interval([r["test_accuracy"] for r in rows[variant, s]]) for s in sizes]
        ax.errorbar(np.array(counts) * offset, [m for m, _ in stats],
                    yerr=[h for _, h in stats], marker="o", capsize=4, label=variant)
    ax.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("labelled training texts (log scale)")
    ax.set_ylabel("test accuracy (mean, 95% interval)")
    ax.set_title("SST-2, grouped split: fine-tuned BERT vs the same model from scratch",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    raise SystemExit(main())
