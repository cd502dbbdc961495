"""What the tutorials' command lines share: argument groups, error handling, and the
translation tutorials' commands themselves.

Each tutorial keeps its own ``cli.py`` with its own options; the two translation tutorials'
commands are written once here (:func:`translation_commands`), on the functions each package
gives (:class:`TranslationLibrary`).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from common.errors import UsageError, UserError
from common.lines import translate_lines
from common.machine import settings_for_decoding

__all__ = [
    "DECODING_COMMANDS",
    "TranslationLibrary",
    "UsageError",
    "add_data_arguments",
    "add_decoding_arguments",
    "add_run_arguments",
    "add_serve_command",
    "add_shared_commands",
    "add_training_arguments",
    "check_limit",
    "data_changes",
    "notes_of_translation_run",
    "report_training",
    "run_command",
    "serve_run",
    "served_export",
    "training_changes",
    "translation_commands",
    "translation_explorer",
    "translation_parser",
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
    from common.config import PRECISIONS, STRATEGIES

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
    plot.add_argument("--html", metavar="OUT.html",
                      help="instead of PNGs, write the attention explorer for SENTENCE (every "
                      "layer, head and kind of attention) as one HTML file that opens from "
                      "disk: no server, no network")
    plot.add_argument("sentence", metavar="SENTENCE")
    shared = add_shared_commands(commands, tutorial)
    return parser, {"train": train, "translate": translate, "evaluate": evaluate,
                    "plot": plot, **shared}


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


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, received {limit}")


# The translation tutorials' commands that decode batches side by side, one a core, and do
# not train: they run with common.machine.settings_for_decoding.
DECODING_COMMANDS = ("translate", "evaluate")

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


def add_shared_commands(commands, tutorial: str) -> dict:
    """The ``export``, ``serve`` and ``demo`` commands, the same for every tutorial; returns
    ``{"export": ..., "serve": ...}``, their parsers (for a tutorial's own options)."""
    export = commands.add_parser("export", help="write the SavedModel and .keras model")
    export.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    export.add_argument("--out", metavar="DIR", help="export folder (default RUN/export)")
    serve = add_serve_command(commands)
    demo = commands.add_parser(
        "demo", help="train the quick preset on the generated corpus and show everything")
    demo.add_argument("--run", default=str(Path("runs") / "demo" / tutorial), metavar="DIR",
                      help="run folder; replaced only if an earlier demo made it")
    demo.add_argument("--epochs", type=int, help="override the quick preset's epochs")
    return {"export": export, "serve": serve}


def add_serve_command(commands) -> argparse.ArgumentParser:
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
    serve.add_argument("--read-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="close a connection that has not sent a whole request in this "
                       "time (default 10)")
    serve.add_argument("--max-connections", type=int, default=1000, metavar="N",
                       help="connections open at once; past them a request is answered 503 "
                       "(default 1000)")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="a name the Host header may carry besides --host (repeat it for "
                       "several): for a server reached under a DNS name or behind a proxy; "
                       "with --host 0.0.0.0, the names it answers to (default: any)")
    return serve


def served_export(run_dir: Path, export: Callable[[Path], Path]) -> Path:
    """RUN/export/saved_model, made first by ``export(run_dir)`` when it holds no SavedModel
    with the serving signatures (what ``serve`` and ``plot --html`` read)."""
    from common.run_folder import RunFolder
    from common.serving import has_serving_signatures

    folder = RunFolder(run_dir).require()
    saved_model = folder.export / "saved_model"
    if not has_serving_signatures(saved_model):
        print(f"exporting {folder.path} first (no SavedModel with the serving signatures)",
              file=sys.stderr, flush=True)
        saved_model = export(folder.path)
    return saved_model


# Each connection holds a file descriptor; the usual limit of a process is in the thousands.
MAX_CONNECTIONS = 10_000


def serve_run(args, export: Callable[[Path], Path],
              notes: Callable[[Path], dict] | None = None,
              engine: Callable[[Path], object] | None = None) -> int:
    """The ``serve`` command: ``export(run_dir)`` first when the run has no SavedModel with
    the serving signatures, then :func:`common.serving.serve` until interrupted, the page
    saying ``notes(run_dir)`` (:mod:`common.explorer_file`); ``engine(run_dir)``, when
    given, is what translates (the SavedModel then draws the attention maps only)."""
    from common.run_folder import RunFolder
    from common.serving import open_listener, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0-65535, not {args.port}")
    if args.max_batch < 1:
        raise UsageError("--max-batch must be at least 1")
    if not 0 < args.read_timeout < float("inf"):
        raise UsageError(f"--read-timeout must be a number of seconds above 0, not "
                         f"{args.read_timeout}")
    if not 1 <= args.max_connections <= MAX_CONNECTIONS:
        raise UsageError(f"--max-connections must be in 1-{MAX_CONNECTIONS}, not "
                         f"{args.max_connections}")
    for name in args.allowed_host:
        if not name.strip() or any(c in name for c in "/ @"):
            raise UsageError(f"--allowed-host takes a host name or address, like "
                             f"translator.example.org, not {name!r}")
    folder = RunFolder(args.run).require()
    loaded = engine(folder.path) if engine is not None else None  # a missing export: one line
    listener = open_listener(args.host, args.port)  # before any work: the address is free
    saved_model = served_export(folder.path, export)
    serve(saved_model, args.host, args.port, args.max_batch, name=folder.path.name,
          engine=loaded,
          ready=lambda line: print(line, flush=True), listener=listener,
          read_timeout=args.read_timeout, max_connections=args.max_connections,
          allowed_host_names=args.allowed_host,
          notes=notes(folder.path) if notes else None)
    return 0


def translation_explorer(run_dir: Path, sentences: Sequence[str], lib: TranslationLibrary,
                         notes: dict | None = None):
    """The attention explorer of a translation run for ``sentences`` and its notes' examples
    (:func:`common.explorer_file.explorer_view`; ``notes`` when the caller has them, else
    :func:`notes_of_translation_run`), from its export (made first if missing): what ``plot
    --html`` writes and a tutorial shows inline."""
    from common.explorer_file import explorer_view
    from common.run_folder import RunFolder

    saved_model = served_export(run_dir, lambda run: lib.export(lib.load_translator(run),
                                                                RunFolder(run).export))
    if notes is None:
        notes = notes_of_translation_run(Path(run_dir), lib.config)
    return explorer_view(saved_model, sentences, name=Path(run_dir).name, notes=notes)


def notes_of_translation_run(run_dir: Path, config_type: type) -> dict:
    """A translation run's explorer notes (:func:`common.explorer_file.translation_notes`);
    only what it was trained on when its data is out of reach (a download not in the cache,
    a file since moved): the network is never asked."""
    from common.data.corpus import corpus_of
    from common.explorer_file import data_name, notes_from, translation_notes
    from common.run_folder import RunFolder

    config = RunFolder(run_dir).read_config(config_type)
    return notes_from(config.data, data_name(config.data, "the generated corpus"),
                      lambda: translation_notes(corpus_of(config), config.data))


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
    (:class:`common.errors.UserError`) and a file the file system refuses (read-only, full,
    no permission: :func:`refused_access`) exit 2 with one line on stderr; anything else is
    a bug and shows its traceback; so does a missing package, unless it is one of the
    ``tensorflow`` extra's (the inference part installed alone: one line says what to
    install). The commands in ``decoding`` only decode: they run with
    :func:`common.machine.settings_for_decoding`."""
    try:
        if args.command in decoding:
            settings_for_decoding()
        return commands[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        return missing_extra(error)
    except OSError as error:
        message = refused_access(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


# What the "tensorflow" extra installs (pyproject.toml), by the names a program imports.
TENSORFLOW_EXTRA = frozenset({"tensorflow", "tensorflow_text", "keras", "tensorboard",
                              "matplotlib", "sacrebleu", "sklearn", "fastapi", "starlette",
                              "pydantic", "uvicorn", "h11"})

def of_the_extra(error: ModuleNotFoundError) -> bool:
    """Whether the missing module is one of the ``tensorflow`` extra's (the inference part
    installed alone), not a bug."""
    return (error.name or "").split(".")[0] in TENSORFLOW_EXTRA


def missing_extra(error: ModuleNotFoundError, what: str = "this command") -> int:
    """For a package of the ``tensorflow`` extra that is not installed (the inference part
    installed alone): one line on stderr that says what to install, and exit status 2; any
    other missing package is a bug, raised again."""
    if not of_the_extra(error):
        raise error
    package = error.name.split(".")[0]
    print(f"error: {what} needs {package}, which is not installed (the inference part alone "
          "is): pip install \"attention-tutorials[tensorflow]\"; python -m transformer "
          "translate --engine ctranslate2 runs without it", file=sys.stderr)
    return 2


# The file system's refusals a user can mend: a write it will not take, a file this user
# may not open.
_CANNOT_WRITE = {errno.EROFS: "the file system is read-only",
                 errno.ENOSPC: "the disk is full",
                 errno.EDQUOT: "the disk quota is used up"}
_NO_PERMISSION = (errno.EACCES, errno.EPERM)


def refused_access(error: OSError) -> str | None:
    """One line for a file the file system refused to write (or, without permission, to
    open): where, why and what to do; None for any other ``OSError`` (a bug: its traceback
    is shown). Every file of a run is written under a temporary name and moved into place
    (:mod:`common.files`), so what was there before the command is still whole."""
    if not error.filename:
        return None
    if error.errno in _CANNOT_WRITE:
        return (f"cannot write {error.filename}: {_CANNOT_WRITE[error.errno]}. Nothing "
                "already written was lost; free space or make the folder writable (or "
                "choose another --run or --out), then run the command again (train: with "
                "--resume)")
    if error.errno in _NO_PERMISSION:
        return (f"permission denied: {error.filename}: give this user access to it (or "
                "choose another --run, --out or --data), then run the command again")
    return None


@dataclasses.dataclass(frozen=True)
class TranslationLibrary:
    """What the shared commands of a translation tutorial call in its package (each tutorial's
    ``cli.py`` gives one, imported only when a command runs, so that ``--help`` stays fast).

    Each function is the package's own; ``options`` are the keyword arguments its own
    command-line options add (see :func:`translation_commands`).
    """

    config: type  # the run configuration, with ``preset(name)`` and ``replace(**changes)``
    time_budget_recipe: Callable[[], dict]  # what --time-limit alone changes
    train: Callable  # (config, run_dir, resume=, epochs=, changes=, strategy=) -> TrainResult
    load_translator: Callable  # (run_dir, **options) -> a Translator
    export: Callable  # (translator, folder) -> the SavedModel's path
    evaluate_run: Callable  # (run_dir, limit, beam_width, split=, **options) -> metrics
    plot_sentence: Callable  # (run_dir, sentence, **options) -> a path or a list of paths
    demo: Callable  # (run_dir, epochs) -> whether the reloaded export agreed
    after_training: Callable | None = None  # (run_dir, config), on the chief
    time_limit_note: str = ""  # printed when --time-limit sets the recipe


def translation_commands(
    library: Callable[[], TranslationLibrary],
    default_runs: Path,
    options: Callable[[str, argparse.Namespace], dict],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """The commands of both translation tutorials (``train``, ``translate``, ``evaluate``,
    ``plot``, ``export``, ``serve``, ``demo``), each written once on ``library()``.

    ``options(command, args)`` is what the tutorial's own options add to each command: for
    ``train`` the configuration changes, for ``translate`` the translator's keyword
    arguments (``load_translator``), for ``evaluate`` and ``plot`` those of ``evaluate_run``
    and ``plot_sentence``, and the Transformer's ``export`` its format; ``{}`` where it has
    none (``serve`` and ``demo`` take none).
    """

    def train(args) -> int:
        lib = library()
        changes = {**options("train", args), **data_changes(args), **training_changes(args)}
        changes = {k: v for k, v in changes.items() if v is not None}
        if args.time_limit and not args.resume:
            changes = {**lib.time_budget_recipe(), **changes}
            if lib.time_limit_note:
                print(f"time limit {args.time_limit:g} min: {lib.time_limit_note}",
                      file=sys.stderr)
        config = lib.config.preset(args.preset).replace(**changes)
        run_dir = Path(args.run) if args.run else default_runs / args.preset
        result = lib.train(config, run_dir, resume=args.resume, epochs=args.epochs,
                           changes=changes, strategy=args.strategy)
        from common.run_folder import RunFolder  # Keras: not for --help

        if result.chief and lib.after_training is not None:
            lib.after_training(run_dir, result.config)
        report_training(result, (lambda: lib.export(lib.load_translator(run_dir),
                                                    RunFolder(run_dir).export))
                        if args.export else None)
        return 0

    def translate(args) -> int:
        translate_lines(lambda: library().load_translator(args.run,
                                                          **options("translate", args)), args)
        return 0

    def evaluate(args) -> int:
        if args.beam < 1:
            raise UsageError("--beam must be 1 or more")
        check_limit(args.limit)
        metrics = library().evaluate_run(args.run, args.limit, args.beam, split=args.split,
                                         **options("evaluate", args))
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
        return 0

    def plot(args) -> int:
        if args.html:
            from common.explorer_file import page_path

            page_path(args.html)  # before any work
            if not args.sentence.strip():
                raise UsageError("SENTENCE is empty: give the sentence to look at")
            view = translation_explorer(Path(args.run), [args.sentence], library())
            print(view.save(args.html))
            return 0
        paths = library().plot_sentence(args.run, args.sentence, **options("plot", args))
        for path in paths if isinstance(paths, list) else [paths]:
            print(path)
        return 0

    def export(args) -> int:
        from common.run_folder import RunFolder

        lib = library()
        options_of_export = {k: v for k, v in options("export", args).items() if v}
        print(lib.export(lib.load_translator(args.run),
                         Path(args.out or RunFolder(args.run).export), **options_of_export))
        return 0

    def serve(args) -> int:
        from common.run_folder import RunFolder

        lib = library()
        return serve_run(args, lambda run: lib.export(lib.load_translator(run),
                                                      RunFolder(run).export),
                         notes=lambda run: notes_of_translation_run(run, lib.config),
                         **options("serve", args))

    def demo(args) -> int:
        return 0 if library().demo(args.run, args.epochs) else 1

    return {"train": train, "translate": translate, "evaluate": evaluate, "plot": plot,
            "export": export, "serve": serve, "demo": demo}
