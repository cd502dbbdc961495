"""A run on a full disk or a read-only file system: every command that writes says so in one
line (exit 2), and nothing of the run is lost. On a real file system: a small tmpfs, mounted
for the test (Linux, as root; skipped elsewhere)."""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from common.files import as_refused_write, atomic_save


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs at ``tmp_path / "disk"``, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*"))
            if p.is_file()}


def _fill(disk: Path) -> None:
    """Writes zeros until the disk is full."""
    with open(disk / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC


def test_a_full_disk_and_a_read_only_run_are_one_line_and_lose_nothing(tiny_run, small_disk,
                                                                         capsys):
    from nmt_attention.cli import main

    run = small_disk / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("export", "plots"))
    before = _files(run)
    _fill(small_disk)
    for argv in (["export", "--run", str(run)], ["plot", "--run", str(run), "Ella come."]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: cannot write "), err
        assert "the disk is full" in err and "nothing already written was lost" in err.lower()
    (small_disk / "filler").unlink()
    assert {k: v for k, v in _files(run).items() if not k.startswith("plots/")} == before
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    for argv in (["export", "--run", str(run)],
                 ["evaluate", "--run", str(run), "--limit", "2"],
                 ["train", "--resume", "--run", str(run), "--epochs", "4"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err  # evaluate's progress lines, then the one error
        last = err.splitlines()[-1]
        assert "Traceback" not in err and err.count("error:") == 1, (argv, err)
        assert last.startswith("error: cannot write ") and "read-only" in last, (argv, err)
    assert {k: v for k, v in _files(run).items() if not k.startswith("plots/")} == before


def test_a_library_s_own_wording_of_a_full_disk_becomes_an_os_error(tmp_path):
    target = tmp_path / "w.h5"
    target.write_text("the previous weights")

    def h5py_like(path):  # h5py's words; its OSError has no errno
        raise OSError(f"Unable to synchronously create file (unable to open file: name = "
                      f"'{path}', errno = 28, error message = 'No space left on device')")

    with pytest.raises(OSError) as raised:
        atomic_save(target, h5py_like, ".h5")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert target.read_text() == "the previous weights"
    assert not [p for p in tmp_path.iterdir() if p.name != "w.h5"]  # no partial file left
    tf_like = RuntimeError("Failed to write: /x/variables.data; No space left on device")
    assert as_refused_write(tf_like, "/x").errno == errno.ENOSPC
    assert as_refused_write(RuntimeError("shape mismatch"), "/x") is None
    assert as_refused_write(OSError(errno.EBADF, "bad"), "/x") is None
