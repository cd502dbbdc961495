"""Speed of the classifiers on this machine.

Prints one JSON line per result:

* ``classify_train``: training examples per second of the text classifier (quick and base
  presets, with and without XLA), of BERT's masked-LM pretraining and of the ViT (quick
  preset on 8x8 digits; base preset on 28x28 MNIST-sized inputs), with random inputs of the
  presets' shapes after a warm-up;
* ``classify_serve``: latency of the exported SavedModels (strings in for text, float
  images in for ViT), batch 1 and batch 64, median of repeated calls.

Usage: python bench/classify_speed.py [--steps 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from classify.bert import BertPretrainer  # noqa: E402
from classify.config import BertConfig, TextConfig, VitConfig  # noqa: E402
from classify.export import export  # noqa: E402
from classify.model import build_model  # noqa: E402
from classify.predictor import Predictor  # noqa: E402
from classify.train import compile_classifier  # noqa: E402
from classify.vocabulary import build_word_vocabulary, word_vocabulary  # noqa: E402
from common.data.classification import generate_order_task  # noqa: E402
from common.masks import MaskedSparseCrossEntropy  # noqa: E402

VOCABULARY = 2000


def emit(**record):
    print(json.dumps(record), flush=True)


def examples_per_second(model, x, y, batch_size, steps) -> float:
    options = tf.data.Options()
    options.autotune.enabled = False  # else the timed fit ends on its clock (pass_floor.py)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch_size).prefetch(4)
    ds = ds.with_options(options)
    model.fit(ds, steps_per_epoch=max(5, steps // 10), epochs=1, verbose=0)  # warm-up
    started = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - started)


def text_inputs(config, count=4096):
    rng = np.random.default_rng(0)
    x = rng.integers(4, VOCABULARY, size=(count, config.sequence_length)).astype(np.int32)
    x[:, 0] = 2
    return x, rng.integers(0, 2, size=count).astype(np.int32)


def bench_training(steps: int) -> None:
    for preset in ("quick", "base"):
        for jit in (False, True):
            config = getattr(TextConfig, preset)().replace(jit_compile=jit)
            keras.utils.set_random_seed(0)
            model = build_model(config, 2, VOCABULARY)
            compile_classifier(model, config, steps)
            x, y = text_inputs(config)
            emit(bench="classify_train", model="text", preset=preset, jit_compile=jit,
                 batch_size=config.batch_size, sequence_length=config.sequence_length,
                 examples_per_second=round(examples_per_second(
                     model, x, y, config.batch_size, steps), 1))
    config = BertConfig.quick()
    model = BertPretrainer(VOCABULARY, config.sequence_length, config.num_layers,
                           config.hidden_dim, config.num_heads, config.intermediate_dim)
    model.compile(optimizer="adam", loss=MaskedSparseCrossEntropy())
    x, _ = text_inputs(config)
    labels = np.where(np.random.default_rng(1).random(x.shape) < 0.15, x, 0).astype(np.int32)
    emit(bench="classify_train", model="bert_pretraining", preset="quick",
         batch_size=config.batch_size, sequence_length=config.sequence_length,
         examples_per_second=round(examples_per_second(model, x, labels, config.batch_size,
                                                       steps), 1))
    for preset, shape in (("quick", (8, 8, 1)), ("base", (28, 28, 1))):
        config = getattr(VitConfig, preset)()
        keras.utils.set_random_seed(0)
        model = build_model(config, 10, image_shape=shape)
        compile_classifier(model, config, steps)
        x = np.random.default_rng(0).random((2048, *shape)).astype(np.float32)
        y = np.random.default_rng(1).integers(0, 10, 2048).astype(np.int32)
        emit(bench="classify_train", model="vit", preset=preset, image_shape=list(shape),
             patch_size=config.patch_size, batch_size=config.batch_size,
             examples_per_second=round(examples_per_second(model, x, y, config.batch_size,
                                                           steps), 1))


def latency_ms(function, inputs, repeats=30) -> float:
    function(inputs)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(inputs)
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 2)


def bench_serving() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = TextConfig.quick()
        texts = generate_order_task(64, seed=9).texts
        vocabulary = word_vocabulary(build_word_vocabulary(
            generate_order_task(2000).texts, VOCABULARY), config.sequence_length)
        model = build_model(config, 2, vocabulary.size)
        saved = export(Predictor(model, ["animal", "person"], vocabulary), f"{tmp}/text")
        serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
        for batch in (1, 64):
            emit(bench="classify_serve", model="text", batch=batch,
                 ms_per_call=latency_ms(lambda t: serve(texts=t),
                                        tf.constant(texts[:batch])))
        config = VitConfig.quick()
        model = build_model(config, 10, image_shape=(8, 8, 1))
        saved = export(Predictor(model, [str(d) for d in range(10)], image_shape=(8, 8, 1)),
                       f"{tmp}/vit")
        serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
        images = np.random.default_rng(0).random((64, 8, 8, 1)).astype(np.float32)
        for batch in (1, 64):
            emit(bench="classify_serve", model="vit", batch=batch,
                 ms_per_call=latency_ms(lambda i: serve(images=i), tf.constant(images[:batch])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed training steps")
    args = parser.parse_args()
    bench_training(args.steps)
    bench_serving()


if __name__ == "__main__":
    main()
