"""Writing files so that nothing is lost: atomic writes (a crash keeps the old file),
folders published whole, and the demo's rule that it only ever replaces its own folder."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from common.errors import RunError

__all__ = ["DEMO_MARK", "PARTIAL", "as_refused_write", "atomic_save", "atomic_write_text",
           "refusals_naming",
           "claim_demo_folder", "publish_dir", "remove_partial_files", "slug"]

DEMO_MARK = ".made-by-demo"
PARTIAL = ".partial-"  # the name every file and folder being written starts with


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_save(path, write, ".tmp")


# The file system's refusals as the libraries that write for us word them (h5py's OSError
# carries no errno; TensorFlow raises its own errors): found in the message, by strerror.
_REFUSALS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)


def as_refused_write(error: BaseException, path: os.PathLike | str) -> OSError | None:
    """``error`` as an ``OSError`` with its errno, naming ``path`` (not a temporary name),
    when it is the file system refusing a write (a full disk, a read-only file system, a
    used-up quota), however the library that wrote worded it; else None."""
    if isinstance(error, OSError) and error.errno is not None:
        found = error.errno if error.errno in _REFUSALS else None
    else:
        message = str(error)
        found = next((code for code in _REFUSALS
                      if os.strerror(code) in message or f"errno = {code}," in message), None)
    return None if found is None else OSError(found, os.strerror(found), str(path))


@contextlib.contextmanager
def refusals_naming(path: os.PathLike | str):
    """Within it, a write the file system refuses is raised as :func:`as_refused_write`'s
    ``OSError`` naming ``path``; anything else passes unchanged."""
    try:
        yield
    except Exception as error:
        refused = as_refused_write(error, path)
        if refused is None:
            raise
        raise refused from error


def atomic_save(path: Path, save: Callable[[str], None], suffix: str) -> None:
    """Runs ``save(tmp)`` then renames: a crash mid-save keeps the previous file. A write
    the file system refuses is an ``OSError`` with its errno, whatever ``save`` raised
    (:func:`as_refused_write`)."""
    tmp = None
    try:
        with refusals_naming(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=PARTIAL, suffix=suffix)
            os.close(handle)
            save(tmp)
            os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def remove_partial_files(folder: Path, name: str = "") -> list[Path]:
    """Removes what a killed process left half-written in ``folder``: names starting with
    ``PARTIAL`` (then ``name``, to narrow it), which only this package writes; returns what
    it removed."""
    pattern = f"{PARTIAL}{name}*"
    removed = sorted(Path(folder).glob(pattern)) if Path(folder).is_dir() else []
    for path in removed:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    return removed


def claim_demo_folder(path: str | os.PathLike) -> Path:
    """An empty folder at ``path`` for a demo to write, marked as the demo's own.

    A folder an earlier demo made (it holds the mark) is replaced; a missing or empty one is
    made and marked. Anything else is a user's folder, and a demo never deletes those.

    Raises:
        RunError: ``path`` is a file, a link, or a folder with contents no demo made.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise RunError(f"{path} is not a folder; pass --run NEW_DIR for the demo's run")
    if path.exists() and any(path.iterdir()):
        if not (path / DEMO_MARK).is_file():
            raise RunError(
                f"{path} already holds files that no demo wrote; the demo will not replace "
                "it: pass --run NEW_DIR, or remove the folder yourself")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / DEMO_MARK).write_text("written by a demo, which may replace this folder\n")
    return path


def publish_dir(staging: Path, final: Path, marker: str = "saved_model.pb") -> None:
    """Moves a finished ``staging`` folder to ``final``, replacing an old export there; the
    old copy is removed only once the new one is in place.

    Raises:
        RunError: ``final`` exists and is not an export (a folder with ``marker`` in it, a
            SavedModel by default), or not a folder.
    """
    old = None
    if final.exists() or final.is_symlink():
        if (final.is_symlink() or not final.is_dir()
                or (any(final.iterdir()) and not (final / marker).exists())):
            kind = "a SavedModel" if marker == "saved_model.pb" else f"an export ({marker})"
            raise RunError(f"{final} exists and is not {kind}; it is left as it is: "
                           "export to another --out folder")
        old = final.with_name(f".{final.name}-old-{os.getpid()}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def slug(sentence: str, limit: int = 40) -> str:
    """A file-name piece from a sentence: ``¿Quién compró?`` -> ``quien-compro``."""
    ascii_text = unicodedata.normalize("NFKD", sentence).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit] or "sentence"
