"""The "341 ms floor": a pass over a tf.data dataset that ends on the autotuner's clock.

Short ``model.fit`` calls and every epoch's validation pass take a whole number of about
2.55 s on this machine, whatever their work, while tf.data's autotuning is on: the end of a
pass waits for the autotuning thread's next wake. Thirty tutorial-preset steps of about
210 ms (6.3 s) then take 4 x 2.557 s = 10.23 s, which reads as 341 ms a step; a validation
pass of 1.5 s takes 2.55 s. With ``tf.data.Options().autotune.enabled = False`` on the
dataset the pass ends when its work does.

Tutorial preset (batch 64, 20 + 20 tokens, vocabulary 5000), random data, steps_per_execution
10. Alternating rounds of two settings, ``autotune`` on and off on both datasets; in each:
``model.fit`` of ``--epochs`` epochs of 20 steps with a validation pass of 20 batches (the
seconds of training and of validation, each epoch), then a fit of 30 steps timed whole (the
bench's old way, a fresh iterator). Prints JSON lines: one ``round`` per setting and round,
then a ``summary`` per setting (best and median).

    python bench/pass_floor.py [--rounds 3] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from transformer_speed import BATCH, SOURCE, TARGET, VOCABULARY  # noqa: E402

STEPS = 20  # a training epoch's and a validation pass's batches


def emit(**record):
    print(json.dumps(record), flush=True)


class EpochClock(keras.callbacks.Callback):
    """Seconds of each epoch's training steps and of its validation pass."""

    def __init__(self):
        super().__init__()
        self.train, self.validation = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last_batch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train.append(self.last_batch - self.started)
        self.validation.append(time.perf_counter() - self.last_batch)


def datasets(autotune: bool):
    rng = np.random.default_rng(0)
    source = rng.integers(4, VOCABULARY, size=(BATCH * 50, SOURCE))
    target = rng.integers(4, VOCABULARY, size=(BATCH * 50, TARGET + 1))
    options = tf.data.Options()
    options.autotune.enabled = autotune
    data = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:]))
    data = data.batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    return (data.cache().repeat().with_options(options),
            data.take(STEPS).cache().with_options(options))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    from common.masks import masked_loss
    from transformer.config import Config
    from transformer.model import build_model
    from transformer.schedule import transformer_optimizer

    config = Config.tutorial().replace(max_length=64)
    emit(bench="setup", cpus=os.cpu_count(), machine=platform.processor() or platform.machine(),
         tensorflow=tf.__version__, keras=keras.__version__, rounds=args.rounds,
         epochs=args.epochs, steps=STEPS)
    keras.utils.set_random_seed(0)
    model = build_model(config, VOCABULARY, VOCABULARY)
    model.compile(optimizer=transformer_optimizer(config.hidden_dim), loss=masked_loss,
                  steps_per_execution=10)
    data = {setting: datasets(setting) for setting in (True, False)}
    model.fit(data[False][0], steps_per_epoch=STEPS, epochs=1, verbose=0)  # traces, warms up
    results = {setting: {"train": [], "validation": [], "short_fit": []}
               for setting in data}
    for round_ in range(args.rounds):
        for autotune in ((True, False) if round_ % 2 == 0 else (False, True)):
            train, validation = data[autotune]
            clock = EpochClock()
            model.fit(train, steps_per_epoch=STEPS, epochs=args.epochs, verbose=0,
                      validation_data=validation, callbacks=[clock])
            started = time.perf_counter()
            model.fit(train, steps_per_epoch=30, epochs=1, verbose=0)
            short = (time.perf_counter() - started) / 30
            results[autotune]["train"] += clock.train
            results[autotune]["validation"] += clock.validation
            results[autotune]["short_fit"].append(short)
            emit(bench="round", round=round_, autotune=autotune,
                 train_epoch_s=[round(s, 2) for s in clock.train],
                 validation_pass_s=[round(s, 2) for s in clock.validation],
                 short_fit_ms_per_step=round(1000 * short, 1))
    for autotune, values in results.items():
        emit(bench="summary", autotune=autotune,
             train_epoch_s_median=round(statistics.median(values["train"]), 2),
             validation_pass_s_best=round(min(values["validation"]), 2),
             validation_pass_s_median=round(statistics.median(values["validation"]), 2),
             validation_pass_s_mean=round(statistics.mean(values["validation"]), 2),
             validation_passes_over_2_5_s=sum(s > 2.5 for s in values["validation"]),
             validation_passes=len(values["validation"]),
             short_fit_ms_per_step_best=round(1000 * min(values["short_fit"]), 1),
             short_fit_ms_per_step_median=round(1000 * statistics.median(values["short_fit"]),
                                                1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
