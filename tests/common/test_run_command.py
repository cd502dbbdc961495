"""What a command's failure prints: a user's mistake or a write the file system refuses is
one line and exit 2; a bug keeps its traceback."""

import argparse
import errno
import os

import pytest

from common.cli import run_command
from common.errors import UsageError
from common.files import as_refused_write


def _run(raise_it) -> int:
    return run_command({"go": lambda args: raise_it()}, argparse.Namespace(command="go"))


def _write_to_a_full_disk():
    try:
        with open("/dev/full", "w") as f:  # Linux's always-full device: a real ENOSPC
            f.write("x")
            f.flush()
    except OSError as error:  # as the package's atomic writes raise it: naming the file
        raise as_refused_write(error, "/dev/full") from error


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="Linux's /dev/full")
def test_a_full_disk_is_one_line_naming_the_file_and_what_to_do(capsys):
    assert _run(_write_to_a_full_disk) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot write /dev/full: the disk "
                                                   "is full.")
    assert "run the command again (train: with --resume)" in err


@pytest.mark.parametrize("code,start", [
    (errno.EROFS, "cannot write /runs/r/plots/a.png: the file system is read-only."),
    (errno.EDQUOT, "cannot write /runs/r/plots/a.png: the disk quota is used up."),
    (errno.EACCES, "permission denied: /runs/r/plots/a.png: give this user access"),
])
def test_a_refused_file_is_one_line(code, start, capsys):
    def refused():
        raise OSError(code, os.strerror(code), "/runs/r/plots/a.png")

    assert _run(refused) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {start}") and err.count("\n") == 1


def test_a_user_error_is_one_line_and_another_os_error_is_a_bug(capsys):
    def mistake():
        raise UsageError("--beam must be 1 or more")

    assert _run(mistake) == 2
    assert capsys.readouterr().err == "error: --beam must be 1 or more\n"

    def bug():
        raise OSError(errno.EBADF, "Bad file descriptor", "/x")

    with pytest.raises(OSError, match="Bad file descriptor"):
        _run(bug)

    def nameless():  # a refusal with no file named is not the user's to mend
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError):
        _run(nameless)


def test_a_missing_tensorflow_says_what_to_install(capsys):
    """Where only the inference part is installed: a command that needs TensorFlow is one
    line naming the extra; any other missing module is a bug and keeps its traceback."""
    def needs(name):
        def go():
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return go

    assert _run(needs("tensorflow")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "attention-tutorials[tensorflow]"' in err[0]
    assert _run(needs("keras.src")) == 2
    with pytest.raises(ModuleNotFoundError):
        _run(needs("no_such_module"))
