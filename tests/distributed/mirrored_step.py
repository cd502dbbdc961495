"""One training step on 2 logical CPU devices (MirroredStrategy) vs one device.

Run as a script in a fresh process (the CPU must be split before TensorFlow starts):
``python tests/distributed/mirrored_step.py nmt_attention|transformer``. Prints JSON: the
largest weight difference after one SGD step, mirrored vs default, with the project's
masked loss and with a per-replica mean (the bug the global token count prevents).
"""

import json
import sys

from common.distribute import split_cpu

split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common.distribute import make_strategy  # noqa: E402
from common.masks import MaskedAccuracy, padding_mask  # noqa: E402

VOCABULARY = 40


def per_replica_mean(y_true, y_pred):
    """The silent bug: each replica divides by its own real-token count."""
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y_true, tf.int64), y_pred)
    mask = tf.cast(padding_mask(y_true), loss.dtype)
    return tf.reduce_sum(loss * mask) / tf.reduce_sum(mask)


def batch():
    """8 pairs; the first 4 (replica 0) have 9 real target tokens, the last 4 only 2."""
    rng = np.random.default_rng(0)
    source = rng.integers(3, VOCABULARY, (8, 7))
    source[4:, 4:] = 0
    target = rng.integers(3, VOCABULARY, (8, 10))
    target[:, 0] = 2
    target[4:, 3:] = 0
    return (source, target[:, :-1]), target[:, 1:]


def build(package):
    if package == "nmt_attention":
        from nmt_attention.config import Config
        from nmt_attention.model import build_model
        return build_model(Config.tiny(), VOCABULARY, VOCABULARY)
    from common.masks import MaskedSparseCrossEntropy  # noqa: F401
    from transformer.config import Config
    from transformer.model import build_model
    return build_model(Config.tiny().replace(dropout=0.0), VOCABULARY, VOCABULARY)


def step(package, strategy, loss, start):
    with strategy.scope():
        model = build(package)
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss=loss,
                      metrics=[MaskedAccuracy()], jit_compile=False)
    data = tf.data.Dataset.from_tensors(batch()).repeat()
    history = model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    return model.get_weights(), history.history["loss"][0]


def largest_difference(weights, others):
    return max(float(np.abs(a - b).max()) for a, b in zip(weights, others, strict=True))


def main(package):
    from common.masks import masked_loss

    keras.utils.set_random_seed(0)
    start = build(package).get_weights()
    single, single_loss = step(package, make_strategy("default"), masked_loss, start)
    mirrored_strategy = make_strategy("mirrored")
    mirrored, mirrored_loss = step(package, mirrored_strategy, masked_loss, start)
    naive, _ = step(package, mirrored_strategy, per_replica_mean, start)
    print(json.dumps({
        "replicas": mirrored_strategy.num_replicas_in_sync,
        "moved": largest_difference(single, start),
        "difference": largest_difference(single, mirrored),
        "per_replica_mean_difference": largest_difference(single, naive),
        "loss": [single_loss, mirrored_loss],
    }))


if __name__ == "__main__":
    main(sys.argv[1])
