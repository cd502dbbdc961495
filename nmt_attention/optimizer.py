"""Adam with TensorFlow's fused update kernel: the same arithmetic, half the memory passes."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["FusedAdam"]


@keras.saving.register_keras_serializable(package="nmt_attention")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose per-variable update is one ``ResourceApplyAdam`` op.

    Keras 3 writes the update as a dozen element-wise ops, each a pass over the variable
    and its two moments: on CPU, a noticeable part of the tutorial model's training step
    (docs/results.md). The fused kernel computes the same formula
    (``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``) in one pass.
    A test checks it against Keras's Adam. Sparse gradients (embeddings) are made dense
    first, as Keras's Adam does; ``amsgrad`` falls back to Keras's update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        variable, m, v = (_tf_variable(x) for x in (variable, m, v))
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype),
        )


def _tf_variable(variable):
    """The tf.Variable under a Keras 3 variable (the TF backend hands either)."""
    return variable.value if isinstance(variable, keras.Variable) else variable
