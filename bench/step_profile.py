"""Where a training step's time goes, op by op: what bfloat16 can and cannot speed up.

The tutorial preset's training step (batch 64, 20 + 20 tokens, vocabulary 5000, random
tokens, seed 0, graph mode, steps_per_execution 10), for each ``--precisions``: warmed up,
then ``--steps`` steps timed, then the same number of steps under TensorFlow's profiler.
The profile's op events are summed by op type (time on all threads, so up to 2x the wall
time on 2 cores) and grouped by op type: ``matmul`` (MatMul, Einsum, BatchMatMul: what
bfloat16 and AMX speed up), ``dropout`` (its random draws, masks and selects),
``optimizer`` (the op types only Adam's updates use; its Mul and Sub, shared with the
model, count under ``other``), ``loss``, ``casts`` and ``other``.

Prints JSON lines: ``roof`` (float32 and bfloat16 matmul GFLOP/s, 4096^3), then per
precision a ``step`` (ms a step, timed without the profiler), the ``groups`` (ms of op time
a step) and ``top_ops`` (the 15 costliest op types: ms a step and calls a step).

    python bench/step_profile.py [--precisions float32 mixed_bfloat16] [--steps 20]
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from transformer_speed import BATCH, SOURCE, TARGET, VOCABULARY, matmul_peak  # noqa: E402

GROUPS = {
    "matmul": ("MatMul", "Einsum", "BatchMatMul"),
    "dropout": ("StatelessRandom", "ParallelFor", "SelectV2", "GreaterEqual"),
    "optimizer": ("AssignAddVariableOp", "AssignSubVariableOp", "Sqrt", "RealDiv", "Square"),
    "loss": ("SparseSoftmaxCrossEntropyWithLogits",),
    "casts": ("Cast",),
}
# Events that wrap others (the whole function, the executor): not ops.
WRAPPERS = ("Process", "Run", "multi_step_on_iterator", "TFE_Py_", "EagerExecute",
            "EagerKernelExecute", "__inference", "FunctionRun", "Start", "Iterator")


def emit(**record):
    print(json.dumps(record), flush=True)


def group_of(op: str) -> str:
    for group, names in GROUPS.items():
        if any(name in op for name in names):
            return group
    return "other"


def op_times(folder: str) -> tuple[collections.Counter, collections.Counter]:
    """Picoseconds and calls by op type, summed over the host's threads."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(glob.glob(f"{folder}/**/*.xplane.pb", recursive=True)[0])
                          .read_bytes())
    seconds, calls = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                op = names.get(event.metadata_id, "?").split(":")[-1].strip()
                if op and not op.startswith(WRAPPERS):
                    seconds[op] += event.duration_ps
                    calls[op] += 1
    return seconds, calls


def profile(precision: str, steps: int) -> None:
    from common.masks import masked_loss
    from transformer.config import Config
    from transformer.model import build_model
    from transformer.schedule import transformer_optimizer

    config = Config.tutorial().replace(max_length=64)
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(precision)
    try:
        model = build_model(config, VOCABULARY, VOCABULARY)
    finally:
        keras.config.set_dtype_policy("float32")
    model.compile(optimizer=transformer_optimizer(config.hidden_dim), loss=masked_loss,
                  steps_per_execution=10)
    rng = np.random.default_rng(0)
    source = rng.integers(4, VOCABULARY, size=(BATCH * 50, SOURCE))
    target = rng.integers(4, VOCABULARY, size=(BATCH * 50, TARGET + 1))
    data = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:]))
    data = data.batch(BATCH, drop_remainder=True).cache().repeat()
    model.fit(data, steps_per_epoch=20, epochs=1, verbose=0)  # traces, warms up
    iterator, train = iter(data), model.make_train_function()
    calls = max(1, steps // 10)
    started = time.perf_counter()
    for _ in range(calls):
        logs = train(iterator)
    float(logs["loss"])
    emit(bench="step", precision=precision,
         ms_per_step=round(1000 * (time.perf_counter() - started) / (10 * calls), 1))
    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        for _ in range(calls):
            logs = train(iterator)
        float(logs["loss"])
        tf.profiler.experimental.stop()
        seconds, counts = op_times(folder)
    per_step = 1e9 * 10 * calls  # picoseconds to milliseconds, per step
    groups = collections.Counter()
    for op, value in seconds.items():
        groups[group_of(op)] += value
    emit(bench="groups", precision=precision, ms_op_time_per_step={
        group: round(value / per_step, 1) for group, value in groups.most_common()},
        total=round(sum(groups.values()) / per_step, 1))
    emit(bench="top_ops", precision=precision, ops=[
        [op, round(value / per_step, 2), round(counts[op] / (10 * calls), 1)]
        for op, value in seconds.most_common(15)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    emit(bench="roof", float32=round(matmul_peak(repeats=6), 1),
         bfloat16=round(matmul_peak(repeats=6, dtype=tf.bfloat16), 1), cpus=os.cpu_count(),
         tensorflow=tf.__version__, keras=keras.__version__)
    for precision in args.precisions:
        profile(precision, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
