"""Test-split metrics of a trained classifier: accuracy, per-class accuracy, the confusion
matrix (JSON and PNG), and each test sentence's prediction for text runs."""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from classify.data import SplitData, load_data
from classify.runs import LoadedRun, unigram_baseline_of
from common.files import atomic_write_text
from common.plotting import confusion_matrix_figure, save_figure
from common.run_folder import RunFolder

__all__ = ["confusion_matrix", "evaluate"]


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts; row = true label, column = predicted label."""
    matrix = np.zeros([classes, classes], np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def evaluate(run: LoadedRun, data: SplitData | None = None, batch_size: int = 256) -> dict:
    """Scores the run's best weights on its test split (``data`` when already loaded);
    writes ``metrics.json``, ``plots/confusion_matrix.png`` and, for text,
    ``test_predictions.tsv``."""
    data = data or load_data(run.config, run.vocabulary)
    x, y = data.x["test"], data.y["test"]
    logits = np.concatenate([run.model(tf.constant(x[i : i + batch_size]), training=False)
                             for i in range(0, len(x), batch_size)])
    probabilities = tf.nn.softmax(logits).numpy()
    predictions = probabilities.argmax(axis=-1)
    classes = len(run.label_names)
    matrix = confusion_matrix(y, predictions, classes)
    per_class = {name: float(matrix[i, i] / max(1, matrix[i].sum()))
                 for i, name in enumerate(run.label_names)}
    folder = RunFolder(run.run_dir)
    state = folder.read_state() if folder.state_path.exists() else None
    metrics = {
        "kind": run.config.kind,
        "test_examples": int(len(y)),
        "test_accuracy": float((predictions == y).mean()),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
        "label_names": run.label_names,
        "epochs_trained": state and state.epoch,
        "best_epoch": state and state.best_epoch,
        "data": data.report,
    }
    pretraining = folder.child("pretrain").history()
    if pretraining.get("val_masked_accuracy"):
        metrics["pretraining_val_masked_accuracy"] = pretraining["val_masked_accuracy"][-1]
        baseline = unigram_baseline_of(run.run_dir)  # always the most frequent word
        if baseline is not None:
            metrics["pretraining_unigram_accuracy"] = baseline["accuracy"]
    atomic_write_text(folder.metrics_path, json.dumps(metrics, indent=2) + "\n")
    title = f"confusion matrix, test split: accuracy {metrics['test_accuracy']:.1%}"
    save_figure(confusion_matrix_figure(matrix, run.label_names, title),
                folder.plots / "confusion_matrix.png")
    if data.test_texts is not None:
        lines = ["sentence\tlabel\tpredicted\tprobability"]
        lines += [f"{t}\t{run.label_names[a]}\t{run.label_names[b]}\t{p[b]:.4f}"
                  for t, a, b, p in zip(data.test_texts, y, predictions, probabilities,
                                        strict=True)]
        atomic_write_text(run.run_dir / "test_predictions.tsv", "\n".join(lines) + "\n")
    return metrics
