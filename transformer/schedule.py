"""The Transformer's learning-rate schedule: linear warm-up, then inverse square root."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["WarmupSchedule", "transformer_optimizer"]


@keras.saving.register_keras_serializable(package="transformer")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``lr(step) = hidden_dim^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)``.

    The rate grows linearly for ``warmup_steps`` steps (Adam's moment estimates are poor at
    first), peaks at ``(hidden_dim * warmup_steps)^-0.5``, then decays as ``1/sqrt(step)``.

    Args:
        hidden_dim: the model width (the tutorial's ``d_model``).
        warmup_steps: steps of linear growth (4000 in the paper and the tutorial).

    Example:
        >>> schedule = WarmupSchedule(hidden_dim=128)
        >>> float(schedule(4000))  # the peak
        0.0013975424...

    Reference: Vaswani et al. 2017, 5.3; the TensorFlow Transformer tutorial.
    """

    def __init__(self, hidden_dim: int, warmup_steps: int = 4000):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        # Step 0 counts as step 1: the tutorial's rate is 0 there, a wasted first update.
        step = tf.maximum(tf.cast(step, tf.float32), 1.0)
        scale = tf.math.rsqrt(tf.cast(self.hidden_dim, tf.float32))
        return scale * tf.minimum(tf.math.rsqrt(step), step * self.warmup_steps**-1.5)

    def get_config(self):
        return {"hidden_dim": self.hidden_dim, "warmup_steps": self.warmup_steps}


def transformer_optimizer(hidden_dim: int, warmup_steps: int = 4000) -> keras.optimizers.Adam:
    """Adam with the paper's betas and epsilon (0.9, 0.98, 1e-9) on the warm-up schedule."""
    return keras.optimizers.Adam(
        WarmupSchedule(hidden_dim, warmup_steps), beta_1=0.9, beta_2=0.98, epsilon=1e-9
    )
