"""Where Keras 3 has no public way: the package's only reads and writes of Keras internals.

Each one is checked against the Keras versions it was written for (``TESTED``); on another
version it stops with an error saying what to pin, rather than misbehave quietly.

* :func:`learning_rate_schedule`: an optimizer keeps its ``LearningRateSchedule`` only in
  the private ``_learning_rate`` (the public ``optimizer.learning_rate`` is the schedule's
  current value), and a run resumed from a ``.keras`` checkpoint has a schedule object that
  no code of ours made. The time-limit recipe refits that object's warm-up and decay in
  place (``common.training.FitScheduleToTime``).
* :func:`mend_fit_for_multi_worker`: two changes to Keras's TensorFlow trainer that let
  ``fit`` run under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from common.errors import UsageError

__all__ = ["TESTED", "check_keras_version", "learning_rate_schedule",
           "mend_fit_for_multi_worker"]

# The Keras minor versions these mends were checked on (tests/distributed, tests/common).
TESTED = ("3.15",)


def check_keras_version(version: str | None = None) -> None:
    """Raises a UsageError unless ``version`` (default: the installed Keras) is one of
    ``TESTED``."""
    version = version or keras.__version__
    if ".".join(version.split(".")[:2]) not in TESTED:
        raise UsageError(f"Keras {version} is installed, but this package reaches into Keras "
                         f"internals checked only on Keras {', '.join(TESTED)}: install the "
                         "pinned versions (pip install -r requirements.txt)")


def learning_rate_schedule(optimizer) -> keras.optimizers.schedules.LearningRateSchedule | None:
    """The schedule object ``optimizer`` reads its learning rate from (None: a constant
    rate). A loss-scaling optimizer (mixed_float16) is looked through."""
    check_keras_version()
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    schedule = getattr(inner, "_learning_rate", None)
    return schedule if isinstance(schedule,
                                  keras.optimizers.schedules.LearningRateSchedule) else None


def mend_fit_for_multi_worker() -> None:
    """Two mends that let Keras 3's ``fit`` run under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, open), applied only when that strategy is made
    (``common.distribute.make_strategy``).

    1. Before training, ``fit`` builds the metrics from one batch, first averaged over the
       replicas with ``strategy.reduce``, which cannot reduce a nested batch. Only shapes
       and dtypes are needed, so this worker's own share of the batch is used instead.
    2. After each step, the logged scalars (loss, metrics) are averaged over workers along
       axis 0, which scalars do not have; they are averaged whole instead.
    """
    check_keras_version()
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_mended_for_multi_worker", False):
        return
    trainer._mended_for_multi_worker = True

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: self.distribute_strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        multi_worker = strategy.extended._in_multi_worker_mode()
        if not multi_worker or reduction not in ("auto", "mean"):
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)

        return tf.nest.map_structure(mean, values)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
