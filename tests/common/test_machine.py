import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh process: the command's settings, then how many threads an op TensorFlow uses (0:
# its default, every core) and whether Grappler rewrites its graphs.
PROGRAM = """
import argparse, sys
import tensorflow as tf
from common.cli import DECODING_COMMANDS, run_command

def report(args):
    tf.constant(1.0) + 1.0  # TensorFlow has started: the setting is fixed now
    grappler = not tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer")
    print(tf.config.threading.get_intra_op_parallelism_threads(), grappler)
    return 0

sys.exit(run_command({name: report for name in ("train", "translate", "evaluate")},
                     argparse.Namespace(command=sys.argv[1]), decoding=DECODING_COMMANDS))
"""


def _settings(command: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", PROGRAM, command], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    return tuple(done.stdout.split()[-2:])


def test_decoding_commands_run_one_thread_an_op_without_grappler_and_training_keeps_both():
    from common.cli import DECODING_COMMANDS

    assert {"translate", "evaluate"} <= set(DECODING_COMMANDS) and "train" not in \
        DECODING_COMMANDS  # each of these set as translate is
    assert _settings("translate") == ("1", "False")
    assert _settings("train") == ("0", "True")
