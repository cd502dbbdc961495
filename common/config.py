"""The base of every tutorial's configuration: a frozen dataclass that can be changed by
copy, written to and read from a run's ``config.json``, and built from a named preset.

A tutorial's config declares its own fields (the hyperparameters a learner reads) and its
presets as classmethods named in ``PRESETS``; everything else lives here once.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar, Self

from common.errors import RunError, UsageError
from common.files import atomic_write_text

__all__ = ["PRECISIONS", "STRATEGIES", "RunConfig", "read_config_values"]

# The tf.distribute strategies and Keras precisions a run can train with (common.distribute):
# here, where the command lines read them without importing TensorFlow.
STRATEGIES = ("default", "mirrored", "multi-worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Methods and training options shared by the tutorials' configs (subclass it as a
    frozen dataclass).

    ``kind`` names the model a config describes where one tutorial has several (classify's
    text, bert and vit); it is written to ``config.json`` when set, and checked on reading.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("tutorial", "quick", "tiny")
    kind: ClassVar[str] = ""
    # Settings with a closed set of values: a config.json with another is refused on reading.
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"precision": PRECISIONS}

    # Training options every tutorial's run has: common.training (train_run, fit_epochs) is
    # written against these. A tutorial redeclares one only to give it another default.
    batch_size: int = 64  # the global batch (split across replicas under a strategy)
    epochs: int = 20
    patience: int = 3  # early stopping: epochs without a better validation loss
    seed: int = 0  # weights, dropout and data order
    precision: str = "float32"  # "float32" | "mixed_bfloat16" | "mixed_float16" (training)
    jit_compile: bool = False  # XLA
    steps_per_execution: int = 20  # training steps per call into TensorFlow
    time_limit_minutes: float = 0.0  # stop after the first epoch past this (0: no limit)
    average_last: int = 0  # >= 2: try averaging the last 2..N epochs' weights (the paper's)

    def replace(self, **changes) -> Self:
        return dataclasses.replace(self, **changes)

    def execution(self, steps_per_epoch: int) -> dict:
        """``model.compile``'s ``jit_compile`` and ``steps_per_execution`` for this run: at
        most one epoch of steps a call (a call never runs past the epoch's end)."""
        return {"jit_compile": self.jit_compile,
                "steps_per_execution": max(1, min(self.steps_per_execution, steps_per_epoch))}

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        shared = {f.name: values.pop(f.name) for f in dataclasses.fields(RunConfig)}
        return {**({"kind": self.kind} if self.kind else {}), **values, **shared}

    def to_json(self, path: str | Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, values: dict, where: str = "the config") -> Self:
        """The config ``values`` describe.

        Raises:
            RunError: settings this config does not have, or values of the wrong kind.
        """
        if not isinstance(values, dict):
            raise RunError(f"{where} is not a settings object; it is not this package's")
        values = dict(values)
        kind = values.pop("kind", "")
        if kind != cls.kind:
            raise RunError(f"{where} describes a {kind or 'different'!r} model, not "
                           f"{cls.kind or cls.__qualname__!r}: use the matching command")
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise RunError(f"{where} has unknown settings {sorted(unknown)}: it was written "
                           "by another tutorial or version")
        for field in dataclasses.fields(cls):
            if field.name in values and not _fits(values[field.name], field.default):
                raise RunError(f"{where}: {field.name} = {values[field.name]!r} is not a "
                               f"{type(field.default).__name__}")
        for name, choices in cls.CHOICES.items():
            if name in values and values[name] not in choices:
                raise RunError(f"{where}: {name} = {values[name]!r} is not one of "
                               f"{', '.join(map(repr, choices))}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> Self:
        """The config saved at ``path``.

        Raises:
            RunError: the file is missing, not JSON, or not a config of this class.
        """
        return cls.from_dict(read_config_values(path), str(path))

    @classmethod
    def preset(cls, name: str) -> Self:
        """The preset called ``name`` (one of ``PRESETS``; the classmethod of that name,
        hyphens as underscores)."""
        if name not in cls.PRESETS:
            raise UsageError(f"preset must be one of {list(cls.PRESETS)}, received {name!r}")
        return getattr(cls, name.replace("-", "_"))()  # cpu-hour: cpu_hour()


def read_config_values(path: str | Path):
    """The JSON a ``config.json`` holds.

    Raises:
        RunError: the file is missing, or damaged (not JSON, not UTF-8).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing: this is not a run folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"{path} is damaged ({error}); retrain into a new run folder") from None


def _fits(value, default) -> bool:
    """Whether a JSON value can stand for a field whose default is ``default``."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
