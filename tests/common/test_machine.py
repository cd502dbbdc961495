import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh process: the command's thread settings, then how many threads an op TensorFlow
# uses (0: its default, every core).
PROGRAM = """
import argparse, sys
import tensorflow as tf
from common.cli import DECODING_COMMANDS, run_command

def report(args):
    tf.constant(1.0) + 1.0  # TensorFlow has started: the setting is fixed now
    print(tf.config.threading.get_intra_op_parallelism_threads())
    return 0

sys.exit(run_command({name: report for name in ("train", "translate", "evaluate")},
                     argparse.Namespace(command=sys.argv[1]), decoding=DECODING_COMMANDS))
"""


def _threads_an_op(command: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROGRAM, command], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    return int(done.stdout.split()[-1])


def test_decoding_commands_run_one_thread_an_op_and_training_keeps_every_core():
    assert _threads_an_op("translate") == 1
    assert _threads_an_op("evaluate") == 1
    assert _threads_an_op("train") == 0
