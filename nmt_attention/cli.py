"""Command line: ``python -m nmt_attention train|translate|evaluate|plot|export|serve|demo``.

Each command parses its arguments and calls the library (``train``, ``evaluate``,
``plots``, ``export``, ``demo``); nothing here is needed to use the package from Python.
"""

from __future__ import annotations

import argparse
import json
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


def _train(args) -> int:
    from nmt_attention.config import Config, time_budget_recipe
    from nmt_attention.export import export
    from nmt_attention.runs import load_translator
    from nmt_attention.train import train

    changes = {"score": args.score, "combine": args.combine, "text_mode": args.text_mode,
               "pipeline": args.pipeline, "use_attention": False if args.no_attention else None,
               **data_changes(args), **training_changes(args)}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.time_limit and not args.resume:
        changes = {**time_budget_recipe(), **changes}
    config = Config.preset(args.preset).replace(**changes)
    run_dir = Path(args.run) if args.run else DEFAULT_RUNS / args.preset
    result = train(config, run_dir, resume=args.resume, epochs=args.epochs, changes=changes,
                   strategy=args.strategy)
    report_training(result, (lambda: export(load_translator(run_dir), RunFolder(run_dir).export))
                    if args.export else None)
    return 0


def _translate(args) -> int:
    from nmt_attention.runs import load_translator

    translate_lines(lambda: load_translator(args.run, args.replace_unknown), args)
    return 0


def _evaluate(args) -> int:
    from nmt_attention.evaluate import evaluate_run

    if args.beam < 1:
        raise UsageError("--beam must be 1 or more")
    check_limit(args.limit)
    metrics = evaluate_run(args.run, args.limit, args.beam, args.replace_unknown,
                           split=args.split)
    print(json.dumps(metrics, indent=2, ensure_ascii=False))
    return 0


def _plot(args) -> int:
    from nmt_attention.plots import plot_sentence

    print(plot_sentence(args.run, args.sentence, args.out))
    return 0


def _export(args) -> int:
    from nmt_attention.export import export
    from nmt_attention.runs import load_translator

    print(export(load_translator(args.run), Path(args.out or RunFolder(args.run).export)))
    return 0


def _serve(args) -> int:
    from nmt_attention.export import export
    from nmt_attention.runs import load_translator

    return serve_run(args, lambda run: export(load_translator(run), RunFolder(run).export))


def _demo(args) -> int:
    from nmt_attention.demo import demo

    return 0 if demo(args.run, args.epochs) else 1


_COMMANDS = {
    "train": _train,
    "translate": _translate,
    "evaluate": _evaluate,
    "plot": _plot,
    "export": _export,
    "serve": _serve,
    "demo": _demo,
}
