"""Two worker processes on localhost, MultiWorkerMirroredStrategy configured by TF_CONFIG."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_together_and_only_the_chief_writes(tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "PYTHONPATH": str(ROOT),
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "transformer", "train", "--preset", "tiny",
             "--strategy", "multi-worker", "--run", str(tmp_path / f"worker{index}"),
             "--export"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    outputs = []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=300)[0])
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    losses = [re.findall(r" loss: ([0-9.]+)", output) for output in outputs]
    assert len(losses[0]) == 2  # two epochs
    assert losses[0] == losses[1]  # the same synchronized model on both workers
    chief, other = tmp_path / "worker0", tmp_path / "worker1"
    assert (chief / "checkpoints" / "last.keras").exists()
    assert (chief / "checkpoints" / "best.weights.h5").exists()
    assert (chief / "export" / "saved_model" / "saved_model.pb").exists()
    assert (chief / "logs" / "train").is_dir()
    assert not other.exists()  # the second worker wrote nothing
