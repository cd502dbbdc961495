"""Whether the code being traced will run as one XLA program.

Some operations have two good forms: one that TensorFlow's own kernels run fast and one that
XLA compiles well (dropout's random draws, :mod:`common.dropout`; writing a decoding step
into a key/value cache, ``transformer.attention``). TensorFlow does not tell a layer which
one it is being traced for, so whoever starts an XLA trace says so with
:func:`compiling_for_xla`, and the layers ask :func:`for_xla`.

Who starts one: every model of the package whose ``call`` is decorated with
:func:`traced_for_xla` (the translators, the classifiers, BERT's pretrainer), when it is
compiled with ``jit_compile=True``; and :func:`xla_function` (the Transformer's decoding).
A model of the package compiled with XLA therefore takes the same paths whichever it is.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import tensorflow as tf

__all__ = ["compiling_for_xla", "for_xla", "traced_for_xla", "xla_function"]

_FOR_XLA = contextvars.ContextVar("for_xla", default=False)


@contextlib.contextmanager
def compiling_for_xla(enabled: bool = True):
    """While active, :func:`for_xla` is ``enabled``: what is traced now runs under XLA."""
    token = _FOR_XLA.set(bool(enabled))
    try:
        yield
    finally:
        _FOR_XLA.reset(token)


def for_xla() -> bool:
    """True while tracing code that XLA will compile (inside :func:`compiling_for_xla`)."""
    return _FOR_XLA.get()


def xla_function(function):
    """``tf.function(function, jit_compile=True, autograph=False)``, traced inside
    :func:`compiling_for_xla`."""

    @functools.wraps(function)
    def traced(*args, **kwargs):
        with compiling_for_xla():
            return function(*args, **kwargs)

    return tf.function(traced, jit_compile=True, autograph=False)


def traced_for_xla(call):
    """Decorates a ``keras.Model``'s ``call``: traced inside :func:`compiling_for_xla` when
    the model is compiled with ``jit_compile=True`` (its training, evaluation and prediction
    steps then run as XLA programs), or when a caller already traces for XLA."""

    @functools.wraps(call)
    def traced(self, *args, **kwargs):
        with compiling_for_xla(self.jit_compile is True or for_xla()):
            return call(self, *args, **kwargs)

    return traced

