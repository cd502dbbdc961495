"""Configuration of the Transformer tutorial's model: one frozen dataclass and its presets."""

from __future__ import annotations

import dataclasses

__all__ = ["Config"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Model hyperparameters, Keras names (the tutorial's in comments)."""

    num_layers: int = 4  # encoder layers, and decoder layers ("Nx")
    hidden_dim: int = 128  # d_model
    num_heads: int = 8  # each head gets hidden_dim / num_heads = 16 dimensions
    intermediate_dim: int = 512  # dff
    dropout: float = 0.1  # dropout_rate
    norm_first: bool = False  # post-norm as the paper and tutorial; True for pre-norm
    max_length: int = 128  # longest sequence, in tokens, the positions cover
    seed: int = 0

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    @classmethod
    def tutorial(cls) -> Config:
        """The tutorial's: 4 layers, d_model 128, dff 512, 8 heads, dropout 0.1."""
        return cls()

    @classmethod
    def quick(cls) -> Config:
        """Minutes on 2 CPU cores on the generated corpus."""
        return cls(num_layers=2, hidden_dim=64, num_heads=4, intermediate_dim=128)

    @classmethod
    def tiny(cls) -> Config:
        """Seconds: for tests."""
        return cls(num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32, dropout=0.0,
                   max_length=32)
