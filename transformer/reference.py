"""Decoding without the cache: the reference that the key/value cache is checked against
(tests) and timed against (bench). Not for use: it recomputes the whole decoder every step.

:func:`generate_by_recompute` runs the same loop as ``Transformer.generate``
(:func:`transformer.model.decode`) with a step that feeds the decoder the whole prefix (or,
under XLA, the whole fixed-length buffer, causally masked, read at the current position), so
the two differ only in how a step gets its hidden state.
"""

from __future__ import annotations

import tensorflow as tf

from common.decoding import GREEDY, Sampling
from transformer.model import decode

__all__ = ["generate_by_recompute"]


def generate_by_recompute(model, source_ids, max_length, start_id: int = 2, end_id: int = 3,
                          sampling: Sampling = GREEDY, jit_compile: bool = False,
                          capacity: int | None = None):
    """As ``model.generate``, recomputing the decoder on everything written so far at every
    step; returns the same ``(tokens, logits, attention)``."""
    make_step = _whole_buffer_step if jit_compile else _prefix_step
    return decode(model, source_ids, max_length, start_id, end_id, sampling, jit_compile,
                  capacity, make_step)


def _prefix_step(model, context, mask, batch, capacity):
    def step(tokens, state, index):
        x, scores = model.decoder(tokens[:, : index + 1], *state)
        return x[:, -1], scores[-1][:, :, -1], state

    return (context, mask), step


def _whole_buffer_step(model, context, mask, batch, capacity):
    def step(tokens, state, index):  # fixed shapes for XLA; later positions are masked
        x, scores = model.decoder(tokens[:, :-1], *state)
        return tf.gather(x, index, axis=1), tf.gather(scores[-1], index, axis=2), state

    return (context, mask), step
