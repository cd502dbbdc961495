"""Checks of what a user gives a model, and how decoding spreads batches over the cores: plain
Python, no TensorFlow, so the TensorFlow-free inference engine
(:mod:`transformer.ctranslate2_engine`) and the command lines share them with the rest."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from common.errors import InputError
from common.machine import decoding_threads

__all__ = ["MAX_BEAM_WIDTH", "MAX_SEED", "batches_side_by_side", "check_sentences",
           "check_settings", "check_unicode"]

# The widest beam a translator takes: a beam's memory grows with its width, and a width of
# thousands fills a machine's memory even on the tiny model. Seeds are int64; the command
# line takes up to MAX_SEED, since it offsets the seed by each line's index.
MAX_BEAM_WIDTH = 64
MAX_SEED = 2**62


def check_settings(temperature: float = 0.0, top_k: int = 0, seed: int = 0,
                   beam_width: int = 1, names: dict[str, str] | None = None) -> None:
    """Raises an InputError naming the first decoding setting out of its range: a temperature
    that is negative or not finite, a negative ``top_k`` (one above the vocabulary samples
    among all tokens), a seed outside int64's 0..2**63 - 1, a beam width outside
    1..MAX_BEAM_WIDTH. ``names``: what to call a setting in the message (a command line's
    option, say ``{"top_k": "--top-k"}``)."""
    name = {"temperature": "temperature", "top_k": "top_k", "seed": "seed",
            "beam_width": "beam width", **(names or {})}
    if not math.isfinite(temperature) or temperature < 0:
        raise InputError(f"{name['temperature']} must be a finite number, 0 or more; "
                         f"received {temperature}")
    if top_k < 0:
        raise InputError(f"{name['top_k']} must be 0 (all tokens) or more; received {top_k}")
    if not 0 <= seed < 2**63:
        raise InputError(f"{name['seed']} must be between 0 and 2**63 - 1; received {seed}")
    if not 1 <= beam_width <= MAX_BEAM_WIDTH:
        raise InputError(f"{name['beam_width']} must be between 1 and {MAX_BEAM_WIDTH}; "
                         f"received {beam_width}")


def check_sentences(texts, name: str = "sentence") -> list[str]:
    """Returns ``texts`` as a list of strings: what a translator or a text classifier
    takes. Empty strings are allowed (they get an empty answer).

    Raises:
        InputError: a lone string (wrap it as ``[text]``), an item that is not a string, or
            text that is not valid Unicode; the message names the item (``name`` N).
    """
    if isinstance(texts, str):
        raise InputError(f"give a list of {name}s; wrap one {name} as [{name}]")
    texts = list(texts)
    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise InputError(f"{name} {number} is a {type(text).__name__}, not a string: "
                             f"{text!r:.60}")
        check_unicode(text, f"{name} {number}")
    return texts


def check_unicode(text: str, name: str) -> None:
    """Raises an InputError if ``text`` cannot be written as UTF-8 (it holds a lone
    surrogate, as undecodable bytes in a command-line argument become)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(f"{name} is not valid Unicode text (a lone surrogate at character "
                         f"{error.start}); pass UTF-8 text") from None


def batches_side_by_side(items: Sequence, lengths: Sequence[int], batch_size: int,
                         run: Callable[[list], object]) -> Iterator[tuple[list[int], object]]:
    """``(indices, run(batch))`` for ``items`` in batches of ``batch_size`` of like
    ``lengths`` (shortest first: less padding, and a decoding loop ends with its batch's
    longest row), the batches run side by side, one a core (``decoding_threads``), and
    yielded in that order.

    A decoding step is a chain of small ops that keeps one core busy (see
    :func:`common.machine.settings_for_decoding`); ``translate`` and ``evaluate`` decode so.
    """
    order = sorted(range(len(items)), key=lambda i: lengths[i])
    batches = [order[begin : begin + batch_size] for begin in range(0, len(order), batch_size)]
    with ThreadPoolExecutor(decoding_threads()) as pool:
        yield from zip(batches, pool.map(lambda rows: run([items[i] for i in rows]), batches),
                       strict=True)
