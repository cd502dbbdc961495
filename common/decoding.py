"""Decoding shared by the translators: the next-token choice (greedy, sampled, top-k), the
token-by-token loop and batched beam search, each over any step function."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from common.inputs import check_sentences, check_settings
from common.xla import for_xla

__all__ = ["GREEDY", "Sampling", "TextTranslator", "at_least_one_row", "banned_logits",
           "beam_search_loop", "choose_next", "decoding_loop", "first_rows",
           "output_limit", "row_limits", "teacher_forced_input", "worth_dropping"]


def at_least_one_row(texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``(texts, rows)``: an empty batch becomes one empty sentence (recurrent layers and
    decoding loops cannot run on none), ``rows`` the real batch size for
    :func:`first_rows`."""
    rows = tf.shape(texts)[0]
    return tf.cond(rows > 0, lambda: texts, lambda: tf.constant([""])), rows


def first_rows(outputs: dict, rows: tf.Tensor) -> dict:
    """Each output cut to its first ``rows`` rows."""
    return {name: value[:rows] for name, value in outputs.items()}


def output_limit(source_length, max_output_tokens):
    """The most tokens a translation of ``source_length`` source ids may have:
    ``min(max_output_tokens, 2 * source_length + 10)`` (a scalar or one a row)."""
    return tf.minimum(max_output_tokens, 2 * source_length + 10)


def row_limits(source_ids: tf.Tensor, max_output_tokens) -> tf.Tensor:
    """(batch,) each row's :func:`output_limit`, its source length the non-padding ids of
    its row of ``source_ids`` (batch, source_len)."""
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source_ids, 0), tf.int32), axis=1)
    return output_limit(lengths, max_output_tokens)


def teacher_forced_input(tokens: tf.Tensor, start_id: int) -> tf.Tensor:
    """What a decoder read while writing ``tokens`` (batch, steps): ``[START]`` and every
    token but the last. One pass over it gives the attention of a finished translation."""
    start = tf.fill([tf.shape(tokens)[0], 1], tf.constant(start_id, tokens.dtype))
    return tf.concat([start, tokens[:, :-1]], axis=1)


@dataclasses.dataclass(frozen=True)
class Sampling:
    """How a decoder chooses the next token: the argmax at ``temperature`` 0, else a sample
    of softmax(logits / temperature) among the ``top_k`` likeliest tokens (0: all),
    reproducible for ``seed``. Python numbers or scalar tensors."""

    temperature: float | tf.Tensor = 0.0
    top_k: int | tf.Tensor = 0
    seed: int | tf.Tensor = 0

    def tensors(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``(temperature, top_k, seed)`` as float32, int32 and int64 tensors."""
        return (tf.cast(self.temperature, tf.float32), tf.cast(self.top_k, tf.int32),
                tf.cast(self.seed, tf.int64))


GREEDY = Sampling()

class TextTranslator(tf.Module):
    """Text in, text out: what both tutorials' ``Translator`` share.

    A subclass defines the graph functions ``sample(texts, temperature, top_k, seed)`` and
    ``beam(texts, beam_width)`` (strings (batch,) -> a dict of ``translation``,
    ``translated`` (bool: see :func:`common.text.has_known_word`), ``output_tokens``,
    ``source_tokens``, ``attention``; the exports serve them), ``source_limit`` (the source
    tokens kept) and ``source_lengths(texts)``; this class checks the inputs and settings
    and turns the results into numpy and strings.
    """

    def run(self, texts: Sequence[str], temperature: float = 0.0, top_k: int = 0,
            seed: int = 0, beam_width: int = 1) -> dict[str, np.ndarray]:
        """Translates a batch: numpy arrays of the translations, tokens and attention.

        ``temperature`` 0 is greedy, above 0 samples (among the ``top_k`` likeliest tokens,
        0: all) reproducibly for ``seed``; ``beam_width`` above 1 is beam search (and
        ignores the sampling settings).

        Raises:
            TypeError: ``texts`` is not a list of strings.
            InputError: a setting out of its range (:func:`check_settings`).
        """
        texts = check_sentences(texts)
        check_settings(temperature, top_k, seed, beam_width)
        if not texts:
            return {"translation": np.array([], dtype=object)}
        if beam_width > 1:
            result = self._beam_search(tf.constant(texts), int(beam_width))
        else:
            result = self.sample(tf.constant(texts), tf.constant(temperature, tf.float32),
                                 tf.constant(top_k, tf.int32), tf.constant(seed, tf.int64))
        return {k: v.numpy() for k, v in result.items()}

    def _beam_search(self, texts: tf.Tensor, beam_width: int) -> dict:
        return self.beam(texts, tf.constant(beam_width, tf.int32))

    def translate(self, texts: Sequence[str], temperature: float = 0.0, top_k: int = 0,
                  seed: int = 0, beam_width: int = 1) -> list[str]:
        """One translated string per input string, in order."""
        result = self.run(texts, temperature, top_k, seed, beam_width)
        return [t.decode("utf-8") for t in result["translation"]]


def banned_logits(vocabulary: int, start_id: int, allow_unknown: bool = False) -> tf.Tensor:
    """(vocabulary,) -1e9 at padding (0), [UNK] (1) and [START], else 0: added to the logits,
    it keeps a decoder from ever choosing them. ``allow_unknown`` lets [UNK] through, for a
    translator that replaces it with a source word afterwards."""
    banned = [0, start_id] if allow_unknown else [0, 1, start_id]
    return tf.reduce_sum(tf.one_hot(banned, vocabulary, on_value=-1e9), 0)


def beam_search_loop(
    step_fn: Callable,
    state,
    batch,
    width,
    vocabulary: int,
    capacity,
    max_length,
    start_id: int,
    end_id: int,
    length_penalty: float,
    allow_unknown: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Batched beam search: follows the ``width`` likeliest unfinished translations a
    sentence, setting finished ones aside.

    ``step_fn(token, state, step) -> (logits, state)`` runs the decoder one step for every
    hypothesis: ``token`` (batch * width, 1) ids, ``state`` whatever the decoder carries (a
    GRU state, a key/value cache: any nest of tensors with batch * width rows), ``logits``
    (batch * width, vocabulary). Hypothesis ``i`` of sentence ``b`` is row ``b * width + i``.

    Each step extends every hypothesis by every word and takes the ``2 * width`` likeliest
    candidates (summed log-probabilities). Of the first ``width``, one that ends with
    ``end_id`` (or reaches the sentence's limit) is set aside as finished, and its place in
    the beam goes to the next unfinished candidate after the first ``width``; so the beam
    always follows ``width`` unfinished translations. A sentence stops once its likeliest
    candidate of some step was a finished one and ``width`` translations have finished (or
    at its limit). Of the ``width`` likeliest finished ones, the answer is the best by ``log
    P / ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016; the length counts
    ``end_id``), so longer translations are not punished for having more factors. This is
    CTranslate2's beam search (without its own length penalty), so both engines find the
    same translations. When beams are reordered, the rows of ``state`` follow their
    hypotheses. ``width`` 1 is greedy decoding; [UNK] is never chosen unless
    ``allow_unknown``. Every tensor keeps its shape from step to step (buffers of
    ``capacity`` steps, None: the longest limit; the loop runs to ``max_length`` <=
    capacity), so the loop compiles with XLA when ``batch``, ``width`` and ``capacity`` are
    static.

    ``max_length`` is a scalar or one limit a sentence (batch,) (:func:`row_limits`): a
    sentence stops at its own limit, so that its result is the one it would have alone,
    whatever the longest sentence of its batch.

    Returns:
        ``(best, steps)``: (batch, capacity) ids of each sentence's best hypothesis, 0 after
        its ``end_id`` and past ``steps``; and the number of steps taken.
    """
    limits = tf.broadcast_to(tf.cast(max_length, tf.int32), [batch])
    longest = tf.reduce_max(limits)
    capacity = longest if capacity is None else capacity
    banned = banned_logits(vocabulary, start_id, allow_unknown)
    lowest = tf.float32.min
    # Only the first hypothesis is live at the start: the others would repeat it.
    scores = tf.tile(tf.concat([[0.0], tf.fill([width - 1], -1e9)], 0)[None], [batch, 1])
    history = tf.zeros([batch, width, capacity], tf.int64)
    # The finished hypotheses set aside: the likeliest ``width`` of them, and how many.
    kept_scores = tf.fill([batch, width], lowest)
    kept = tf.zeros([batch, width, capacity], tf.int64)
    finished = tf.zeros([batch], tf.int32)
    top_finished = tf.zeros([batch], tf.bool)  # a step's likeliest candidate was finished
    done = tf.zeros([batch], tf.bool)
    token = tf.fill([batch * width, 1], tf.constant(start_id, tf.int64))
    first = tf.range(2 * width) < width  # (2 * width,): the candidates that may finish

    def body(step, token, state, scores, history, kept_scores, kept, finished, top_finished,
             done):
        logits, state = step_fn(token, state, step)
        log_probs = tf.nn.log_softmax(logits + banned)  # (batch * width, vocabulary)
        total = tf.reshape(scores, [-1, 1]) + log_probs
        candidate_scores, flat = tf.math.top_k(tf.reshape(total, [batch, -1]), k=2 * width)
        parent = flat // vocabulary
        chosen = tf.cast(flat % vocabulary, tf.int64)
        candidates = (tf.gather(history, parent, batch_dims=1)  # (batch, 2 * width, capacity)
                      + chosen[:, :, None] * tf.one_hot(step, capacity, dtype=tf.int64))
        ends = tf.equal(chosen, end_id)
        last = step + 1 >= limits  # (batch,): the sentence's last step
        finishing = first[None] & (ends | last[:, None]) & tf.logical_not(done)[:, None]
        # Set aside: the likeliest ``width`` of those kept and those finishing now.
        kept_scores, order = tf.math.top_k(
            tf.concat([kept_scores, tf.where(finishing, candidate_scores, lowest)], 1),
            k=width)
        kept = tf.gather(tf.concat([kept, candidates], 1), order, batch_dims=1)
        finished += tf.reduce_sum(tf.cast(finishing, tf.int32), axis=1)
        top_finished |= finishing[:, 0]
        # The j-th finished place of the beam takes the j-th unfinished spare candidate.
        gone = finishing[:, :width]
        spare = tf.logical_not(ends[:, width:])
        place_rank = tf.cumsum(tf.cast(gone, tf.int32), axis=1, exclusive=True)
        spare_rank = tf.cumsum(tf.cast(spare, tf.int32), axis=1, exclusive=True)
        match = (gone[:, :, None] & spare[:, None, :]
                 & tf.equal(place_rank[:, :, None], spare_rank[:, None, :]))
        beam = tf.where(tf.reduce_any(match, axis=2),
                        width + tf.argmax(tf.cast(match, tf.int32), axis=2,
                                          output_type=tf.int32),
                        tf.range(width)[None])  # (batch, width) candidate indices
        scores = tf.gather(candidate_scores, beam, batch_dims=1)
        history = tf.gather(candidates, beam, batch_dims=1)
        rows = tf.reshape(tf.gather(parent, beam, batch_dims=1)
                          + width * tf.range(batch)[:, None], [-1])
        state = tf.nest.map_structure(lambda part: tf.gather(part, rows), state)
        done |= last | (top_finished & (finished >= width))
        token = tf.reshape(tf.gather(chosen, beam, batch_dims=1), [-1, 1])
        return (step + 1, token, state, scores, history, kept_scores, kept, finished,
                top_finished, done)

    def running(step, *loop_vars):
        return (step < longest) & tf.logical_not(tf.reduce_all(loop_vars[-1]))

    # A tf.while_loop written out, not left to AutoGraph: see decoding_loop.
    step, _, _, _, _, kept_scores, kept, _, _, _ = tf.while_loop(
        running, body, (tf.constant(0), token, state, scores, history, kept_scores, kept,
                        finished, top_finished, done))
    lengths = tf.reduce_sum(tf.cast(kept > 0, tf.float32), axis=-1)  # unwritten: 0
    normalized = kept_scores / ((5.0 + lengths) / 6.0) ** length_penalty
    best = tf.argmax(normalized, axis=1, output_type=tf.int32)
    return tf.gather(kept, best, batch_dims=1), step


def decoding_loop(
    step_fn: Callable,
    state,
    batch,
    capacity,
    max_length,
    start_id: int,
    end_id: int,
    sampling: Sampling,
    banned: tf.Tensor,
    stop_early: bool = True,
    keep_logits: bool = True,
    one_row: bool = False,
):
    """Decodes a batch one token a step, each row choosing with :func:`choose_next`: the
    greedy and sampled loop of both translators (beam search is :func:`beam_search_loop`).

    ``step_fn(tokens, state, step) -> (logits, attention, state)`` runs the decoder one step
    for the rows it is given: ``tokens`` (rows, 1 + capacity) what they wrote so far after
    ``start_id`` (the newest at column ``step``), ``state`` whatever the decoder carries with
    a row a sentence (a GRU state, a key/value cache, the encoder's outputs and mask: any
    nest of tensors), ``logits`` (rows, vocabulary) and ``attention`` (rows, ...) what the
    step read. ``banned`` (vocabulary,) is added to the logits (:func:`banned_logits`).

    ``max_length`` is one limit for all rows or one a row (batch,) (:func:`row_limits`): a row
    is done at its ``end_id`` or its limit, whichever comes first, so that its output is the
    one it would have alone. With ``stop_early`` the loop ends once every row is done;
    without it, it runs to the longest limit (as the published tutorial's export does).
    Buffers hold ``capacity`` steps (None: the longest limit).

    Greedy decoding drops finished rows: once half the rows it computes are done it keeps
    only the others (their tokens and state), so that a batch's few long translations do not
    keep every row decoding; the logits and attention of a dropped row are zeros from then
    on, as its tokens are. Rows are kept under XLA (every shape stays fixed), when sampling
    (a row's draw depends on the batch's shape), for a batch known to be ``one_row``, and
    without ``stop_early`` (which is there to cost what the published tutorial's loop costs).

    The loop is a ``tf.while_loop`` written out, not a Python ``while`` left to AutoGraph:
    the translators trace their graphs with AutoGraph off, which skips converting every
    layer's code (seconds a process for the tutorial models).

    Returns:
        ``(tokens, logits, attention, steps)``: (batch, capacity) ids, 0 after a row's
        ``end_id`` and past ``steps``; (batch, capacity, vocabulary) the logits each step chose
        from (None without ``keep_logits``); (batch, capacity, ...) the attention; and the
        number of steps taken. The caller slices to ``steps``.
    """
    limits = tf.broadcast_to(tf.cast(max_length, tf.int32), [batch])
    capacity = tf.reduce_max(limits) if capacity is None else capacity
    limits = tf.minimum(limits, capacity)
    longest = tf.reduce_max(limits)
    temperature, top_k, seed = sampling.tensors()
    tokens = tf.concat(
        [tf.fill([batch, 1], tf.constant(start_id, tf.int64)),
         tf.zeros([batch, capacity], tf.int64)], axis=1)  # (batch, 1 + capacity)
    dropping = not for_xla() and not one_row and stop_early
    may_drop = temperature <= 0.0

    if dropping:  # the loop computes the rows ``rows`` of the batch
        def take(values, rows):
            """(batch, ...) -> the rows computed."""
            return tf.gather(values, rows)

        def put(values, rows, into=None):
            """The rows computed -> (batch, ...), ``into``'s rows (zeros) at the others."""
            if into is None:
                shape = tf.concat([[batch], tf.shape(values)[1:]], 0)
                return tf.scatter_nd(rows[:, None], values, shape)
            return tf.tensor_scatter_nd_update(into, rows[:, None], values)
    else:  # every row, every step
        def take(values, rows):
            return values

        def put(values, rows, into=None):
            return values

    def body(step, done, tokens, rows, state, all_logits, attention):
        logits, scores, state = step_fn(take(tokens, rows), state, step)
        logits += banned  # (rows, vocabulary)
        chosen = choose_next(logits, temperature, top_k,
                             tf.stack([seed, tf.cast(step, tf.int64)]))
        row_done = take(done, rows)
        chosen = tf.where(row_done, tf.zeros_like(chosen), chosen)
        row_done |= tf.equal(chosen, end_id) | (step + 1 >= take(limits, rows))
        done = put(row_done, rows, done)
        tokens += put(chosen, rows)[:, None] * tf.one_hot(step + 1, capacity + 1,
                                                          dtype=tf.int64)[None]
        if keep_logits:
            all_logits = all_logits.write(step, put(logits, rows))  # dropped rows: zeros
        attention = attention.write(step, put(scores, rows))
        if dropping:
            rows, state = _drop_finished(rows, row_done, state, may_drop)
        return step + 1, done, tokens, rows, state, all_logits, attention

    def running(step, done, *_):
        if stop_early:
            return tf.logical_not(tf.reduce_all(done))
        return step < longest

    loop_vars = (tf.constant(0), limits <= 0, tokens, tf.range(batch), state,
                 tf.TensorArray(tf.float32, size=capacity if keep_logits else 0),
                 tf.TensorArray(tf.float32, size=capacity))
    invariants = None
    if dropping:  # the row-indexed tensors may shrink
        invariants = tf.nest.map_structure(_any_rows, loop_vars)
    steps, _, tokens, _, _, all_logits, attention = tf.while_loop(
        running, body, loop_vars, shape_invariants=invariants)
    logits = _batch_first(all_logits.stack()) if keep_logits else None
    return tokens[:, 1:], logits, _batch_first(attention.stack()), steps


def _batch_first(stacked: tf.Tensor) -> tf.Tensor:
    """(steps, batch, ...) -> (batch, steps, ...)."""
    return tf.transpose(stacked, tf.concat([[1, 0], tf.range(2, tf.rank(stacked))], 0))


def _drop_finished(rows, row_done, state, may_drop):
    """``(rows, state)`` without the finished rows once half of ``rows`` are finished (and
    ``may_drop``); else unchanged. Gathering the state costs a copy of it (a whole key/value
    cache), so it waits until that halves the work."""
    keep = tf.reshape(tf.where(tf.logical_not(row_done)), [-1])
    return tf.cond(
        may_drop & worth_dropping(tf.size(keep), tf.size(rows)),
        lambda: (tf.gather(rows, keep), tf.nest.map_structure(lambda t: tf.gather(t, keep),
                                                              state)),
        lambda: (rows, state))


def worth_dropping(live, rows):
    """Whether :func:`decoding_loop`, computing ``rows`` rows of which ``live`` are
    unfinished, goes on with the live ones alone (tensors or Python ints)."""
    return (2 * live <= rows) & (live > 0)


def _any_rows(value):
    """The loop's shape invariant for ``value``: any number of rows (a TensorArray: its
    own)."""
    if isinstance(value, tf.TensorArray):
        return tf.TensorShape(None)
    if value.shape.rank == 0:  # the step
        return value.shape
    return tf.TensorShape([None]).concatenate(value.shape[1:])


def choose_next(logits: tf.Tensor, temperature, top_k, seeds: tf.Tensor) -> tf.Tensor:
    """(batch, vocabulary) logits -> (batch,) ids: argmax at ``temperature`` 0, else a
    sample of softmax(logits / temperature), among the ``top_k`` likeliest (0: all),
    reproducible for the stateless ``seeds`` (2,).

    Both translators decode with it, eagerly, in graphs and under XLA."""

    def sample():
        scaled = logits / tf.maximum(temperature, 1e-6)
        vocabulary = tf.shape(logits)[-1]
        k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary), vocabulary)  # above it: all
        # A sort rather than tf.math.top_k: k is a tensor, which XLA's top_k cannot take.
        kth = tf.gather(tf.sort(scaled, direction="DESCENDING"), k - 1, axis=1)[:, None]
        scaled = tf.where(scaled < kth, tf.cast(-1e9, scaled.dtype), scaled)
        # The Gumbel-max trick: argmax(logits + Gumbel noise) is a sample of softmax(logits),
        # and compiles with XLA (tf.random.stateless_categorical does not, on CPU).
        uniform = tf.random.stateless_uniform(tf.shape(scaled), seeds, minval=1e-20,
                                              maxval=1.0)
        return tf.argmax(scaled - tf.math.log(-tf.math.log(uniform)), axis=-1)

    return tf.cond(temperature > 0.0, sample, lambda: tf.argmax(logits, axis=-1))
