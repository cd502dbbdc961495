"""A run folder and its training state: every path a run writes, named once.

Every tutorial's ``train`` writes the same layout; each adds its own vocabulary files::

    RUN/
        config.json              every setting (rebuilds data, vocabulary and model)
        data.json                where the data came from, split sizes, skipped lines
        checkpoints/last.keras   model and optimizer after the last finished epoch
        checkpoints/best.weights.h5
        checkpoints/state.json   the TrainState: epoch, best validation loss, patience used
        history.csv              one row an epoch
        plots/                   history.png and the tutorial's figures
        logs/                    TensorBoard
        metrics.json             what ``evaluate`` measured
        export/                  saved_model/ and model.keras
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import keras

from common.errors import RunError
from common.files import atomic_write_text, remove_partial_files

__all__ = ["RunFolder", "TrainState", "history_columns", "read_history"]


@dataclasses.dataclass
class TrainState:
    """How far a run has come, saved after every epoch so that a resumed run carries on
    (and stops early) exactly where an uninterrupted one would."""

    epoch: int = 0  # finished epochs
    best_val_loss: float = math.inf
    best_epoch: int = 0
    wait: int = 0  # epochs since the best one (early stopping's counter)
    stopped_early: bool = False
    averaged_epochs: int = 0  # >= 2: the best weights are the mean of the last epochs
    # Where each dropout layer's random stream stood (Keras saves no seed state with a
    # model): a resumed run draws the masks an uninterrupted one would have drawn.
    seed_states: list = dataclasses.field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, where: str) -> TrainState:
        try:
            values = json.loads(text)
            known = {f.name for f in dataclasses.fields(cls)}
            state = cls(**{k: v for k, v in values.items() if k in known})
            if not isinstance(state.epoch, int) or state.epoch < 0:
                raise ValueError(f"epoch {state.epoch!r}")
        except (ValueError, TypeError, AttributeError) as error:
            raise RunError(f"{where} is damaged ({error}); resume from a copy of the run, "
                           "or train into a new run folder") from None
        return state


class RunFolder:
    """The paths of one run, and reading and writing its state and settings.

    Args:
        path: the run folder (it need not exist yet).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.checkpoints = self.path / "checkpoints"
        self.state_path = self.checkpoints / "state.json"
        self.best_weights = self.checkpoints / "best.weights.h5"
        self.last_model = self.checkpoints / "last.keras"
        self.history_path = self.path / "history.csv"
        self.plots = self.path / "plots"
        self.logs = self.path / "logs"
        self.metrics_path = self.path / "metrics.json"
        self.data_report = self.path / "data.json"
        self.export = self.path / "export"

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def child(self, name: str) -> RunFolder:
        """A run folder inside this one (BERT's pretraining)."""
        return RunFolder(self.path / name)

    def require(self) -> RunFolder:
        """This folder, checked to hold a run.

        Raises:
            RunError: the path is a file, or a folder without a run.
        """
        self._refuse_a_file()
        if not self.config_path.exists():
            raise RunError(f"{self.path} is not a run folder (no config.json); train one "
                           "first")
        return self

    def _refuse_a_file(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"--run {self.path} is a file, not a run folder")

    def read_config(self, cls):
        return cls.from_json(self.require().config_path)

    def read_json(self, name: str, what: str):
        """The JSON file ``RUN/name``; ``what`` names it in the error."""
        path = self.path / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise RunError(f"cannot read the {what} {path}: {error}") from None

    def write_json(self, name: str, value, indent: int | None = None) -> None:
        atomic_write_text(self.path / name, json.dumps(value, indent=indent,
                                                       ensure_ascii=False))

    def read_pair(self, folder: str, make: Callable[[list[str]], object]) -> tuple:
        """A translation run's ``(source, target)`` vocabularies: ``make(tokens)`` of
        ``RUN/folder/source.json`` and ``target.json``."""
        return tuple(make(self.read_json(f"{folder}/{side}.json", "vocabulary"))
                     for side in ("source", "target"))

    def write_pair(self, folder: str, source: list[str], target: list[str]) -> None:
        self.write_json(f"{folder}/source.json", source)
        self.write_json(f"{folder}/target.json", target)

    def open(self, resume: bool, chief: bool = True) -> TrainState:
        """The training state to start from: the saved one when resuming, else a fresh one.

        A non-chief worker does not check for an existing run: the chief may already have
        started writing it into a shared folder.

        Raises:
            RunError: starting over a run, or resuming a folder that holds none.
        """
        self._refuse_a_file()
        if resume:
            if not self.config_path.exists():
                raise RunError(f"nothing to resume in {self.path}: it holds no run")
            for folder in (self.path, self.checkpoints):  # what a kill left half-written
                remove_partial_files(folder)
            return self.read_state(missing_ok=True)  # none: killed in its first epoch
        if chief and self.config_path.exists():
            raise RunError(f"{self.path} already holds a run; pass --resume to continue it "
                           "or --run NEW_DIR")
        return TrainState()

    def read_state(self, missing_ok: bool = False) -> TrainState:
        """The saved state (a fresh one if there is none and ``missing_ok``)."""
        if missing_ok and not self.state_path.exists():
            return TrainState()
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RunError(f"cannot read {self.state_path}: {error}") from None
        return TrainState.from_json(text, str(self.state_path))

    def write_state(self, state: TrainState) -> None:
        atomic_write_text(self.state_path, state.to_json())

    def load_model(self, which: str, build: Callable[[], keras.Model]) -> keras.Model:
        """The run's model: ``build()`` with the best weights (``which="best"``), or the last
        ``.keras`` checkpoint with its optimizer (``"last"``, for resuming).

        Raises:
            RunError: no checkpoint yet, or one that cannot be read (damaged, or from another
                configuration).
        """
        path = self.best_weights if which == "best" else self.last_model
        if not path.exists():
            raise RunError(f"{self.path} has no trained weights ({path.name}); train it "
                           "first")
        try:
            if which == "best":
                model = build()
                model.load_weights(path)
                return model
            return keras.saving.load_model(path)
        except Exception as error:  # noqa: BLE001 - a damaged file raises many kinds
            raise RunError(
                f"checkpoint {path} is unreadable ({type(error).__name__}); it is damaged or "
                "from another configuration or an older version of this package: retrain, or "
                "delete the run folder") from None

    def history(self) -> dict[str, list[float]]:
        return history_columns(read_history(self.history_path))


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
