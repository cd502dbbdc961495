"""Training on several devices or machines (tf.distribute) and in mixed precision.

Every tutorial's ``train`` takes the same three choices::

    --strategy default        one device (the CPU, or the first GPU)
    --strategy mirrored       every local GPU, or every logical CPU device; one replica each
    --strategy multi-worker   MultiWorkerMirroredStrategy over the machines named in TF_CONFIG

The batch size in a config is the *global* batch: with N replicas each one gets batch / N
examples a step, and the gradients are summed across replicas before the update. Model,
optimizer and metrics are created inside ``strategy.scope()``; Keras distributes a
``tf.data`` pipeline by itself in ``fit``.

Precision (``float32 | mixed_bfloat16 | mixed_float16``) is Keras mixed precision: variables
stay float32, layers compute in the lower precision, logits and losses are float32, and
``compile`` wraps the optimizer in a ``LossScaleOptimizer`` for float16 (whose range is too
small for small gradients; bfloat16 has float32's range and needs no scaling).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras
import tensorflow as tf

from common.config import PRECISIONS, STRATEGIES
from common.errors import DistributeError
from common.keras_mends import mend_fit_for_multi_worker

__all__ = [
    "PRECISIONS",
    "STRATEGIES",
    "DistributeError",
    "agree",
    "distribute_dataset",
    "global_sum",
    "is_chief",
    "make_strategy",
    "precision_policy",
    "split_cpu",
    "xla_runs_on",
    "writable_path",
]



def split_cpu(devices: int) -> None:
    """Splits the CPU into ``devices`` logical devices, so ``mirrored`` has replicas to
    mirror over on a machine without GPUs (tests, or trying the strategy on a laptop).
    Must run before TensorFlow touches any device."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])


def make_strategy(name: str | tf.distribute.Strategy) -> tf.distribute.Strategy:
    """The tf.distribute strategy called ``name`` (one of :data:`STRATEGIES`); a strategy
    object is returned as it is.

    Create it before any other TensorFlow work in the process: MultiWorkerMirroredStrategy
    configures collective ops at start-up and refuses once they have run.

    Raises:
        DistributeError: an unknown name, or ``multi-worker`` without ``TF_CONFIG``.
    """
    if isinstance(name, tf.distribute.Strategy):
        return name
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise DistributeError(
                "--strategy multi-worker reads the cluster from the TF_CONFIG environment "
                'variable; set it on every worker, e.g. TF_CONFIG=\'{"cluster": {"worker": '
                '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\'')
        mend_fit_for_multi_worker()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise DistributeError(f"strategy must be one of {list(STRATEGIES)}, received {name!r}")


def xla_runs_on(strategy: tf.distribute.Strategy) -> bool:
    """Whether a training step compiled with XLA runs under ``strategy``: not with replicas
    on several logical CPU devices of one machine (:func:`split_cpu`), where XLA's CPU
    backend reads every replica's variables from the first device and TensorFlow refuses
    ("Trying to access resource ... located in device CPU:1 from device CPU:0")."""
    if strategy.num_replicas_in_sync < 2:  # (the default strategy lists no devices)
        return True
    devices = strategy.extended.worker_devices  # this machine's
    return len(devices) < 2 or not all("CPU" in device.upper() for device in devices)


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process writes the run folder: always, except on the non-chief workers
    of a multi-worker run (worker 0, or the task of type ``chief``, writes)."""
    strategy = strategy or tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)


@contextlib.contextmanager
def writable_path(path: Path, chief: bool) -> Iterator[Path]:
    """``path`` itself on the chief; elsewhere a temporary path removed afterwards.

    Every worker of a multi-worker run must take part in saving (reading synchronized
    variables is a collective operation), but only the chief's copy is kept.
    """
    if chief:
        yield Path(path)
        return
    folder = tempfile.mkdtemp(prefix="worker-save-")
    try:
        yield Path(folder) / Path(path).name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def agree(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker if ``flag`` is True on any: decisions taken from a clock (a
    time limit) must be the same everywhere, or the others wait for a step that never
    comes."""
    if strategy.extended._in_multi_worker_mode():  # noqa: SLF001 - no public accessor
        votes = strategy.run(lambda: tf.constant(float(flag)))
        return bool(strategy.reduce(tf.distribute.ReduceOp.MAX, votes, axis=None) > 0)
    return flag


def global_sum(value: tf.Tensor) -> tf.Tensor:
    """The sum of ``value`` over all replicas when called inside a replica's step, else
    ``value`` itself.

    Masked losses divide by this, the number of real tokens in the *global* batch. Each
    replica's share is then ``sum of its token losses / global count``, and summing the
    replicas' gradients (what tf.distribute does) gives exactly the single-device gradient.
    Dividing by each replica's own count instead - a per-replica mean - weighs a token in
    a replica with few real tokens more than one in a replica with many: the training
    still runs, the loss still falls, and the gradient is silently not the batch's.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(value))


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Keras's global dtype policy set to ``name`` for the layers created inside, then put
    back (the policy is read when a layer is created).

    Raises:
        DistributeError: a name not in :data:`PRECISIONS`.
    """
    if name not in PRECISIONS:
        raise DistributeError(f"precision must be one of {list(PRECISIONS)}, received {name!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def distribute_dataset(dataset: tf.data.Dataset, autotune: bool = True) -> tf.data.Dataset:
    """``dataset`` set to be split by examples across workers (auto-sharding by files
    cannot apply to in-memory data). Every worker builds the same seeded pipeline and keeps
    its share of each global batch.

    ``autotune=False`` turns tf.data's autotuning off, for a dataset read from its start
    again and again (validation): with it on, the end of each pass waits for the
    autotuning thread's next wake, seconds whatever the pass costs (``bench/pass_floor.py``
    measures it); the parallel maps then use one call a core."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    options.autotune.enabled = autotune
    return dataset.with_options(options)
