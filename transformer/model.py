"""The Transformer: encoder, decoder, output projection, and decoding with a key/value cache."""

from __future__ import annotations

import keras
import tensorflow as tf

from common.decoding import GREEDY, Sampling, banned_logits, beam_search_loop, decoding_loop
from common.xla import traced_for_xla, xla_function
from transformer.config import Config
from transformer.decoder import Decoder
from transformer.encoder import Encoder

__all__ = ["Transformer", "build_model", "cached_step", "decode"]


@keras.saving.register_keras_serializable(package="transformer")
class Transformer(keras.Model):
    """Encoder-decoder Transformer on token ids (no text inside).

    Training reads ``(source_ids, target_in)`` and predicts ``target_out`` at every position
    at once; the causal mask keeps each position from seeing its answer. :meth:`generate`
    decodes one token a step with a key/value cache: each step feeds only the newest token
    and reuses the keys and values of the earlier ones (a test shows it gives the same tokens
    and logits as recomputing the whole prefix, :mod:`transformer.reference`).

    Args:
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout, norm_first, max_length,
            position_embedding: see ``Config``.
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
                 max_length: int = 128, position_embedding: str = "sinusoidal", **kwargs):
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
        self.position_embedding = position_embedding
        self.encoder = Encoder(num_layers, source_vocabulary_size, hidden_dim, num_heads,
                               intermediate_dim, dropout, norm_first, max_length,
                               position_embedding, name="encoder")
        self.decoder = Decoder(num_layers, target_vocabulary_size, hidden_dim, num_heads,
                               intermediate_dim, dropout, norm_first, max_length,
                               position_embedding, name="decoder")
        # Logits in float32 under mixed precision: the softmax and loss need the range.
        self.output_dense = keras.layers.Dense(target_vocabulary_size, dtype="float32",
                                               name="logits")

    def build(self, input_shape=None):
        # Each part from shapes, not by a forward pass on dummy ids: the same weights (created
        # in the same order) without running the model, so a run loads sooner.
        ids_shape, hidden_shape = (None, None), (None, None, self.hidden_dim)
        self.encoder.build(ids_shape)
        self.decoder.build(ids_shape, hidden_shape)
        self.output_dense.build(hidden_shape)
        self.built = True

    @traced_for_xla
    def call(self, inputs, training=None, return_attention=False):
        source_ids, target_in = inputs
        context = self.encoder(source_ids, training=training)  # (batch, source, hidden)
        mask = tf.not_equal(source_ids, 0)
        x, scores = self.decoder(target_in, context, mask, training=training)
        logits = self.output_dense(x)  # (batch, target_len, vocabulary)
        return (logits, scores) if return_attention else logits

    def attention_scores(self, source_ids, target_in) -> dict:
        """Every attention map of one teacher-forced pass (no dropout), each stacked over the
        layers: ``encoder_self`` (layers, batch, heads, source_len, source_len),
        ``decoder_self`` (layers, batch, heads, target_len, target_len) and ``cross``
        (layers, batch, heads, target_len, source_len). Row ``t`` of the decoder's maps is
        what the decoder read while choosing the token after ``target_in[:, t]``."""
        context, encoder_self = self.encoder(source_ids, return_attention_scores=True)
        _, decoder_self, cross = self.decoder(target_in, context, tf.not_equal(source_ids, 0),
                                              return_self_attention_scores=True)
        return {"encoder_self": tf.stack(encoder_self), "decoder_self": tf.stack(decoder_self),
                "cross": tf.stack(cross)}

    def init_cache(self, batch_size, max_length) -> tuple:
        """The decoder's empty self-attention cache: one ``(keys, values)`` pair a layer,
        each zeros (batch, num_heads, max_length, key_dim)."""
        key_dim = self.hidden_dim // self.num_heads
        shape = [batch_size, self.num_heads, max_length, key_dim]
        return tuple((tf.zeros(shape), tf.zeros(shape)) for _ in range(self.num_layers))

    def generate(self, source_ids, max_length, start_id: int = 2, end_id: int = 3,
                 sampling: Sampling = GREEDY, jit_compile: bool = False,
                 capacity: int | None = None):
        """Decodes a batch one token a step with the key/value cache; each row stops at its
        own ``[END]`` or at ``max_length`` steps: one limit for all rows or one a row (batch,).
        ``sampling``: greedy (the default) or sampled, see :class:`common.decoding.Sampling`.

        ``jit_compile`` runs the whole loop as one XLA program: several times faster a step on
        CPU, where a cached step is mostly per-op overhead, but compiled once for every batch
        size, source length and ``capacity`` (seconds each): for many batches of one shape.
        ``capacity`` (a Python int >= ``max_length``, default ``max_length``) sizes the
        buffers, which XLA needs fixed; ``max_length`` may then be a tensor.

        Returns:
            ``(tokens, logits, attention)``: (batch, steps) ids (0 after ``[END]``),
            (batch, steps, vocabulary) the logits each step chose from, and the last decoder
            layer's cross-attention (batch, num_heads, steps, source_len).
        """
        return decode(self, source_ids, max_length, start_id, end_id, sampling, jit_compile,
                      capacity, cached_step)

    def beam_search(self, source_ids, max_length, beam_width=4, start_id: int = 2,
                    end_id: int = 3, length_penalty: float = 0.6, jit_compile: bool = False,
                    capacity: int | None = None):
        """Batched beam search with the key/value cache.

        Follows the ``beam_width`` likeliest unfinished translations a sentence, setting
        finished ones aside; of the likeliest finished, the best by ``log P / ((5 + length)
        / 6) ** length_penalty`` (Wu et al. 2016) wins (:func:`common.decoding.
        beam_search_loop`: CTranslate2's search). The cache rows follow their hypotheses when
        beams are reordered. ``beam_width=1`` is greedy.
        ``max_length``: the most steps, one for all rows or one a row (batch,).
        ``jit_compile`` and ``capacity`` as in :meth:`generate`; with XLA ``beam_width`` must
        be a Python int too (it sets shapes).

        Returns:
            (batch, steps) ids of the best hypothesis, 0 after its ``[END]``.
        """
        capacity = tf.reduce_max(max_length) if capacity is None else capacity
        if jit_compile and not (isinstance(capacity, int) and isinstance(beam_width, int)):
            raise ValueError("jit_compile needs fixed shapes: pass capacity and beam_width as "
                             "Python ints")
        loop = _beam_loop_xla if jit_compile else _beam_loop
        best, steps = loop(self, tf.convert_to_tensor(source_ids, tf.int64), capacity,
                           tf.convert_to_tensor(max_length, tf.int32), beam_width, start_id,
                           end_id, length_penalty)
        return best[:, :steps]

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers,
                      source_vocabulary_size=self.source_vocabulary_size,
                      target_vocabulary_size=self.target_vocabulary_size,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      norm_first=self.norm_first, max_length=self.max_length,
                      position_embedding=self.position_embedding)
        return config


def decode(model, source_ids, max_length, start_id, end_id, sampling, jit_compile, capacity,
           make_step):
    """The decoding loop of :meth:`Transformer.generate` with the decoder step ``make_step``
    builds (:func:`cached_step`; :mod:`transformer.reference` has the full recompute the
    cache is checked against). Returns ``(tokens, logits, attention)``."""
    if capacity is None:
        capacity = max_length if isinstance(max_length, int) else tf.reduce_max(max_length)
    if jit_compile and not isinstance(capacity, int):
        raise ValueError("jit_compile needs a fixed buffer: pass capacity (a Python int) "
                         "or a Python int max_length")
    loop = _decode_loop_xla if jit_compile else _decode_loop
    tokens, logits, attention, steps = loop(
        model, tf.convert_to_tensor(source_ids, tf.int64), capacity,
        tf.convert_to_tensor(max_length, tf.int32), start_id, end_id, *sampling.tensors(),
        make_step)
    return tokens[:, :steps], logits[:, :steps], attention[:, :, :steps]


def cached_step(model, context, mask, batch, capacity):
    """The cached decoder step: ``(state, step)`` where ``step(tokens, state, index)`` feeds
    only the token at ``index`` and returns its ``(hidden, cross_scores, state)``. The state
    holds whatever has a row a sentence (the decoding loop drops finished rows from it): the
    self-attention cache, the cross-attention's keys and values (projected once) and the
    source mask."""

    def step(tokens, state, index):
        cache, context_kv, mask = state
        newest = tf.slice(tokens, tf.stack([0, index]), [-1, 1])  # (batch, 1), also XLA
        x, scores, cache = model.decoder.step(newest, context_kv, mask, cache, index)
        return x[:, -1], scores[-1][:, :, -1], (cache, context_kv, mask)

    state = (model.init_cache(batch, capacity), model.decoder.context_key_values(context), mask)
    return state, step


def _decode_loop(model, source_ids, capacity, max_length, start_id, end_id, temperature,
                 top_k, seed, make_step):
    """The loop of :func:`decode`: :func:`common.decoding.decoding_loop` on the decoder
    step ``make_step`` builds, buffers of ``capacity`` steps. Returns the full buffers and
    the number of steps taken; the caller slices."""
    batch = tf.shape(source_ids)[0]
    context = model.encoder(source_ids)
    state, decoder_step = make_step(model, context, tf.not_equal(source_ids, 0), batch,
                                    capacity)

    def step(tokens, state, index):
        hidden, scores, state = decoder_step(tokens, state, index)
        return model.output_dense(hidden), scores, state

    tokens, logits, attention, steps = decoding_loop(
        step, state, batch, capacity, max_length, start_id, end_id,
        Sampling(temperature, top_k, seed), banned_logits(model.target_vocabulary_size,
                                                          start_id),
        one_row=source_ids.shape[0] == 1)
    return tokens, logits, tf.transpose(attention, [0, 2, 1, 3]), steps  # (batch, heads, ..)


_decode_loop_xla = xla_function(_decode_loop)


def _beam_loop(model, source_ids, capacity, max_length, beam_width, start_id, end_id,
               length_penalty):
    """The loop of :meth:`Transformer.beam_search` on buffers of ``capacity`` steps: the best
    hypothesis (batch, capacity) and the number of steps taken."""
    width = beam_width if isinstance(beam_width, int) else tf.cast(beam_width, tf.int32)
    # The static batch size where known: the loop's reshapes must keep the shapes it starts
    # with.
    batch = source_ids.shape[0] or tf.shape(source_ids)[0]
    context = tf.repeat(model.encoder(source_ids), width, axis=0)  # (batch*width, S, H)
    mask = tf.repeat(tf.not_equal(source_ids, 0), width, axis=0)
    context_kv = model.decoder.context_key_values(context)

    def step(token, cache, index):
        x, _, cache = model.decoder.step(token, context_kv, mask, cache, index)
        return model.output_dense(x[:, -1]), cache

    return beam_search_loop(step, model.init_cache(batch * width, capacity), batch, width,
                            model.target_vocabulary_size, capacity, max_length, start_id,
                            end_id, length_penalty)


_beam_loop_xla = xla_function(_beam_loop)


def build_model(config: Config, source_vocabulary_size: int, target_vocabulary_size: int):
    """A built ``Transformer`` for ``config`` and the two vocabulary sizes."""
    model = Transformer(
        config.num_layers, source_vocabulary_size, target_vocabulary_size, config.hidden_dim,
        config.num_heads, config.intermediate_dim, config.dropout, config.norm_first,
        config.max_length, config.position_embedding, name="transformer",
    )
    model.build()
    return model
