"""Command line: ``python -m transformer train|translate|evaluate|plot|export|serve|demo``.

Each command parses its arguments and calls the library (``train``, ``evaluate``,
``plots``, ``export``, ``demo``); nothing here is needed to use the package from Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common.cli import (
    DECODING_COMMANDS,
    UsageError,
    check_limit,
    data_changes,
    report_training,
    run_command,
    serve_run,
    training_changes,
    translate_lines,
    translation_parser,
)
from common.run_folder import RunFolder
from transformer.config import Config

__all__ = ["main"]

DEFAULT_RUNS = Path("runs") / "transformer"


def _parser() -> argparse.ArgumentParser:
    parser, commands = translation_parser(
        "transformer",
        description="The TensorFlow tutorial 'Neural machine translation with a Transformer "
        "and Keras', Spanish to English, with cached decoding and beam search.",
        preset_help="'tutorial' (4 layers, d_model 128, dff 512, 8 heads, dropout 0.1), "
        "'cpu-hour' (the tutorial's model, 60 minutes with the --time-limit recipe), "
        "'quick' (the demo's), 'tiny' (tests)", presets=Config.PRESETS,
        unit="pieces",
        evaluate_help="BLEU and chrF on the test split, greedy and beam; prints JSON and "
        "writes metrics.json",
        evaluate_beam=4, plot_help="all heads of one layer for a sentence: cross-attention "
        "and encoder self-attention (PNGs)")
    train = commands["train"]
    train.add_argument("--label-smoothing", type=float, help="e.g. 0.1 as in the paper")
    train.add_argument("--warmup-steps", type=int, metavar="STEPS",
                       help="the schedule's linear warm-up (default: the preset's; the "
                       "tutorial's 4000 suit long runs)")
    train.add_argument("--lr-decay", choices=["rsqrt", "linear"],
                       help="after the warm-up: the paper's 1/sqrt(step), or a linear decay to "
                       "the step the time limit allows (default: rsqrt; linear with "
                       "--time-limit)")
    train.add_argument("--norm-first", action="store_true",
                       help="pre-norm layers instead of the tutorial's post-norm")
    train.add_argument("--position-embedding", choices=["sinusoidal", "learned", "none"],
                       help="how positions are marked: the tutorial's fixed sines and "
                       "cosines (default), a trained table, or none (a bag of tokens)")
    commands["translate"].add_argument(
        "--jit-compile", action="store_true",
        help="decode with XLA: much faster a batch, a few seconds to compile each new batch "
        "shape (default: off)")
    commands["evaluate"].add_argument(
        "--jit-compile", action="store_true",
        help="decode with XLA: the same translations; on the real test split greedy 1.6x "
        "and beam 1.1x faster, compiling included")
    commands["plot"].add_argument("--layer", type=int, default=None,
                                  help="layer to draw, 1 = the lowest (default: the top)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(_COMMANDS, _parser().parse_args(argv), decoding=DECODING_COMMANDS)


def _train(args) -> int:
    from transformer.config import time_budget_recipe
    from transformer.export import export
    from transformer.plots import plot_schedule_and_encoding
    from transformer.runs import load_translator
    from transformer.train import train

    if args.warmup_steps is not None and args.warmup_steps < 1:
        raise UsageError("--warmup-steps must be at least 1")
    changes = {"label_smoothing": args.label_smoothing, "warmup_steps": args.warmup_steps,
               "norm_first": True if args.norm_first else None, "lr_decay": args.lr_decay,
               "position_embedding": args.position_embedding, **data_changes(args),
               **training_changes(args)}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.time_limit and not args.resume:
        changes = {**time_budget_recipe(), **changes}
        print(f"time limit {args.time_limit:g} min: train until it is up (no epoch cap, no "
              "early stopping), "
              "warm-up and linear decay fitted to the steps it allows, the best average of "
              "the last 8 epochs kept (--epochs, --warmup-steps, --lr-decay and "
              "--average-last change each)", file=sys.stderr)
    config = Config.preset(args.preset).replace(**changes)
    run_dir = Path(args.run) if args.run else DEFAULT_RUNS / args.preset
    result = train(config, run_dir, resume=args.resume, epochs=args.epochs, changes=changes,
                   strategy=args.strategy)
    if result.chief:
        plot_schedule_and_encoding(run_dir, result.config)
    report_training(result, (lambda: export(load_translator(run_dir), RunFolder(run_dir).export))
                    if args.export else None)
    return 0


def _translate(args) -> int:
    from transformer.runs import load_translator

    translate_lines(lambda: load_translator(args.run, jit_compile=args.jit_compile), args)
    return 0


def _evaluate(args) -> int:
    from transformer.evaluate import evaluate_run

    if args.beam < 1:
        raise UsageError("--beam must be 1 or more")
    check_limit(args.limit)
    print(json.dumps(evaluate_run(args.run, args.limit, args.beam, args.jit_compile,
                                  split=args.split),
                     indent=2))
    return 0


def _plot(args) -> int:
    from transformer.plots import plot_sentence

    for path in plot_sentence(args.run, args.sentence, args.layer):
        print(path)
    return 0


def _export(args) -> int:
    from transformer.export import export
    from transformer.runs import load_translator

    print(export(load_translator(args.run), Path(args.out or RunFolder(args.run).export)))
    return 0


def _serve(args) -> int:
    from transformer.export import export
    from transformer.runs import load_translator

    return serve_run(args, lambda run: export(load_translator(run), RunFolder(run).export))


def _demo(args) -> int:
    from transformer.demo import demo

    return 0 if demo(args.run, args.epochs) else 1


_COMMANDS = {"train": _train, "translate": _translate, "evaluate": _evaluate,
             "plot": _plot, "export": _export, "serve": _serve,
             "demo": _demo}
