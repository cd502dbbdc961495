"""What the tutorials share: how much work a run does, where its data and runs live, checks
that print what they compared, and figures that show inline in a notebook and are saved as
files when a tutorial runs as a script.

``TUTORIAL_SCALE``: ``tiny`` (seconds, for tests), ``demo`` (the demo's presets on the
generated data, the default) or ``real`` (the tutorial presets on real data from
``TUTORIAL_DATA``, a folder holding ``spa-eng/`` and ``sst2/`` files or one file).
``TUTORIAL_MINUTES``: at the real scale, a training time limit for each run (0 or unset:
none). ``TUTORIAL_RUNS``: where runs are trained (default ``runs/tutorials/SCALE``); a run
already there is reused as it is, not trained further (delete it to train anew).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.files import atomic_write_text
from common.run_folder import RunFolder

SCALES = ("tiny", "demo", "real")
ROOT = Path(__file__).resolve().parent.parent
SCALE = os.environ.get("TUTORIAL_SCALE", "demo")
if SCALE not in SCALES:
    raise SystemExit(f"TUTORIAL_SCALE must be one of {list(SCALES)}, received {SCALE!r}")
CHECKS: dict[str, float] = {}  # what each "by hand == layer" cell measured
_DATA_FILES = {
    "spa-eng": ["spa-eng/spa.txt", "spa-eng/spa_train.txt", "spa.txt"],
    "sst2": ["sst2/train.tsv", "SST-2/train.tsv", "train.tsv"],
}


def data(kind: str) -> str:
    """The real data file of ``kind`` ("spa-eng" or "sst2") under ``TUTORIAL_DATA``."""
    where = os.environ.get("TUTORIAL_DATA")
    if not where:
        raise SystemExit("TUTORIAL_SCALE=real needs TUTORIAL_DATA=DIR: a folder with "
                         "spa-eng/spa.txt (or spa_train.txt) and sst2/train.tsv")
    folder = Path(where).expanduser().resolve()
    if folder.is_file():
        return str(folder)
    for name in _DATA_FILES[kind]:
        if (folder / name).is_file():
            return str(folder / name)
    raise SystemExit(f"no {kind} file in {folder} (looked for {', '.join(_DATA_FILES[kind])})")


def minutes() -> float:
    """``TUTORIAL_MINUTES`` (0.0 when unset): a real-scale run's time limit."""
    value = os.environ.get("TUTORIAL_MINUTES", "0")
    try:
        return max(float(value), 0.0)
    except ValueError:
        raise SystemExit(f"TUTORIAL_MINUTES must be a number, received {value!r}") from None


def run_dir(name: str) -> Path:
    """The folder a tutorial trains ``name`` into."""
    base = Path(os.environ.get("TUTORIAL_RUNS", ROOT / "runs" / "tutorials" / SCALE))
    return base / name


def _here(text: str) -> str:
    """``text`` without local paths (renderings show none): the checkout's path left out,
    the data folder's written ``$TUTORIAL_DATA``."""
    data = os.environ.get("TUTORIAL_DATA")
    if data:
        text = text.replace(str(Path(data).expanduser().resolve()), "$TUTORIAL_DATA")
    return text.replace(f"{ROOT}/", "")


def train_or_resume(train, config, folder: Path, **options):
    """Trains ``config`` into ``folder``; if a run is there already, reuses it as it is (no
    further training, even for a run a time limit stopped): re-running a tutorial, or
    rendering it again, costs no training. Delete the folder to train anew. The run's own log
    (data read, vocabularies, checkpoints) is kept out of the reading: ``TUTORIAL_LOG=1``
    prints it."""
    quiet = os.environ.get("TUTORIAL_LOG", "0") in ("", "0")
    options.setdefault("log", (lambda message: None) if quiet
                       else (lambda message: print(_here(message))))
    run = RunFolder(folder)
    if not run.state_path.exists():
        return train(config, folder, verbose=0, **options)
    finished = run.read_state().epoch
    saved = run.config_path.read_text(encoding="utf-8")
    result = train(config, folder, resume=True, epochs=finished, verbose=0, **options)
    atomic_write_text(run.config_path, saved)  # as it was trained
    return result


def held_out(corpus, count: int = 4) -> tuple[list[str], list[str]]:
    """``count`` test pairs of middling length (5 to 9 words; the real test split starts
    with one-word sentences): ``(spanish, english)``."""
    spanish, english = corpus.part("test")
    chosen = [i for i, text in enumerate(spanish) if 5 <= len(text.split()) <= 9][:count]
    chosen = chosen or list(range(min(count, len(spanish))))
    return [spanish[i] for i in chosen], [english[i] for i in chosen]


def show_translations(translator, sources: list[str], references: list[str]) -> None:
    """Each source with its reference, greedy and beam-4 translations."""
    greedy, beam = translator.translate(sources), translator.translate(sources, beam_width=4)
    for row in zip(sources, references, greedy, beam, strict=True):
        print("{}\n  reference: {}\n  greedy:    {}\n  beam 4:    {}".format(*row))


def check(name: str, got, want, atol: float = 1e-5) -> None:
    """Asserts ``got`` equals ``want`` to ``atol``; records and prints the largest
    difference (the tests read :data:`CHECKS` to see the comparison was made). Returns
    nothing, so a cell that ends with a check shows only its printed line."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shapes differ, {got.shape} vs {want.shape}")
    difference = float(np.max(np.abs(got - want))) if got.size else 0.0
    CHECKS[name] = difference
    print(f"{name}: largest difference {difference:.1e} (shape {got.shape})")
    if not difference <= atol:
        raise AssertionError(f"{name}: they differ by {difference:.3g} > {atol}")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def show_png(path: Path) -> None:
    """Shows a PNG file inline in a notebook; as a script, prints its path."""
    if _in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    else:
        print(f"figure: {path}")


def show(figure, name: str):
    """Shows ``figure`` (a matplotlib Figure) inline in a notebook; as a script, saves it to
    ``tutorials/figures/NAME.png`` and prints the path."""
    if _in_notebook():
        import io

        from IPython.display import Image, display

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        display(Image(data=buffer.getvalue(), format="png"))
    else:
        path = ROOT / "tutorials" / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        print(f"figure: {path}")


def explorer(view, name: str) -> None:
    """Shows an attention explorer (:class:`common.explorer_file.ExplorerView`) inline in a
    notebook, the data in the page: no server, no network (``make docs`` writes it beside
    the rendered page as ``NAME.html`` and links it); as a script, saves it to
    ``tutorials/figures/NAME.html`` and prints the path."""
    if _in_notebook():
        from IPython.display import display

        display(view, metadata={"attention-explorer": name})
    else:
        folder = ROOT / "tutorials" / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        path = view.save(folder / f"{name}.html")
        print(f"explorer: {path}")
