"""The one rule for an image's pixels, wherever an image comes in: the Python API
(``classify.predictor.check_images``), the exported SavedModel (inside its graph) and the
HTTP server (JSON).

Pixels are finite numbers in [0, 1], as the models were trained on; ``PIXEL_SLACK`` lets
through what rounding leaves of a scaled image (``255 / 255`` computed in float16, a resize
that overshoots by a hair), never a wrong scale.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["PIXEL_SLACK", "assert_pixels", "is_number_grid", "pixel_problem"]

PIXEL_SLACK = 1e-3
_SCALE = "scale them as the training data was"


def pixel_problem(images: np.ndarray) -> str | None:
    """What is wrong with the pixels of ``images`` (a float array), or None."""
    if not np.isfinite(images).all():
        return "images hold NaN or infinite values"
    if images.size and (images.min() < -PIXEL_SLACK or images.max() > 1 + PIXEL_SLACK):
        return (f"pixel values must lie in [0, 1], received {images.min():g} to "
                f"{images.max():g}: {_SCALE}")
    return None


def assert_pixels(images: tf.Tensor) -> tf.Tensor:
    """``images`` (a graph tensor), after checks that fail the call with the same rule."""
    scale = f"pixel values must lie in [0, 1]: {_SCALE}"
    checks = [
        tf.debugging.assert_all_finite(images, "images hold NaN or infinite values"),
        tf.debugging.assert_greater_equal(images, tf.cast(-PIXEL_SLACK, images.dtype),
                                          message=scale),
        tf.debugging.assert_less_equal(images, tf.cast(1 + PIXEL_SLACK, images.dtype),
                                       message=scale),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(images)


def is_number_grid(value) -> bool:
    """Whether ``value`` (parsed JSON) is nested lists whose leaves are all numbers: not
    strings, booleans, objects or nulls, which NumPy would turn into pixels or fail on."""
    if isinstance(value, list):
        return all(is_number_grid(item) for item in value)
    return isinstance(value, int | float) and not isinstance(value, bool)
