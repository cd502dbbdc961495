"""What a measurement ran on, in one line, for the pages that report results; and the
TensorFlow settings of a process that only decodes."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["decoding_threads", "machine_description", "settings_for_decoding"]


def machine_description() -> str:
    """``"<CPU model>, <N> cores, <system>"``, e.g. ``"AMD EPYC, 2 cores, Linux"``."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor()}, {os.cpu_count()} cores, {platform.system()}"


def settings_for_decoding() -> None:
    """Sets up TensorFlow for a process that decodes and does not train: one thread an op,
    and no Grappler rewriting of its graphs.

    A decoding step is hundreds of small ops; splitting each over two cores costs more than
    it saves there, at batch 1 and at batch 64 (bench/transformer_speed.py; the numbers are
    in docs/results.md). The cores decode batches side by side
    instead (:func:`common.decoding.batches_side_by_side`).
    Training keeps TensorFlow's default: its large matmuls gain from every core.

    Grappler (TensorFlow's graph optimizer) spends a part of a second on the Transformer's
    decoding graph the first time it runs and the decoding is no faster for it: the same
    translations, `translate` no slower without it (bench/translate_speed.py,
    docs/results.md).

    TensorFlow takes this only before it runs its first op; after that this changes nothing.
    """
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started in this process
        pass


def decoding_threads() -> int:
    """How many batches to decode side by side: the cores this process may run on (a
    container's share, not the host's count), at most 8 (each holds a batch's buffers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))
