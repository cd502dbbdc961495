"""The ViT on real digits: patch size, positions and pooling, against two baselines.

scikit-learn's 1,797 handwritten 8x8 digits, split as ``python -m classify vit train``
splits them (each seed its own split: 1,258 train, 180 validation, 359 test). Variants of
the quick preset's ViT (2 pre-norm layers, d 64, 4 heads, 100 epochs), one change each:

* patches of 4x4 pixels (4 a digit, the preset before this page), 2x2 (16) and 1x1 (64, a
  token a pixel);
* at 2x2: no position embedding (the patches are then a set), and mean pooling instead of
  [CLS];
* the 2x2 ViT with positions scored again on test digits whose patches are shuffled (one
  permutation an image): how much it reads where a patch is.

Baselines on the same splits: logistic regression on the 64 pixels (its C chosen on
validation) and a small CNN (two 3x3 convolutions, 32 and 64 channels; its epoch chosen on
validation). Accuracy on the test split, mean and range over seeds.

    python bench/experiments/vit.py
    python bench/experiments/vit.py --quick      # seconds: tiny models, 2 epochs
"""

from __future__ import annotations

from pathlib import Path

import lab
import numpy as np

VARIANTS = {
    "ViT, 4x4 patches (4)": dict(patch_size=4),
    "ViT, 2x2 patches (16)": dict(patch_size=2),
    "ViT, 1x1 patches (64)": dict(patch_size=1),
    "ViT, 2x2, no positions": dict(patch_size=2, positional_encoding=False),
    "ViT, 2x2, mean pooling": dict(patch_size=2, pooling="mean"),
}
SHUFFLED = "ViT, 2x2 patches (16)"


def logistic_regression(data, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression

    def flat(name):
        return data.x[name].reshape(len(data.x[name]), -1)

    best = max((LogisticRegression(C=c, max_iter=2000).fit(flat("train"), data.y["train"])
                for c in (0.01, 0.1, 1.0, 10.0, 100.0)),
               key=lambda m: m.score(flat("validation"), data.y["validation"]))
    return float(best.score(flat("test"), data.y["test"]))


def small_cnn(data, seed: int, epochs: int) -> float:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(data.x["train"].shape[1:]),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10),
    ])
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs,
                                         restore_best_weights=True)
    model.fit(data.x["train"], data.y["train"], batch_size=64, epochs=epochs, verbose=0,
              validation_data=(data.x["validation"], data.y["validation"]), callbacks=[best])
    return float(model.evaluate(data.x["test"], data.y["test"], verbose=0)[1])


def main(argv=None) -> int:
    parser = lab.experiment_parser(__doc__.split("\n")[0])
    parser.set_defaults(seeds=[0, 1, 2], epochs=None)
    args = lab.parse(parser, argv)
    from classify.config import VitConfig
    from classify.data import load_data
    from classify.runs import load_predictor
    from classify.train import train
    from classify.vit import shuffled_patches

    work = lab.work_folder(args, "vit")
    results: dict[str, list[float]] = {name: [] for name in
                                       [*VARIANTS, f"{SHUFFLED}, shuffled test patches",
                                        "logistic regression", "small CNN"]}
    for seed in args.seeds:
        base = (VitConfig.tiny() if args.quick else VitConfig.quick()).replace(seed=seed)
        if args.epochs:
            base = base.replace(epochs=args.epochs, patience=args.epochs)
        data = load_data(base)
        for name, change in VARIANTS.items():
            run_dir = work / (name.replace("ViT, ", "").replace(" ", "-")
                              .replace(",", "").replace("(", "").replace(")", "")
                              + f"-seed{seed}")
            lab.trained(run_dir, train, base.replace(**change), lambda m: print(m, flush=True))
            _, predictor = load_predictor(run_dir)
            accuracy = _accuracy(predictor, data.x["test"], data.y["test"])
            results[name].append(accuracy)
            lab.emit({"experiment": "vit", "variant": name, "seed": seed,
                      "test_accuracy": accuracy})
            if name == SHUFFLED:
                shuffled = shuffled_patches(data.x["test"], change["patch_size"], seed)
                accuracy = _accuracy(predictor, shuffled, data.y["test"])
                results[f"{SHUFFLED}, shuffled test patches"].append(accuracy)
                lab.emit({"experiment": "vit", "variant": "shuffled test patches",
                          "seed": seed, "test_accuracy": accuracy})
        for name, accuracy in (("logistic regression", logistic_regression(data, seed)),
                               ("small CNN", small_cnn(data, seed, 2 if args.quick else 60))):
            results[name].append(accuracy)
            lab.emit({"experiment": "vit", "variant": name, "seed": seed,
                      "test_accuracy": accuracy})
    _write(Path(args.out), results, args.seeds, len(data.y["test"]))
    return 0


def _short(name: str) -> str:
    """A bar's label: the variant's name on two lines."""
    name = name.replace("ViT, ", "ViT\n").replace(" patches (", " patches\n(")
    return name.replace(", shuffled test patches", "\ntest patches\nshuffled")


def _accuracy(predictor, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities = predictor.outputs(predictor.inputs_of(images))["probabilities"].numpy()
    return float((probabilities.argmax(-1) == labels).mean())


def _write(out: Path, results: dict[str, list[float]], seeds, test_count: int) -> None:
    rows = [[name, f"{np.mean(v):.3f}", f"{min(v):.3f}-{max(v):.3f}",
             " ".join(f"{a:.3f}" for a in v)] for name, v in results.items()]
    from common.plotting import comparison_figure, save_figure

    names = list(results)
    figure = comparison_figure(
        [_short(name) for name in names], [np.mean(results[n]) for n in names],
        [[np.mean(results[n]) - min(results[n]) for n in names],
         [max(results[n]) - np.mean(results[n]) for n in names]],
        [results[n] for n in names], ylabel=f"test accuracy ({test_count} digits a seed)",
        title="8x8 digits: the ViT's patches, positions and pooling, and two baselines",
        chance=0.1)
    save_figure(figure, out / "vit.png")
    body = (f"Test accuracy on {test_count} digits a seed (each seed its own split and "
            "weights).\n\n" + lab.markdown_table(["model", "mean", "range", "each seed"], rows)
            + "\n![test accuracy by model](vit.png)\n")
    print(lab.results_page(out, "vit", "The ViT on real digits: patches, positions, "
                           "pooling and baselines", body, seeds))


if __name__ == "__main__":
    raise SystemExit(main())
