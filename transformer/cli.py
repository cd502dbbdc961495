"""Command line: ``python -m transformer train|translate|evaluate|plot|export|serve|demo``.

Each command parses its arguments and calls the library (``train``, ``evaluate``,
``plots``, ``export``, ``demo``); nothing here is needed to use the package from Python.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import (
    DECODING_COMMANDS,
    TranslationLibrary,
    UsageError,
    run_command,
    translation_commands,
    translation_parser,
)
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
    commands["export"].add_argument(
        "--format", choices=["savedmodel", "ctranslate2"], default="savedmodel",
        help="'savedmodel' (default: RUN/export, the SavedModel and .keras model) or "
        "'ctranslate2' (RUN/export/ctranslate2: CTranslate2's model folder, for "
        "--engine ctranslate2)")
    commands["export"].add_argument(
        "--quantization", choices=["float32", "int8"],
        help="the CTranslate2 weights: float32 (default) or int8 (8-bit weights, a scale a "
        "row: a smaller, faster model)")
    commands["translate"].add_argument(
        "--jit-compile", action="store_true",
        help="decode with XLA: much faster a batch, a few seconds to compile each new batch "
        "shape (default: off)")
    commands["evaluate"].add_argument(
        "--jit-compile", action="store_true",
        help="decode with XLA: the same translations, faster on a whole test split, "
        "compiling included (docs/results.md)")
    for command in ("translate", "evaluate", "serve"):
        commands[command].add_argument(
            "--engine", choices=["tensorflow", "ctranslate2"], default="tensorflow",
            help="'tensorflow' (default) or 'ctranslate2': the run's CTranslate2 export "
            "(python -m transformer export --format ctranslate2), several times faster"
            + (", without importing TensorFlow" if command == "translate" else "")
            + ("; the explorer's attention maps stay TensorFlow's" if command == "serve"
               else "") + " (docs/results.md)")
        commands[command].add_argument(
            "--compute-type", choices=["float32", "int8"],
            help="with --engine ctranslate2: float32 or int8 weights (default: the export's)")
    commands["plot"].add_argument("--layer", type=int, default=None,
                                  help="layer to draw, 1 = the lowest (default: the top)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "translate" and args.engine == "ctranslate2":
        # TensorFlow's decoding settings would import TensorFlow; CTranslate2 needs none.
        return run_command(_COMMANDS, args)
    return run_command(_COMMANDS, args, decoding=DECODING_COMMANDS)


def _library() -> TranslationLibrary:
    from transformer.demo import library  # the whole package: imported when a command runs

    return library()


def _options(command: str, args) -> dict:
    """What this tutorial's own options add to each shared command."""
    if command == "train":
        if args.warmup_steps is not None and args.warmup_steps < 1:
            raise UsageError("--warmup-steps must be at least 1")
        return {"label_smoothing": args.label_smoothing, "warmup_steps": args.warmup_steps,
                "norm_first": True if args.norm_first else None, "lr_decay": args.lr_decay,
                "position_embedding": args.position_embedding}
    if command in ("translate", "evaluate"):
        if args.compute_type and args.engine != "ctranslate2":
            raise UsageError("--compute-type is for --engine ctranslate2")
        if args.jit_compile and args.engine == "ctranslate2":
            raise UsageError("--jit-compile is TensorFlow's (XLA); leave it out with "
                             "--engine ctranslate2")
        if command == "evaluate":
            return {"jit_compile": args.jit_compile, "engine": args.engine,
                    "compute_type": args.compute_type}
        return {"jit_compile": args.jit_compile}
    if command == "plot":
        return {"layer": args.layer}
    if command == "serve":
        if args.compute_type and args.engine != "ctranslate2":
            raise UsageError("--compute-type is for --engine ctranslate2")
        if args.engine != "ctranslate2":
            return {}
        from transformer.ctranslate2_engine import CTranslate2Translator

        return {"engine": lambda run: CTranslate2Translator(run, args.compute_type)}
    if command == "export":
        if args.quantization and args.format != "ctranslate2":
            raise UsageError("--quantization is for --format ctranslate2")
        return {"format": args.format, "quantization": args.quantization}
    return {}


def _translate(args) -> int:
    """``translate``; with ``--engine ctranslate2``, the run's CTranslate2 export read without
    TensorFlow (the same line-by-line contract: common.lines.translate_lines)."""
    if args.engine != "ctranslate2":
        return _SHARED["translate"](args)
    _options("translate", args)  # its checks
    from common.lines import translate_lines
    from transformer.ctranslate2_engine import CTranslate2Translator

    translate_lines(lambda: CTranslate2Translator(args.run, args.compute_type), args)
    return 0


_SHARED = translation_commands(_library, DEFAULT_RUNS, _options)
_COMMANDS = {**_SHARED, "translate": _translate}
