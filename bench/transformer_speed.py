"""Speed of the Transformer tutorial model on this machine.

Prints one JSON line per result:

* ``matmul_peak``: float32 GFLOP/s of a large ``tf.matmul`` (the machine's practical peak),
  measured in the same run;
* ``transformer_train``: at the tutorial preset (4 layers, d_model 128, dff 512, 8 heads,
  batch 64, 20 source and 20 target tokens, vocabulary 5000): target tokens per second, the
  model's FLOPs per step (counted from the shapes: the matmuls of attention, feed-forward
  and output layers, x3 for forward and backward) and the achieved fraction of the matmul
  peak; with and without XLA (``jit_compile``);
* ``matmul_shapes``: the training step's own matmul shapes, each run alone: GFLOP/s per shape
  and the fraction of the peak they reach together, a ceiling for the whole step;
* ``transformer_decode``: greedy decoding of 40 tokens, with the key/value cache vs
  recomputing the decoder on the whole prefix every step (the encoder output reused), and
  vs the published tutorial's loop (the whole model, encoder included, on the whole prefix
  every step, logits at every position).

Usage: python bench/transformer_speed.py [--steps 60] [--only train|decode] [--layers 1 2 4]
       [--batches 1 64]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common.machine import settings_for_decoding  # noqa: E402
from common.masks import MaskedAccuracy, masked_loss  # noqa: E402
from transformer.config import Config  # noqa: E402
from transformer.model import build_model  # noqa: E402
from transformer.reference import generate_by_recompute  # noqa: E402
from transformer.schedule import transformer_optimizer  # noqa: E402

BATCH, SOURCE, TARGET, VOCABULARY = 64, 20, 20, 5000


def emit(**record):
    print(json.dumps(record), flush=True)


def matmul_peak(size: int = 4096, repeats: int = 10, dtype=tf.float32) -> float:
    """GFLOP/s of a large matmul in ``dtype``: the most this machine's matmul gives."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        result = product()
    result.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def matmul_shapes(c: Config) -> list[tuple[str, tuple, tuple, int]]:
    """The forward matmuls of one training step at the tutorial preset: (name, a shape,
    b shape, how many a step). The backward pass runs two of the same size for each."""
    d, f, layers, h = c.hidden_dim, c.intermediate_dim, c.num_layers, c.num_heads
    rows, k = BATCH * SOURCE, d // h  # SOURCE == TARGET here
    return [
        ("projection d x d", (rows, d), (d, d), layers * (4 + 4 + 2) + layers * 2),
        ("feed-forward d x dff", (rows, d), (d, f), layers * 2),
        ("feed-forward dff x d", (rows, f), (f, d), layers * 2),
        ("attention QK^T and weights V, per head", (BATCH * h, SOURCE, k),
         (BATCH * h, k, SOURCE), layers * 3 * 2),
        ("output logits", (rows, d), (d, VOCABULARY), 1),
    ]


def shape_ceiling(c: Config, peak: float, repeats: int = 20) -> dict:
    """Each of the step's matmul shapes run alone, many times: GFLOP/s per shape, and the
    FLOP-weighted fraction of the peak they reach together; an upper bound for the whole
    step, which also runs softmax, LayerNorm, dropout, the loss and Adam."""
    per_shape, total_flops, total_seconds = {}, 0.0, 0.0
    for name, a_shape, b_shape, count in matmul_shapes(c):
        a, b = tf.random.normal(a_shape), tf.random.normal(b_shape)
        product = tf.function(lambda a=a, b=b: tf.matmul(a, b))
        product().numpy()
        started = time.perf_counter()
        for _ in range(repeats):
            result = product()
        result.numpy()
        seconds = (time.perf_counter() - started) / repeats
        flops = 2 * np.prod(a_shape) * b_shape[-1]
        per_shape[name] = round(flops / seconds / 1e9, 1)
        total_flops += flops * count
        total_seconds += seconds * count
    return {"gflops_by_shape": per_shape,
            "fraction_of_peak_for_these_shapes": round(total_flops / total_seconds / 1e9
                                                       / peak, 3)}


def training_flops(c: Config) -> float:
    """Matmul FLOPs of one training step (forward x3), from the shapes."""
    d, f, layers = c.hidden_dim, c.intermediate_dim, c.num_layers
    s, t = SOURCE, TARGET
    encoder = s * layers * (4 * 2 * d * d + 2 * 2 * s * d + 2 * 2 * d * f)
    decoder_self = t * layers * (4 * 2 * d * d + 2 * 2 * t * d)
    decoder_cross = layers * (t * 2 * 2 * d * d + s * 2 * 2 * d * d + t * 2 * 2 * s * d)
    decoder_ffn = t * layers * 2 * 2 * d * f
    output = t * 2 * d * VOCABULARY
    forward = BATCH * (encoder + decoder_self + decoder_cross + decoder_ffn + output)
    return 3.0 * forward


def train_speed(config: Config, jit: bool, steps: int, warmup: int) -> dict:
    keras.utils.set_random_seed(0)
    model = build_model(config, VOCABULARY, VOCABULARY)
    model.compile(optimizer=transformer_optimizer(config.hidden_dim), loss=masked_loss,
                  metrics=[MaskedAccuracy()], jit_compile=jit, steps_per_execution=10)
    rng = np.random.default_rng(0)
    source = rng.integers(4, VOCABULARY, size=(BATCH * (steps + warmup), SOURCE))
    target = rng.integers(4, VOCABULARY, size=(BATCH * (steps + warmup), TARGET + 1))
    ds = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:]))
    # Autotuning off: with it on, the end of the timed fit waits for its next wake (the
    # "341 ms floor", bench/pass_floor.py).
    options = tf.data.Options()
    options.autotune.enabled = False
    ds = ds.batch(BATCH, drop_remainder=True).cache().repeat().with_options(options)
    model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    elapsed = time.perf_counter() - started
    return {"target_tokens_per_s": round(BATCH * TARGET * steps / elapsed, 1),
            "ms_per_step": round(1000 * elapsed / steps, 2),
            "steps_per_s": steps / elapsed}


def decode_speed(model, batch: int, tokens: int = 40, repeats: int = 3) -> dict:
    """Milliseconds to decode ``tokens`` greedy tokens (end_id -1: never stops early), for
    the cache and full recompute, as a graph and as one XLA program, and the tutorial's loop.
    """
    source = tf.constant(np.random.default_rng(1).integers(4, VOCABULARY, (batch, SOURCE)))

    def timed(run):
        first = run(source).numpy()  # traces (and compiles)
        assert first.shape == (batch, tokens), first.shape
        started = time.perf_counter()
        for _ in range(repeats):
            run(source).numpy()
        return round(1000 * (time.perf_counter() - started) / repeats, 1), first

    result, outputs = {}, {}
    for jit in (False, True):
        for cached in (True, False):
            generate = model.generate if cached else functools.partial(
                generate_by_recompute, model)
            run = tf.function(lambda s, g=generate, j=jit: g(
                s, tokens, end_id=-1, jit_compile=j)[0])
            name = ("cached" if cached else "full_recompute") + ("_xla" if jit else "")
            result[name + "_ms"], outputs[name] = timed(run)
    result["tutorial_loop_ms"], outputs["tutorial"] = timed(
        tf.function(lambda s: _tutorial_loop(model, s, tokens)))
    result["same_tokens"] = all(np.array_equal(o, outputs["cached"]) for o in outputs.values())
    best_full = min(result["full_recompute_ms"], result["full_recompute_xla_ms"])
    result["speedup_graph"] = round(result["full_recompute_ms"] / result["cached_ms"], 2)
    result["speedup_xla"] = round(result["full_recompute_xla_ms"] / result["cached_xla_ms"], 2)
    result["speedup_best_vs_best"] = round(best_full / result["cached_xla_ms"], 2)
    result["speedup_vs_tutorial_loop"] = round(
        result["tutorial_loop_ms"] / result["cached_xla_ms"], 2)
    return result


def _tutorial_loop(model, source, tokens: int):
    """The published tutorial's greedy loop: the whole model on the whole prefix every step
    (the encoder again, logits at every position), keeping the last position's argmax."""
    batch = tf.shape(source)[0]
    output = tf.TensorArray(tf.int64, size=tokens + 1)
    output = output.write(0, tf.fill([batch], tf.constant(2, tf.int64)))
    for step in tf.range(tokens):
        prefix = tf.transpose(output.stack()[: step + 1])  # (batch, step + 1)
        logits = model((source, prefix))  # (batch, step + 1, vocabulary)
        output = output.write(step + 1, tf.argmax(logits[:, -1], axis=-1))
    return tf.transpose(output.stack()[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--only", choices=["train", "decode"],
                        help="run one part (default: both); decode alone runs with the "
                        "decoding commands' settings (one thread an op: "
                        "common.machine.settings_for_decoding)")
    parser.add_argument("--layers", type=int, nargs="+",
                        help="decode models of these many encoder and decoder layers (default: "
                        "the preset's 4): what a step costs a layer and without layers")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64],
                        help="decode batch sizes (default: 1 64)")
    args = parser.parse_args()
    if args.only == "decode":  # as translate, evaluate and serve run
        settings_for_decoding()
    config = Config.tutorial().replace(max_length=64)
    peak = matmul_peak()
    common = {"cpus": os.cpu_count(), "tensorflow": tf.__version__, "keras": keras.__version__}
    emit(bench="matmul_peak", gflops=round(peak, 1), size=4096, **common)
    flops = training_flops(config)
    if args.only != "decode":
        emit(bench="matmul_shapes", **shape_ceiling(config, peak), **common)
    for jit in (False, True) if args.only != "decode" else ():
        speed = train_speed(config, jit, args.steps, args.warmup)
        achieved = flops * speed.pop("steps_per_s") / 1e9
        emit(bench="transformer_train", jit_compile=jit, batch_size=BATCH,
             source_tokens=SOURCE, target_tokens=TARGET, vocabulary=VOCABULARY,
             flops_per_step=round(flops), achieved_gflops=round(achieved, 1),
             fraction_of_matmul_peak=round(achieved / peak, 3), **speed, **common)
    for layers in (args.layers or [config.num_layers]) if args.only != "train" else ():
        model = build_model(config.replace(num_layers=layers), VOCABULARY, VOCABULARY)
        for batch in args.batches:
            emit(bench="transformer_decode", tokens=40, batch_size=batch, num_layers=layers,
                 **decode_speed(model, batch), **common)


if __name__ == "__main__":
    main()
