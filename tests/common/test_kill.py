"""Killed at any point, a run resumes, loses at most the epoch in progress, and leaves no
file that fails to load: every file is written under a temporary name and renamed, and
what a killed process left half-written is removed on resume or on the next export."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest
import tensorflow as tf

from common.files import PARTIAL
from common.run_folder import RunFolder, read_history
from nmt_attention.config import Config
from nmt_attention.export import export
from nmt_attention.runs import load_model, load_translator
from nmt_attention.train import train

pytestmark = pytest.mark.slow
CONFIG = Config.tiny().replace(epochs=3, patience=10)


class _Killed(BaseException):
    """Stands in for SIGKILL inside a write (nothing may catch it)."""


def _every_file_loads(run_dir):
    run = RunFolder(run_dir)
    assert not list(run.path.rglob(f"{PARTIAL}*"))
    json.loads(run.config_path.read_text())
    state = run.read_state()
    keras.saving.load_model(run.last_model)
    load_model(run_dir)  # the best weights
    assert [int(r["epoch"]) for r in read_history(run.history_path)] == \
        list(range(1, state.epoch + 1))
    return state


@pytest.mark.parametrize("target,call", [
    ("keras.Model.save", 2),  # last.keras of epoch 2, half written
    ("keras.Model.save_weights", 2),  # best.weights.h5 of epoch 2
    ("common.files.os.replace", 11),  # in epoch 2, between writing a file and renaming it
])
def test_a_run_killed_while_writing_a_checkpoint_resumes(target, call, tmp_path, monkeypatch):
    module, name = target.rsplit(".", 1)
    owner = {"keras.Model": keras.Model, "common.files.os": os}[module]
    real, calls = getattr(owner, name), []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            if name != "replace":  # leave half a file where the write was going
                with open(args[1], "wb") as f:
                    f.write(b"\x00half")
            raise _Killed
        return real(*args, **kwargs)

    run = tmp_path / "run"
    monkeypatch.setattr(owner, name, dying)
    with pytest.raises(_Killed):
        train(CONFIG, run, log=lambda _: None, verbose=0)
    monkeypatch.setattr(owner, name, real)
    # A real kill runs no cleanup: it leaves the half-written file under its temporary name.
    (run / "checkpoints" / f"{PARTIAL}abc.keras").write_bytes(b"\x00half")
    lost_at = RunFolder(run).read_state().epoch
    assert lost_at >= 1  # at most the epoch being written is lost
    result = train(CONFIG, run, resume=True, log=lambda _: None, verbose=0)
    assert result.epochs_done == 3
    assert _every_file_loads(run).epoch == 3


def test_an_export_killed_midway_leaves_the_previous_one_whole(tiny_run, tmp_path,
                                                               monkeypatch):
    translator = load_translator(tiny_run)
    out = tmp_path / "export"
    first = export(translator, out)
    real = tf.saved_model.save

    def dying(obj, path, **kwargs):
        real(obj, path, **kwargs)
        (tmp_path / "marker").write_text("written")
        raise _Killed  # after the SavedModel is written, before it is renamed into place

    monkeypatch.setattr(tf.saved_model, "save", dying)
    with pytest.raises(_Killed):
        export(translator, out)
    monkeypatch.setattr(tf.saved_model, "save", real)
    assert (tmp_path / "marker").exists()
    reloaded = tf.saved_model.load(str(first))  # the previous export, whole
    assert reloaded.translate(tf.constant(["Ella come."]))["translation"].shape == (1,)
    assert not list(out.glob(f"{PARTIAL}*"))  # an exception cleans up after itself
    # A SIGKILL runs no cleanup: what it leaves (a half-written SavedModel under its partial
    # name) is removed by the next export, and nothing else of the folder is touched.
    left = out / f"{PARTIAL}saved_model-killed"
    (left / "variables").mkdir(parents=True)
    (left / "saved_model.pb").write_bytes(b"half")
    (out / "notes.txt").write_text("the user's")
    export(translator, out)
    assert not list(out.glob(f"{PARTIAL}*")) and (out / "notes.txt").read_text() == "the user's"


def test_a_training_process_killed_twice_resumes_each_time(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "nmt_attention", "train", "--preset", "tiny", "--run",
               str(run), "--epochs", "60"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    state_path = run / "checkpoints" / "state.json"
    killed = []
    for attempt in range(2):
        wait_for = killed[-1] + 1 if killed else 1  # the resumed process finishes an epoch
        process = subprocess.Popen(command + (["--resume"] if attempt else []), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 240
        while time.time() < deadline:
            if state_path.exists() and json.loads(state_path.read_text())["epoch"] >= wait_for:
                break
            time.sleep(0.05)
        time.sleep(0.1 * attempt)  # not always at the same moment of an epoch
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed.append(json.loads(state_path.read_text())["epoch"])
    assert 1 <= killed[0] < killed[1]
    done = subprocess.run(command[:-1] + [str(killed[1] + 1), "--resume"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _every_file_loads(run).epoch == killed[1] + 1
