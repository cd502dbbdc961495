"""Command line: ``python -m classify text|bert|vit train|evaluate|predict|plot|export|serve``,
``python -m classify compare`` and ``python -m classify demo``.

Each command parses its arguments and calls the library (``train``, ``evaluate``,
``predictor``, ``plots``, ``export``, ``compare``, ``demo``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from classify.config import TextConfig
from common.cli import (
    UsageError,
    add_serve_command,
    add_training_arguments,
    program_name,
    run_command,
    serve_run,
    training_changes,
)
from common.lines import cut_long_line, input_batches, note
from common.run_folder import RunFolder

__all__ = ["classifier_explorer", "main", "notes_of_classifier_run"]

DEFAULT_RUNS = Path("runs") / "classify"
_KIND_HELP = {
    "text": "Transformer text classifier: [CLS] or mean pooling, with or without positions",
    "bert": "small BERT: masked-language-model pretraining, then fine-tuning on [CLS]",
    "vit": "Vision Transformer on images (scikit-learn's digits by default)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name("classify"),
        description="Transformer classification: pooling by [CLS] or mean, a small BERT, "
        "and a Vision Transformer.")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, text in _KIND_HELP.items():
        commands = kinds.add_parser(kind, help=text, description=text).add_subparsers(
            dest="command", required=True, metavar="COMMAND")
        _add_kind_commands(commands, kind)
    compare = kinds.add_parser(
        "compare", help="cls vs mean pooling, with and without positional encoding, over "
        "seeds, on the generated text task: a table (markdown, CSV) and a bar plot")
    compare.add_argument("--out", default=str(DEFAULT_RUNS / "compare"), metavar="DIR",
                         help="folder for table.md, table.csv, results.csv, comparison.png")
    compare.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    compare.add_argument("--preset", default="quick", choices=["quick", "tiny"])
    compare.add_argument("--epochs", type=int, help="override the preset's epochs")
    demo = kinds.add_parser("demo", help="the comparison, BERT and ViT on the embedded data, "
                            "with evaluation, plots and export")
    demo.add_argument("--run", default=str(Path("runs") / "demo" / "classify"), metavar="DIR",
                      help="folder for everything; replaced only if an earlier demo made it")
    return parser


def _add_kind_commands(commands, kind: str) -> None:
    train = commands.add_parser("train", help="train into a run folder")
    train.add_argument("--preset", default="quick", choices=["quick", "base", "tiny"],
                       help="'quick' (the demo's), 'base' (larger, for real data), 'tiny'")
    if kind == "vit":
        train.add_argument("--data", metavar="NAME", choices=["digits", "mnist", "cifar10"],
                           help="digits (bundled, default), mnist or cifar10 (download)")
        train.add_argument("--patch-size", type=int, help="side of the square patches")
    else:
        train.add_argument("--data", metavar="PATH",
                           help="a 'sentence<TAB>label' TSV with a header (SST-2's format), "
                           "'imdb' (download), 'generated' (default: 'who acts?') or "
                           "'generated-pairs' (a sentence and a character, tab-separated: "
                           "'did this one do it?')")
    if kind != "vit":
        train.add_argument("--split", choices=TextConfig.CHOICES["split"],
                           help="'grouped' keeps every text on the side of the longer texts "
                           "that hold it (SST-2's phrases with their sentences): the fair "
                           "test; default random")
    if kind == "bert":
        train.add_argument("--unlabeled", metavar="PATH",
                           help="more unlabeled text to pretrain on: a file, one text a line "
                           "(of tab-separated lines the first field, e.g. the English of "
                           "spa-eng pairs); validation and test texts in it are left out")
    if kind != "vit":
        train.add_argument("--tokenizer", choices=TextConfig.CHOICES["tokenizer"],
                           help="'words' (default: whole words, [UNK] for the rest) or "
                           "'wordpiece' (pieces learned from the training texts, so a rare "
                           "word is spelled from known pieces; BERT's)")
    if kind == "text":
        train.add_argument("--pooling", choices=TextConfig.CHOICES["pooling"],
                           help="default cls")
        train.add_argument("--no-positional-encoding", action="store_true",
                           help="leave positions out: the model sees a bag of words")
    train.add_argument("--run", metavar="DIR", help=f"run folder (default "
                       f"{DEFAULT_RUNS}/{kind}/<preset>)")
    train.add_argument("--epochs", type=int, help="number of epochs (default: the preset's)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --run after its last finished epoch")
    train.add_argument("--seed", type=int, help="seed for data, splits and weights")
    add_training_arguments(train)

    evaluate = commands.add_parser(
        "evaluate", help="test-split accuracy and confusion matrix; prints JSON, writes "
        "metrics.json and plots/confusion_matrix.png")
    evaluate.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")

    if kind == "vit":
        predict = commands.add_parser(
            "predict", help="classify image files (PNG or .npy): one line each, label then "
            "probability")
        predict.add_argument("images", nargs="+", metavar="IMAGE")
    else:
        predict = commands.add_parser(
            "predict", help="classify sentences given as arguments, else one a line on stdin:"
            " one line each, label then probability")
        predict.add_argument("sentences", nargs="*", metavar="SENTENCE")
    predict.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")

    plot = commands.add_parser("plot", help="attention PNGs (with --html: the attention "
                               "explorer as one file); prints their paths")
    plot.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    plot.add_argument("--html", metavar="OUT.html", help=(
        "instead of PNGs, write the attention explorer as one HTML file that opens from disk "
        "(no server, no network): every layer and head, " + (
            "the rollout, for IMAGE (if given) and test images to click" if kind == "vit"
            else "for SENTENCE and test sentences to click")))
    if kind == "vit":
        plot.add_argument("--index", type=int, default=0,
                          help="test-split image to draw when no IMAGE is given (PNGs; "
                          "--html holds several test images)")
        plot.add_argument("image", nargs="?", metavar="IMAGE", help="a PNG or .npy image")
    else:
        plot.add_argument("--layer", type=int, default=None,
                          help="block to draw, 1 = the lowest (default: the top; PNGs: "
                          "--html holds every block)")
        plot.add_argument("sentence", metavar="SENTENCE")

    export = commands.add_parser("export", help="write the SavedModel and .keras model")
    export.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    export.add_argument("--out", metavar="DIR", help="export folder (default RUN/export)")
    add_serve_command(commands)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.kind in ("compare", "demo"):
        args.command = args.kind
    return run_command(_COMMANDS, args)


def _train(args) -> int:
    from classify.config import GENERATED_TEXTS, preset
    from classify.evaluate import evaluate
    from classify.export import export
    from classify.runs import load_predictor
    from classify.train import train

    if args.epochs is not None and args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    config = preset(args.kind, args.preset)
    changes = {"seed": args.seed, "data": args.data}
    if args.kind == "vit":
        changes["patch_size"] = args.patch_size
    else:
        changes["split"] = args.split
    if args.kind != "vit" and args.data not in (None, *GENERATED_TEXTS, "imdb"):
        if not Path(args.data).exists():
            raise UsageError(f"data file not found: {args.data}")
        changes["data"] = str(Path(args.data).resolve())
    if getattr(args, "unlabeled", None):
        if not Path(args.unlabeled).is_file():
            raise UsageError(f"unlabeled text file not found: {args.unlabeled}")
        changes["unlabeled"] = str(Path(args.unlabeled).resolve())
    if args.kind != "vit":
        changes["tokenizer"] = args.tokenizer
    if args.kind == "text":
        changes["pooling"] = args.pooling
        if args.no_positional_encoding:
            changes["positional_encoding"] = False
    changes = {k: v for k, v in changes.items() if v is not None} | training_changes(args)
    config = config.replace(**changes)
    run_dir = Path(args.run) if args.run else DEFAULT_RUNS / args.kind / args.preset
    result = train(config, run_dir, resume=args.resume, epochs=args.epochs, changes=changes,
                   strategy=args.strategy)
    if not result.chief:
        print(f"trained {result.epochs_done} epoch(s) (a worker: the chief writes the run)")
        return 0
    run, predictor = load_predictor(run_dir)
    metrics = evaluate(run, result.data)
    print(f"trained {result.epochs_done} epoch(s), best epoch {result.best_epoch}; test "
          f"accuracy {metrics['test_accuracy']:.4f}; run folder: {run_dir}")
    if args.export:
        print(f"exported {export(predictor, RunFolder(run_dir).export)}")
    return 0


def _evaluate(args) -> int:
    from classify.evaluate import evaluate
    from classify.runs import load_run

    print(json.dumps(evaluate(load_run(args.run)), indent=2))
    return 0


def _predict(args) -> int:
    from classify.predictor import read_image
    from classify.runs import load_predictor

    _, predictor = load_predictor(args.run)
    if predictor.is_text:
        batches = input_batches(args.sentences, 256)
    else:  # every file is checked before the first answer
        images = [read_image(path, predictor.image_shape) for path in args.images]
        batches = [(begin + 1, images[begin : begin + 256])
                   for begin in range(0, len(images), 256)]
    for first, batch in batches:
        characters = [len(line) for line in batch] if predictor.is_text else []
        if predictor.is_text:
            batch = [cut_long_line(line, predictor.input_limit) for line in batch]
        inputs = batch if predictor.is_text else np.stack(batch)
        lengths = predictor.input_lengths(batch) if predictor.is_text else [0] * len(batch)
        for number, (label, probability) in enumerate(predictor.predict(inputs), start=first):
            if label:
                length = lengths[number - first]
                if predictor.is_text and characters[number - first] > len(batch[number - first]):
                    note(f"line {number} is {characters[number - first]:,} characters long; "
                         f"it was cut to its first {len(batch[number - first]):,} before it "
                         "was classified")
                elif predictor.is_text and length > predictor.input_limit:
                    note(f"line {number} is {length} words long; its first "
                         f"{predictor.input_limit} were classified")
                print(f"{label}\t{probability:.4f}", flush=True)
                continue
            empty = not batch[number - first].strip()
            note(f"line {number} is empty: an empty line out" if empty else
                 f"line {number} has nothing to classify (no word the model knows, or "
                 "punctuation only): an empty line out")
            print(flush=True)
    return 0


def _plot(args) -> int:
    from classify.plots import plot_image, plot_text

    if args.html:
        return _plot_html(args)
    if args.kind == "vit":
        paths = plot_image(args.run, args.image, args.index)
    else:
        paths = plot_text(args.run, args.sentence, args.layer)
    for path in paths:
        print(path)
    return 0


def _plot_html(args) -> int:
    from classify.predictor import read_image
    from common.explorer_file import page_path

    page_path(args.html)  # before any work
    if args.kind != "vit":
        if not args.sentence.strip():
            raise UsageError("SENTENCE is empty: give the sentence to look at")
        print(classifier_explorer(args.run, sentences=[args.sentence]).save(args.html))
        return 0
    images = []
    if args.image:
        meta = RunFolder(args.run).require().read_json("labels.json", "label list")
        shape = meta.get("image_shape") if isinstance(meta, dict) else None
        if not shape:
            raise UsageError(f"{args.run} is not an image classifier's run (its labels.json "
                             "gives no image shape): give a ViT run")
        images = [(read_image(args.image, tuple(shape)), Path(args.image).name)]
    print(classifier_explorer(args.run, images=images).save(args.html))
    return 0


def classifier_explorer(run_dir, sentences=(), images=()):
    """The attention explorer of a classifier run (:func:`common.explorer_file.explorer_view`)
    for ``sentences`` (text) or ``images`` (``(pixels, name)`` pairs: a ViT), with its
    notes' test examples, from its export (made first if missing): what ``plot --html``
    writes and the tutorial shows inline."""
    from classify.export import export
    from classify.runs import load_predictor
    from common.cli import served_export
    from common.explorer_file import explorer_view, pixels

    run = RunFolder(run_dir).require()
    notes = notes_of_classifier_run(run.path)
    notes["examples"] = [*({"image": pixels(image), "name": name} for image, name in images),
                         *notes.get("examples", [])]
    saved_model = served_export(run.path, lambda path: export(load_predictor(path)[1],
                                                             RunFolder(path).export))
    return explorer_view(saved_model, sentences, name=run.path.name, notes=notes)


def _export(args) -> int:
    from classify.export import export
    from classify.runs import load_predictor

    _, predictor = load_predictor(args.run)
    print(export(predictor, Path(args.out or RunFolder(args.run).export)))
    return 0


def _serve(args) -> int:
    from classify.export import export
    from classify.runs import load_predictor

    return serve_run(args, lambda run: export(load_predictor(run)[1], RunFolder(run).export),
                     notes=notes_of_classifier_run)


def notes_of_classifier_run(run_dir: Path) -> dict:
    """What the explorer of a classifier run says first: what it was trained on and test
    sentences or images to click (:mod:`common.explorer_file`); only the first when its data
    is out of reach (a download not in the cache, a file since moved): the network is never
    asked."""
    from classify.config import load_config
    from classify.data import load_data, text_splits
    from common.explorer_file import data_name, image_notes, notes_from, text_notes

    config = load_config(RunFolder(run_dir).require().config_path)
    source = data_name(config.data, "the generated who-acts task")

    def read() -> dict:
        if config.inputs == "images":
            data = load_data(config)
            return image_notes(source, len(data.y["train"]), data.x["test"],
                               [data.label_names[i] for i in data.y["test"]])
        splits = text_splits(config)
        return text_notes(source, len(splits.texts["train"][:config.label_budget]),
                          splits.texts["test"])

    return notes_from(config.data, source, read)


def _compare(args) -> int:
    from classify.compare import compare
    from classify.config import preset

    if args.seeds < 1:
        raise UsageError("--seeds must be at least 1")
    config = preset("text", args.preset)
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError("--epochs must be at least 1")
        config = config.replace(epochs=args.epochs)
    compare(config, Path(args.out), seeds=range(args.seeds))
    print((Path(args.out) / "table.md").read_text())
    print(f"wrote {args.out}/table.md, table.csv, results.csv, comparison.png")
    return 0


def _demo(args) -> int:
    from classify.demo import demo

    return 0 if demo(args.run) else 1


_COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "plot": _plot,
             "export": _export, "serve": _serve, "compare": _compare, "demo": _demo}
