"""Configuration of the NMT-with-attention tutorial: one frozen dataclass and its presets."""

from __future__ import annotations

import dataclasses

from common.config import RunConfig
from common.plain_text import MODES

__all__ = ["Config", "time_budget_recipe"]


@dataclasses.dataclass(frozen=True)
class Config(RunConfig):
    """Everything a run needs to be rebuilt: model, text, data and training settings."""

    CHOICES = {**RunConfig.CHOICES, "score": ("dot", "general", "additive"),
               "combine": ("add", "concat"), "text_mode": MODES}
    # Model.
    units: int = 256  # embedding width and GRU units (the tutorial's `units`)
    vocabulary_size: int = 5000  # per language, special tokens included (`max_vocab_size`)
    score: str = "dot"  # "dot" (tutorial) | "general" (Luong) | "additive" (Bahdanau)
    combine: str = "add"  # "add" (tutorial: residual + LayerNorm) | "concat" (Luong)
    use_attention: bool = True  # False: no attention, the decoder starts from the encoder's
    #                             final state (the plain seq2seq the lecture starts from)
    # Text.
    text_mode: str = "better"  # "faithful" (tutorial standardization) | "better"
    max_source_words: int = 100  # longer inputs are cut to their first words
    max_output_tokens: int = 60  # translation stops here if [END] never comes
    # Data: "generated" (the embedded corpus) or a path / "download" for spa-eng.
    data: str = "generated"
    generated_pairs: int = 24000  # size of the generated corpus
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    # Training.
    steps_per_epoch: int = 100  # the tutorial's epochs are 100 batches, not a data pass
    validation_steps: int = 20
    epochs: int = 100  # of 100 batches each
    learning_rate: float = 1e-3
    optimizer: str = "fused_adam"  # "fused_adam" (same math, one kernel) | "adam" (Keras)
    pipeline: str = "fast"  # "fast" (length buckets, compiled) | "faithful" (tutorial)

    @classmethod
    def tutorial(cls) -> Config:
        """The published tutorial's hyperparameters (units 256, vocabulary 5000, batch 64)."""
        return cls(text_mode="faithful")

    @classmethod
    def quick(cls) -> Config:
        """Minutes on 2 CPU cores, on the generated corpus: the demo's setting."""
        return cls(
            units=128,
            vocabulary_size=1000,
            generated_pairs=24000,
            steps_per_epoch=100,
            validation_steps=10,
            epochs=14,
            patience=3,
            learning_rate=3e-3,
        )

    @classmethod
    def tiny(cls) -> Config:
        """Seconds: for tests."""
        return cls(
            units=16,
            vocabulary_size=300,
            generated_pairs=600,
            batch_size=16,
            steps_per_epoch=4,
            validation_steps=2,
            epochs=2,
            max_output_tokens=12,
            learning_rate=1e-2,
            steps_per_execution=1,
        )


def time_budget_recipe() -> dict:
    """What ``train --time-limit`` alone changes besides the limit: nothing (the
    Transformer's changes its schedule). The GRU tutorial's early stopping ends a run once
    validation loss stops falling, in under 5 minutes on the real pairs here, so a longer
    budget buys it no more steps (docs/experiments/minutes.md)."""
    return {}
