"""Figures of a trained classifier, shared by the command line and TensorBoard logging."""

from __future__ import annotations

import numpy as np

__all__ = ["rollout_figure", "text_attention_figure"]


def text_attention_figure(predictor, sentence: str, layer: int = -1):
    """Every head of one block's self-attention over ``sentence``'s tokens."""
    from common.plotting import attention_heads_figure

    ids, scores = predictor.attention([sentence])
    length = int((ids.numpy()[0] != 0).sum())
    tokens = [t.decode() for t in predictor.vocabulary.words(ids[0, :length]).numpy()]
    label, probability = predictor.predict([sentence])[0]
    return attention_heads_figure(
        scores[layer][0, :, :length, :length].numpy(), tokens, tokens,
        title=f"block {layer % len(scores)} self-attention ([CLS] is the top row): "
              f"{sentence} → {label} ({probability:.0%})")


def rollout_figure(predictor, image: np.ndarray, patch_size: int, truth: str | None = None):
    """The [CLS] token's attention rollout over ``image``'s patches."""
    from classify.vit import attention_rollout
    from common.plotting import image_attention_figure

    _, scores = predictor.attention(image[None])
    weights = attention_rollout([s[0].numpy() for s in scores])
    label, probability = predictor.predict(image[None])[0]
    title = f"predicted {label} ({probability:.0%})" + (f", true {truth}" if truth else "") \
        + f"; attention rollout over {len(scores)} blocks"
    return image_attention_figure(image, weights.reshape(image.shape[0] // patch_size, -1),
                                  title)
