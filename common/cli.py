"""What the tutorials' command lines share: argument groups, error handling, small helpers.

Each tutorial keeps its own ``cli.py`` with its commands; this module holds the parts that
would otherwise be written twice.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from common.errors import InputError, UsageError, UserError
from common.machine import settings_for_decoding

__all__ = [
    "DECODING_COMMANDS",
    "UsageError",
    "add_data_arguments",
    "add_decoding_arguments",
    "add_run_arguments",
    "add_serve_command",
    "add_shared_commands",
    "add_training_arguments",
    "check_decoding",
    "check_limit",
    "data_changes",
    "input_batches",
    "finish_demo",
    "list_files",
    "note",
    "report_training",
    "run_command",
    "run_in_fresh_process",
    "serve_run",
    "training_changes",
    "translate_in_fresh_process",
    "translation_parser",
    "translate_lines",
]


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


SCRIPTS = {"nmt_attention": "nmt-attention", "transformer": "nmt-transformer",
           "classify": "nmt-classify"}  # the console scripts pyproject.toml installs


def program_name(tutorial: str) -> str:
    """How the user called us: the console script's name (``nmt-attention``) when started
    through it, else ``python -m nmt_attention``."""
    called = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return called if called == SCRIPTS.get(tutorial) else f"python -m {tutorial}"


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """``--strategy``, ``--precision``, ``--jit-compile``, ``--batch-size``, ``--time-limit``,
    ``--average-last``, ``--export``: how (not what) to train."""
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
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="stop after the first epoch that ends past this many minutes")
    parser.add_argument("--average-last", type=int, metavar="N",
                        help="checkpoint averaging: after training, score the mean weights of "
                        "the last 2..N epochs on validation and keep the best if it beats "
                        "every single epoch (the paper averages its last 5 checkpoints)")
    parser.add_argument("--export", action="store_true",
                        help="export the trained model to RUN/export (the chief only)")


def translation_parser(tutorial: str, description: str, preset_help: str, unit: str,
                       evaluate_help: str, evaluate_beam: int, plot_help: str,
                       presets: Sequence[str] = ("quick", "tutorial", "tiny"),
                       ) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line both translation tutorials share: ``train`` (presets, data, run and
    training options), ``translate`` (decoding options, sentences), ``evaluate`` (``--limit``,
    ``--beam``), ``plot`` (a sentence), ``export`` and ``demo``. Returns the parser and its
    subcommand parsers, for each tutorial to add its own options."""
    parser = argparse.ArgumentParser(prog=program_name(tutorial), description=description)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a model into a run folder")
    train.add_argument("--preset", default="quick", choices=list(presets), help=preset_help)
    add_data_arguments(train)
    add_run_arguments(train, Path("runs") / tutorial)
    add_training_arguments(train)
    translate = commands.add_parser(
        "translate", help="translate sentences given as arguments, else one a line on stdin")
    add_decoding_arguments(translate, unit)
    translate.add_argument("sentences", nargs="*", metavar="SENTENCE")
    evaluate = commands.add_parser("evaluate", help=evaluate_help)
    evaluate.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    evaluate.add_argument("--limit", type=int, help="score N pairs spread evenly over the split "
                          "(every k-th: a file sorted by length keeps its mix of lengths)")
    evaluate.add_argument("--split", choices=["test", "validation"], default="test",
                          help="the split to score: test (default), or validation, to choose "
                          "settings such as the beam width without looking at test (written "
                          "to metrics-validation.json and translations-validation.tsv)")
    evaluate.add_argument("--beam", type=int, default=evaluate_beam, metavar="N",
                          help=f"beam width (default {evaluate_beam}; 1: greedy only)")
    plot = commands.add_parser("plot", help=plot_help)
    plot.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    plot.add_argument("sentence", metavar="SENTENCE")
    add_shared_commands(commands, tutorial)
    return parser, {"train": train, "translate": translate, "evaluate": evaluate,
                    "plot": plot}


def add_decoding_arguments(parser: argparse.ArgumentParser, unit: str = "tokens") -> None:
    """``--temperature``, ``--top-k``, ``--seed`` and ``--beam`` of ``translate``."""
    parser.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0 for greedy decoding; above 0 samples (default 0)")
    parser.add_argument("--top-k", type=int, default=0,
                        help=f"sample among the K likeliest {unit} (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling")
    parser.add_argument("--beam", type=int, default=1, metavar="N",
                        help="beam search with N hypotheses a sentence (default 1: greedy)")


def check_decoding(args) -> None:
    """Refuses decoding settings no translator takes (``common.decoding.check_settings``),
    naming the option."""
    from common.decoding import MAX_SEED, check_settings

    if not 0 <= (getattr(args, "seed", 0) or 0) <= MAX_SEED:  # each line adds its index
        raise UsageError(f"--seed must be between 0 and 2**62; received {args.seed}")
    try:
        check_settings(getattr(args, "temperature", 0.0), getattr(args, "top_k", 0),
                       getattr(args, "seed", 0) or 0, args.beam,
                       names={"temperature": "--temperature", "top_k": "--top-k",
                              "seed": "--seed", "beam_width": "--beam"})
    except InputError as error:
        raise UsageError(str(error)) from None


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, received {limit}")


def input_batches(arguments: list[str], batch_size: int = 64,
                  stream=None) -> Iterator[tuple[int, list[str]]]:
    """The inputs of ``translate``/``predict`` as ``(number of the first line, lines)``
    batches: the arguments, else standard input's lines **as they arrive**: a batch holds
    the lines already there (at most ``batch_size``), so a pipe that waits for each answer
    gets it, and a file is still read in full batches.

    Raises:
        UsageError: a line that is not UTF-8 (the lines before it are answered).
    """
    if arguments:
        for begin in range(0, len(arguments), batch_size):
            yield begin + 1, arguments[begin : begin + batch_size]
        return
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a text stream in memory (tests)
        fd = None
    number, lines = 1, []
    for raw in (_raw_lines(fd, batch_size) if fd is not None
                else ([line] for line in stream)):
        for line in raw:
            if isinstance(line, bytes):
                try:
                    line = line.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise UsageError(
                        f"line {number + len(lines)} of standard input is not UTF-8 "
                        f"({error.reason} at byte {error.start}): convert the file, e.g. "
                        "iconv -f latin1 -t utf-8") from None
            lines.append(line.rstrip("\r\n"))
        while lines and (len(lines) >= batch_size or not _more_waiting(fd)):
            yield number, lines[:batch_size]
            number, lines = number + len(lines[:batch_size]), lines[batch_size:]
    if lines:
        yield number, lines


def _more_waiting(fd) -> bool:
    """Whether more input can be read from ``fd`` without waiting (False for memory)."""
    if fd is None:
        return True  # in memory everything is there: fill the batch
    return bool(select.select([fd], [], [], 0)[0])


def _raw_lines(fd: int, batch_size: int) -> Iterator[list[bytes]]:
    """Complete lines from ``fd`` as bytes, in the groups they arrived in."""
    pending = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield [pending]
            return
        *complete, pending = (pending + chunk).split(b"\n")
        if complete:
            yield complete


def note(message: str) -> None:
    """A remark about one input on stderr (the answer itself goes to stdout)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


# The translation tutorials' commands that decode batches side by side, one a core, and do
# not train: they run with common.machine.settings_for_decoding.
DECODING_COMMANDS = ("translate", "evaluate")

# translate reads up to this many batches of waiting input at once and decodes them sorted by
# length: a batch of like lengths pads less and stops sooner (its longest row sets the loop).
SORT_WINDOW_BATCHES = 16


def translate_lines(load_translator: Callable[[], object], args, batch_size: int = 64) -> None:
    """Prints one translation a line of input (:func:`input_batches`), flushed, with the
    decoding settings of :func:`add_decoding_arguments` (checked before the model loads).

    Every input line gets exactly one output line, in order. Lines already waiting (up to
    ``SORT_WINDOW_BATCHES`` batches) are decoded in batches of like length in the model's
    tokens: less padding, and a batch's loop ends with its longest line; a line's
    translation is the same in any batch, even one that never writes [END] (it stops at its
    own limit: :func:`common.decoding.row_limits`). An empty line, or one with nothing to
    translate (punctuation only, or no word the model knows), gets an empty line and a note
    on stderr; a line longer than the model takes is translated from its first words, with
    a note. Sampled translations use seed ``--seed`` + the line's index, so a
    line's draw does not depend on how input was batched.
    """
    check_decoding(args)
    translator = load_translator()
    settings = dict(temperature=args.temperature, top_k=args.top_k, beam_width=args.beam)
    window = SORT_WINDOW_BATCHES * batch_size
    for first, lines in input_batches(args.sentences, window):
        _translate_window(translator, args, settings, first, lines, batch_size)


def _translate_window(translator, args, settings: dict, first: int, lines: list[str],
                      batch_size: int) -> None:
    """:func:`translate_lines` for the waiting ``lines``, the first numbered ``first``: their
    batches side by side (:func:`common.decoding.batches_side_by_side`)."""
    from common.decoding import batches_side_by_side
    from common.text import check_unicode

    translations, translated = [b""] * len(lines), [False] * len(lines)
    for number, line in enumerate(lines, start=first):
        check_unicode(line, f"line {number}")
    lengths = translator.source_lengths(lines)  # in the model's tokens
    if args.temperature > 0 and args.beam == 1:  # one draw a line, seeded by its index
        def run(batch):
            (i,) = batch
            return translator.run([lines[i]], **settings, seed=args.seed + first - 1 + i)
        batches = batches_side_by_side(range(len(lines)), lengths, 1, run)
    else:
        batches = batches_side_by_side(
            lines, lengths, batch_size,
            lambda batch: translator.run(batch, **settings, seed=args.seed))
    for rows, result in batches:
        for row, text, ok in zip(rows, result["translation"], result["translated"],
                                 strict=True):
            translations[row], translated[row] = text, bool(ok)
    for number, line, text, ok, length in zip(
            range(first, first + len(lines)), lines, translations, translated, lengths,
            strict=True):
        if not line.strip():
            note(f"line {number} is empty: an empty line out")
        elif not ok:
            note(f"line {number} has nothing to translate (no word the model knows, or "
                 "punctuation only): an empty line out")
        elif length > translator.source_limit:
            note(f"line {number} is {length} tokens long; its first "
                 f"{translator.source_limit} were translated")
        print(text.decode("utf-8"), flush=True)


def report_training(result, export: Callable[[], Path] | None = None) -> None:
    """What ``train`` prints at the end (on the chief): epochs, the export, the run."""
    print(f"trained {result.epochs_done} epoch(s), best epoch {result.best_epoch}")
    if result.chief:
        if export is not None:
            print(f"exported {export()}")
        print(f"run folder: {result.run_dir}")


def training_changes(args) -> dict:
    """Config changes for ``--precision``, ``--jit-compile``, ``--batch-size``,
    ``--time-limit`` and ``--average-last``."""
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if args.time_limit is not None and not args.time_limit >= 0:
        raise UsageError("--time-limit must be a number of minutes, 0 or more")
    changes = {"precision": args.precision, "jit_compile": args.jit_compile,
               "batch_size": args.batch_size, "time_limit_minutes": args.time_limit,
               "average_last": args.average_last}
    return {k: v for k, v in changes.items() if v is not None}


def add_shared_commands(commands, tutorial: str) -> None:
    """The ``export``, ``serve`` and ``demo`` commands, the same for every tutorial."""
    export = commands.add_parser("export", help="write the SavedModel and .keras model")
    export.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    export.add_argument("--out", metavar="DIR", help="export folder (default RUN/export)")
    add_serve_command(commands)
    demo = commands.add_parser(
        "demo", help="train the quick preset on the generated corpus and show everything")
    demo.add_argument("--run", default=str(Path("runs") / "demo" / tutorial), metavar="DIR",
                      help="run folder; replaced only if an earlier demo made it")
    demo.add_argument("--epochs", type=int, help="override the quick preset's epochs")


def add_serve_command(commands) -> None:
    serve = commands.add_parser(
        "serve", help="serve the run's SavedModel over HTTP, with the attention explorer at /",
        description="Serves RUN/export/saved_model (exported first if missing or older than "
        "the server): POST /translate or /classify, GET /health, /info, /docs (OpenAPI), and "
        "the attention explorer at /.")
    serve.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; "
                       "0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--max-batch", type=int, default=32, metavar="N",
                       help="texts run together when requests arrive at once (default 32; "
                       "1 runs each request alone)")


def serve_run(args, export: Callable[[Path], Path]) -> int:
    """The ``serve`` command: ``export(run_dir)`` first when the run has no SavedModel with
    the serving signatures, then :func:`common.serving.serve` until interrupted."""
    from common.run_folder import RunFolder
    from common.serving import has_serving_signatures, open_listener, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0-65535, not {args.port}")
    if args.max_batch < 1:
        raise UsageError("--max-batch must be at least 1")
    folder = RunFolder(args.run).require()
    listener = open_listener(args.host, args.port)  # before any work: the address is free
    saved_model = folder.export / "saved_model"
    if not has_serving_signatures(saved_model):
        print(f"exporting {folder.path} first (no SavedModel with the serving signatures)",
              file=sys.stderr, flush=True)
        saved_model = export(folder.path)
    serve(saved_model, args.host, args.port, args.max_batch, name=folder.path.name,
          ready=lambda line: print(line, flush=True), listener=listener)
    return 0


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
                args: argparse.Namespace, decoding: Collection[str] = ()) -> int:
    """Runs ``commands[args.command]``: the package's own user-facing errors
    (:class:`common.errors.UserError`) exit 2 with one line on stderr; anything else is a bug
    and shows its traceback. The commands in ``decoding`` only decode: they run with
    :func:`common.machine.settings_for_decoding`."""
    if args.command in decoding:
        settings_for_decoding()
    try:
        return commands[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def list_files(run_dir: Path) -> None:
    print(f"files written under {run_dir}:")
    for path in sorted(run_dir.rglob("*")):
        if (path.is_file() and "saved_model/variables" not in str(path)
                and path.name != ".made-by-demo"):
            print("  ", path)


def finish_demo(run_dir: Path, saved_model: Path, samples: list[str], expected: list[str],
                imports: str, started: float) -> bool:
    """The end of a translation demo: the SavedModel, reloaded in a fresh process, must give
    ``expected`` for ``samples``; lists the files and the time. Returns whether it did."""
    print("SavedModel:", saved_model)
    same = translate_in_fresh_process(saved_model, samples, imports) == expected
    print(f"reloaded in a fresh process: {'same translations' if same else 'DIFFERENT'}")
    list_files(run_dir)
    print(f"demo finished in {time.time() - started:.0f} s")
    return same


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
