"""Dropout whose random draws are cheap under XLA.

Dropout draws one random number for every activation it may zero: about six million a
training step of the Transformer tutorial. TensorFlow draws them with Philox, which its own
kernels compute quickly but XLA's CPU backend does not: under ``jit_compile`` the draws took
a large part of the step (bench/transformer_speed.py; the numbers are in docs/results.md).
:func:`hash_bits` makes the same number of uniform 32-bit words from a counter and the seed
with a few integer multiplies and shifts, which XLA fuses into one vectorized loop.

:class:`Dropout` uses them only while tracing for XLA (:func:`common.xla.for_xla`: a model
compiled with ``jit_compile=True`` traces its training step inside
:func:`common.xla.compiling_for_xla`); elsewhere it is ``keras.layers.Dropout`` exactly: there
TensorFlow's Philox kernel is the faster.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from common.xla import for_xla

__all__ = ["Dropout", "hash_bits"]


def _mix(x: tf.Tensor) -> tf.Tensor:
    """A 32-bit integer hash with full avalanche (C. Wellons' "lowbias32"): every input bit
    flips each output bit with probability about 1/2."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16)) * tf.constant(0x7FEB352D,
                                                                                tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15)) * tf.constant(0x846CA68B,
                                                                                tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def hash_bits(shape, seed: tf.Tensor) -> tf.Tensor:
    """Uniform uint32 words of ``shape``, a function of the element's index and ``seed``
    (two integers, as Keras's seed generators give).

    Each word is ``mix(mix(index ^ k1) + k2)`` with keys ``k1``, ``k2`` hashed from the seed:
    the same seed gives the same words; another seed, words unrelated to these (not a
    shifted copy, which a single ``mix(index + key)`` would be). Not for cryptography.
    """
    seed = tf.cast(tf.cast(seed, tf.int64), tf.uint32)  # low 32 bits of each
    k1 = _mix(seed[0] + tf.constant(0x9E3779B9, tf.uint32))
    k2 = _mix(tf.bitwise.bitwise_xor(seed[1], k1))
    index = tf.bitcast(tf.range(tf.reduce_prod(shape), dtype=tf.int32), tf.uint32)
    words = _mix(_mix(tf.bitwise.bitwise_xor(index, k1)) + k2)
    return tf.reshape(words, shape)


@keras.saving.register_keras_serializable(package="common")
class Dropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` (same arguments, same scaling by ``1 / (1 - rate)``) that
    draws its mask with :func:`hash_bits` when traced for XLA (:func:`common.xla.for_xla`).

    An element is kept when its word is at least ``round(rate * 2**32)``: the chance of
    dropping is ``rate`` to within 2**-32. ``noise_shape`` falls back to Keras's draw.

    Example:
        >>> layer = Dropout(0.5, seed=1)
        >>> with compiling_for_xla():
        ...     y = layer(tf.ones([2, 4]), training=True)  # each entry 0 or 2
    """

    def call(self, inputs, training=False):
        if not (training and 0 < self.rate < 1 and for_xla()
                and self.noise_shape is None):
            return super().call(inputs, training=training)
        words = hash_bits(tf.shape(inputs), self.seed_generator.next())
        keep = words >= tf.constant(min(round(self.rate * 2**32), 2**32 - 1), tf.uint32)
        scale = tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros_like(inputs))
