"""MirroredStrategy on 2 logical CPU devices: one step equals one single-device step."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.run_folder import read_history

SCRIPT = Path(__file__).with_name("mirrored_step.py")
ROOT = Path(__file__).resolve().parents[2]


def _step_report(package: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(SCRIPT), package], capture_output=True,
                          text=True, env=env, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("package", ["nmt_attention", "transformer"])
def test_mirrored_step_equals_single_device_step(package):
    """Replica 0 holds 36 real target tokens and replica 1 only 8; the update still equals
    the one-device update, and the per-replica mean it replaces would not."""
    report = _step_report(package)
    assert report["replicas"] == 2
    assert report["moved"] > 1e-2  # the step changed the weights
    assert report["difference"] < 1e-5 * max(1.0, report["moved"])
    assert report["per_replica_mean_difference"] > 100 * report["difference"] + 1e-3
    single, mirrored = report["loss"]
    assert mirrored == pytest.approx(single, rel=1e-5)


@pytest.mark.slow
def test_an_xla_run_resumed_on_split_cpu_devices_trains_without_xla_and_says_so(
        tmp_path, tiny_transformer_run):
    """XLA cannot run MirroredStrategy's replicas on logical CPU devices (TensorFlow refuses
    to read replica 1's variables from device 0): a run whose configuration asks for XLA
    resumes there without it, says so, and keeps the setting it was asked for. (The run is
    the shared tiny one, its configuration set to XLA: what a resume reads of a run.)"""
    run = tmp_path / "run"
    shutil.copytree(tiny_transformer_run, run, ignore=shutil.ignore_patterns(
        "export", ".partial-*"))
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "jit_compile": True}))
    epochs = len(read_history(run / "history.csv"))
    code = (
        "from common.distribute import split_cpu; split_cpu(2)\n"
        "import sys\n"
        "from transformer.cli import main\n"
        f"sys.exit(main(['train', '--resume', '--strategy', 'mirrored', '--epochs', "
        f"'{epochs + 1}', '--run', {str(run)!r}]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "training without XLA" in done.stdout
    assert f"trained {epochs + 1} epoch(s)" in done.stdout
    assert json.loads((run / "config.json").read_text())["jit_compile"] is True
