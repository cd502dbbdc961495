"""Training speed (and quality) of the precision and XLA settings on this machine.

Prints one JSON line per result:

* ``speed``: training throughput at the tutorial presets for each of float32 and
  mixed_bfloat16, XLA (``jit_compile``) off and on, with random inputs of the tutorials'
  shapes (batch 64; translators: 20 source and 20 target tokens, vocabulary 5000; the text
  classifier's base preset: 64 tokens) after a warm-up; the translators in target tokens/s,
  the classifier in examples/s;
* ``quality`` (with ``--quality``): the quick presets trained for a few epochs on the
  generated corpus with each setting: best validation loss and token accuracy, so a faster
  setting can be checked for what it costs.

Usage: python bench/training_options.py [--steps 20] [--rounds 3] [--quality]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common.distribute import precision_policy  # noqa: E402
from common.run_folder import history_columns, read_history  # noqa: E402

BATCH, SOURCE, TARGET, VOCABULARY = 64, 20, 20, 5000
SETTINGS = list(itertools.product(["float32", "mixed_bfloat16"], [False, True]))


def emit(**record):
    print(json.dumps(record), flush=True)


def translation_batches(steps: int) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    source = rng.integers(4, VOCABULARY, size=(BATCH * steps, SOURCE))
    target = rng.integers(4, VOCABULARY, size=(BATCH * steps, TARGET + 1))
    ds = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:]))
    return ds.batch(BATCH, drop_remainder=True).cache().repeat()


def nmt_attention_model(jit: bool):
    from nmt_attention.config import Config
    from nmt_attention.model import build_model
    from nmt_attention.train import compile_model

    config = Config.tutorial().replace(jit_compile=jit, steps_per_execution=10)
    model = build_model(config, VOCABULARY, VOCABULARY)
    compile_model(model, config)
    return model, translation_batches(40), BATCH * TARGET


def transformer_model(jit: bool):
    from transformer.config import Config
    from transformer.model import build_model
    from transformer.train import compile_model

    config = Config.tutorial().replace(jit_compile=jit, steps_per_execution=10)
    model = build_model(config, VOCABULARY, VOCABULARY)
    compile_model(model, config)
    return model, translation_batches(40), BATCH * TARGET


def text_classifier_model(jit: bool):
    from classify.config import TextConfig
    from classify.model import build_model
    from classify.train import compile_classifier

    config = TextConfig.base().replace(jit_compile=jit, steps_per_execution=10)
    model = build_model(config, 2, config.vocabulary_size)
    compile_classifier(model, config, steps_per_epoch=100)
    rng = np.random.default_rng(0)
    x = rng.integers(4, config.vocabulary_size, size=(BATCH * 40, config.sequence_length))
    y = rng.integers(0, 2, size=(BATCH * 40,))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)
    return model, ds.cache().repeat(), BATCH


MODELS = {"nmt_attention": (nmt_attention_model, "target_tokens_per_s"),
          "transformer": (transformer_model, "target_tokens_per_s"),
          "text_classifier": (text_classifier_model, "examples_per_s")}


def speeds(name: str, steps: int, warmup: int, rounds: int) -> None:
    """Builds the model once per setting, then times ``rounds`` fits of ``steps`` steps for
    each setting in turn, so a slow spell of this shared machine falls on all of them;
    reports the best and the median round."""
    make, unit = MODELS[name]
    runs = []
    for precision, jit in SETTINGS:
        keras.utils.set_random_seed(0)
        with precision_policy(precision):
            model, ds, per_step = make(jit)
        started = time.perf_counter()
        model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)  # tracing, XLA compiling
        runs.append((precision, jit, model, ds, per_step, time.perf_counter() - started, []))
    for _ in range(rounds):
        for *_, model, ds, _, _, times in runs:
            started = time.perf_counter()
            model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
            times.append(time.perf_counter() - started)
    for precision, jit, _, _, per_step, warmup_s, times in runs:
        best, median = min(times), float(np.median(times))
        emit(bench="speed", model=name,
             preset="base" if name == "text_classifier" else "tutorial",
             precision=precision, jit_compile=jit,
             **{unit: round(per_step * steps / best, 1),
                f"median_{unit}": round(per_step * steps / median, 1)},
             ms_per_step=round(1000 * best / steps, 2), warmup_s=round(warmup_s, 1))


def quality(name: str, precision: str, jit: bool, epochs: int) -> None:
    if name == "nmt_attention":
        from nmt_attention.config import Config
        from nmt_attention.train import train
    else:
        from transformer.config import Config
        from transformer.train import train
    config = Config.quick().replace(precision=precision, jit_compile=jit, epochs=epochs,
                                    patience=epochs)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        train(config, Path(folder) / "run", log=lambda _: None, verbose=0)
        elapsed = time.perf_counter() - started
        history = history_columns(read_history(Path(folder) / "run" / "history.csv"))
    emit(bench="quality", model=name, preset="quick", epochs=epochs, precision=precision,
         jit_compile=jit, best_val_loss=round(min(history["val_loss"]), 4),
         best_val_masked_accuracy=round(max(history["val_masked_accuracy"]), 4),
         train_s=round(elapsed, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per setting")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--quality", action="store_true",
                        help="also train the quick translators with each setting")
    parser.add_argument("--quality-epochs", type=int, default=4)
    args = parser.parse_args()
    emit(bench="machine", cpu_count=os.cpu_count(), tensorflow=tf.__version__,
         keras=keras.__version__)
    for name in args.models:
        speeds(name, args.steps, args.warmup, args.rounds)
    if args.quality:
        for name in ("nmt_attention", "transformer"):
            for precision, jit in SETTINGS:
                quality(name, precision, jit, args.quality_epochs)


if __name__ == "__main__":
    main()
