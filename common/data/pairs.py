"""Loading sentence pairs: the tutorial's Anki/Tatoeba spa-eng file, or any two-column TSV.

The file format is ``English<TAB>Spanish`` one pair a line (extra columns, such as the
attribution column of manythings.org's files, are ignored). Nothing is downloaded unless
asked: :func:`download_spa_eng` fetches the tutorial's zip once into the Keras cache.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
import zlib
from pathlib import Path

from common.errors import DataError

__all__ = [
    "SPA_ENG_URL",
    "DataError",
    "LoadedPairs",
    "download_spa_eng",
    "load_pairs",
    "read_pairs_text",
]

SPA_ENG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
_SHOWN_LINE_NUMBERS = 10


@dataclasses.dataclass(frozen=True)
class LoadedPairs:
    """Pairs read from a file, and the lines that were not pairs.

    Attributes:
        english, spanish: the columns, aligned.
        malformed: (line number, reason) for every line skipped.
        source: where they came from.
    """

    english: list[str]
    spanish: list[str]
    malformed: list[tuple[int, str]]
    source: str

    def __len__(self) -> int:
        return len(self.english)

    def report(self) -> str:
        """One line: how many pairs, and which lines were skipped and why."""
        return f"read {len(self)} pairs from {self.source}" + skipped_lines(self.malformed)


def skipped_lines(malformed: list[tuple[int, str]]) -> str:
    """``"; skipped 2 malformed line(s) (3, 5): <first reason>"``, or ``""`` if none."""
    if not malformed:
        return ""
    shown = ", ".join(str(n) for n, _ in malformed[:_SHOWN_LINE_NUMBERS])
    more = " ..." if len(malformed) > _SHOWN_LINE_NUMBERS else ""
    return f"; skipped {len(malformed)} malformed line(s) ({shown}{more}): {malformed[0][1]}"


def read_pairs_text(text: str, source: str = "<text>") -> LoadedPairs:
    """Parses ``English<TAB>Spanish`` lines; blank lines are ignored, bad ones recorded."""
    english, spanish, malformed = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            malformed.append((number, "expected 'English<TAB>Spanish', found no tab"))
            continue
        en, es = columns[0].strip(), columns[1].strip()
        if not en or not es:
            malformed.append((number, "a column is empty"))
            continue
        english.append(en)
        spanish.append(es)
    if not english:
        raise DataError(
            f"{source} holds no 'English<TAB>Spanish' line; pass a file in the format of "
            "the tutorial's spa.txt"
        )
    return LoadedPairs(english, spanish, malformed, source)


def load_pairs(path: str | os.PathLike) -> LoadedPairs:
    """Reads pairs from a UTF-8 ``.txt``/``.tsv`` file or a ``.zip`` holding one.

    In a zip, ``spa.txt`` is preferred, else the only ``.txt`` member.

    Raises:
        DataError: missing or empty file, not UTF-8, no usable line, or a zip without text.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}; pass the path of spa.txt or spa-eng.zip")
    if path.is_dir():
        candidates = sorted(path.rglob("spa.txt")) or sorted(path.rglob("*.txt"))
        if not candidates:
            raise DataError(f"no .txt file in directory {path}; pass the file itself")
        path = candidates[0]
    if path.stat().st_size == 0:
        raise DataError(f"data file is empty: {path}")
    with open(path, "rb") as f:
        looks_zipped = f.read(4) == b"PK\x03\x04" or path.suffix.lower() == ".zip"
    if looks_zipped:
        raw, source = _read_zip(path)
    else:
        raw = path.read_bytes()
        source = str(path)
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=None).read()
    except UnicodeDecodeError as error:
        raise DataError(
            f"{source} is not UTF-8 text (byte {error.start}); convert it first, e.g. "
            f"iconv -f latin1 -t utf-8 {path.name} > {path.stem}.utf8.txt"
        ) from None
    return read_pairs_text(text, source)


def _read_zip(path: Path) -> tuple[bytes, str]:
    """The text member of a zip (``spa.txt``, else the only ``.txt``) and its name.

    Raises:
        DataError: a damaged or truncated archive, or one without a single text file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".txt")]
            preferred = [n for n in names if Path(n).name == "spa.txt"]
            chosen = preferred or names
            if len(chosen) != 1:
                raise DataError(
                    f"{path} should hold spa.txt or exactly one .txt file; it holds {names}"
                )
            return archive.read(chosen[0]), f"{path}:{chosen[0]}"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise DataError(
            f"{path} is a damaged zip archive ({type(error).__name__}: {error}); download it "
            "again, or pass the unpacked spa.txt with --data") from None


def download_spa_eng(cache_dir: str | None = None) -> Path:
    """Downloads the tutorial's spa-eng.zip once (Keras cache) and returns spa.txt's path.

    Raises:
        DataError: when the download fails (offline); the message says how to pass a file.
    """
    import keras  # imported here: loading data should not need TensorFlow otherwise

    try:
        archive = keras.utils.get_file(
            "spa-eng.zip", origin=SPA_ENG_URL, extract=True, cache_dir=cache_dir
        )
    except Exception as error:  # noqa: BLE001 - any network failure gets the same advice
        raise DataError(
            f"could not download {SPA_ENG_URL} ({type(error).__name__}); download it "
            "elsewhere and pass it with --data PATH (spa-eng.zip or spa.txt)"
        ) from None
    return Path(archive)
