"""Figures of a trained model, shared by the command line and TensorBoard logging."""

from __future__ import annotations

__all__ = ["sentence_figure"]


def sentence_figure(translator, sentence: str):
    """The cross-attention heatmap of ``translator`` translating ``sentence``."""
    from common.plotting import attention_figure

    result = translator.run([sentence])
    source = [w.decode() for w in result["source_tokens"][0] if w]
    output = [w.decode() for w in result["output_tokens"][0] if w]
    weights = result["attention"][0][: len(output), : len(source)]
    return attention_figure(
        weights, source, output, title=f"{sentence}\n→ {result['translation'][0].decode()}")
