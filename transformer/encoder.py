"""The Transformer encoder: embedding with positions, then N self-attention layers (the stack
alone, :class:`EncoderBlocks`, serves every encoder of the package)."""

from __future__ import annotations

import keras
import tensorflow as tf

from common.dropout import Dropout
from common.positional_encoding import TokenAndPositionEmbedding
from transformer.attention import GlobalSelfAttention
from transformer.feed_forward import FeedForward

__all__ = ["Encoder", "EncoderBlocks", "EncoderLayer", "segment_ids"]


@keras.saving.register_keras_serializable(package="transformer")
class EncoderLayer(keras.layers.Layer):
    """Global self-attention, then the feed-forward block, each with residual and LayerNorm.

    Masking: ``padding_mask`` (batch, length), True at real tokens; padding is never attended
    to, so adding padding changes no real position's output.

    Args:
        hidden_dim, num_heads, intermediate_dim, dropout, norm_first: as in the blocks.

    Call arguments:
        x: (batch, length, hidden_dim); padding_mask: optional (batch, length) bool.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also
        (batch, num_heads, length, length).
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
        self.self_attention = GlobalSelfAttention(
            hidden_dim, num_heads, dropout, norm_first, name="self_attention")
        self.feed_forward = FeedForward(
            hidden_dim, intermediate_dim, dropout, norm_first, name="feed_forward")

    def build(self, x_shape):
        self.self_attention.build(x_shape)
        self.feed_forward.build(x_shape)
        self.built = True

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        x, scores = self.self_attention(
            x, padding_mask=padding_mask, training=training, return_attention_scores=True)
        x = self.feed_forward(x, training=training)
        return (x, scores) if return_attention_scores else x

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first)
        return config


def segment_ids(token_ids: tf.Tensor, separator_id: int) -> tf.Tensor:
    """Which text of a pair each token is in: 0 up to and including the first [SEP], 1 after
    it, 0 again after a second [SEP], and so on (BERT's segments A and B; packed pretraining
    rows alternate). Padding is masked everywhere, whatever segment it gets.

    Args:
        token_ids: (batch, length) int.
        separator_id: the [SEP] token's id.

    Returns:
        (batch, length) int32.

    Example:
        >>> segment_ids(tf.constant([[2, 7, 8, 4, 9, 4, 0]]), separator_id=4).numpy()
        array([[0, 0, 0, 0, 1, 1, 0]], dtype=int32)
    """
    separators = tf.cast(tf.equal(token_ids, separator_id), tf.int32)
    return tf.math.floormod(tf.cumsum(separators, axis=1, exclusive=True), 2)


def stack_layers(layer: keras.layers.Layer, num_layers: int, norm_epsilon: float = 1e-3):
    """Gives ``layer`` (an encoder, whose width, heads, dropout and ``norm_first`` are set)
    its stack: ``encoder_layers``, ``num_layers`` :class:`EncoderLayer`, and ``final_norm``,
    a LayerNorm after the last when pre-norm (its output would otherwise be unnormalized),
    else None. Set in that order, after whatever ``layer`` holds already: Keras orders an
    optimizer's saved state by the order layers were set, so a run saved before resumes."""
    layer.encoder_layers = [
        EncoderLayer(layer.hidden_dim, layer.num_heads, layer.intermediate_dim, layer.dropout,
                     layer.norm_first, name=f"layer_{i}")
        for i in range(num_layers)
    ]
    layer.final_norm = (keras.layers.LayerNormalization(epsilon=norm_epsilon,
                                                        name="final_norm")
                        if layer.norm_first else None)


def build_stack(layer: keras.layers.Layer, x_shape) -> None:
    for block in layer.encoder_layers:
        block.build(x_shape)
    if layer.final_norm is not None:
        layer.final_norm.build(x_shape)


def run_stack(layer: keras.layers.Layer, x, padding_mask, training, return_attention_scores):
    """``layer``'s stack over ``x``: (batch, length, hidden_dim), and with
    ``return_attention_scores`` the list of each layer's (batch, num_heads, length, length)."""
    scores = []
    for block in layer.encoder_layers:
        x, block_scores = block(x, padding_mask=padding_mask, training=training,
                                return_attention_scores=True)
        scores.append(block_scores)
    if layer.final_norm is not None:
        x = layer.final_norm(x)
    return (x, scores) if return_attention_scores else x


@keras.saving.register_keras_serializable(package="transformer")
class EncoderBlocks(keras.layers.Layer):
    """``num_layers`` encoder layers stacked over vectors already embedded: the stack of
    every encoder of the package (the Transformer's, the text classifiers' and BERT's,
    post-norm, through :class:`Encoder`; the ViT's, pre-norm, over image patches).

    "Nx" in the paper's figure means this stacking: the encoder is N layers high (and the
    decoder N layers high), not N encoder-decoder pairs.

    Masking: ``padding_mask`` (batch, length), True at real positions; no position attends
    to padding, so padding changes no real output.

    Args:
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout: Keras names (the
            Transformer tutorial's N, d_model, num_heads, dff, dropout_rate).
        norm_first: pre-norm layers, and a LayerNorm after the last, instead of the
            tutorial's post-norm.
        norm_epsilon: that final LayerNorm's epsilon (ViT's 1e-6; Keras's default 1e-3).

    Call arguments:
        x: (batch, length, hidden_dim); padding_mask: optional (batch, length) bool.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also a list of
        (batch, num_heads, length, length), one a layer.
    """

    def __init__(self, num_layers: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 norm_epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.norm_epsilon = norm_epsilon
        stack_layers(self, num_layers, norm_epsilon)

    def build(self, x_shape):
        build_stack(self, x_shape)
        self.built = True

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        return run_stack(self, x, padding_mask, training, return_attention_scores)

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, hidden_dim=self.hidden_dim,
                      num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, norm_first=self.norm_first,
                      norm_epsilon=self.norm_epsilon)
        return config


@keras.saving.register_keras_serializable(package="transformer")
class Encoder(keras.layers.Layer):
    """Token ids to one context vector a token: embedding with positions, dropout, then the
    stack of :class:`EncoderBlocks`. The encoder of the translation Transformer, of the text
    classifiers and of BERT.

    Masking: id 0 is padding; the mask is computed from the ids and used by every layer.

    Args:
        num_layers: number of stacked layers.
        vocabulary_size, hidden_dim, num_heads, intermediate_dim, dropout, norm_first.
        max_length: longest sequence the position table covers.
        position_embedding: ``"sinusoidal" | "learned" | "none"`` (see
            ``common.positional_encoding.PositionEmbedding``).
        separator_id: BERT's [SEP] id: a learned segment embedding (A or B, which text of
            a pair a token is in; :func:`segment_ids`) is added to each token's; None: no
            segments.

    Call arguments:
        token_ids: (batch, length) int.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also the list of each
        layer's (batch, num_heads, length, length).

    Example:
        >>> encoder = Encoder(num_layers=1, vocabulary_size=100, hidden_dim=8, num_heads=2,
        ...                   intermediate_dim=16)
        >>> encoder(tf.constant([[2, 5, 6, 0]])).shape
        TensorShape([1, 4, 8])
    """

    def __init__(self, num_layers: int, vocabulary_size: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 max_length: int = 512, position_embedding: str = "sinusoidal",
                 separator_id: int | None = None, **kwargs):
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
        stack_layers(self, num_layers)
        self.separator_id = separator_id
        self.segment_embedding = (keras.layers.Embedding(2, hidden_dim,
                                                         name="segment_embedding")
                                  if separator_id is not None else None)

    def build(self, token_ids_shape):
        self.embedding.build(token_ids_shape)
        build_stack(self, tuple(token_ids_shape) + (self.hidden_dim,))
        if self.segment_embedding is not None:
            self.segment_embedding.build(token_ids_shape)
        self.built = True

    def call(self, token_ids, training=None, return_attention_scores=False):
        x = self.embedding(token_ids)  # (batch, length, hidden_dim)
        if self.segment_embedding is not None:  # + segment A or B
            segments = segment_ids(token_ids, self.separator_id)
            x += tf.cast(self.segment_embedding(segments), x.dtype)
        x = self.dropout_layer(x, training=training)
        return run_stack(self, x, tf.not_equal(token_ids, 0), training,
                         return_attention_scores)

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, vocabulary_size=self.vocabulary_size,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first, max_length=self.max_length,
                      position_embedding=self.position_embedding,
                      separator_id=self.separator_id)
        return config
