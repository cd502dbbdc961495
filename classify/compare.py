"""The lecture's two claims about Transformer classifiers, measured on the generated
"who acts?" task: [CLS] vs mean pooling, each with and without positional encoding, over
several seeds.

The data and its split stay fixed; only the weights' seed changes between runs, so the
spread is the models' own.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from classify.config import TextConfig
from classify.data import arrays_dataset, load_data, text_splits
from classify.model import build_model
from classify.train import compile_classifier
from classify.vocabulary import build_text_vocabulary, text_vocabulary
from common.files import atomic_write_text
from common.plotting import comparison_figure, save_figure

__all__ = ["VARIANTS", "compare", "summarize"]

VARIANTS = (("cls", True), ("mean", True), ("cls", False), ("mean", False))


def _name(pooling: str, positional_encoding: bool) -> str:
    return f"{pooling}, {'positions' if positional_encoding else 'no positions'}"


def compare(config: TextConfig, out_dir: str | Path, seeds: Sequence[int] = (0, 1, 2),
            log: Callable[[str], None] = print) -> list[dict]:
    """Trains every variant once per seed; writes ``results.csv`` (one row per run),
    ``table.md`` and ``table.csv`` (one row per variant) and ``comparison.png``."""
    out_dir = Path(out_dir)
    splits = text_splits(config)
    vocabulary = text_vocabulary(
        build_text_vocabulary(splits.texts["train"], config.vocabulary_size,
                              config.text_mode, config.tokenizer),
        config.sequence_length, config.text_mode, config.tokenizer)
    data = load_data(config, vocabulary, splits)
    log(f"{data.report}; {len(data.y['train'])} train / {len(data.y['test'])} test")
    steps = math.ceil(len(data.y["train"]) / config.batch_size)
    runs = []
    for pooling, positional_encoding in VARIANTS:
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            variant = config.replace(pooling=pooling, positional_encoding=positional_encoding,
                                     seed=seed)
            model = build_model(variant, len(data.label_names), vocabulary.size)
            compile_classifier(model, variant, steps)
            started = time.monotonic()
            model.fit(arrays_dataset(data.x["train"], data.y["train"], config.batch_size,
                                     seed, training=True),
                      epochs=config.epochs, steps_per_epoch=steps, shuffle=False, verbose=0)
            _, accuracy = model.evaluate(data.x["test"], data.y["test"], batch_size=256,
                                         verbose=0)
            runs.append({"pooling": pooling, "positional_encoding": positional_encoding,
                         "seed": seed, "test_accuracy": round(float(accuracy), 4),
                         "seconds": round(time.monotonic() - started, 1)})
            log(f"  {_name(pooling, positional_encoding):<22} seed {seed}: test accuracy "
                f"{accuracy:.3f}")
    _write(out_dir, runs, config, len(data.label_names))
    return runs


def summarize(runs: Sequence[dict]) -> list[dict]:
    """One row per variant: mean, standard deviation, min and max test accuracy."""
    rows = []
    for pooling, positional_encoding in VARIANTS:
        values = [r["test_accuracy"] for r in runs if r["pooling"] == pooling
                  and r["positional_encoding"] == positional_encoding]
        if values:
            rows.append({"pooling": pooling, "positional_encoding": positional_encoding,
                         "runs": len(values), "mean": float(np.mean(values)),
                         "std": float(np.std(values)), "min": float(np.min(values)),
                         "max": float(np.max(values))})
    return rows


def _csv(rows: Sequence[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _write(out_dir: Path, runs: list[dict], config: TextConfig, classes: int) -> None:
    summary = summarize(runs)
    atomic_write_text(out_dir / "results.csv", _csv(runs))
    atomic_write_text(out_dir / "table.csv", _csv(
        [{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
         for row in summary]))
    lines = [
        "| pooling | positional encoding | test accuracy, mean ± std | min | max | runs |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['pooling']} | {'yes' if r['positional_encoding'] else 'no'} | "
              f"{r['mean']:.3f} ± {r['std']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
              f"{r['runs']} |" for r in summary]
    settings = {k: getattr(config, k) for k in ("generated_examples", "num_layers",
                                                "hidden_dim", "num_heads", "epochs")}
    lines += ["", f"Task: generated 'who acts?' sentences; chance is {1 / classes:.2f}. "
              f"Settings: {json.dumps(settings)}."]
    atomic_write_text(out_dir / "table.md", "\n".join(lines) + "\n")
    figure = comparison_figure(
        [_name(r["pooling"], r["positional_encoding"]).replace(", ", "\n") for r in summary],
        [r["mean"] for r in summary],
        [[r["mean"] - r["min"] for r in summary], [r["max"] - r["mean"] for r in summary]],
        [[x["test_accuracy"] for x in runs if x["pooling"] == r["pooling"]
          and x["positional_encoding"] == r["positional_encoding"]] for r in summary],
        title="'who acts?': word order needs positional encoding", chance=1 / classes)
    save_figure(figure, out_dir / "comparison.png")
