"""The Transformer tutorial's training step against its peers, in the same run.

Three systems build the same model (tutorial preset: 4+4 layers, d_model 128, dff 512, 8
heads, dropout 0.1, vocabulary 5000, batch 64, 20 source and 20 target tokens, the same
optimizer, loss and random data):

* ``package``: this package's ``transformer.model.build_model``;
* ``keras_hub``: keras-hub's ``TokenAndPositionEmbedding``, ``TransformerEncoder`` and
  ``TransformerDecoder`` (bench only: ``pip install --no-deps -r bench/requirements-peers.txt``);
* ``tutorial``: the published tutorial's design, written here: ``keras.layers.MultiHeadAttention``
  with ``key_dim=d_model``, so every head is full width (8x the projection work).

Each under float32 and mixed_bfloat16, with XLA off and on: 12 settings, every model built
and warmed up first, then timed in ``--rounds`` alternating rounds of ``--steps`` steps (the
order rotates each round), so a slow spell of the shared machine hits every setting alike.
The float32 and bfloat16 matmul roofs (4096^3) are measured before and after the rounds.
Prints JSON lines: ``roof``, one ``round`` per setting and round, then a ``summary`` per
setting (best and median target tokens/s, ms a step, the achieved share of each roof, from
the matmul FLOPs of the package's model) and a ``verdict`` (the package's default setting
against keras-hub's best).

    python bench/peers.py [--rounds 3] [--steps 30] [--only package keras_hub]
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
from transformer_speed import (  # noqa: E402
    BATCH,
    SOURCE,
    TARGET,
    VOCABULARY,
    matmul_peak,
    training_flops,
)

SYSTEMS = ("package", "keras_hub", "tutorial")
PRECISIONS = ("float32", "mixed_bfloat16")


def emit(**record):
    print(json.dumps(record), flush=True)


class _Sinusoid(keras.layers.Layer):
    """The tutorial's positional embedding: token embedding * sqrt(d) + sinusoids."""

    def __init__(self, vocabulary: int, d: int, length: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.d = d
        self.embedding = keras.layers.Embedding(vocabulary, d, mask_zero=True)
        position = np.arange(length)[:, None]
        angle = position / np.power(10000, (2 * (np.arange(d)[None] // 2)) / d)
        table = np.where(np.arange(d)[None] % 2 == 0, np.sin(angle), np.cos(angle))
        self.table = tf.constant(table, tf.float32)

    def call(self, x):
        length = tf.shape(x)[1]
        y = self.embedding(x) * tf.cast(tf.sqrt(float(self.d)), self.compute_dtype)
        return y + tf.cast(self.table[None, :length], self.compute_dtype)

    def compute_mask(self, x, mask=None):
        return self.embedding.compute_mask(x)


def _tutorial_model(layers: int, d: int, dff: int, heads: int, dropout: float):
    """The published tutorial's Transformer, layer for layer (post-norm, full-width heads)."""

    def feed_forward(x):
        y = keras.layers.Dense(dff, activation="relu")(x)
        y = keras.layers.Dropout(dropout)(keras.layers.Dense(d)(y))
        return keras.layers.LayerNormalization()(keras.layers.Add()([x, y]))

    def attention(x, context=None, causal=False):
        mha = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=d, dropout=dropout)
        y = mha(query=x, value=x if context is None else context, key=None,
                use_causal_mask=causal)
        return keras.layers.LayerNormalization()(keras.layers.Add()([x, y]))

    source = keras.Input((None,), dtype="int64")
    target = keras.Input((None,), dtype="int64")
    x = keras.layers.Dropout(dropout)(_Sinusoid(VOCABULARY, d)(source))
    for _ in range(layers):
        x = feed_forward(attention(x))
    y = keras.layers.Dropout(dropout)(_Sinusoid(VOCABULARY, d)(target))
    for _ in range(layers):
        y = feed_forward(attention(attention(y, causal=True), context=x))
    logits = keras.layers.Dense(VOCABULARY, dtype="float32")(y)
    return keras.Model((source, target), logits)


def _keras_hub_model(layers: int, d: int, dff: int, heads: int, dropout: float):
    import keras_hub

    source = keras.Input((None,), dtype="int64")
    target = keras.Input((None,), dtype="int64")
    x = keras_hub.layers.TokenAndPositionEmbedding(VOCABULARY, 64, d, mask_zero=True)(source)
    for _ in range(layers):
        x = keras_hub.layers.TransformerEncoder(dff, heads, dropout=dropout)(x)
    y = keras_hub.layers.TokenAndPositionEmbedding(VOCABULARY, 64, d, mask_zero=True)(target)
    for _ in range(layers):
        y = keras_hub.layers.TransformerDecoder(dff, heads, dropout=dropout)(y, x)
    logits = keras.layers.Dense(VOCABULARY, dtype="float32")(y)
    return keras.Model((source, target), logits)


def build(system: str, precision: str, jit: bool, config):
    """A compiled model of ``system`` and its train function on an endless random dataset."""
    from common.masks import MaskedAccuracy, masked_loss
    from transformer.model import build_model
    from transformer.schedule import transformer_optimizer

    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(precision)
    try:
        sizes = (config.num_layers, config.hidden_dim, config.intermediate_dim,
                 config.num_heads, config.dropout)
        model = {"package": lambda: build_model(config, VOCABULARY, VOCABULARY),
                 "keras_hub": lambda: _keras_hub_model(*sizes),
                 "tutorial": lambda: _tutorial_model(*sizes)}[system]()
    finally:
        keras.config.set_dtype_policy("float32")
    model.compile(optimizer=transformer_optimizer(config.hidden_dim), loss=masked_loss,
                  metrics=[MaskedAccuracy()], jit_compile=jit, steps_per_execution=10)
    rng = np.random.default_rng(0)
    source = rng.integers(4, VOCABULARY, size=(BATCH * 50, SOURCE))
    target = rng.integers(4, VOCABULARY, size=(BATCH * 50, TARGET + 1))
    data = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:]))
    data = data.batch(BATCH, drop_remainder=True).cache().repeat().prefetch(2)
    model.fit(data, steps_per_epoch=20, epochs=1, verbose=0)  # traces, compiles, warms up
    iterator = iter(data)
    train = model.make_train_function()
    return model, lambda: train(iterator)


def time_steps(train, steps: int) -> float:
    """Seconds a step over ``steps`` steps (``steps_per_execution`` 10: steps // 10 calls)."""
    calls = max(1, steps // 10)
    started = time.perf_counter()
    for _ in range(calls):
        logs = train()
    float(logs["loss"])
    return (time.perf_counter() - started) / (10 * calls)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="steps a setting a round")
    parser.add_argument("--only", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS,
                        default=list(PRECISIONS))
    args = parser.parse_args(argv)
    from transformer.config import Config

    config = Config.tutorial().replace(max_length=64)
    common = {"cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "tensorflow": tf.__version__, "keras": keras.__version__}
    roofs = {"float32": [matmul_peak(repeats=6)],
             "bfloat16": [matmul_peak(repeats=6, dtype=tf.bfloat16)]}
    emit(bench="roof", when="before", **{k: round(v[0], 1) for k, v in roofs.items()}, **common)
    settings = [(s, p, j) for s in args.only for p in args.precisions for j in (False, True)]
    trains = {}
    for setting in settings:
        started = time.perf_counter()
        trains[setting] = build(*setting, config)[1]
        emit(bench="built", system=setting[0], precision=setting[1], jit_compile=setting[2],
             seconds=round(time.perf_counter() - started, 1))
    seconds = {setting: [] for setting in settings}
    for round_ in range(args.rounds):
        shift = round_ % len(settings)
        for setting in settings[shift:] + settings[:shift]:
            step = time_steps(trains[setting], args.steps)
            seconds[setting].append(step)
            emit(bench="round", round=round_, system=setting[0], precision=setting[1],
                 jit_compile=setting[2], ms_per_step=round(1000 * step, 1))
    roofs["float32"].append(matmul_peak(repeats=6))
    roofs["bfloat16"].append(matmul_peak(repeats=6, dtype=tf.bfloat16))
    emit(bench="roof", when="after", **{k: round(v[1], 1) for k, v in roofs.items()})
    roof = {k: max(v) for k, v in roofs.items()}
    flops = training_flops(config)
    best_tokens = {}
    for setting, values in seconds.items():
        best, median = min(values), statistics.median(values)
        best_tokens[setting] = BATCH * TARGET / best
        achieved = flops / best / 1e9
        emit(bench="summary", system=setting[0], precision=setting[1], jit_compile=setting[2],
             best_tokens_per_s=round(BATCH * TARGET / best),
             median_tokens_per_s=round(BATCH * TARGET / median),
             best_ms_per_step=round(1000 * best, 1), median_ms_per_step=round(1000 * median, 1),
             achieved_gflops=round(achieved, 1),
             share_of_float32_roof=round(achieved / roof["float32"], 3),
             share_of_bfloat16_roof=round(achieved / roof["bfloat16"], 3),
             rounds=len(values))
    if "package" in args.only and "keras_hub" in args.only:
        default = ("package", config.precision, config.jit_compile)
        peer = max((s for s in settings if s[0] == "keras_hub"), key=best_tokens.get)
        if default in best_tokens:
            emit(bench="verdict", package_default=list(default), keras_hub_best=list(peer),
                 speedup=round(best_tokens[default] / best_tokens[peer], 2),
                 package_best=list(max((s for s in settings if s[0] == "package"),
                                       key=best_tokens.get)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
