"""The Transformer decoder: causal self-attention, cross-attention, feed-forward, N high."""

from __future__ import annotations

import keras

from common.positional_encoding import PositionalEmbedding
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
        cache, cache_index: the self-attention's ``(keys, values)`` cache for incremental
            decoding, each (batch, num_heads, max_length, key_dim).
        context_key_value: the cross-attention's ``(keys, values)`` of ``context``, projected
            once (see :meth:`Decoder.context_key_values`).

    Returns:
        ``(x, cross_scores)`` or, with a cache, ``(x, cross_scores, new_cache)``;
        cross_scores is (batch, num_heads, target_len, source_len).
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

    def call(self, x, context, context_mask=None, training=None, cache=None, cache_index=None,
             context_key_value=None):
        results = self.self_attention(x, training=training, cache=cache,
                                      cache_index=cache_index)
        x, new_cache = (results[0], results[1]) if cache is not None else (results, None)
        x, cross_scores = self.cross_attention(
            x, context, context_mask=context_mask, training=training,
            return_attention_scores=True, key_value=context_key_value)
        x = self.feed_forward(x, training=training)
        return (x, cross_scores) if cache is None else (x, cross_scores, new_cache)

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
        cache: optional, one ``(keys, values)`` pair a layer, each (batch, num_heads,
            max_length, key_dim) (see ``Transformer.init_cache``);
        cache_index: position of ``token_ids[:, 0]``.
        context_key_values: optional, from :meth:`context_key_values` (with a cache).

    Returns:
        ``(x, cross_scores)`` with x (batch, target_len, hidden_dim) and one
        (batch, num_heads, target_len, source_len) array a layer; with a cache also the new
        cache.
    """

    def __init__(self, num_layers: int, vocabulary_size: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 max_length: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.max_length = max_length
        self.embedding = PositionalEmbedding(vocabulary_size, hidden_dim, max_length,
                                             name="embedding")
        self.dropout_layer = keras.layers.Dropout(dropout)
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

    def call(self, token_ids, context, context_mask=None, training=None, cache=None,
             cache_index=None, context_key_values=None):
        start = 0 if cache_index is None else cache_index
        x = self.dropout_layer(self.embedding(token_ids, start_index=start), training=training)
        scores, caches = [], []
        for index, layer in enumerate(self.decoder_layers):
            if cache is None:
                x, layer_scores = layer(x, context, context_mask, training=training)
            else:
                x, layer_scores, layer_cache = layer(
                    x, context, context_mask, training=training, cache=cache[index],
                    cache_index=cache_index,
                    context_key_value=None if context_key_values is None
                    else context_key_values[index])
                caches.append(layer_cache)
            scores.append(layer_scores)
        if self.final_norm is not None:
            x = self.final_norm(x)
        if cache is None:
            return x, scores
        return x, scores, tuple(caches)

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, vocabulary_size=self.vocabulary_size,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first, max_length=self.max_length)
        return config
