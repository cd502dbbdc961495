"""The Transformer decoder: causal self-attention, cross-attention, feed-forward, N high."""

from __future__ import annotations

import keras

from common.dropout import Dropout
from common.positional_encoding import TokenAndPositionEmbedding
from transformer.attention import CausalSelfAttention, CrossAttention
from transformer.feed_forward import FeedForward

__all__ = ["Decoder", "DecoderLayer"]


@keras.saving.register_keras_serializable(package="transformer")
class DecoderLayer(keras.layers.Layer):
    """Causal self-attention over the target so far, cross-attention to the source, FFN.

    Masking: the causal mask hides later target positions; ``context_mask`` (batch,
    source_len) hides source padding from the cross-attention.

    Call arguments:
        x: (batch, target_len, hidden_dim); context: (batch, source_len, hidden_dim).
        context_mask: optional (batch, source_len) bool.

        return_self_attention_scores: also return the causal self-attention's weights.

    Returns:
        ``(x, cross_scores)``; cross_scores is (batch, num_heads, target_len, source_len).
        With ``return_self_attention_scores``, ``(x, self_scores, cross_scores)``, self_scores
        (batch, num_heads, target_len, target_len). :meth:`step` is the same for a decoding
        step, with a cache.
    """

    def __init__(self, hidden_dim: int, num_heads: int, intermediate_dim: int,
                 dropout: float = 0.1, norm_first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.supports_masking = True
        self.self_attention = CausalSelfAttention(
            hidden_dim, num_heads, dropout, norm_first, name="causal_self_attention")
        self.cross_attention = CrossAttention(
            hidden_dim, num_heads, dropout, norm_first, name="cross_attention")
        self.feed_forward = FeedForward(
            hidden_dim, intermediate_dim, dropout, norm_first, name="feed_forward")

    def build(self, x_shape, context_shape=None):
        self.self_attention.build(x_shape)
        self.cross_attention.build(x_shape, context_shape or x_shape)
        self.feed_forward.build(x_shape)
        self.built = True

    def call(self, x, context, context_mask=None, training=None,
             return_self_attention_scores=False):
        x, self_scores = self.self_attention(x, training=training, return_attention_scores=True)
        x, cross_scores = self.cross_attention(x, context, context_mask=context_mask,
                                               training=training, return_attention_scores=True)
        x = self.feed_forward(x, training=training)
        if return_self_attention_scores:
            return x, self_scores, cross_scores
        return x, cross_scores

    def step(self, x, context_key_value, context_mask, cache, index):
        """One decoding step: ``x`` (batch, new, hidden_dim) the positions from ``index`` on,
        ``cache`` the self-attention's ``(keys, values)`` (each (batch, num_heads,
        max_length, key_dim)), ``context_key_value`` the cross-attention's, projected once
        (:meth:`Decoder.context_key_values`). Returns ``(x, cross_scores, cache)``."""
        x, cache = self.self_attention.step(x, cache, index)
        x, cross_scores = self.cross_attention.step(x, context_key_value, context_mask)
        return self.feed_forward(x), cross_scores, cache

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first)
        return config


@keras.saving.register_keras_serializable(package="transformer")
class Decoder(keras.layers.Layer):
    """Target ids and encoder output to one vector per target position.

    Call arguments:
        token_ids: (batch, target_len) int, starting with ``[START]``.
        context: (batch, source_len, hidden_dim); context_mask: (batch, source_len) bool.
        return_self_attention_scores: also return each layer's causal self-attention weights.

    Returns:
        ``(x, cross_scores)`` with x (batch, target_len, hidden_dim) and one
        (batch, num_heads, target_len, source_len) array a layer; with
        ``return_self_attention_scores``, ``(x, self_scores, cross_scores)``. :meth:`step` is
        the same for a decoding step, with a cache.
    """

    def __init__(self, num_layers: int, vocabulary_size: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 max_length: int = 512, position_embedding: str = "sinusoidal", **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.max_length = max_length
        self.position_embedding = position_embedding
        self.embedding = TokenAndPositionEmbedding(vocabulary_size, hidden_dim, max_length,
                                                   position_embedding, name="embedding")
        self.dropout_layer = Dropout(dropout)
        self.decoder_layers = [
            DecoderLayer(hidden_dim, num_heads, intermediate_dim, dropout, norm_first,
                         name=f"layer_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(name="final_norm") if norm_first \
            else None

    def build(self, token_ids_shape, context_shape=None):
        self.embedding.build(token_ids_shape)
        hidden_shape = tuple(token_ids_shape) + (self.hidden_dim,)
        for layer in self.decoder_layers:
            layer.build(hidden_shape, context_shape or hidden_shape)
        if self.final_norm is not None:
            self.final_norm.build(hidden_shape)
        self.built = True

    def context_key_values(self, context) -> tuple:
        """Every layer's cross-attention ``(keys, values)`` of ``context``, projected once,
        each (batch, num_heads, source_len, key_dim). The encoder output does not change while
        decoding, so neither do these."""
        return tuple(layer.cross_attention.attention.project_key_value(context)
                     for layer in self.decoder_layers)

    def call(self, token_ids, context, context_mask=None, training=None,
             return_self_attention_scores=False):
        x = self.dropout_layer(self.embedding(token_ids), training=training)
        self_scores, cross_scores = [], []
        for layer in self.decoder_layers:
            x, layer_self, layer_cross = layer(x, context, context_mask=context_mask,
                                               training=training,
                                               return_self_attention_scores=True)
            self_scores.append(layer_self)
            cross_scores.append(layer_cross)
        if return_self_attention_scores:
            return self._final(x), self_scores, cross_scores
        return self._final(x), cross_scores

    def step(self, token_ids, context_key_values, context_mask, cache, index):
        """One decoding step: ``token_ids`` (batch, new) at positions ``index`` on; ``cache``
        one ``(keys, values)`` pair a layer (``Transformer.init_cache``);
        ``context_key_values`` from :meth:`context_key_values`. Returns ``(x, cross_scores,
        cache)``."""
        x = self.embedding(token_ids, start_index=index)
        scores, caches = [], []
        for layer, layer_cache, key_value in zip(self.decoder_layers, cache,
                                                 context_key_values, strict=True):
            x, layer_scores, layer_cache = layer.step(x, key_value, context_mask,
                                                      layer_cache, index)
            scores.append(layer_scores)
            caches.append(layer_cache)
        return self._final(x), scores, tuple(caches)

    def _final(self, x):
        return x if self.final_norm is None else self.final_norm(x)

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, vocabulary_size=self.vocabulary_size,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first, max_length=self.max_length,
                      position_embedding=self.position_embedding)
        return config
