"""Configuration of the Transformer tutorial's model: one frozen dataclass and its presets."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from common.config import RunConfig
from common.plain_text import MODES

__all__ = ["Config", "time_budget_recipe"]


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Everything a run needs: model (Keras names, the tutorial's in comments), text, data
    and training settings."""

    PRESETS: ClassVar[tuple[str, ...]] = ("tutorial", "quick", "tiny", "cpu-hour")
    CHOICES = {**RunConfig.CHOICES, "position_embedding": ("sinusoidal", "learned", "none"),
               "text_mode": MODES}

    num_layers: int = 4  # encoder layers, and decoder layers ("Nx")
    hidden_dim: int = 128  # d_model
    num_heads: int = 8  # each head gets hidden_dim / num_heads = 16 dimensions
    intermediate_dim: int = 512  # dff
    dropout: float = 0.1  # dropout_rate
    norm_first: bool = False  # post-norm as the paper and tutorial; True for pre-norm
    max_length: int = 128  # longest sequence, in tokens, the positions cover
    position_embedding: str = "sinusoidal"  # "sinusoidal" (tutorial) | "learned" | "none"
    # Text.
    vocabulary_size: int = 8000  # WordPiece pieces per language (the tutorial's ~7-8k)
    text_mode: str = "better"  # standardization before WordPiece: "better" | "faithful"
    max_output_tokens: int = 64  # translation stops here if [END] never comes
    # Data: "generated", "download" or a path to an English<TAB>Spanish file.
    data: str = "generated"
    generated_pairs: int = 24000
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    # Training.
    steps_per_epoch: int = 200
    validation_steps: int = 20
    warmup_steps: int = 4000  # the schedule's linear warm-up
    lr_decay: str = "rsqrt"  # after it: "rsqrt" (the paper's) | "linear" (to a time limit's end)
    label_smoothing: float = 0.0  # the paper uses 0.1; the tutorial none

    @classmethod
    def tutorial(cls) -> Config:
        """The tutorial's: 4 layers, d_model 128, dff 512, 8 heads, dropout 0.1; trained with
        XLA (``jit_compile``): on CPU a step is faster, even with a compile for each length
        bucket, so a time budget trains more steps to a better BLEU (docs/results.md).
        ``--no-jit-compile`` trains as a graph."""
        return cls(jit_compile=True)

    @classmethod
    def cpu_hour(cls) -> Config:
        """``--preset cpu-hour``: the tutorial's model trained for 60 minutes with the
        time-limit recipe (:func:`time_budget_recipe`); on 2 CPU cores the most BLEU an hour
        bought among the recipes measured (docs/results.md)."""
        return cls.tutorial().replace(time_limit_minutes=60.0, **time_budget_recipe())

    @classmethod
    def quick(cls) -> Config:
        """Minutes on 2 CPU cores on the generated corpus."""
        return cls(num_layers=2, hidden_dim=64, num_heads=4, intermediate_dim=128,
                   vocabulary_size=1000, steps_per_epoch=100, epochs=12, warmup_steps=300,
                   validation_steps=10, max_length=64)

    @classmethod
    def tiny(cls) -> Config:
        """Seconds: for tests."""
        return cls(num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32, dropout=0.0,
                   max_length=32, vocabulary_size=300, generated_pairs=600, batch_size=16,
                   steps_per_epoch=4, validation_steps=2, epochs=2, warmup_steps=20,
                   max_output_tokens=12, steps_per_execution=1)


def time_budget_recipe() -> dict:
    """What ``train --time-limit`` alone changes: no epoch cap and no early stopping (the
    time stops the run: with patience 3 on its noisy 20-batch validation loss, a 30-minute run
    stopped after 21 minutes with the rate at a third of its peak), the learning rate warmed
    up and decayed linearly to the step the limit allows (measured while training), and the
    best average of the last 8 epochs kept. Each is measured in docs/results.md and
    docs/experiments/minutes.md; the best epoch is kept whatever comes after it."""
    return {"epochs": 1000, "patience": 1000, "lr_decay": "linear", "warmup_steps": 1000,
            "average_last": 8}
