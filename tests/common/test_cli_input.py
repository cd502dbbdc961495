"""translate/predict input: the arguments, else standard input read as it arrives."""

import io
import os
import threading
import time

import pytest

from common.errors import UsageError
from common.lines import input_batches
from common.machine import decoding_threads


def test_arguments_come_in_batches_numbered_from_one():
    batches = list(input_batches([f"s{i}" for i in range(5)], batch_size=2))
    assert batches == [(1, ["s0", "s1"]), (3, ["s2", "s3"]), (5, ["s4"])]


def test_a_text_stream_in_memory_is_read_in_full_batches():
    stream = io.StringIO("a\nb\r\n\nc")
    assert list(input_batches([], 2, stream)) == [(1, ["a", "b"]), (3, ["", "c"])]


class _Pipe:
    """A real pipe: ``write`` from a thread, read by ``input_batches`` through the fd."""

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        self.reader = os.fdopen(self.read_fd, "rb")

    def fileno(self):
        return self.read_fd


def test_lines_arriving_one_by_one_are_answered_one_by_one():
    pipe, seen = _Pipe(), []

    def writer():
        for line in (b"uno\n", b"dos\n"):
            os.write(pipe.write_fd, line)
            deadline = time.time() + 10
            while len(seen) < (1 if line == b"uno\n" else 2) and time.time() < deadline:
                time.sleep(0.01)  # the next line only once this one was answered
        os.close(pipe.write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    for batch in input_batches([], 64, pipe):
        seen.append(batch)
    thread.join()
    assert seen == [(1, ["uno"]), (2, ["dos"])]


def test_lines_already_waiting_share_a_batch():
    pipe = _Pipe()
    os.write(pipe.write_fd, b"".join(f"line {i}\n".encode() for i in range(70)))
    os.close(pipe.write_fd)
    batches = list(input_batches([], 64, pipe))
    assert [(first, len(lines)) for first, lines in batches] == [(1, 64), (65, 6)]


def test_a_line_that_is_not_utf8_is_one_error_naming_it():
    pipe = _Pipe()
    os.write(pipe.write_fd, b"bien\n" + "café\n".encode("latin-1"))
    os.close(pipe.write_fd)
    batches = input_batches([], 64, pipe)
    assert next(batches) == (1, ["bien"])  # the good line before it is answered first
    with pytest.raises(UsageError, match="line 2 of standard input is not UTF-8"):
        next(batches)


def test_a_lone_surrogate_in_the_bytes_is_not_utf8():
    pipe = _Pipe()
    os.write(pipe.write_fd, b"ok\n\xed\xa0\x80\n")  # the UTF-8 shape of U+D800
    os.close(pipe.write_fd)
    with pytest.raises(UsageError, match="line 2"):
        list(input_batches([], 64, pipe))


def test_help_names_the_program_as_the_user_called_it(monkeypatch):
    from common.cli import program_name

    monkeypatch.setattr("sys.argv", ["/venv/bin/nmt-attention", "--help"])
    assert program_name("nmt_attention") == "nmt-attention"
    monkeypatch.setattr("sys.argv", ["/repo/nmt_attention/__main__.py", "--help"])
    assert program_name("nmt_attention") == "python -m nmt_attention"
    monkeypatch.setattr("sys.argv", ["/venv/bin/nmt-attention"])
    assert program_name("classify") == "python -m classify"  # another tutorial's script


class _Recorder:
    """A translator that upper-cases and records the batches it was given; its first two
    batches each wait for the other, so they finish only if they run side by side."""

    source_limit = 100

    def __init__(self):
        self.batches = []
        self.meeting = threading.Barrier(2, timeout=10)

    def run(self, texts, temperature=0.0, top_k=0, seed=0, beam_width=1):
        import numpy as np

        self.batches.append(list(texts))
        if len(self.batches) <= 2:
            self.meeting.wait()
        return {"translation": np.array([t.upper().encode() for t in texts], dtype=object),
                "translated": np.array([bool(t.strip()) for t in texts])}

    def source_lengths(self, texts):
        return [len(t.split()) for t in texts]


@pytest.mark.skipif(decoding_threads() < 2, reason="side by side needs two cores")
def test_waiting_lines_are_decoded_by_length_and_answered_in_order(capsys):
    """translate sorts the lines of a window by length into batches (less padding, shorter
    loops), decodes them side by side, and still prints one answer a line, in the input's
    order."""
    import argparse

    from common.lines import translate_lines

    lines = [" ".join(["w"] * n) + f" {i}" for i, n in enumerate([9, 1, 5, 1, 9, 3, 7, 2])]
    recorder = _Recorder()
    args = argparse.Namespace(sentences=lines, temperature=0.0, top_k=0, beam=1, seed=0)
    translate_lines(lambda: recorder, args, batch_size=3)
    assert capsys.readouterr().out.splitlines() == [line.upper() for line in lines]
    batches = sorted(recorder.batches, key=lambda batch: len(batch[0]))  # finished in any order
    flat = [line for batch in batches for line in batch]
    assert sorted(flat) == sorted(lines) and [len(b) for b in batches] == [3, 3, 2]
    assert [len(line) for line in flat] == sorted(len(line) for line in lines)


class _Seeds(_Recorder):
    """A translator that answers each line with the seed it was sampled with."""

    def run(self, texts, temperature=0.0, top_k=0, seed=0, beam_width=1):
        import numpy as np

        return {"translation": np.array([f"{t} {seed}".encode() for t in texts], dtype=object),
                "translated": np.array([True] * len(texts))}


def test_sampled_lines_draw_with_the_seed_of_their_line_number_and_answer_in_order(capsys):
    """Each sampled line is its own call, seeded --seed + its index (so a line's draw does
    not depend on its neighbours); the calls run side by side and the answers keep order."""
    import argparse

    from common.lines import translate_lines

    lines = [f"line{i}" for i in range(40)]
    args = argparse.Namespace(sentences=lines, temperature=0.7, top_k=0, beam=1, seed=100)
    translate_lines(lambda: _Seeds(), args, batch_size=8)
    assert capsys.readouterr().out.splitlines() == [f"line{i} {100 + i}" for i in range(40)]


class _Lengths(_Recorder):
    """A translator that answers each line with its length in characters, and records
    the lengths of what ``source_lengths`` was asked to tokenize."""

    def __init__(self):
        super().__init__()
        self.tokenized = []

    def run(self, texts, temperature=0.0, top_k=0, seed=0, beam_width=1):
        import numpy as np

        return {"translation": np.array([str(len(t)).encode() for t in texts], dtype=object),
                "translated": np.array([True] * len(texts))}

    def source_lengths(self, texts):
        self.tokenized += [len(t) for t in texts]
        return super().source_lengths(texts)


def test_a_line_of_megabytes_is_cut_before_it_is_tokenized(capsys):
    """A translator reads its first ``source_limit`` tokens: a line over 100 characters a
    token is cut to that before anything reads it whole, with a note."""
    import argparse

    from common.lines import CHARACTERS_A_TOKEN, translate_lines

    limit = _Lengths.source_limit * CHARACTERS_A_TOKEN
    lines = ["a short line", "w " * 2_000_000, "x" * limit]
    translator = _Lengths()
    args = argparse.Namespace(sentences=lines, temperature=0.0, top_k=0, beam=1, seed=0)
    translate_lines(lambda: translator, args)
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["12", str(limit), str(limit)]
    assert max(translator.tokenized) == limit
    assert captured.err.splitlines() == [
        f"note: line 2 is 4,000,000 characters long; it was cut to its first {limit:,} before "
        "it was translated"]
