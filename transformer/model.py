"""The Transformer: encoder, decoder, output projection, and decoding with a key/value cache."""

from __future__ import annotations

import keras
import tensorflow as tf

from transformer.config import Config
from transformer.decoder import Decoder
from transformer.encoder import Encoder

__all__ = ["Transformer", "build_model"]


@keras.saving.register_keras_serializable(package="transformer")
class Transformer(keras.Model):
    """Encoder-decoder Transformer on token ids (no text inside).

    Training reads ``(source_ids, target_in)`` and predicts ``target_out`` at every position
    at once; the causal mask keeps each position from seeing its answer. :meth:`generate`
    decodes one token a step; with ``use_cache`` each step feeds only the newest token and
    reuses the keys and values of the earlier ones (a test shows it gives the same tokens and
    logits as recomputing the whole prefix).

    Args:
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout, norm_first, max_length:
            see ``Config``.
        source_vocabulary_size, target_vocabulary_size: vocabulary sizes.

    Call arguments:
        inputs: ``(source_ids, target_in)``, (batch, source_len) and (batch, target_len).
        return_attention: also return the cross-attention scores of every decoder layer.

    Returns:
        (batch, target_len, target_vocabulary_size) logits.

    Reference: Vaswani et al. 2017; the TensorFlow tutorial "Neural machine translation with
    a Transformer and Keras".
    """

    def __init__(self, num_layers: int, source_vocabulary_size: int,
                 target_vocabulary_size: int, hidden_dim: int, num_heads: int,
                 intermediate_dim: int, dropout: float = 0.1, norm_first: bool = False,
                 max_length: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.max_length = max_length
        self.encoder = Encoder(num_layers, source_vocabulary_size, hidden_dim, num_heads,
                               intermediate_dim, dropout, norm_first, max_length,
                               name="encoder")
        self.decoder = Decoder(num_layers, target_vocabulary_size, hidden_dim, num_heads,
                               intermediate_dim, dropout, norm_first, max_length,
                               name="decoder")
        # Logits in float32 under mixed precision: the softmax and loss need the range.
        self.output_dense = keras.layers.Dense(target_vocabulary_size, dtype="float32",
                                               name="logits")

    def build(self, input_shape=None):
        dummy = tf.constant([[2, 3]], dtype=tf.int64)
        self.call((dummy, dummy))
        self.built = True

    def call(self, inputs, training=None, return_attention=False):
        source_ids, target_in = inputs
        context = self.encoder(source_ids, training=training)  # (batch, source, hidden)
        mask = tf.not_equal(source_ids, 0)
        x, scores = self.decoder(target_in, context, mask, training=training)
        logits = self.output_dense(x)  # (batch, target_len, vocabulary)
        # The loss masks padding itself. Left on, Keras would also apply the propagated mask
        # as sample weights, which under tf.distribute divides the loss by the replicas.
        if hasattr(logits, "_keras_mask"):
            del logits._keras_mask
        return (logits, scores) if return_attention else logits

    def init_cache(self, batch_size, max_length) -> tf.Tensor:
        """Zeros (batch, num_layers, 2, num_heads, max_length, key_dim)."""
        key_dim = self.hidden_dim // self.num_heads
        return tf.zeros([batch_size, self.num_layers, 2, self.num_heads, max_length, key_dim])

    def generate(self, source_ids, max_length, start_id: int = 2, end_id: int = 3,
                 temperature=0.0, top_k=0, seed=0, use_cache: bool = True):
        """Decodes a batch one token a step; each row stops at its own ``[END]``.

        ``temperature`` 0 is greedy; above 0 samples from softmax(logits / T), among the
        ``top_k`` likeliest tokens when ``top_k`` > 0, reproducibly for a ``seed``.

        Returns:
            ``(tokens, logits, attention)``: (batch, steps) ids (0 after ``[END]``),
            (batch, steps, vocabulary) the logits each step chose from, and the last decoder
            layer's cross-attention (batch, num_heads, steps, source_len).
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        batch = tf.shape(source_ids)[0]
        context = self.encoder(source_ids)
        mask = tf.not_equal(source_ids, 0)
        vocabulary = self.target_vocabulary_size
        banned = tf.reduce_sum(tf.one_hot([0, 1, start_id], vocabulary, on_value=-1e9), 0)
        temperature = tf.cast(temperature, tf.float32)
        top_k = tf.cast(top_k, tf.int32)
        seed = tf.cast(seed, tf.int64)
        tokens = tf.concat(
            [tf.fill([batch, 1], tf.constant(start_id, tf.int64)),
             tf.zeros([batch, max_length], tf.int64)], axis=1)  # (batch, 1 + max_length)
        cache = self.init_cache(batch, max_length) if use_cache else tf.zeros([0])
        # With the cache, the cross-attention's keys and values are projected once too.
        context_kv = self.decoder.context_key_values(context) if use_cache else None
        done = tf.zeros([batch], tf.bool)
        all_logits = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        attention = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        step = tf.constant(0)
        while step < max_length and not tf.reduce_all(done):
            if use_cache:
                x, scores, cache = self.decoder(tokens[:, step : step + 1], context, mask,
                                                cache=cache, cache_index=step,
                                                context_key_values=context_kv)
                last_x, last_scores = x[:, -1], scores[-1][:, :, -1]
            else:
                x, scores = self.decoder(tokens[:, : step + 1], context, mask)
                last_x, last_scores = x[:, -1], scores[-1][:, :, -1]
            logits = self.output_dense(last_x) + banned  # (batch, vocabulary)
            chosen = _choose(logits, temperature, top_k, tf.stack([seed, tf.cast(step,
                                                                                 tf.int64)]))
            chosen = tf.where(done, tf.zeros_like(chosen), chosen)
            done = done | tf.equal(chosen, end_id)
            column = tf.one_hot(step + 1, max_length + 1, dtype=tf.int64)
            tokens += chosen[:, None] * column[None, :]
            all_logits = all_logits.write(step, logits)
            attention = attention.write(step, last_scores)  # (batch, heads, source)
            step += 1
        return (
            tokens[:, 1 : step + 1],
            tf.transpose(all_logits.stack(), [1, 0, 2]),
            tf.transpose(attention.stack(), [1, 2, 0, 3]),
        )

    def beam_search(self, source_ids, max_length, beam_width=4, start_id: int = 2,
                    end_id: int = 3, length_penalty: float = 0.6):
        """Batched beam search with the key/value cache.

        Keeps the ``beam_width`` likeliest partial translations a sentence; a finished one
        keeps its score and is extended with padding; at the end hypotheses are ranked by
        ``log P / ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016). The cache rows
        follow their hypotheses when beams are reordered. ``beam_width=1`` is greedy.

        Returns:
            (batch, steps) ids of the best hypothesis, 0 after its ``[END]``.
        """
        source_ids = tf.convert_to_tensor(source_ids, tf.int64)
        width = tf.cast(beam_width, tf.int32)
        batch = tf.shape(source_ids)[0]
        vocabulary = self.target_vocabulary_size
        context = tf.repeat(self.encoder(source_ids), width, axis=0)  # (batch*width, S, H)
        mask = tf.repeat(tf.not_equal(source_ids, 0), width, axis=0)
        banned = tf.reduce_sum(tf.one_hot([0, 1, start_id], vocabulary, on_value=-1e9), 0)
        only_padding = tf.one_hot(0, vocabulary, on_value=0.0, off_value=-1e9)
        scores = tf.tile(tf.concat([[0.0], tf.fill([width - 1], -1e9)], 0)[None], [batch, 1])
        finished = tf.zeros([batch, width], tf.bool)
        history = tf.zeros([batch, width, max_length], tf.int64)
        cache = self.init_cache(batch * width, max_length)
        context_kv = self.decoder.context_key_values(context)
        token = tf.fill([batch * width, 1], tf.constant(start_id, tf.int64))
        step = tf.constant(0)
        while step < max_length and not tf.reduce_all(finished):
            x, _, cache = self.decoder(token, context, mask, cache=cache, cache_index=step,
                                       context_key_values=context_kv)
            log_probs = tf.nn.log_softmax(self.output_dense(x[:, -1]) + banned)
            log_probs = tf.reshape(log_probs, [batch, width, vocabulary])
            log_probs = tf.where(finished[:, :, None], only_padding, log_probs)
            total = tf.reshape(scores[:, :, None] + log_probs, [batch, -1])
            scores, flat = tf.math.top_k(total, k=width)  # (batch, width)
            parent = flat // vocabulary
            chosen = tf.cast(flat % vocabulary, tf.int64)
            finished = tf.gather(finished, parent, batch_dims=1) | tf.equal(chosen, end_id)
            history = tf.gather(history, parent, batch_dims=1)
            history += chosen[:, :, None] * tf.one_hot(step, max_length, dtype=tf.int64)
            rows = tf.reshape(parent + width * tf.range(batch)[:, None], [-1])
            cache = tf.gather(cache, rows)
            token = tf.reshape(chosen, [-1, 1])
            step += 1
        history = history[:, :, :step]
        lengths = tf.reduce_sum(tf.cast(history > 0, tf.float32), axis=-1)
        normalized = scores / ((5.0 + lengths) / 6.0) ** length_penalty
        best = tf.argmax(normalized, axis=1, output_type=tf.int32)
        return tf.gather(history, best, batch_dims=1)

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers,
                      source_vocabulary_size=self.source_vocabulary_size,
                      target_vocabulary_size=self.target_vocabulary_size,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first, max_length=self.max_length)
        return config


def _choose(logits, temperature, top_k, seeds):
    """(batch, vocabulary) -> (batch,): argmax at temperature 0, else a (top-k) sample."""

    def sample():
        scaled = logits / tf.maximum(temperature, 1e-6)
        k = tf.where(top_k > 0, top_k, tf.shape(logits)[-1])
        kth = tf.math.top_k(scaled, k=k).values[:, -1:]  # (batch, 1)
        scaled = tf.where(scaled < kth, tf.cast(-1e9, scaled.dtype), scaled)
        return tf.random.stateless_categorical(scaled, 1, seeds, dtype=tf.int64)[:, 0]

    return tf.cond(temperature > 0.0, sample, lambda: tf.argmax(logits, axis=-1))


def build_model(config: Config, source_vocabulary_size: int, target_vocabulary_size: int):
    """A built ``Transformer`` for ``config`` and the two vocabulary sizes."""
    model = Transformer(
        config.num_layers, source_vocabulary_size, target_vocabulary_size, config.hidden_dim,
        config.num_heads, config.intermediate_dim, config.dropout, config.norm_first,
        config.max_length, name="transformer",
    )
    model.build()
    return model
