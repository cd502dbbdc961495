"""Run folders: atomic writes, a checkpoint every epoch, early stopping that survives resume,
and the history file. Shared by every tutorial's ``train``."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras

__all__ = [
    "RunCheckpoint",
    "RunError",
    "atomic_save",
    "atomic_write_text",
    "history_columns",
    "read_history",
]


class RunError(ValueError):
    """A run folder that cannot be used as asked; the message says what to do."""


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def atomic_save(path: Path, save: Callable[[str], None], suffix: str) -> None:
    """Runs ``save(tmp)`` then renames: a crash mid-save keeps the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=suffix)
    os.close(handle)
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: history row, last checkpoint, best weights, early stopping.

    Early stopping lives here, with its counter saved in ``state.json``, so a resumed run
    stops exactly when an uninterrupted one would.
    """

    def __init__(self, run_dir: Path, patience: int, state: dict):
        super().__init__()
        self.run_dir = run_dir
        self.patience = patience
        self.state = state

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self._append_history(epoch + 1, logs)
        val_loss = logs.get("val_loss", logs.get("loss", math.inf))
        checkpoints = self.run_dir / "checkpoints"
        if val_loss < self.state["best_val_loss"]:
            self.state.update(best_val_loss=val_loss, best_epoch=epoch + 1, wait=0)
            atomic_save(checkpoints / "best.weights.h5", self.model.save_weights, ".weights.h5")
        else:
            self.state["wait"] += 1
        atomic_save(checkpoints / "last.keras", self.model.save, ".keras")
        self.state["epoch"] = epoch + 1
        atomic_write_text(checkpoints / "state.json", json.dumps(self.state, indent=2))
        if self.state["wait"] >= self.patience:
            self.state["stopped_early"] = True
            atomic_write_text(checkpoints / "state.json", json.dumps(self.state, indent=2))
            self.model.stop_training = True

    def _append_history(self, epoch: int, logs: dict) -> None:
        path = self.run_dir / "history.csv"
        rows = read_history(path)
        rows = [r for r in rows if int(r["epoch"]) < epoch]
        rows.append({"epoch": epoch, **logs})
        columns = ["epoch"] + sorted({k for r in rows for k in r if k != "epoch"})
        lines = [",".join(columns)]
        lines += [",".join(str(r.get(c, "")) for c in columns) for r in rows]
        atomic_write_text(path, "\n".join(lines) + "\n")


def read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def history_columns(rows: list[dict]) -> dict[str, list[float]]:
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and value != "":
                columns.setdefault(key, []).append(float(value))
    return columns
