"""What the tutorials' command lines share: argument groups, error handling, small helpers.

Each tutorial keeps its own ``cli.py`` with its commands; this module holds the parts that
would otherwise be written twice.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "UsageError",
    "add_data_arguments",
    "add_run_arguments",
    "add_shared_commands",
    "add_training_arguments",
    "data_changes",
    "list_files",
    "run_command",
    "run_in_fresh_process",
    "slug",
    "training_changes",
    "translate_in_fresh_process",
]


class UsageError(ValueError):
    """A command line that cannot be carried out; the message says what to do."""


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="PATH",
                        help="spa.txt, spa-eng.zip or any English<TAB>Spanish file "
                        "(default: the generated corpus)")
    source.add_argument("--download", action="store_true",
                        help="download the tutorial's spa-eng.zip (cached by Keras)")


def add_run_arguments(parser: argparse.ArgumentParser, default_runs: Path) -> None:
    parser.add_argument("--run", metavar="DIR",
                        help=f"run folder (default {default_runs}/<preset>)")
    parser.add_argument("--epochs", type=int, help="number of epochs (default: the preset's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run after its last finished epoch")
    parser.add_argument("--seed", type=int, help="seed for data, splits and weights")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """``--strategy``, ``--precision``, ``--jit-compile``, ``--batch-size``, ``--export``:
    how (not what) to train."""
    from common.distribute import PRECISIONS, STRATEGIES

    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="tf.distribute strategy: one device, every local GPU (mirrored) "
                        "or the workers in TF_CONFIG (multi-worker); the batch size is global")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="Keras mixed precision for training (default: the preset's)")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None,
                        help="compile each training step with XLA (default: the preset's)")
    parser.add_argument("--batch-size", type=int, metavar="N",
                        help="global batch size (default: the preset's)")
    parser.add_argument("--export", action="store_true",
                        help="export the trained model to RUN/export (the chief only)")


def training_changes(args) -> dict:
    """Config changes for ``--precision``, ``--jit-compile`` and ``--batch-size``."""
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    changes = {"precision": args.precision, "jit_compile": args.jit_compile,
               "batch_size": args.batch_size}
    return {k: v for k, v in changes.items() if v is not None}


def add_shared_commands(commands, tutorial: str) -> None:
    """The ``export`` and ``demo`` commands, the same for every tutorial."""
    export = commands.add_parser("export", help="write the SavedModel and .keras model")
    export.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    export.add_argument("--out", metavar="DIR", help="export folder (default RUN/export)")
    demo = commands.add_parser(
        "demo", help="train the quick preset on the generated corpus and show everything")
    demo.add_argument("--run", default=str(Path("runs") / "demo" / tutorial), metavar="DIR",
                      help="run folder; replaced only if an earlier demo made it")
    demo.add_argument("--epochs", type=int, help="override the quick preset's epochs")


def data_changes(args) -> dict:
    """Config changes for ``--data``/``--download``/``--seed``/``--epochs`` checks."""
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.download:
        changes["data"] = "download"
    elif args.data:
        if not Path(args.data).exists():
            raise UsageError(f"data file not found: {args.data}")
        changes["data"] = str(Path(args.data).resolve())
    return changes


def run_command(commands: Mapping[str, Callable[[argparse.Namespace], int]],
                args: argparse.Namespace) -> int:
    """Runs ``commands[args.command]``; a mistake we can see coming exits 2 with one line."""
    from common.data import DataError
    from common.distribute import DistributeError
    from common.runs import RunError

    try:
        return commands[args.command](args)
    except (UsageError, DataError, RunError, DistributeError, FileNotFoundError,
            TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def slug(sentence: str, limit: int = 40) -> str:
    """A file-name piece from a sentence: ``¿Quién compró?`` -> ``quien-compro``."""
    ascii_text = unicodedata.normalize("NFKD", sentence).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit] or "sentence"


def list_files(run_dir: Path) -> None:
    print(f"files written under {run_dir}:")
    for path in sorted(run_dir.rglob("*")):
        if (path.is_file() and "saved_model/variables" not in str(path)
                and path.name != ".made-by-demo"):
            print("  ", path)


def translate_in_fresh_process(saved_model: Path, texts: list[str],
                               imports: str = "") -> list[str]:
    """Loads the SavedModel in a new Python process and translates ``texts`` there."""
    code = (
        f"import json, sys, tensorflow as tf{imports}\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.translate(tf.constant(json.loads(sys.argv[2])))['translation']\n"
        "print(json.dumps([t.decode() for t in out.numpy()]))\n"
    )
    return run_in_fresh_process(code, str(saved_model), json.dumps(texts))


def run_in_fresh_process(code: str, *args: str):
    """Runs Python ``code`` with ``args`` as ``sys.argv[1:]`` in a new interpreter and
    returns the JSON its last printed line holds: what a user's own process would see."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
