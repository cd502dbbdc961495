"""Runs the tutorials as notebooks and writes their reading: ``docs/tutorials/NAME.md`` with
the outputs and figures (``docs/tutorials/NAME_files/``). ``make docs`` runs it.

    python tutorials/render.py [NAME ...]

The scale is ``TUTORIAL_SCALE`` (default ``demo``; ``real`` with ``TUTORIAL_DATA``), as for
the tutorials themselves. Offline: nothing is downloaded.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from pathlib import Path

from common.explorer_file import page_in
from common.machine import machine_description

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "tutorials"
LIMIT_BYTES = 2_000_000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def tutorials() -> list[Path]:
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def notebook(path: Path):
    """The notebook of a tutorial script (jupytext percent format)."""
    import jupytext

    return jupytext.read(path)


def execute(path: Path, scale: str | None = None, extra_cells: tuple[str, ...] = (),
            timeout: int = 3600):
    """Runs the tutorial at ``path`` as a notebook (in ``tutorials/``, where ``lesson``
    lives), with ``extra_cells`` appended; raises on the first cell that fails."""
    import nbformat

    book = notebook(path)
    book.cells += [nbformat.v4.new_code_cell(code) for code in extra_cells]
    if scale is not None:
        os.environ["TUTORIAL_SCALE"] = scale
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return run_notebook(book, HERE, timeout)


def run_notebook(book, folder: Path, timeout: int = 600):
    """Executes the notebook ``book`` in ``folder`` (raising on the first cell that fails) on
    a Python kernel whose sockets are files in a folder of its own: kernels started side by
    side (the tests start several) cannot race for a TCP port, as they can over TCP."""
    import shutil
    import tempfile

    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    sockets = Path(tempfile.mkdtemp(prefix="kernel-"))
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "ipc"))
    try:
        NotebookClient(book, km=kernel, timeout=timeout,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:  # a kernel handed to nbclient is ours to stop
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return book


def render(path: Path, out: Path = OUT) -> Path:
    """Executes one tutorial and writes its Markdown reading into ``out``; returns the
    page's path."""
    from nbconvert import MarkdownExporter

    scale = os.environ.get("TUTORIAL_SCALE", "demo")
    name = path.stem
    started = datetime.datetime.now(datetime.UTC)
    book = execute(path)
    for cell in book.cells:  # no stderr noise (TensorFlow's logs) in the reading
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.name == "stderr")]
            for output in cell.outputs:
                if output.output_type == "stream":
                    output.text = _ANSI.sub("", output.text)
    files = out / f"{name}_files"
    explorers = _explorers_as_links(book, f"{name}_files")
    body, resources = MarkdownExporter().from_notebook_node(
        book, resources={"output_files_dir": f"{name}_files"})
    settings = f"TUTORIAL_SCALE={scale}"
    if scale == "real":
        data = Path(os.environ.get("TUTORIAL_DATA", "")).name
        settings += f" TUTORIAL_DATA=.../{data}"
        if os.environ.get("TUTORIAL_MINUTES"):
            settings += f" TUTORIAL_MINUTES={os.environ['TUTORIAL_MINUTES']}"
    where = "the real data" if scale == "real" else "the generated data"
    header = (f"<!-- Made by `make docs` from tutorials/{path.name}; do not edit. -->\n"
              f"*Rendered {started:%Y-%m-%d} on {machine_description()}, on {where}; command: "
              f"`{settings} make docs TUTORIALS={name}`; seeds fixed in the cells "
              f"(`keras.utils.set_random_seed(0)` and each config's `seed`). "
              f"Source: [tutorials/{path.name}](../../tutorials/{path.name}).*\n\n")
    files.mkdir(parents=True, exist_ok=True)
    for old in files.glob("output_*.png"):  # this script's figures from the last rendering
        old.unlink()
    for file_name, page in explorers.items():
        (files / file_name).write_text(page, encoding="utf-8")
    for file_name, content in resources.get("outputs", {}).items():
        (out / file_name).write_bytes(content)
    page = out / f"{name}.md"
    page.write_text(header + body, encoding="utf-8")
    # The page and its figures (the explorers beside it are pages of their own).
    size = page.stat().st_size + sum(f.stat().st_size for f in files.iterdir()
                                     if f.name not in explorers)
    if size > LIMIT_BYTES:
        raise SystemExit(f"{page} and its figures are {size:,} bytes, over {LIMIT_BYTES:,}")
    print(f"{page} ({size:,} bytes, {len(list(files.iterdir()))} figures)")
    return page


def _explorers_as_links(book, relative: str) -> dict[str, str]:
    """The attention explorers shown inline (``lesson.explorer``) as ``{file name: page}``,
    each output replaced by a link to that file: a rendered Markdown page (GitHub's) runs
    no script, but the file opens in a browser from disk."""
    pages = {}
    for cell in book.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("attention-explorer")
            if not name:
                continue
            pages[f"{name}.html"] = page_in(output["data"]["text/html"])
            output["data"] = {"text/markdown": (
                f"**[Open the attention explorer]({relative}/{name}.html)** (one HTML file: "
                "download it and open it in a browser; no server, no network). Hover a "
                "token: its row is where it looks. In Jupyter the explorer shows here.")}
            output["metadata"] = {}
    return pages


def main(names: list[str]) -> int:
    chosen = [p for p in tutorials() if not names or p.stem in names or p.name in names]
    if not chosen:
        print(f"no tutorial named {names}; there are {[p.stem for p in tutorials()]}",
              file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for path in chosen:
        render(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
