"""Run folders: atomic writes, a checkpoint every epoch, early stopping that survives resume,
and the history file. Shared by every tutorial's ``train``."""

from __future__ import annotations

import collections
import csv
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.distribute import agree, distribute_dataset, writable_path

__all__ = [
    "RecentWeights",
    "RunCheckpoint",
    "RunError",
    "AttentionImages",
    "TimeLimit",
    "atomic_save",
    "atomic_write_text",
    "claim_demo_folder",
    "fit_run",
    "fresh_state",
    "history_columns",
    "keep_best_average",
    "load_checkpoint",
    "open_run",
    "publish_dir",
    "read_history",
    "save_saved_model",
    "write_data_report",
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
    stops exactly when an uninterrupted one would. Off the chief (``chief=False``, the other
    workers of a multi-worker run) the models are saved to temporary files and dropped, and
    nothing else is written; every worker still takes the same early-stopping decision,
    since validation metrics are reduced over all workers.
    """

    def __init__(self, run_dir: Path, patience: int, state: dict, chief: bool = True):
        super().__init__()
        self.run_dir = run_dir
        self.patience = patience
        self.state = state
        self.chief = chief

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.chief:
            self._append_history(epoch + 1, logs)
        val_loss = logs.get("val_loss", logs.get("loss", math.inf))
        checkpoints = self.run_dir / "checkpoints"
        if val_loss < self.state["best_val_loss"]:
            self.state.update(best_val_loss=val_loss, best_epoch=epoch + 1, wait=0)
            _save_checkpoint(checkpoints / "best.weights.h5", self.model.save_weights,
                             self.chief)
        else:
            self.state["wait"] += 1
        _save_checkpoint(checkpoints / "last.keras", self.model.save, self.chief)
        self.state["epoch"] = epoch + 1
        if self.state["wait"] >= self.patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        _write_state(self.run_dir, self.state, self.chief)

    def _append_history(self, epoch: int, logs: dict) -> None:
        path = self.run_dir / "history.csv"
        rows = read_history(path)
        rows = [r for r in rows if int(r["epoch"]) < epoch]
        rows.append({"epoch": epoch, **logs})
        columns = ["epoch"] + sorted({k for r in rows for k in r if k != "epoch"})
        lines = [",".join(columns)]
        lines += [",".join(str(r.get(c, "")) for c in columns) for r in rows]
        atomic_write_text(path, "\n".join(lines) + "\n")


def _save_checkpoint(path: Path, save: Callable[[str], None], chief: bool) -> None:
    """``save(path)`` atomically on the chief; elsewhere to a temporary file, dropped."""
    with writable_path(path, chief) as target:
        atomic_save(target, save, "".join(path.suffixes))


def _write_state(run_dir: Path, state: dict, chief: bool) -> None:
    if chief:
        atomic_write_text(run_dir / "checkpoints" / "state.json", json.dumps(state, indent=2))


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


def open_run(run_dir: Path, resume: bool, chief: bool = True) -> dict:
    """The training state of ``run_dir``: a fresh one, or the saved one to resume.

    A non-chief worker does not check for an existing run: the chief may already have
    started writing it into a shared folder.

    Raises:
        RunError: resuming a folder with no finished epoch, or starting over a run.
    """
    state_path = run_dir / "checkpoints" / "state.json"
    if resume:
        if not state_path.exists():
            raise RunError(f"nothing to resume in {run_dir}: it has no finished epoch")
        return json.loads(state_path.read_text())
    if chief and (run_dir / "config.json").exists():
        raise RunError(
            f"{run_dir} already holds a run; pass --resume to continue it or --run NEW_DIR"
        )
    return fresh_state()


def fresh_state() -> dict:
    """The training state of a run with no finished epoch."""
    return {"epoch": 0, "best_val_loss": math.inf, "best_epoch": 0, "wait": 0}


class RecentWeights(keras.callbacks.Callback):
    """Keeps the model's weights at the end of each of the last ``count`` epochs (in memory),
    for :func:`keep_best_average`."""

    def __init__(self, count: int):
        super().__init__()
        self.saved = collections.deque(maxlen=count)

    def on_epoch_end(self, epoch, logs=None):
        self.saved.append(self.model.get_weights())

    def average(self, last: int) -> list[np.ndarray]:
        """The mean of the last ``last`` epochs' weights (integer arrays: the latest)."""
        chosen = list(self.saved)[-last:]
        return [np.mean(arrays, axis=0).astype(arrays[0].dtype)
                if np.issubdtype(arrays[0].dtype, np.floating) else arrays[-1]
                for arrays in zip(*chosen, strict=True)]


def keep_best_average(model, recent: RecentWeights, val_ds, validation_steps: int,
                      run_dir: Path, state: dict, chief: bool = True,
                      log: Callable[[str], None] = print) -> int | None:
    """Checkpoint averaging (Vaswani et al. 2017 average their last checkpoints): scores the
    mean weights of the last 2, 3, ... epochs kept by ``recent`` on the validation batches;
    the best of them, if it beats the best single epoch, becomes the run's best weights.

    Averaging iterates cancels much of the noise a still-high learning rate leaves in the
    weights, which a run cut short by a time limit never anneals away. Returns the number of
    epochs averaged, or ``None`` when no average beat the best epoch (``model`` keeps the
    weights it had).
    """
    if len(recent.saved) < 2:
        return None
    best_loss, best_count, best_weights = state["best_val_loss"], None, model.get_weights()
    for count in range(2, len(recent.saved) + 1):
        averaged = recent.average(count)
        model.set_weights(averaged)
        loss = model.evaluate(distribute_dataset(val_ds), steps=validation_steps, verbose=0,
                              return_dict=True)["loss"]
        log(f"average of the last {count} epochs: validation loss {loss:.4f} "
            f"(best epoch {state['best_epoch']}: {state['best_val_loss']:.4f})")
        if loss < best_loss:
            best_loss, best_count, best_weights = loss, count, averaged
    model.set_weights(best_weights)  # the weights it had when no average did better
    if best_count is None:
        return None
    _save_checkpoint(run_dir / "checkpoints" / "best.weights.h5", model.save_weights, chief)
    state.update(best_val_loss=float(best_loss), best_epoch=state["epoch"],
                 averaged_epochs=best_count)
    _write_state(run_dir, state, chief)
    return best_count


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends past ``minutes`` (on every
    worker at once, when any worker's clock is past it)."""

    def __init__(self, minutes: float):
        super().__init__()
        self.minutes = minutes
        self.started = None

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        late = bool(self.minutes) and time.monotonic() - self.started > 60 * self.minutes
        if agree(self.model.distribute_strategy, late):
            self.model.stop_training = True


class AttentionImages(keras.callbacks.Callback):
    """Each epoch, a figure drawn from the model in training (an attention map of a fixed
    validation sentence) written as an image to TensorBoard in ``log_dir/attention``.

    The figure is drawn from a float32 twin of the model (``build()``), given the training
    weights each epoch: decoding then runs on plain variables in float32, whatever the
    strategy and precision of the training. ``drawer(twin)`` is called once and returns a
    function of no arguments that draws the figure (so a translator is built once). Runs of
    more than ``most`` epochs log every k-th epoch (and the last), at most ``most`` images:
    each costs a few tenths of a second.
    """

    def __init__(self, log_dir: Path, build: Callable[[], keras.Model], drawer: Callable,
                 tag: str = "attention", most: int = 25):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.build = build
        self.drawer = drawer
        self.tag = tag
        self.most = most
        self._every = 1
        self._twin = self._draw = self._writer = None

    def on_train_begin(self, logs=None):
        self._twin = self.build()
        self._draw = self.drawer(self._twin)
        self._every = math.ceil(self.params.get("epochs", 1) / self.most)
        self._writer = tf.summary.create_file_writer(str(self.log_dir / "attention"))

    def on_epoch_end(self, epoch, logs=None):
        from common.plotting import figure_png

        if epoch % self._every and epoch + 1 != self.params.get("epochs"):
            return
        self._twin.set_weights(self.model.get_weights())
        image = tf.image.decode_png(figure_png(self._draw()), channels=4)
        with self._writer.as_default():
            tf.summary.image(self.tag, image[None], step=epoch)  # as Keras counts
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


def fit_run(model, train_ds, val_ds, run_dir: Path, state: dict, *, epochs: int,
            steps_per_epoch: int, validation_steps: int, patience: int,
            callbacks=(), verbose: int = 2, title: str = "training",
            plotted: tuple[str, ...] = ("loss", "masked_accuracy"), chief: bool = True,
            images: AttentionImages | None = None) -> None:
    """Fits from ``state['epoch']`` with a checkpoint every epoch, then plots the history.

    The chief also logs to TensorBoard in ``run_dir/logs`` (``tensorboard --logdir runs``):
    loss, metrics and learning rate each epoch, and the ``images`` if given.
    """
    from common.plotting import history_figure, save_figure

    done = state["epoch"] >= epochs or state.get("stopped_early", False)
    if not done:
        logging = []
        if chief:
            logging.append(keras.callbacks.TensorBoard(
                str(run_dir / "logs"), write_graph=False, profile_batch=0))
            if images is not None:
                logging.append(images)
        model.fit(
            distribute_dataset(train_ds),
            epochs=epochs,
            initial_epoch=state["epoch"],
            steps_per_epoch=steps_per_epoch,
            validation_data=distribute_dataset(val_ds),
            validation_steps=validation_steps,
            callbacks=[RunCheckpoint(run_dir, patience, state, chief), *logging, *callbacks],
            shuffle=False,  # the datasets shuffle themselves
            verbose=verbose,
        )
    if not chief:
        return
    history = history_columns(read_history(run_dir / "history.csv"))
    names = [*plotted, *(f"val_{name}" for name in plotted)]
    if history.get("loss"):
        figure = history_figure({k: history[k] for k in names if k in history}, title=title)
        save_figure(figure, run_dir / "plots" / "history.png")


def write_data_report(run_dir: Path, corpus) -> None:
    atomic_write_text(
        run_dir / "data.json",
        json.dumps(
            {
                "report": corpus.report,
                "malformed_lines": corpus.malformed[:1000],
                "train": len(corpus.splits.train),
                "validation": len(corpus.splits.validation),
                "test": len(corpus.splits.test),
            },
            indent=2,
        ),
    )


DEMO_MARK = ".made-by-demo"


def claim_demo_folder(path: str | os.PathLike) -> Path:
    """An empty folder at ``path`` for a demo to write, marked as the demo's own.

    A folder an earlier demo made (it holds the mark) is replaced; a missing or empty one is
    made and marked. Anything else is a user's folder, and a demo never deletes those.

    Raises:
        RunError: ``path`` is a file, a link, or a folder with contents no demo made.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise RunError(f"{path} is not a folder; pass --run NEW_DIR for the demo's run")
    if path.exists() and any(path.iterdir()):
        if not (path / DEMO_MARK).is_file():
            raise RunError(
                f"{path} already holds files that no demo wrote; the demo will not replace "
                "it: pass --run NEW_DIR, or remove the folder yourself")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / DEMO_MARK).write_text("written by a demo, which may replace this folder\n")
    return path


def publish_dir(staging: Path, final: Path) -> None:
    """Moves a finished ``staging`` folder to ``final``, replacing an old export there; the
    old copy is removed only once the new one is in place.

    Raises:
        RunError: ``final`` exists and is not an export (a SavedModel), or not a folder.
    """
    old = None
    if final.exists() or final.is_symlink():
        if (final.is_symlink() or not final.is_dir()
                or (any(final.iterdir()) and not (final / "saved_model.pb").exists())):
            raise RunError(f"{final} exists and is not a SavedModel; it is left as it is: "
                           "export to another --out folder")
        old = final.with_name(f".{final.name}-old-{os.getpid()}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_saved_model(module, final: Path, signatures: dict) -> Path:
    """``tf.saved_model.save`` into a temporary folder beside ``final``, then renamed into
    place: a crash mid-export leaves the previous export (or none), never half of one."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    try:
        tf.saved_model.save(module, str(staging), signatures=signatures)
        publish_dir(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def load_checkpoint(run_dir: Path, which: str, build: Callable[[], keras.Model]) -> keras.Model:
    """A run's model: ``build()`` with the best weights (``which="best"``), or the last
    ``.keras`` checkpoint with its optimizer (``"last"``, for resuming).

    Raises:
        RunError: no checkpoint yet, or one that cannot be read (damaged, or from another
            configuration).
    """
    run_dir = Path(run_dir)
    path = run_dir / "checkpoints" / ("best.weights.h5" if which == "best" else "last.keras")
    if not path.exists():
        raise RunError(f"{run_dir} has no trained weights ({path.name}); train it first")
    try:
        if which == "best":
            model = build()
            model.load_weights(path)
            return model
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - a damaged file raises many kinds
        raise RunError(
            f"checkpoint {path} is unreadable ({type(error).__name__}); it is damaged or from "
            "another configuration: retrain, or delete the run folder") from None
