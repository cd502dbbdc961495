"""Answering input one line at a time: the lines of ``translate`` and ``predict`` read as
they arrive (arguments, a pipe, a file), each line's translation printed in order, and a
note on stderr for each line that needs one."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable, Iterator

from common.errors import InputError, UsageError

__all__ = ["CHARACTERS_A_TOKEN", "SORT_WINDOW_BATCHES", "check_decoding", "cut_long_line",
           "input_batches", "note", "translate_lines"]


def check_decoding(args) -> None:
    """Refuses decoding settings no translator takes (``common.decoding.check_settings``),
    naming the option."""
    from common.inputs import MAX_SEED, check_settings

    if not 0 <= (getattr(args, "seed", 0) or 0) <= MAX_SEED:  # each line adds its index
        raise UsageError(f"--seed must be between 0 and 2**62; received {args.seed}")
    try:
        check_settings(getattr(args, "temperature", 0.0), getattr(args, "top_k", 0),
                       getattr(args, "seed", 0) or 0, args.beam,
                       names={"temperature": "--temperature", "top_k": "--top-k",
                              "seed": "--seed", "beam_width": "--beam"})
    except InputError as error:
        raise UsageError(str(error)) from None


def input_batches(arguments: list[str], batch_size: int = 64,
                  stream=None) -> Iterator[tuple[int, list[str]]]:
    """The inputs of ``translate``/``predict`` as ``(number of the first line, lines)``
    batches: the arguments, else standard input's lines **as they arrive**: a batch holds
    the lines already there (at most ``batch_size``), so a pipe that waits for each answer
    gets it, and a file is still read in full batches.

    Raises:
        UsageError: a line that is not UTF-8 (the lines before it are answered).
    """
    if arguments:
        for begin in range(0, len(arguments), batch_size):
            yield begin + 1, arguments[begin : begin + batch_size]
        return
    stream = sys.stdin if stream is None else stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a text stream in memory (tests)
        fd = None
    number, lines = 1, []
    for raw in (_raw_lines(fd, batch_size) if fd is not None
                else ([line] for line in stream)):
        for line in raw:
            if isinstance(line, bytes):
                try:
                    line = line.decode("utf-8")
                except UnicodeDecodeError as error:
                    bad = number + len(lines)
                    while lines:  # the lines before it are answered first
                        yield number, lines[:batch_size]
                        number, lines = number + len(lines[:batch_size]), lines[batch_size:]
                    raise UsageError(
                        f"line {bad} of standard input is not UTF-8 "
                        f"({error.reason} at byte {error.start}): convert the file, e.g. "
                        "iconv -f latin1 -t utf-8") from None
            lines.append(line.rstrip("\r\n"))
        while lines and (len(lines) >= batch_size or not _more_waiting(fd)):
            yield number, lines[:batch_size]
            number, lines = number + len(lines[:batch_size]), lines[batch_size:]
    if lines:
        yield number, lines


def _more_waiting(fd) -> bool:
    """Whether more input can be read from ``fd`` without waiting (False for memory)."""
    if fd is None:
        return True  # in memory everything is there: fill the batch
    return bool(select.select([fd], [], [], 0)[0])


def _raw_lines(fd: int, batch_size: int) -> Iterator[list[bytes]]:
    """Complete lines from ``fd`` as bytes, in the groups they arrived in."""
    pending = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield [pending]
            return
        *complete, pending = (pending + chunk).split(b"\n")
        if complete:
            yield complete


def note(message: str) -> None:
    """A remark about one input on stderr (the answer itself goes to stdout)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


# translate reads up to this many batches of waiting input at once and decodes them sorted by
# length: a batch of like lengths pads less and stops sooner (its longest row sets the loop).
SORT_WINDOW_BATCHES = 16


def translate_lines(load_translator: Callable[[], object], args, batch_size: int = 64) -> None:
    """Prints one translation a line of input (:func:`input_batches`), flushed, with the
    decoding settings of :func:`add_decoding_arguments` (checked before the model loads).

    Every input line gets exactly one output line, in order. Lines already waiting (up to
    ``SORT_WINDOW_BATCHES`` batches) are decoded in batches of like length in the model's
    tokens: less padding, and a batch's loop ends with its longest line; a line's
    translation is the same in any batch, even one that never writes [END] (it stops at its
    own limit: :func:`common.decoding.row_limits`). An empty line, or one with nothing to
    translate (punctuation only, or no word the model knows), gets an empty line and a note
    on stderr; a line longer than the model takes is translated from its first words, with
    a note. Sampled translations use seed ``--seed`` + the line's index, so a
    line's draw does not depend on how input was batched.
    """
    check_decoding(args)
    translator = load_translator()
    settings = dict(temperature=args.temperature, top_k=args.top_k, beam_width=args.beam)
    window = SORT_WINDOW_BATCHES * batch_size
    for first, lines in input_batches(args.sentences, window):
        _translate_window(translator, args, settings, first, lines, batch_size)


# No token is this many characters long on average: a line longer than its limit in tokens
# times this is cut before it is tokenized, which would otherwise read (and hold) all of a
# line of megabytes to keep its first words.
CHARACTERS_A_TOKEN = 100


def cut_long_line(line: str, token_limit: int) -> str:
    """``line`` cut to ``token_limit * CHARACTERS_A_TOKEN`` characters: what a model that
    reads its first ``token_limit`` tokens needs of it."""
    return line[: token_limit * CHARACTERS_A_TOKEN]


def _translate_window(translator, args, settings: dict, first: int, lines: list[str],
                      batch_size: int) -> None:
    """:func:`translate_lines` for the waiting ``lines``, the first numbered ``first``: their
    batches side by side (:func:`common.decoding.batches_side_by_side`)."""
    from common.inputs import batches_side_by_side, check_unicode

    translations, translated = [b""] * len(lines), [False] * len(lines)
    characters = [len(line) for line in lines]
    lines = [cut_long_line(line, translator.source_limit) for line in lines]
    for number, line in enumerate(lines, start=first):
        check_unicode(line, f"line {number}")
    lengths = translator.source_lengths(lines)  # in the model's tokens
    if args.temperature > 0 and args.beam == 1:  # one draw a line, seeded by its index
        def run(batch):
            (i,) = batch
            return translator.run([lines[i]], **settings, seed=args.seed + first - 1 + i)
        batches = batches_side_by_side(range(len(lines)), lengths, 1, run)
    else:
        batches = batches_side_by_side(
            lines, lengths, batch_size,
            lambda batch: translator.run(batch, **settings, seed=args.seed))
    for rows, result in batches:
        for row, text, ok in zip(rows, result["translation"], result["translated"],
                                 strict=True):
            translations[row], translated[row] = text, bool(ok)
    for number, line, text, ok, length, count in zip(
            range(first, first + len(lines)), lines, translations, translated, lengths,
            characters, strict=True):
        if not line.strip():
            note(f"line {number} is empty: an empty line out")
        elif not ok:
            note(f"line {number} has nothing to translate (no word the model knows, or "
                 "punctuation only): an empty line out")
        elif count > len(line):
            note(f"line {number} is {count:,} characters long; it was cut to its first "
                 f"{len(line):,} before it was translated")
        elif length > translator.source_limit:
            note(f"line {number} is {length} tokens long; its first "
                 f"{translator.source_limit} were translated")
        print(text.decode("utf-8"), flush=True)
