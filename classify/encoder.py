"""The encoder every classifier here shares: embeddings, positions, Transformer blocks.

The block itself is the Transformer tutorial's :class:`transformer.encoder.EncoderLayer`
(self-attention and feed-forward, each with a residual and LayerNorm): post-norm for the text
classifier and BERT, as the Transformer paper and BERT do; pre-norm for ViT, as ViT does.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from common.dropout import Dropout
from common.positional_encoding import (
    POSITION_EMBEDDINGS,
    check_position_embedding,
    positional_encoding,
)
from transformer.encoder import EncoderLayer

__all__ = ["POSITION_EMBEDDINGS", "EncoderBlocks", "PositionEmbedding", "TextEncoder"]


@keras.saving.register_keras_serializable(package="classify")
class PositionEmbedding(keras.layers.Layer):
    """Adds one vector per position to a sequence of vectors.

    ``"sinusoidal"`` adds the fixed encoding of ``common.positional_encoding`` (nothing to
    learn, as the Transformer paper); ``"learned"`` adds a trained table (BERT, ViT);
    ``"none"`` adds nothing, so the encoder above sees a bag of vectors and cannot tell word
    order: the comparison command measures what that costs.

    Masking: position-wise; the incoming mask is passed on.

    Args:
        sequence_length: the most positions the table covers.
        position_embedding: ``"sinusoidal" | "learned" | "none"``.

    Call arguments:
        x: (batch, length, hidden_dim) with length <= sequence_length.

    Returns:
        (batch, length, hidden_dim).
    """

    def __init__(self, sequence_length: int, position_embedding: str = "sinusoidal",
                 **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.position_embedding = check_position_embedding(position_embedding)
        self.supports_masking = True

    def build(self, x_shape):
        depth = x_shape[-1]
        if self.position_embedding == "learned":
            self.table = self.add_weight(
                name="table", shape=(self.sequence_length, depth),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        elif self.position_embedding == "sinusoidal":
            self.table = tf.constant(positional_encoding(self.sequence_length, depth))
        self.built = True

    def call(self, x):
        if self.position_embedding == "none":
            return x
        length = tf.shape(x)[1]
        return x + tf.cast(self.table[None, :length], x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length,
                      position_embedding=self.position_embedding)
        return config


@keras.saving.register_keras_serializable(package="classify")
class EncoderBlocks(keras.layers.Layer):
    """``num_layers`` Transformer encoder blocks over already-embedded vectors.

    Masking: ``padding_mask`` (batch, length), True at real positions; no position attends
    to padding, so padding changes no real output.

    Args:
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout: Keras names (the
            Transformer tutorial's N, d_model, num_heads, dff, dropout_rate).
        norm_first: pre-norm blocks and a final LayerNorm (ViT) instead of post-norm.

    Call arguments:
        x: (batch, length, hidden_dim); padding_mask: optional (batch, length) bool.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also a list of
        (batch, num_heads, length, length), one per block.
    """

    def __init__(self, num_layers: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.blocks = [
            EncoderLayer(hidden_dim, num_heads, intermediate_dim, dropout, norm_first,
                         name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = (keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
                           if norm_first else None)

    def build(self, x_shape):
        for block in self.blocks:
            block.build(x_shape)
        if self.final_norm is not None:
            self.final_norm.build(x_shape)
        self.built = True

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        scores = []
        for block in self.blocks:
            x, block_scores = block(x, padding_mask=padding_mask, training=training,
                                    return_attention_scores=True)
            scores.append(block_scores)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return (x, scores) if return_attention_scores else x

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, hidden_dim=self.hidden_dim,
                      num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, norm_first=self.norm_first)
        return config


@keras.saving.register_keras_serializable(package="classify")
class TextEncoder(keras.layers.Layer):
    """Token ids to one vector per token: embedding, positions, encoder blocks.

    The body of both the text classifier and BERT; BERT's pretrained encoder is this layer,
    and fine-tuning copies its weights into a classifier's.

    Masking: id 0 is padding; the padding mask is computed from the ids.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest input, in tokens ([CLS] included).
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout: see EncoderBlocks.
        position_embedding: ``"sinusoidal" | "learned" | "none"``.

    Call arguments:
        token_ids: (batch, length) int, [CLS] first.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also the per-block
        scores.

    Example:
        >>> encoder = TextEncoder(100, 16, num_layers=1, hidden_dim=8, num_heads=2,
        ...                       intermediate_dim=16)
        >>> encoder(tf.constant([[2, 5, 6, 0]])).shape
        TensorShape([1, 4, 8])
    """

    def __init__(self, vocabulary_size: int, sequence_length: int, num_layers: int,
                 hidden_dim: int, num_heads: int, intermediate_dim: int, dropout: float = 0.1,
                 position_embedding: str = "sinusoidal", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.position_embedding = check_position_embedding(position_embedding)
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, name="token_embedding")
        self.positions = PositionEmbedding(sequence_length, position_embedding,
                                           name="positions")
        self.embedding_dropout = Dropout(dropout)
        self.blocks = EncoderBlocks(num_layers, hidden_dim, num_heads, intermediate_dim,
                                    dropout, norm_first=False, name="blocks")

    def build(self, token_ids_shape):
        hidden_shape = tuple(token_ids_shape) + (self.hidden_dim,)
        self.token_embedding.build(token_ids_shape)
        self.positions.build(hidden_shape)
        self.blocks.build(hidden_shape)
        self.built = True

    def call(self, token_ids, training=None, return_attention_scores=False):
        padding_mask = tf.not_equal(token_ids, 0)  # (batch, length)
        x = self.token_embedding(token_ids)  # (batch, length, hidden_dim)
        x *= tf.math.sqrt(tf.cast(self.hidden_dim, x.dtype))
        x = self.embedding_dropout(self.positions(x), training=training)
        return self.blocks(x, padding_mask=padding_mask, training=training,
                           return_attention_scores=return_attention_scores)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size,
                      sequence_length=self.sequence_length, num_layers=self.num_layers,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      position_embedding=self.position_embedding)
        return config
