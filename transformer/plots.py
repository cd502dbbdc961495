"""Figures of a trained model, shared by the command line and TensorBoard logging."""

from __future__ import annotations

__all__ = ["cross_attention_figure"]


def cross_attention_figure(maps: dict, sentence: str, layer: int = -1):
    """Every head of one decoder layer's cross-attention, from :func:`attention_maps`."""
    from common.plotting import attention_heads_figure

    number = layer % len(maps["decoder_cross"])
    return attention_heads_figure(
        maps["decoder_cross"][layer], maps["source_tokens"], maps["output_tokens"],
        title=f"decoder layer {number} cross-attention: {sentence} → {maps['translation']}")
