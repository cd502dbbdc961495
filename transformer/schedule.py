"""The Transformer's learning-rate schedule: linear warm-up, then inverse square root (the
paper's), or, for a run with a time limit, a linear decay to the step the limit allows."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["DECAYS", "WarmupSchedule", "transformer_optimizer"]

DECAYS = ("rsqrt", "linear")


@keras.saving.register_keras_serializable(package="transformer")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``lr(step) = hidden_dim^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)``.

    The rate grows linearly for ``warmup_steps`` steps (Adam's moment estimates are poor at
    first), peaks at ``(hidden_dim * warmup_steps)^-0.5``, then decays as ``1/sqrt(step)``.

    With ``decay="linear"`` (what ``train --time-limit`` uses) the rate rises linearly to the
    peak of ``warmup_steps``, then falls linearly to ``floor`` times the peak at
    ``total_steps``: a run whose length is known spends its last steps at a small rate, as
    averaging the last checkpoints also aims to. The training learns ``total_steps`` (and
    the warm-up, a ``warmup_fraction`` of it) from its own speed: :meth:`fit_to`.

    Args:
        hidden_dim: the model width (the tutorial's ``d_model``).
        warmup_steps: steps of linear growth (4000 in the paper and the tutorial); with
            ``decay="linear"`` the longest warm-up :meth:`fit_to` may keep.
        decay: ``"rsqrt"`` (the paper's) or ``"linear"`` (to the end of a known budget).
        total_steps, warmup_fraction, floor: for ``decay="linear"``.

    Example:
        >>> schedule = WarmupSchedule(hidden_dim=128)
        >>> float(schedule(4000))  # the peak
        0.0013975424...

    Reference: Vaswani et al. 2017, 5.3; the TensorFlow Transformer tutorial.
    """

    def __init__(self, hidden_dim: int, warmup_steps: int = 4000, decay: str = "rsqrt",
                 total_steps: float = 0.0, warmup_fraction: float = 0.2,
                 floor: float = 0.02, peak_warmup_steps: float | None = None):
        super().__init__()
        if decay not in DECAYS:
            raise ValueError(f"decay must be one of {', '.join(DECAYS)}, not {decay!r}")
        self.hidden_dim = hidden_dim
        self.decay = decay
        self.warmup_fraction = warmup_fraction
        self.floor = floor
        if decay == "rsqrt":
            self.warmup_steps = warmup_steps
            return
        # The peak stays the one of ``warmup_steps`` (a shorter fitted warm-up would raise it).
        self.peak_warmup_steps = float(peak_warmup_steps or warmup_steps)
        # The budget's steps are learned while training (:meth:`fit_to`): variables, so the
        # compiled training step reads their current values.
        self._warmup = tf.Variable(float(warmup_steps), trainable=False, name="warmup_steps")
        self._total = tf.Variable(float(total_steps or 10 * warmup_steps), trainable=False,
                                  name="total_steps")

    @property
    def warmup(self):
        return self.warmup_steps if self.decay == "rsqrt" else self._warmup

    @property
    def fits_to_time(self) -> bool:
        """Whether :meth:`fit_to` has anything to fit: a decay to an end step (``linear``),
        not the paper's open-ended ``rsqrt``."""
        return self.decay == "linear"

    def __call__(self, step):
        # Step 0 counts as step 1: the tutorial's rate is 0 there, a wasted first update.
        step = tf.maximum(tf.cast(step, tf.float32), 1.0)
        scale = tf.math.rsqrt(tf.cast(self.hidden_dim, tf.float32))
        if self.decay == "rsqrt":
            return scale * tf.minimum(tf.math.rsqrt(step), step * self.warmup_steps**-1.5)
        warmup, total = self._warmup, tf.maximum(self._total, self._warmup + 1.0)
        fraction = tf.minimum(step / warmup, (total - step) / (total - warmup))
        peak = scale * self.peak_warmup_steps**-0.5
        return peak * tf.clip_by_value(fraction, self.floor, 1.0)

    def fit_to(self, total_steps: float, step: int, first: bool) -> None:
        """For ``decay="linear"``: the rate reaches its floor at ``total_steps`` (the step a
        time limit allows, measured while training: ``common.training.FitScheduleToTime``).
        ``first``: the first estimate, which also sets the warm-up to ``warmup_fraction`` of
        the total (never below the current ``step``, and never longer than it was)."""
        if self.decay == "rsqrt":
            return
        if first:
            warmup = min(max(self.warmup_fraction * total_steps, step + 1.0),
                         float(self._warmup.numpy()))
            self._warmup.assign(warmup)
        self._total.assign(max(float(total_steps), float(self._warmup.numpy()) + 1.0))

    def get_config(self):
        config = {"hidden_dim": self.hidden_dim, "decay": self.decay}
        if self.decay == "rsqrt":
            return {**config, "warmup_steps": self.warmup_steps}
        return {**config, "warmup_steps": float(self._warmup.numpy()),
                "total_steps": float(self._total.numpy()),
                "warmup_fraction": self.warmup_fraction, "floor": self.floor,
                "peak_warmup_steps": self.peak_warmup_steps}


def transformer_optimizer(hidden_dim: int, warmup_steps: int = 4000,
                          decay: str = "rsqrt") -> keras.optimizers.Adam:
    """Adam with the paper's betas and epsilon (0.9, 0.98, 1e-9) on the warm-up schedule."""
    return keras.optimizers.Adam(
        WarmupSchedule(hidden_dim, warmup_steps, decay), beta_1=0.9, beta_2=0.98, epsilon=1e-9
    )
