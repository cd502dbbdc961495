"""Command line: ``python -m nmt_attention train|translate|evaluate|plot|export|serve|demo``.

Each command parses its arguments and calls the library (``train``, ``evaluate``,
``plots``, ``export``, ``demo``); nothing here is needed to use the package from Python.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import (
    DECODING_COMMANDS,
    TranslationLibrary,
    run_command,
    translation_commands,
    translation_parser,
)

__all__ = ["main"]

DEFAULT_RUNS = Path("runs") / "nmt_attention"


def _parser() -> argparse.ArgumentParser:
    parser, commands = translation_parser(
        "nmt_attention",
        description="The TensorFlow tutorial 'Neural machine translation with attention': "
        "a GRU encoder-decoder with cross-attention, Spanish to English.",
        preset_help="hyperparameters: 'tutorial' (units 256, vocabulary 5000, batch 64, "
        "early stopping), 'quick' (the demo's, minutes on 2 cores), 'tiny'",
        unit="words",
        evaluate_help="BLEU, chrF (and alignment accuracy) on the test split; prints JSON "
        "and writes metrics.json",
        evaluate_beam=1, plot_help="attention heatmap of one sentence (PNG)")
    train = commands["train"]
    train.add_argument("--score", choices=["dot", "general", "additive"],
                       help="attention score (default: the preset's, 'dot')")
    train.add_argument("--combine", choices=["add", "concat"],
                       help="how context joins the decoder state (default: 'add')")
    train.add_argument("--no-attention", action="store_true",
                       help="the seq2seq model without attention that the lecture starts from: "
                       "the decoder sees only the encoder's final state")
    train.add_argument("--text-mode", choices=["faithful", "better"],
                       help="standardization: the tutorial's, or accents and apostrophes kept")
    train.add_argument("--pipeline", choices=["fast", "faithful"],
                       help="input pipeline: length buckets (fast) or the tutorial's")
    for name in ("translate", "evaluate"):
        commands[name].add_argument(
            "--replace-unknown", action="store_true",
            help="let the model write [UNK] and replace it with the source word it attends "
            "to most (names, numbers the vocabulary lacks)")
    commands["plot"].add_argument("--out", metavar="PATH",
                                  help="PNG path (default: RUN/plots/...)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(_COMMANDS, _parser().parse_args(argv), decoding=DECODING_COMMANDS)


def _library() -> TranslationLibrary:
    from nmt_attention.demo import library  # the whole package: imported when a command runs

    return library()


def _options(command: str, args) -> dict:
    """What this tutorial's own options add to each shared command."""
    if command == "train":
        return {"score": args.score, "combine": args.combine, "text_mode": args.text_mode,
                "pipeline": args.pipeline,
                "use_attention": False if args.no_attention else None}
    if command in ("translate", "evaluate"):
        return {"replace_unknown": args.replace_unknown}
    if command == "plot":
        return {"out": args.out}
    return {}


_COMMANDS = translation_commands(_library, DEFAULT_RUNS, _options)
