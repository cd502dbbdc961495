"""The package's one module of Keras internals: it finds what it reaches for, and stops with a
clear error on a Keras it was not checked on."""

import keras
import pytest

from common.errors import UsageError
from common.keras_mends import check_keras_version, learning_rate_schedule
from transformer.schedule import WarmupSchedule


def test_the_schedule_is_found_behind_the_optimizer_and_a_loss_scaler():
    schedule = WarmupSchedule(16, warmup_steps=10)
    optimizer = keras.optimizers.Adam(schedule)
    assert learning_rate_schedule(optimizer) is schedule
    assert learning_rate_schedule(keras.optimizers.LossScaleOptimizer(optimizer)) is schedule
    assert learning_rate_schedule(keras.optimizers.Adam(1e-3)) is None


def test_another_keras_version_is_refused_with_what_to_do():
    check_keras_version()  # the installed, pinned one
    with pytest.raises(UsageError, match=r"Keras 3\.99\.0 .*pip install -r requirements\.txt"):
        check_keras_version("3.99.0")
