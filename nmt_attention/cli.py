"""Command line: ``python -m nmt_attention train|translate|evaluate|plot|export|demo``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common.cli import (
    UsageError,
    add_data_arguments,
    add_run_arguments,
    add_shared_commands,
    add_training_arguments,
    data_changes,
    list_files,
    run_command,
    slug,
    training_changes,
    translate_in_fresh_process,
)
from common.runs import claim_demo_folder

__all__ = ["main"]

DEFAULT_RUNS = Path("runs") / "nmt_attention"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nmt_attention",
        description="The TensorFlow tutorial 'Neural machine translation with attention': "
        "a GRU encoder-decoder with cross-attention, Spanish to English.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model into a run folder")
    train.add_argument("--preset", default="quick", choices=["quick", "tutorial", "tiny"],
                       help="hyperparameters: 'tutorial' (units 256, vocabulary 5000, batch "
                       "64, early stopping), 'quick' (the demo's, minutes on 2 cores), 'tiny'")
    add_data_arguments(train)
    add_run_arguments(train, DEFAULT_RUNS)
    add_training_arguments(train)
    train.add_argument("--score", choices=["dot", "general", "additive"],
                       help="attention score (default: the preset's, 'dot')")
    train.add_argument("--combine", choices=["add", "concat"],
                       help="how context joins the decoder state (default: 'add')")
    train.add_argument("--text-mode", choices=["faithful", "better"],
                       help="standardization: the tutorial's, or accents and apostrophes kept")
    train.add_argument("--pipeline", choices=["fast", "faithful"],
                       help="input pipeline: length buckets (fast) or the tutorial's")

    translate = commands.add_parser(
        "translate", help="translate sentences given as arguments, else one a line on stdin")
    translate.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    translate.add_argument("--temperature", type=float, default=0.0,
                           help="0 for greedy decoding; above 0 samples (default 0)")
    translate.add_argument("--seed", type=int, default=0, help="seed for sampling")
    translate.add_argument("--beam", type=int, default=1, metavar="N",
                           help="beam search with N hypotheses a sentence (default 1: greedy)")
    translate.add_argument("sentences", nargs="*", metavar="SENTENCE")

    evaluate = commands.add_parser(
        "evaluate", help="BLEU, chrF (and alignment accuracy) on the test split; "
        "prints JSON and writes metrics.json")
    evaluate.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    evaluate.add_argument("--limit", type=int, help="score only the first N test pairs")
    evaluate.add_argument("--beam", type=int, default=1, metavar="N",
                          help="beam width (default 1: greedy)")

    plot = commands.add_parser("plot", help="attention heatmap of one sentence (PNG)")
    plot.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    plot.add_argument("--out", metavar="PATH", help="PNG path (default: RUN/plots/...)")
    plot.add_argument("sentence", metavar="SENTENCE")

    add_shared_commands(commands, "nmt_attention")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(_COMMANDS, _parser().parse_args(argv))


def _train(args) -> int:
    from nmt_attention.config import preset
    from nmt_attention.train import train

    config = preset(args.preset)
    changes = {"score": args.score, "combine": args.combine, "text_mode": args.text_mode,
               "pipeline": args.pipeline, **data_changes(args),
               **training_changes(args)}
    config = config.replace(**{k: v for k, v in changes.items() if v is not None})
    run_dir = Path(args.run) if args.run else DEFAULT_RUNS / args.preset
    result = train(config, run_dir, resume=args.resume, epochs=args.epochs,
                   strategy=args.strategy)
    print(f"trained {result.epochs_done} epoch(s), best epoch {result.best_epoch}")
    if result.chief:
        if args.export:
            from nmt_attention.export import export
            from nmt_attention.train import load_translator

            print(f"exported {export(load_translator(run_dir), run_dir / 'export')}")
        print(f"run folder: {run_dir}")
    return 0


def _translate(args) -> int:
    from nmt_attention.train import load_translator

    sentences = args.sentences or [line.rstrip("\n") for line in sys.stdin]
    if args.temperature < 0:
        raise UsageError("--temperature must be 0 or more")
    if args.beam < 1:
        raise UsageError("--beam must be 1 or more")
    translator = load_translator(args.run)
    for begin in range(0, len(sentences), 64):
        batch = sentences[begin : begin + 64]
        for text in translator.translate(batch, args.temperature, args.seed + begin, args.beam):
            print(text)
    return 0


def _evaluate(args) -> int:
    if args.beam < 1:
        raise UsageError("--beam must be 1 or more")
    metrics = run_evaluation(Path(args.run), args.limit, args.beam)
    print(json.dumps(metrics, indent=2, ensure_ascii=False))
    return 0


def run_evaluation(run_dir: Path, limit: int | None = None, beam_width: int = 1) -> dict:
    from common.runs import atomic_write_text
    from nmt_attention.data import load_corpus
    from nmt_attention.evaluate import evaluate
    from nmt_attention.train import load_run, load_translator

    config, _, _ = load_run(run_dir)
    translator = load_translator(run_dir)
    result = evaluate(translator, load_corpus(config), limit, beam_width)
    name = "metrics.json" if beam_width == 1 else f"metrics-beam{beam_width}.json"
    atomic_write_text(run_dir / name, json.dumps(result.metrics, indent=2) + "\n")
    lines = ["source\treference\ttranslation"]
    lines += ["\t".join(row) for row in zip(result.sources, result.references,
                                            result.hypotheses, strict=True)]
    atomic_write_text(run_dir / "translations.tsv", "\n".join(lines) + "\n")
    return result.metrics


def plot_sentence(run_dir: Path, sentence: str, out: Path | None = None, translator=None):
    from common.plotting import save_figure
    from nmt_attention.plots import sentence_figure
    from nmt_attention.train import load_translator

    if not sentence.strip():
        raise UsageError("the sentence to plot is empty")
    figure = sentence_figure(translator or load_translator(run_dir), sentence)
    if out is None:
        out = run_dir / "plots" / f"attention-{slug(sentence)}.png"
    return save_figure(figure, out)


def _plot(args) -> int:
    print(plot_sentence(Path(args.run), args.sentence, Path(args.out) if args.out else None))
    return 0


def _export(args) -> int:
    from nmt_attention.export import export
    from nmt_attention.train import load_translator

    run_dir = Path(args.run)
    out = Path(args.out) if args.out else run_dir / "export"
    print(export(load_translator(run_dir), out))
    return 0


def _demo(args) -> int:
    from nmt_attention.config import Config
    from nmt_attention.export import export
    from nmt_attention.train import load_translator, train

    started = time.time()
    run_dir = claim_demo_folder(args.run)
    print(f"== NMT with attention: quick preset on the generated corpus -> {run_dir}")
    config = Config.quick()
    result = train(config, run_dir, epochs=args.epochs)
    print(f"trained {result.epochs_done} epochs in {time.time() - started:.0f} s")
    metrics = run_evaluation(run_dir)
    print("test metrics:", json.dumps(metrics))
    translator = load_translator(run_dir)
    spanish, english = result.corpus.part("test")
    samples = spanish[:6]
    greedy = translator.translate(samples)
    beam = translator.translate(samples, beam_width=4)
    sampled = translator.translate(samples, temperature=0.7, seed=1)
    print("held-out translations (source | reference | greedy | beam 4 | sampled at T=0.7):")
    for row in zip(samples, english[:6], greedy, beam, sampled, strict=True):
        print("  " + " | ".join(row))
    for sentence in samples[:3] + ["¿Quién no compró el coche rojo?", "Nosotros lo vendimos."]:
        print("attention plot:", plot_sentence(run_dir, sentence, translator=translator))
    saved = export(translator, run_dir / "export")
    print("SavedModel:", saved)
    reloaded = translate_in_fresh_process(saved, samples, "")
    same = reloaded == greedy
    print(f"reloaded in a fresh process: {'same translations' if same else 'DIFFERENT'}")
    list_files(run_dir)
    print(f"demo finished in {time.time() - started:.0f} s")
    return 0 if same else 1



_COMMANDS = {
    "train": _train,
    "translate": _translate,
    "evaluate": _evaluate,
    "plot": _plot,
    "export": _export,
    "demo": _demo,
}
