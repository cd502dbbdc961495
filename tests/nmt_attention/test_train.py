import json

import keras
import numpy as np
import pytest

from common.data import DataError
from common.errors import RunError, UsageError
from common.run_folder import read_history
from nmt_attention.config import Config
from nmt_attention.runs import load_translator
from nmt_attention.train import train


def quiet(**kwargs):
    return dict(log=lambda _: None, verbose=0, **kwargs)


def test_training_lowers_the_loss_and_writes_the_run_folder(tiny_run):
    history = read_history(tiny_run / "history.csv")
    losses = [float(row["loss"]) for row in history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    for name in ["config.json", "data.json", "vocabulary/source.json", "plots/history.png",
                 "checkpoints/last.keras", "checkpoints/best.weights.h5"]:
        assert (tiny_run / name).exists(), name
    state = json.loads((tiny_run / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 3


class _Interrupt(keras.callbacks.Callback):
    """Stands in for a kill: fails in the middle of a given epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt("killed")


def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path):
    config = Config.tiny().replace(epochs=4, patience=10)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config, run, callbacks=[_Interrupt(epoch=2, batch=1)], **quiet())
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2  # epochs 1 and 2 finished; the third was lost
    assert [int(r["epoch"]) for r in read_history(run / "history.csv")] == [1, 2]

    seen = []
    saved = keras.saving.load_model(run / "checkpoints" / "last.keras")

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = self.model.get_weights()
            self.steps = int(self.model.optimizer.iterations)

        def on_epoch_begin(self, epoch, logs=None):
            seen.append(epoch + 1)

    record = Record()
    result = train(config, run, resume=True, callbacks=[record], **quiet())
    assert seen == [3, 4] and result.epochs_done == 4
    # From the checkpoint: its weights, and the optimizer's count of the steps taken.
    for resumed, checkpoint in zip(record.weights, saved.get_weights(), strict=True):
        np.testing.assert_array_equal(resumed, checkpoint)
    assert record.steps == 2 * config.steps_per_epoch == int(saved.optimizer.iterations)
    assert [int(r["epoch"]) for r in read_history(run / "history.csv")] == [1, 2, 3, 4]


def test_a_run_folder_is_never_overwritten(tiny_run):
    with pytest.raises(RunError, match="--resume"):
        train(Config.tiny(), tiny_run, **quiet())


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(RunError, match="nothing to resume"):
        train(Config.tiny(), tmp_path / "new", resume=True, **quiet())


def test_a_corrupt_checkpoint_gives_one_clear_error(tiny_run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, broken, ignore=shutil.ignore_patterns(".partial-*"))
    (broken / "checkpoints" / "best.weights.h5").write_bytes(b"not an h5 file")
    with pytest.raises(RunError, match="unreadable"):
        load_translator(broken)


def test_missing_data_file_gives_one_clear_error(tmp_path):
    config = Config.tiny().replace(data=str(tmp_path / "nope.txt"))
    with pytest.raises(DataError, match="not found"):
        train(config, tmp_path / "run", **quiet())


def test_early_stopping_counts_epochs_without_improvement_and_survives_resume(tiny_run,
                                                                              tmp_path):
    import shutil

    from common.run_folder import RunFolder, TrainState
    from common.training import RunCheckpoint
    from nmt_attention.runs import load_model

    run = tmp_path / "run"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    state = TrainState()
    callback = RunCheckpoint(RunFolder(run), patience=2, state=state)
    callback.set_model(load_model(run, which="last"))
    for epoch, val_loss in enumerate([1.0, 0.5, 0.7, 0.6]):
        callback.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    assert state.best_epoch == 2 and state.wait == 2
    assert state.stopped_early and callback.model.stop_training
    saved = json.loads((run / "checkpoints" / "state.json").read_text())
    assert saved["stopped_early"] and saved["epoch"] == 4
    # A resumed run that had stopped early trains no further.
    result = train(Config.tiny(), run, resume=True, epochs=10, **quiet())
    assert result.epochs_done == 4 and result.stopped_early


def test_a_resumed_run_sees_the_batches_an_uninterrupted_run_would(tmp_path):
    config = Config.tiny().replace(epochs=3, patience=10)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train(config, whole, **quiet())
    with pytest.raises(KeyboardInterrupt):
        train(config, cut, callbacks=[_Interrupt(epoch=2, batch=1)], **quiet())
    train(config, cut, resume=True, **quiet())
    columns = ["loss", "masked_accuracy", "val_loss"]
    expected = [[float(r[c]) for c in columns] for r in read_history(whole / "history.csv")]
    resumed = [[float(r[c]) for c in columns] for r in read_history(cut / "history.csv")]
    np.testing.assert_allclose(resumed, expected, rtol=1e-5)


def test_resume_honours_epochs_and_batch_size_and_refuses_other_changes(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    with pytest.raises(UsageError, match="units, vocabulary_size cannot change"):
        train(Config.tiny(), run, resume=True, changes={"units": 32, "vocabulary_size": 50},
              **quiet())
    result = train(Config.tiny(), run, resume=True, changes={"epochs": 4, "batch_size": 8},
                   **quiet())
    assert result.epochs_done == 4 and result.config.batch_size == 8
    assert json.loads((run / "config.json").read_text())["batch_size"] == 8
    # A time limit given on resuming is honoured: it ends the first epoch past it (of 6).
    result = train(Config.tiny(), run, resume=True,
                   changes={"epochs": 10, "time_limit_minutes": 1e-4}, **quiet())
    assert result.epochs_done == 5 and len(read_history(run / "history.csv")) == 5


def test_a_time_limit_counts_from_the_start_of_training_not_before():
    """So a resumed run gets the whole limit, counted from the resume (its clock is the
    process's: nothing of the earlier run's time is kept)."""
    import time

    from common.training import TimeLimit

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    limit = TimeLimit(0.05 / 60)  # 50 ms
    limit.set_model(model)
    model.stop_training = False  # as fit sets it
    time.sleep(0.1)  # made, not yet training: this does not count
    limit.on_train_begin()
    limit.on_epoch_end(0)
    assert not model.stop_training
    time.sleep(0.1)
    limit.on_epoch_end(1)
    assert model.stop_training


class _Start(keras.callbacks.Callback):
    """Records what the model holds when fit begins."""

    def on_train_begin(self, logs=None):
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        self.policy = self.model.dtype_policy.name
        self.weights = self.model.get_weights()
        self.optimizer = [np.array(v) for v in optimizer.variables]


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_resume_in_another_precision_carries_weights_and_optimizer_state(tiny_run, tmp_path,
                                                                       precision):
    import shutil

    run = tmp_path / "run"
    # Leaving out files another test may be writing into the shared run.
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".partial-*"))
    saved = keras.saving.load_model(run / "checkpoints" / "last.keras")
    start = _Start()
    result = train(Config.tiny(), run, resume=True, changes={"epochs": 4, "precision": precision},
                   callbacks=[start], **quiet())
    assert start.policy == precision and result.epochs_done == 4
    for got, want in zip(start.weights, saved.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(start.optimizer, saved.optimizer.variables, strict=True):
        np.testing.assert_array_equal(got, np.array(want))
    assert int(start.optimizer[0]) == 3 * Config.tiny().steps_per_epoch  # the step count
    assert json.loads((run / "config.json").read_text())["precision"] == precision



def test_files_removed_while_training_are_written_back(tmp_path):
    """A user who removes the run's config or a vocabulary mid-run (or the whole
    checkpoints folder) still ends with a run that loads and resumes."""
    import shutil

    run = tmp_path / "run"

    class Remove(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # after the epoch's own writes
                self.kept = {p: p.read_bytes() for p in (run / "config.json",
                                                         run / "vocabulary" / "target.json")}
                for path in self.kept:
                    path.unlink()
                shutil.rmtree(run / "checkpoints")

    remove, notes = Remove(), []
    train(Config.tiny(), run, callbacks=[remove], log=notes.append, verbose=0)
    for path, data in remove.kept.items():
        assert path.read_bytes() == data, path
    assert sum("was removed during training: written back" in n for n in notes) == 2
    load_translator(run).translate(["Ella come."])
    result = train(Config.tiny(), run, resume=True, changes={"epochs": 3}, **quiet())
    assert result.epochs_done == 3
