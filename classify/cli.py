"""Command line: ``python -m classify text|bert|vit train|evaluate|predict|plot|export``,
``python -m classify compare`` and ``python -m classify demo``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from common.cli import (
    UsageError,
    add_training_arguments,
    list_files,
    run_command,
    run_in_fresh_process,
    slug,
    training_changes,
)
from common.runs import claim_demo_folder

__all__ = ["main"]

DEFAULT_RUNS = Path("runs") / "classify"
_KIND_HELP = {
    "text": "Transformer text classifier: [CLS] or mean pooling, with or without positions",
    "bert": "small BERT: masked-language-model pretraining, then fine-tuning on [CLS]",
    "vit": "Vision Transformer on images (scikit-learn's digits by default)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classify",
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
                      help="folder for everything, replaced if it exists")
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
                           "'imdb' (download), or 'generated' (default)")
    if kind == "text":
        train.add_argument("--pooling", choices=["cls", "mean"], help="default cls")
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

    plot = commands.add_parser("plot", help="attention PNGs; prints their paths")
    plot.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    if kind == "vit":
        plot.add_argument("--index", type=int, default=0,
                          help="test-split image to draw when no IMAGE is given")
        plot.add_argument("image", nargs="?", metavar="IMAGE", help="a PNG or .npy image")
    else:
        plot.add_argument("--layer", type=int, default=-1, help="block to draw (default last)")
        plot.add_argument("sentence", metavar="SENTENCE")

    export = commands.add_parser("export", help="write the SavedModel and .keras model")
    export.add_argument("--run", required=True, metavar="DIR", help="a trained run folder")
    export.add_argument("--out", metavar="DIR", help="export folder (default RUN/export)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.kind in ("compare", "demo"):
        args.command = args.kind
    return run_command(_COMMANDS, args)


def _checked(function, *args):
    """Runs ``function``; a ValueError about the user's input becomes a UsageError."""
    try:
        return function(*args)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _train(args) -> int:
    from classify.config import preset
    from classify.evaluate import evaluate
    from classify.train import load_run, train

    if args.epochs is not None and args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    config = preset(args.kind, args.preset)
    changes = {"seed": args.seed, "data": args.data}
    if args.kind == "vit":
        changes["patch_size"] = args.patch_size
    elif args.data not in (None, "generated", "imdb"):
        if not Path(args.data).exists():
            raise UsageError(f"data file not found: {args.data}")
        changes["data"] = str(Path(args.data).resolve())
    if args.kind == "text":
        changes["pooling"] = args.pooling
        if args.no_positional_encoding:
            changes["positional_encoding"] = False
    config = config.replace(**{k: v for k, v in changes.items() if v is not None})
    run_dir = Path(args.run) if args.run else DEFAULT_RUNS / args.kind / args.preset
    config = config.replace(**training_changes(args))
    result = train(config, run_dir, resume=args.resume, epochs=args.epochs,
                   strategy=args.strategy)
    if not result.chief:
        print(f"trained {result.epochs_done} epoch(s) (a worker: the chief writes the run)")
        return 0
    metrics = evaluate(load_run(run_dir), result.data)
    print(f"trained {result.epochs_done} epoch(s), best epoch {result.best_epoch}; test "
          f"accuracy {metrics['test_accuracy']:.4f}; run folder: {run_dir}")
    if args.export:
        from classify.export import export

        print(f"exported {export(predictor_of(run_dir)[1], run_dir / 'export')}")
    return 0


def _evaluate(args) -> int:
    from classify.evaluate import evaluate
    from classify.train import load_run

    print(json.dumps(evaluate(load_run(args.run)), indent=2))
    return 0


def predictor_of(run_dir):
    from classify.predictor import Predictor
    from classify.train import load_run

    run = load_run(run_dir)
    return run, Predictor(run.model, run.label_names, run.vocabulary, run.image_shape)


def read_image(path: str, image_shape) -> np.ndarray:
    """A PNG (scaled to [0, 1], resized to the model's size) or a .npy array, as is."""
    import tensorflow as tf

    file = Path(path)
    if not file.exists():
        raise UsageError(f"image file not found: {path}")
    if file.suffix.lower() == ".npy":
        try:
            return np.load(file, allow_pickle=False)
        except ValueError as error:
            raise UsageError(f"{path} is not a readable .npy array: {error}") from None
    if file.suffix.lower() != ".png":
        raise UsageError(f"{path}: give a .png or .npy image")
    try:
        image = tf.io.decode_png(file.read_bytes(), channels=int(image_shape[2]))
    except tf.errors.InvalidArgumentError:
        raise UsageError(f"{path} is not a readable PNG") from None
    image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, image_shape[:2],
                            antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0).numpy()


def _predict(args) -> int:
    _, predictor = predictor_of(args.run)
    if predictor.is_text:
        inputs = args.sentences or [line.rstrip("\n") for line in sys.stdin]
        if not inputs:
            raise UsageError("no sentence given: pass them as arguments or one a line on stdin")
        for number, text in enumerate(inputs, start=1):
            if not text.strip():
                raise UsageError(f"sentence {number} is empty: give one sentence a line")
    else:
        inputs = [_checked(_image_of, path, predictor.image_shape) for path in args.images]
    for begin in range(0, len(inputs), 256):
        batch = inputs[begin : begin + 256]
        if not predictor.is_text:
            batch = np.stack(batch)
        for label, probability in _checked(predictor.predict, batch):
            print(f"{label}\t{probability:.4f}")
    return 0


def _image_of(path: str, image_shape) -> np.ndarray:
    from classify.predictor import check_images

    image = check_images(read_image(path, image_shape), image_shape)
    if len(image) != 1:
        raise ValueError(f"{path} holds {len(image)} images; give one image a file")
    return image[0]


def _plot(args) -> int:
    for path in plot_run(args.run, args):
        print(path)
    return 0


def plot_run(run_dir, args, predictor=None) -> list[Path]:
    from classify.plots import rollout_figure, text_attention_figure
    from classify.train import load_data
    from common.plotting import save_figure

    run_dir = Path(run_dir)
    run, predictor = predictor or predictor_of(run_dir)
    if predictor.is_text:
        sentence = args.sentence
        if not sentence.strip():
            raise UsageError("the sentence to plot is empty")
        layers = run.config.num_layers
        if not -layers <= args.layer < layers:
            raise UsageError(f"--layer must be in [0, {layers - 1}], received {args.layer}")
        figure = text_attention_figure(predictor, sentence, args.layer)
        return [save_figure(figure, run_dir / "plots" /
                            f"attention-block{args.layer % layers}-{slug(sentence)}.png")]
    if args.image:
        image = _checked(_image_of, args.image, predictor.image_shape)
        name, truth = slug(Path(args.image).stem), None
    else:
        data = load_data(run.config)
        if not 0 <= args.index < len(data.y["test"]):
            raise UsageError(f"--index must be in [0, {len(data.y['test']) - 1}]")
        image = data.x["test"][args.index]
        name, truth = f"test{args.index}", run.label_names[data.y["test"][args.index]]
    figure = rollout_figure(predictor, image, run.config.patch_size, truth)
    return [save_figure(figure, run_dir / "plots" / f"cls-attention-{name}.png")]


def _export(args) -> int:
    from classify.export import export

    run_dir = Path(args.run)
    _, predictor = predictor_of(run_dir)
    print(export(predictor, Path(args.out) if args.out else run_dir / "export"))
    return 0


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


def classify_in_fresh_process(saved_model: Path, inputs) -> list[list[float]]:
    """Loads the SavedModel in a new Python process and returns its probabilities."""
    code = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "x = np.load(sys.argv[2], allow_pickle=False)\n"
        "serve = m.signatures['serving_default']\n"
        "out = serve(**{list(serve.structured_input_signature[1])[0]: tf.constant(x)})\n"
        "print(json.dumps(out['probabilities'].numpy().tolist()))\n"
    )
    path = Path(saved_model).parent / ".fresh-process-inputs.npy"
    np.save(path, np.asarray(inputs))
    try:
        return run_in_fresh_process(code, str(saved_model), str(path))
    finally:
        path.unlink(missing_ok=True)


def _demo(args) -> int:
    from classify.compare import compare
    from classify.config import BertConfig, TextConfig, VitConfig
    from classify.evaluate import evaluate
    from classify.export import export
    from classify.predictor import Predictor
    from classify.train import load_run, train

    started = time.time()
    root = claim_demo_folder(args.run)
    print(f"== classify 1/3: [CLS] vs mean pooling, with and without positions -> {root}")
    compare(TextConfig.quick(), root / "compare", seeds=range(3))
    print((root / "compare" / "table.md").read_text())
    ok = True
    sentences = ["the dog was chased by the old teacher", "the old teacher chased the dog",
                 "the hungry wolf scared the sailor at night"]
    for number, (kind, config) in enumerate(
            [("bert", BertConfig.quick()), ("vit", VitConfig.quick())], start=2):
        run_dir = root / kind
        print(f"== classify {number}/3: {kind}, quick preset -> {run_dir}")
        result = train(config, run_dir, verbose=0)
        run = load_run(run_dir)
        predictor = Predictor(run.model, run.label_names, run.vocabulary, run.image_shape)
        metrics = evaluate(run, result.data)
        extra = ""
        if "pretraining_val_masked_accuracy" in metrics:
            extra = f" (masked-LM accuracy after pretraining " \
                    f"{metrics['pretraining_val_masked_accuracy']:.3f})"
        print(f"test accuracy {metrics['test_accuracy']:.4f} on {metrics['test_examples']} "
              f"test examples{extra}")
        if kind == "bert":
            baseline = _scratch_baseline(config, root / "bert-from-scratch")
            print(f"the same classifier trained from scratch on the same "
                  f"{config.labeled_examples} labels: test accuracy {baseline:.4f}")
        if kind == "vit":
            inputs = result.data.x["test"][:8]
            paths = [plot_run(run_dir, argparse.Namespace(image=None, index=i),
                              (run, predictor))[0] for i in range(3)]
        else:
            inputs = sentences
            for text, (label, p) in zip(inputs, predictor.predict(inputs), strict=True):
                print(f"  {text!r}: {label} ({p:.2f})")
            paths = plot_run(run_dir, argparse.Namespace(sentence=inputs[0], layer=-1),
                             (run, predictor))
        for path in paths:
            print("attention plot:", path)
        saved = export(predictor, run_dir / "export")
        mine = predictor.outputs(predictor.inputs_of(inputs))["probabilities"].numpy()
        theirs = np.array(classify_in_fresh_process(saved, np.asarray(inputs)))
        same = np.allclose(mine, theirs, atol=1e-5)
        ok &= same
        print(f"SavedModel {saved}, reloaded in a fresh process: "
              f"{'same probabilities' if same else 'DIFFERENT'}")
    list_files(root)
    print(f"classify demo finished in {time.time() - started:.0f} s")
    return 0 if ok else 1


def _scratch_baseline(config, run_dir: Path) -> float:
    """Test accuracy of the BERT classifier with no pretraining, same labels and steps."""
    from classify.evaluate import evaluate
    from classify.train import load_run, train

    result = train(config.replace(pretraining_epochs=0), run_dir, verbose=0,
                   log=lambda _: None)
    return evaluate(load_run(run_dir), result.data)["test_accuracy"]


_COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "plot": _plot,
             "export": _export, "compare": _compare, "demo": _demo}
