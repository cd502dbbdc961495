"""The training skeleton, written once: a tutorial states what is its own (its data and
vocabulary, how to build and compile its model, its figures) in a :class:`TrainingPlan`, and
:func:`train_run` does the rest.

What every run gets: a run folder (:mod:`common.run_folder`), a tf.distribute strategy and a
precision policy, a checkpoint every epoch, resume after the last finished epoch, early
stopping that survives resume, a time limit, checkpoint averaging, TensorBoard logs with an
attention image each epoch, the history plot, and writes on the chief worker only.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.config import RunConfig
from common.distribute import (
    agree,
    distribute_dataset,
    is_chief,
    make_strategy,
    precision_policy,
    writable_path,
    xla_runs_on,
)
from common.errors import UsageError
from common.files import PARTIAL, atomic_save, atomic_write_text
from common.keras_mends import learning_rate_schedule
from common.plotting import figure_png, history_figure, save_figure
from common.run_folder import RunFolder, TrainState, read_history

__all__ = [
    "AttentionImages",
    "TrainingPlan",
    "FitScheduleToTime",
    "RecentWeights",
    "RunCheckpoint",
    "RunContext",
    "TimeLimit",
    "TrainResult",
    "fit_epochs",
    "keep_best_average",
    "train_run",
]


@dataclasses.dataclass
class TrainingPlan:
    """What one tutorial's training needs that the skeleton cannot know.

    ``build()`` makes the model (float32 or the active precision); ``compile(model)``
    compiles it; ``start(model)``, when given, runs between the two for a model that starts
    from other weights (BERT's pretrained encoder). ``drawer(twin)`` returns a function that
    draws the epoch's attention figure from a float32 twin of the model (TensorBoard).
    """

    build: Callable[[], keras.Model]
    compile: Callable[[keras.Model], None]
    train_ds: tf.data.Dataset
    val_ds: tf.data.Dataset
    steps_per_epoch: int
    validation_steps: int | None
    title: str
    plotted: tuple[str, ...] = ("loss", "masked_accuracy")
    drawer: Callable | None = None
    start: Callable[[keras.Model], None] | None = None


@dataclasses.dataclass
class TrainResult:
    """What a finished ``train`` hands back: the run, its config and data, how it ended."""

    run_dir: Path
    config: RunConfig
    data: object  # the tutorial's data: a Corpus (translators) or SplitData (classify)
    epochs_done: int
    best_epoch: int
    stopped_early: bool
    chief: bool = True  # False on the workers of a multi-worker run that write nothing


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What a tutorial's ``prepare`` is given: the run's config (the saved one on resume),
    its folder, whether it resumes, whether this worker writes (the chief), the strategy,
    and where progress goes."""

    config: RunConfig
    run: RunFolder
    resume: bool
    chief: bool
    strategy: tf.distribute.Strategy
    log: Callable[[str], None] = print
    verbose: int = 2


Prepare = Callable[[RunContext], tuple[TrainingPlan, object]]


RESUMABLE = ("epochs", "time_limit_minutes", "batch_size", "precision")


def train_run(config: RunConfig, run_dir: str | os.PathLike, prepare: Prepare, *,
              resume: bool = False, epochs: int | None = None, changes: dict | None = None,
              callbacks: Sequence[keras.callbacks.Callback] = (),
              log: Callable[[str], None] = print, verbose: int = 2,
              strategy: str | tf.distribute.Strategy = "default") -> TrainResult:
    """Trains ``config`` into ``run_dir``; with ``resume``, continues after its last
    finished epoch with the config the run saved, changed by ``changes`` (settings asked
    for on the command line) where they may change mid-run: ``RESUMABLE`` (the epochs, the
    time limit, counted from the resume, the batch size and the precision: the weights and
    the optimizer's state carry over to the model rebuilt in the new precision). Any other
    change is refused: it would make a different run.

    ``prepare(context)`` (a :class:`RunContext`) is the tutorial's part: it reads the data,
    builds (or, on resume, reads back) its vocabulary, writes its own files on the chief, and
    returns ``(TrainingPlan, data)``. ``strategy`` is a :mod:`common.distribute` name or a
    tf.distribute strategy; only its chief writes the run folder. ``config.batch_size`` is the
    global batch.

    Raises:
        RunError: a run already in ``run_dir`` (without ``resume``), or nothing to resume.
        UsageError: ``changes`` to a setting that cannot change on resume.
        DataError: the data cannot be read.
        DistributeError: a strategy or precision that cannot be set up.
    """
    run = RunFolder(run_dir)
    strategy = make_strategy(strategy)  # first: multi-worker must precede other TF work
    chief = is_chief(strategy)
    state = run.open(resume, chief)
    if resume:
        config = run.read_config(type(config))
        changed = {k: v for k, v in (changes or {}).items() if getattr(config, k) != v}
        fixed = sorted(set(changed) - set(RESUMABLE))
        if fixed:
            raise UsageError(
                f"a resumed run keeps its settings; {', '.join(fixed)} cannot change (only "
                f"{', '.join(RESUMABLE)} can): train a new run with --run NEW_DIR instead")
        config = config.replace(**changed)
    if epochs is not None:
        config = config.replace(epochs=epochs)
    saved = config  # the run's settings, whatever this machine lets it use
    if config.jit_compile and not xla_runs_on(strategy):
        log("training without XLA (jit_compile): XLA cannot run replicas on several CPU "
            "devices of one machine")
        config = config.replace(jit_compile=False)
    keras.utils.set_random_seed(config.seed)
    if chief:  # before prepare: what it trains first (BERT's pretraining) must resume too
        saved.to_json(run.config_path)
    try:
        plan, data = prepare(RunContext(config, run, resume, chief, strategy, log, verbose))
    except Exception:  # bad data: no run is left behind (an interrupted one stays a run)
        if chief and not resume:
            run.config_path.unlink(missing_ok=True)
        raise
    fit_epochs(plan, run, state, config, strategy, callbacks=callbacks, log=log,
               verbose=verbose, chief=chief)
    return TrainResult(run.path, config, data, state.epoch, state.best_epoch,
                       state.stopped_early, chief)


def fit_epochs(plan: TrainingPlan, run: RunFolder, state: TrainState, config: RunConfig,
               strategy: tf.distribute.Strategy, *, epochs: int | None = None,
               callbacks: Sequence[keras.callbacks.Callback] = (),
               log: Callable[[str], None] = print, verbose: int = 2,
               chief: bool = True) -> TrainState:
    """Builds (or, after a finished epoch, reloads) the model and fits it from
    ``state.epoch`` to ``epochs`` (default ``config.epochs``); then, if
    ``config.average_last`` >= 2, keeps the best average of the last epochs.

    The chief also logs to TensorBoard in ``RUN/logs`` (``tensorboard --logdir runs``) and
    draws ``RUN/plots/history.png``.
    """
    epochs = config.epochs if epochs is None else epochs
    with strategy.scope(), precision_policy(config.precision):
        if state.epoch:
            model = run.load_model("last", plan.build)
            model.jit_compile = config.jit_compile  # as this machine allows (train_run)
            log(f"resuming {run.path} after epoch {state.epoch}")
            if model.dtype_policy.name != config.precision:
                log(f"training on in {config.precision} (the checkpoint is "
                    f"{model.dtype_policy.name})")
                model = _rebuilt(model, plan)
            _restore_seed_states(model, state.seed_states)
        else:
            model = plan.build()
            if plan.start is not None:
                plan.start(model)
            plan.compile(model)
    time_limit, average_last = config.time_limit_minutes, config.average_last
    recent = RecentWeights(average_last) if average_last >= 2 else None
    every_epoch = [RunCheckpoint(run, config.patience, state, chief)]
    if chief:
        every_epoch.append(RestoreRunFiles(run, log))
        every_epoch.append(keras.callbacks.TensorBoard(str(run.logs), write_graph=False,
                                                       profile_batch=0))
        if plan.drawer is not None:
            every_epoch.append(AttentionImages(run.logs, plan.build, plan.drawer))
    every_epoch += [TimeLimit(time_limit), FitScheduleToTime(time_limit, log)] \
        if time_limit else []
    every_epoch += [recent] if recent else []
    if state.epoch < epochs and not state.stopped_early:
        # The training batches come in one seeded order; a resumed run skips the ones the
        # finished epochs used, so it sees what an uninterrupted run would have seen next.
        train_ds = plan.train_ds.skip(state.epoch * plan.steps_per_epoch) if state.epoch \
            else plan.train_ds
        model.fit(
            distribute_dataset(train_ds),
            epochs=epochs,
            initial_epoch=state.epoch,
            steps_per_epoch=plan.steps_per_epoch,
            validation_data=distribute_dataset(plan.val_ds, autotune=False),
            validation_steps=plan.validation_steps,
            callbacks=[*every_epoch, *callbacks],
            shuffle=False,  # the datasets shuffle themselves
            verbose=verbose,
        )
    if recent is not None and len(recent.saved) >= 2:
        with strategy.scope():
            count = keep_best_average(model, recent, plan.val_ds, plan.validation_steps, run,
                                      state, chief, log)
        log(f"best weights: the average of the last {count} epochs" if count else
            "best weights: a single epoch's (no average of the last epochs did better)")
    if chief:
        history = run.history()
        names = [*plan.plotted, *(f"val_{name}" for name in plan.plotted)]
        if history.get("loss"):
            figure = history_figure({k: history[k] for k in names if k in history},
                                    title=plan.title)
            save_figure(figure, run.plots / "history.png")
    return state


def _seed_states(model: keras.Model) -> list:
    """The state variables of the model's random seed generators (dropout's), in order."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def _restore_seed_states(model: keras.Model, saved: list) -> None:
    states = _seed_states(model)
    if len(saved) == len(states):  # a run from before seed states were saved has none
        for variable, value in zip(states, saved, strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))


def _rebuilt(model: keras.Model, plan: TrainingPlan) -> keras.Model:
    """A model built and compiled by ``plan`` (in the active precision) that holds
    ``model``'s weights and its optimizer's state: the moments and the step count, which
    the learning-rate schedule reads. Variables are float32 in every precision, so they
    copy one to one (a loss-scaling optimizer of mixed_float16 wraps the same one)."""
    twin = plan.build()
    plan.compile(twin)
    twin.set_weights(model.get_weights())
    twin.optimizer.build(twin.trainable_variables)
    old, new = (getattr(o, "inner_optimizer", o) for o in (model.optimizer, twin.optimizer))
    for source, target in zip(old.variables, new.variables, strict=True):
        target.assign(source)
    return twin


class RestoreRunFiles(keras.callbacks.Callback):
    """Writes back, after each epoch, a file the run held when training began (its config,
    vocabularies, data split: what loading or resuming it needs) if it was removed
    meanwhile, with a note: the checkpoints written since would otherwise belong to a run
    that can be neither loaded nor resumed. What training itself writes (checkpoints,
    history, logs, plots) is written anew each epoch anyway; exports and metrics are not
    the run's to keep, nor is a run inside it (a folder with its own checkpoints). Files
    past ``limit_bytes`` in all are not kept."""

    def __init__(self, run: RunFolder, log: Callable[[str], None] = print,
                 limit_bytes: int = 64 << 20):
        super().__init__()
        self.log = log
        self.kept: dict[Path, bytes] = {}
        skipped = {run.checkpoints, run.logs, run.plots, run.export, run.history_path}
        folders, total = [run.path] if run.path.is_dir() else [], 0
        while folders:
            for path in sorted(folders.pop().iterdir()):
                if path in skipped or path.name.startswith((PARTIAL, "metrics")):
                    continue
                if path.is_dir():
                    if not (path / "checkpoints").is_dir():
                        folders.append(path)
                    continue
                total += path.stat().st_size
                if total > limit_bytes:
                    return
                self.kept[path] = path.read_bytes()

    def on_epoch_end(self, epoch, logs=None):
        for path, data in self.kept.items():
            if not path.exists():
                atomic_save(path, lambda tmp, data=data: Path(tmp).write_bytes(data),
                            path.suffix)
                self.log(f"note: {path} was removed during training: written back")


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: history row, last checkpoint, best weights, early stopping.

    Early stopping lives here, with its counter saved in ``state.json``, so a resumed run
    stops exactly when an uninterrupted one would. Off the chief (``chief=False``, the other
    workers of a multi-worker run) the models are saved to temporary files and dropped, and
    nothing else is written; every worker still takes the same early-stopping decision,
    since validation metrics are reduced over all workers.
    """

    def __init__(self, run: RunFolder, patience: int, state: TrainState, chief: bool = True):
        super().__init__()
        self.run = run
        self.patience = patience
        self.state = state
        self.chief = chief

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.chief:
            self._append_history(epoch + 1, logs)
        val_loss = logs.get("val_loss", logs.get("loss", math.inf))
        state = self.state
        if val_loss < state.best_val_loss:
            state.best_val_loss, state.best_epoch, state.wait = val_loss, epoch + 1, 0
            _save_checkpoint(self.run.best_weights, self.model.save_weights, self.chief)
        else:
            state.wait += 1
        _save_checkpoint(self.run.last_model, self.model.save, self.chief)
        state.seed_states = [np.asarray(v).tolist() for v in _seed_states(self.model)]
        state.epoch = epoch + 1
        if state.wait >= self.patience:
            state.stopped_early = True
            self.model.stop_training = True
        if self.chief:
            self.run.write_state(state)

    def _append_history(self, epoch: int, logs: dict) -> None:
        rows = [r for r in read_history(self.run.history_path) if int(r["epoch"]) < epoch]
        rows.append({"epoch": epoch, **logs})
        columns = ["epoch"] + sorted({k for r in rows for k in r if k != "epoch"})
        lines = [",".join(columns)]
        lines += [",".join(str(r.get(c, "")) for c in columns) for r in rows]
        atomic_write_text(self.run.history_path, "\n".join(lines) + "\n")


def _save_checkpoint(path: Path, save: Callable[[str], None], chief: bool) -> None:
    """``save(path)`` atomically on the chief; elsewhere to a temporary file, dropped."""
    with writable_path(path, chief) as target:
        atomic_save(target, save, "".join(path.suffixes))


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


def keep_best_average(model, recent: RecentWeights, val_ds, validation_steps: int | None,
                      run: RunFolder, state: TrainState, chief: bool = True,
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
    best_loss, best_count, best_weights = state.best_val_loss, None, model.get_weights()
    val_ds = distribute_dataset(val_ds, autotune=False)
    for count in range(2, len(recent.saved) + 1):
        averaged = recent.average(count)
        model.set_weights(averaged)
        loss = model.evaluate(val_ds, steps=validation_steps, verbose=0,
                              return_dict=True)["loss"]
        log(f"average of the last {count} epochs: validation loss {loss:.4f} "
            f"(best epoch {state.best_epoch}: {state.best_val_loss:.4f})")
        if loss < best_loss:
            best_loss, best_count, best_weights = loss, count, averaged
    model.set_weights(best_weights)  # the weights it had when no average did better
    if best_count is None:
        return None
    _save_checkpoint(run.best_weights, model.save_weights, chief)
    state.best_val_loss, state.best_epoch = float(best_loss), state.epoch
    state.averaged_epochs = best_count
    if chief:
        run.write_state(state)
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


class FitScheduleToTime(keras.callbacks.Callback):
    """With a time limit, tells a learning-rate schedule whose ``fits_to_time`` is true,
    through its ``fit_to(total_steps, step, first)``
    (``transformer.schedule.WarmupSchedule(decay="linear")``), the step at
    which the limit will be reached: first from the speed of the first steps (the first
    call, which traces the step, left out), then after every epoch from the epochs since the
    first (validation included), so a slow spell moves the end. Other schedules are left
    alone."""

    def __init__(self, minutes: float, log: Callable[[str], None] = print):
        super().__init__()
        self.seconds = 60 * minutes
        self.log = log
        self._marks: list[tuple[float, int]] = []
        self._epoch_one = None

    def _schedule(self):
        schedule = learning_rate_schedule(self.model.optimizer)
        return schedule if getattr(schedule, "fits_to_time", False) else None

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._started = time.monotonic()
        self._marks = []
        self._epoch_one = None
        self._fitted = self._schedule() is None

    def _fit(self, rate: float, first: bool) -> None:
        now, step = time.monotonic(), self._step()
        left = max(0.0, self.seconds - (now - self._started))
        total = step + left / rate
        schedule = self._schedule()
        schedule.fit_to(total, step, first)
        if first:
            self.log(f"time limit: about {total:.0f} steps at {1000 * rate:.0f} ms a step; "
                     f"warm-up {float(schedule.warmup.numpy()):.0f} steps, then a linear "
                     "decay to that step")

    def on_train_batch_end(self, batch, logs=None):
        if self._fitted:
            return
        self._marks.append((time.monotonic(), self._step()))
        if len(self._marks) >= 4:  # the first call traced the step: measure from its end
            (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
            if s1 > s0:
                self._fit((t1 - t0) / (s1 - s0), first=True)
                self._fitted = True

    def on_epoch_end(self, epoch, logs=None):
        if self._schedule() is None:
            return
        now, step = time.monotonic(), self._step()
        if self._epoch_one is None:
            self._epoch_one = (now, step)
            if not self._fitted:  # an epoch shorter than four calls: use it whole
                self._fit((now - self._started) / max(1, step), first=True)
                self._fitted = True
            return
        t1, s1 = self._epoch_one
        if step > s1:
            self._fit((now - t1) / (step - s1), first=False)


class AttentionImages(keras.callbacks.Callback):
    """Each epoch, a figure drawn from the model in training (an attention map of a fixed
    validation sentence) written as an image to TensorBoard in ``log_dir/attention``.

    The figure is drawn from a float32 twin of the model (``build()``), given the training
    weights each epoch: decoding then runs on plain variables in float32, whatever the
    strategy and precision of the training. ``drawer(twin)`` is called once and returns a
    function of no arguments that draws the figure (so a translator is built once). Runs of
    more than ``most`` epochs log every k-th epoch (and the last), at most ``most`` images;
    each costs a few tenths of a second, which on a small model is more than an epoch, so
    such a run also skips an image (never the first or the last) while drawing has taken
    more than ``share`` of the time since training began.
    """

    def __init__(self, log_dir: Path, build: Callable[[], keras.Model], drawer: Callable,
                 tag: str = "attention", most: int = 25, share: float = 0.05):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.build = build
        self.drawer = drawer
        self.tag = tag
        self.most = most
        self.share = share
        self._every = 1
        self._twin = self._draw = self._writer = None
        self._began = self._drawing = 0.0

    def on_train_begin(self, logs=None):
        self._twin = self.build()
        self._draw = self.drawer(self._twin)
        self._every = math.ceil(self.params.get("epochs", 1) / self.most)
        self._writer = tf.summary.create_file_writer(str(self.log_dir / "attention"))
        self._began, self._drawing = time.perf_counter(), 0.0

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        began = time.perf_counter()
        if not last and (epoch % self._every or (
                self._every > 1 and self._drawing > self.share * (began - self._began))):
            return
        self._twin.set_weights(self.model.get_weights())
        image = tf.image.decode_png(figure_png(self._draw()), channels=4)
        with self._writer.as_default():
            tf.summary.image(self.tag, image[None], step=epoch)  # as Keras counts
        self._writer.flush()
        self._drawing += time.perf_counter() - began

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
