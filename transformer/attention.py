"""Attention from the formula up: scaled dot-product attention, multi-head attention, and the
three ways the Transformer uses it (global self-attention, causal self-attention,
cross-attention)."""

from __future__ import annotations

import keras
import tensorflow as tf

from common.dropout import Dropout
from common.masks import causal_mask, large_negative, merge_masks
from common.xla import for_xla

__all__ = [
    "CausalSelfAttention",
    "CrossAttention",
    "GlobalSelfAttention",
    "MultiHeadAttention",
    "scaled_dot_product_attention",
]


def scaled_dot_product_attention(
    query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, mask: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """``softmax(Q K^T / sqrt(d_k)) V``.

    Each query is compared with every key by a dot product; dividing by ``sqrt(d_k)`` keeps
    the scores' spread independent of the width, so the softmax does not saturate; the
    softmax turns scores into weights that sum to 1 over the keys; the output is that mix of
    the values.

    Args:
        query: (..., target_len, d_k).
        key: (..., source_len, d_k).
        value: (..., source_len, d_v).
        mask: optional bool, broadcastable to (..., target_len, source_len); True where a
            query may look.

    Returns:
        ``(output, weights)``: (..., target_len, d_v) and (..., target_len, source_len).
    """
    depth = tf.cast(tf.shape(key)[-1], query.dtype)
    scores = tf.matmul(query, key, transpose_b=True) / tf.sqrt(depth)  # (..., Tq, Tk)
    if mask is not None:
        # tf.where rather than adding (1 - mask) * -1e9: the same weights, and on CPU the
        # added, broadcast bias is much slower when the mask's shape is known only at run time.
        scores = tf.where(tf.cast(mask, tf.bool), scores,
                          tf.cast(large_negative(scores.dtype), scores.dtype))
    weights = tf.nn.softmax(scores, axis=-1)
    return tf.matmul(weights, value), weights


@keras.saving.register_keras_serializable(package="transformer")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention written on :func:`scaled_dot_product_attention`.

    Each head has its own projections ``W_Q``, ``W_K``, ``W_V`` (to ``key_dim`` each), so it
    can look for a different relation; the heads' outputs are concatenated and a final
    projection brings the width back. The weights have the shapes and order of
    ``keras.layers.MultiHeadAttention``, so one can be loaded into the other (a test does).

    Masking: ``attention_mask`` (batch, target_len, source_len) bool, True where a query may
    look; it is broadcast over the heads.

    Incremental decoding has its own method, :meth:`step`: the new positions' keys and
    values are written into a ``(keys, values)`` cache of (batch, num_heads, max_len,
    key_dim) tensors, and their queries attend to it. :meth:`attend` takes keys and values
    already projected (:meth:`project_key_value`), as a decoder's cross-attention does on
    every decoding step.

    Args:
        num_heads: number of heads.
        key_dim: width of each head's queries, keys and values (the paper's d_k = d_v =
            d_model / h).
        dropout: dropout on the attention weights.
        use_bias: whether the projections have biases.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments (as ``keras.layers.MultiHeadAttention``'s):
        query: (batch, target_len, query_dim).
        value: (batch, source_len, value_dim).
        key: optional, defaults to ``value``.
        attention_mask: optional bool (batch, target_len, source_len).
        return_attention_scores: also return the weights.

    Returns:
        (batch, target_len, query_dim); with ``return_attention_scores`` also the weights,
        (batch, num_heads, target_len, source_len).

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> out, scores = mha(tf.zeros([1, 3, 8]), tf.zeros([1, 5, 8]),
        ...                   return_attention_scores=True)
        >>> out.shape, scores.shape
        (TensorShape([1, 3, 8]), TensorShape([1, 2, 3, 5]))

    Reference: Vaswani et al. 2017, 3.2.2; the TensorFlow Transformer tutorial.
    """

    def __init__(
        self, num_heads: int, key_dim: int, dropout: float = 0.0, use_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.supports_masking = True
        self.dropout_layer = Dropout(dropout)

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        heads, depth = self.num_heads, self.key_dim
        self.query_dim = query_shape[-1]

        def projection(name, input_dim):
            kernel = self.add_weight(
                name=f"{name}_kernel", shape=(input_dim, heads, depth),
                initializer="glorot_uniform",
            )
            bias = (
                self.add_weight(name=f"{name}_bias", shape=(heads, depth), initializer="zeros")
                if self.use_bias else None
            )
            return kernel, bias

        self.query_kernel, self.query_bias = projection("query", query_shape[-1])
        self.key_kernel, self.key_bias = projection("key", key_shape[-1])
        self.value_kernel, self.value_bias = projection("value", value_shape[-1])
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(heads, depth, self.query_dim),
            initializer="glorot_uniform",
        )
        self.output_bias = (
            self.add_weight(name="output_bias", shape=(self.query_dim,), initializer="zeros")
            if self.use_bias else None
        )
        self.built = True

    def _project(self, x, kernel, bias):
        x = tf.einsum("btd,dhk->bhtk", x, kernel)  # (batch, heads, length, key_dim)
        return x if bias is None else x + bias[None, :, None, :]

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None):
        out, weights = self.attend(query, *self.project_key_value(value, key), attention_mask,
                                   training)
        return (out, weights) if return_attention_scores else out

    def attend(self, query, keys, values, attention_mask=None, training=None):
        """``query`` (batch, target_len, query_dim) attends to projected ``keys`` and
        ``values`` (batch, num_heads, source_len, key_dim); ``attention_mask`` (batch,
        target_len, source_len). Returns ``(out, weights)``: (batch, target_len, query_dim)
        and (batch, num_heads, target_len, source_len)."""
        q = self._project(query, self.query_kernel, self.query_bias)  # (b, h, Tq, k)
        mask = None if attention_mask is None else attention_mask[:, None, :, :]
        out, weights = scaled_dot_product_attention(q, keys, values, mask)  # (b, h, Tq, k)
        if self.dropout and training:
            out = tf.matmul(self.dropout_layer(weights, training=training), values)
        out = tf.einsum("bhtk,hkd->btd", out, self.output_kernel)  # (batch, Tq, query_dim)
        if self.output_bias is not None:
            out += self.output_bias
        return out, weights

    def step(self, query, cache, index, attention_mask=None):
        """Self-attention of new positions over a cache: ``query`` (batch, new, query_dim)
        holds the positions from ``index`` on; their keys and values are written into
        ``cache`` (a ``(keys, values)`` pair, each (batch, num_heads, max_len, key_dim)) and
        their queries attend to it. Returns ``(out, weights, cache)``."""
        k, v = self.project_key_value(query)
        cache = (_write_at(cache[0], k, index), _write_at(cache[1], v, index))
        out, weights = self.attend(query, *cache, attention_mask)
        return out, weights, cache

    def project_key_value(self, value, key=None) -> tuple[tf.Tensor, tf.Tensor]:
        """The projected ``(keys, values)`` of ``value`` (and ``key``, default ``value``),
        each (batch, heads, Tk, key_dim): for a fixed context, project once and
        :meth:`attend` on every decoding step."""
        key = value if key is None else key
        k = self._project(key, self.key_kernel, self.key_bias)  # (b, h, Tk, k)
        v = self._project(value, self.value_kernel, self.value_bias)  # (b, h, Tk, k)
        return k, v

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, dropout=self.dropout,
                      use_bias=self.use_bias)
        return config


def _write_at(cache_part: tf.Tensor, new: tf.Tensor, index) -> tf.Tensor:
    """Writes ``new`` (b, h, n, k) into ``cache_part`` (b, h, max_len, k) at ``index``.

    The cache keeps its shape (so the decoding loop compiles with XLA) and only the new rows
    are written (rewriting the whole cache every step, as one-hot arithmetic would, costs a
    copy of it a step). Under XLA a dynamic-update-slice; in a graph a strided-slice update,
    which TensorFlow runs with its own kernel where the other goes through XLA op by op
    (bench/transformer_speed.py times both).
    """
    index = tf.cast(index, tf.int32)
    new = tf.cast(new, cache_part.dtype)
    if for_xla():
        return keras.ops.slice_update(cache_part, [0, 0, index, 0], new)
    shape = tf.shape(cache_part)
    return tf.raw_ops.TensorStridedSliceUpdate(
        input=cache_part, begin=tf.stack([0, 0, index, 0]),
        end=tf.stack([shape[0], shape[1], index + tf.shape(new)[2], shape[3]]),
        strides=[1, 1, 1, 1], value=new)


class _ResidualAttention(keras.layers.Layer):
    """Multi-head attention wrapped in dropout, a residual connection and LayerNorm.

    Post-norm (the paper and the tutorial): ``LayerNorm(x + Attention(x, ...))``. Pre-norm
    (``norm_first=True``): ``x + Attention(LayerNorm(x), ...)``, which trains more stably in
    deep stacks.
    """

    def __init__(
        self, hidden_dim: int, num_heads: int, dropout: float = 0.0, norm_first: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim must be divisible by num_heads, received hidden_dim={hidden_dim}"
                f", num_heads={num_heads}"
            )
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.norm_first = norm_first
        self.supports_masking = True
        self.attention = MultiHeadAttention(
            num_heads, hidden_dim // num_heads, dropout=dropout, name="attention"
        )
        self.norm = keras.layers.LayerNormalization(name="layer_norm")
        self.dropout_layer = Dropout(dropout)

    def _build(self, x_shape, context_shape=None):
        self.norm.build(x_shape)
        self.attention.build(x_shape, context_shape or x_shape)
        self.built = True

    def build(self, x_shape):
        self._build(x_shape)

    def _residual(self, x, attend, training=None) -> tuple:
        """``x`` through ``attend(query) -> (out, scores, ...)`` with dropout, the residual
        and LayerNorm (before or after, by ``norm_first``); returns ``(x, scores, ...)``."""
        out, *rest = attend(self.norm(x) if self.norm_first else x)
        x = x + self.dropout_layer(out, training=training)
        return (x if self.norm_first else self.norm(x)), *rest

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      dropout=self.dropout, norm_first=self.norm_first)
        return config


@keras.saving.register_keras_serializable(package="transformer")
class GlobalSelfAttention(_ResidualAttention):
    """Every position attends to every real position of the same sequence (the encoder).

    Each token makes its own query, key and value; its output is its own vector shaded by its
    whole context.

    Masking: ``padding_mask`` (batch, length), True at real tokens: no query looks at
    padding. The key_dim of each head is ``hidden_dim / num_heads``.

    Call arguments:
        x: (batch, length, hidden_dim).
        padding_mask: optional (batch, length) bool.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also
        (batch, num_heads, length, length).
    """

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        mask = None if padding_mask is None else padding_mask[:, None, :]
        x, scores = self._residual(
            x, lambda q: self.attention(q, q, attention_mask=mask, training=training,
                                        return_attention_scores=True), training)
        return (x, scores) if return_attention_scores else x


@keras.saving.register_keras_serializable(package="transformer")
class CausalSelfAttention(_ResidualAttention):
    """Each position attends to itself and the positions before it (the decoder).

    The causal mask hides later positions, so training can predict every next token at once
    without a position seeing the answer. Changing a later token never changes an earlier
    output (a test checks).

    Incremental decoding: :meth:`step` takes only the new positions and a ``(keys, values)``
    cache of (batch, num_heads, max_length, key_dim) tensors; their keys and values join the
    cache and they attend to every cached position up to their own.

    Call arguments:
        x: (batch, length, hidden_dim).
        padding_mask: optional (batch, length) bool.

    Returns:
        (batch, length, hidden_dim); with ``return_attention_scores`` also
        (batch, num_heads, length, length).
    """

    def call(self, x, padding_mask=None, training=None, return_attention_scores=False):
        mask = merge_masks(causal_mask(tf.shape(x)[1])[None],
                           None if padding_mask is None else padding_mask[:, None, :])
        x, scores = self._residual(
            x, lambda q: self.attention(q, q, attention_mask=mask, training=training,
                                        return_attention_scores=True), training)
        return (x, scores) if return_attention_scores else x

    def step(self, x, cache, index):
        """``x`` (batch, new, hidden_dim): the positions from ``index`` on. Returns
        ``(x, cache)``, the cache holding their keys and values too."""
        keys = tf.range(tf.shape(cache[0])[2])  # every cache slot
        queries = index + tf.range(tf.shape(x)[1])  # absolute positions of the new tokens
        mask = (keys[None, :] <= queries[:, None])[None]  # (1, new, max_length)
        x, _, cache = self._residual(x, lambda q: self.attention.step(q, cache, index, mask))
        return x, cache


@keras.saving.register_keras_serializable(package="transformer")
class CrossAttention(_ResidualAttention):
    """The decoder's queries attend to the encoder's output.

    The **queries come from the decoder** (what is being written so far); the **keys and
    values come from the encoder** (the source sentence). Learners often get this backwards
    (the lecture notes say the encoder supplies Q and K): it is the target side asking, and
    the source side answering.

    Masking: ``context_mask`` (batch, source_len), True at real source tokens.

    Call arguments:
        x: (batch, target_len, hidden_dim) decoder states.
        context: (batch, source_len, hidden_dim) encoder output.
        context_mask: optional (batch, source_len) bool.

    Returns:
        (batch, target_len, hidden_dim); with ``return_attention_scores`` also
        (batch, num_heads, target_len, source_len).
    """

    def build(self, x_shape, context_shape=None):
        self._build(x_shape, context_shape)

    def call(self, x, context, context_mask=None, training=None,
             return_attention_scores=False):
        mask = None if context_mask is None else context_mask[:, None, :]
        x, scores = self._residual(
            x, lambda q: self.attention(q, context, attention_mask=mask, training=training,
                                        return_attention_scores=True), training)
        return (x, scores) if return_attention_scores else x

    def step(self, x, key_value, context_mask=None):
        """As ``call`` on a decoding step, with the context's ``(keys, values)`` projected
        once (``self.attention.project_key_value(context)``). Returns ``(x, scores)``."""
        mask = None if context_mask is None else context_mask[:, None, :]
        return self._residual(x, lambda q: self.attention.attend(q, *key_value, mask))
