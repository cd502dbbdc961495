"""The attention explorer away from a server: inline in a notebook (:func:`explorer_view`)
and as one file (its ``save``: ``python -m TUTORIAL plot --run DIR --html OUT.html
SENTENCE``). Both are the served explorer's page and script (``common/explorer/``) with the
style, the script and the model's answers for some sentences (or images) written in, so
that they open with no server and no network: one view, three places.

What a first visit needs to learn from the page (what the run was trained on, examples of
its test split to click) is the run's *notes*: :func:`translation_notes`,
:func:`text_notes`, :func:`image_notes`; ``serve`` shows the same."""

from __future__ import annotations

import html
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from common.errors import DataError, UsageError
from common.files import atomic_write_text
from common.serving import EXPLORER, ServedTranslator, load_served

__all__ = ["LECTURE_SENTENCE", "ExplorerView", "data_in", "data_name", "explorer_page",
           "explorer_view", "image_notes", "notes_from", "out_of_reach", "page_in", "page_path",
           "pixels", "text_notes", "translation_notes"]

LECTURE_SENTENCE = "¿Todavía está en casa?"
_STYLE = '<link rel="stylesheet" href="/static/explorer.css">'
_SCRIPT = '<script src="/static/explorer.js"></script>'
_EMBEDDED = re.compile(r'<script type="application/json" id="embedded">(.*?)</script>', re.S)
_SRCDOC = re.compile(r'srcdoc="([^"]*)"')
# The data sets only a download gives, by the name of what Keras keeps of each in its cache:
# the notes read them only when they are there, never over the network.
_DOWNLOADED = {"download": "spa-eng*", "imdb": "imdb*", "mnist": "mnist*",
               "cifar10": "cifar-10*"}
_NAMES = {"download": "the tutorial's spa-eng.zip", "imdb": "IMDB reviews", "mnist": "MNIST",
          "generated-pairs": "generated sentence pairs",
          "cifar10": "CIFAR-10", "digits": "the bundled 8 x 8 digits"}


def data_name(data: str, generated: str) -> str:
    """How the page names a run's ``data`` (a config's: a file, or a data set's name);
    ``generated`` names the generated data of that kind."""
    return generated if data == "generated" else _NAMES.get(data, Path(data).name)


def out_of_reach(data: str) -> str | None:
    """Why a run's ``data`` cannot be read here without the network or at all (a download
    not in Keras's cache, a file since moved), or None when it can."""
    if data in _DOWNLOADED:
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
        if not any(cache.glob(_DOWNLOADED[data])):
            return f"{data_name(data, data)} is not in Keras's cache ({cache})"
        return None
    if data not in ("generated", "generated-pairs", "digits") and not Path(data).is_file():
        return f"{data} is not there"
    return None


def notes_from(data: str, source: str, read: Callable[[], dict]) -> dict:
    """A run's notes: ``read()`` (which reads its ``data``), or, when the data is out of
    reach (:func:`out_of_reach`) or cannot be read, only what it was trained on (``source``,
    as :func:`data_name` says it), the reason on stderr: the network is never asked."""
    why = out_of_reach(data)
    if why is None:
        try:
            return read()
        except (DataError, OSError) as error:
            why = str(error)
    print(f"no examples to offer: {why}", file=sys.stderr)
    return {"trained_on": f"Trained on {source} ({why}: no examples to offer)."}


def page_path(path: str | Path) -> Path:
    """``path`` checked as where to write a page, before any work.

    Raises:
        UsageError: its folder does not exist, or it is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give the file to write, like {path / 'x.html'}")
    if not path.parent.is_dir():
        raise UsageError(f"no folder {path.parent} to write {path.name} into: make it first, "
                         "or give another path")
    return path


def page_in(html_text: str) -> str:
    """The explorer page an :class:`ExplorerView`'s HTML (a notebook output) holds."""
    return html.unescape(_SRCDOC.search(html_text).group(1))


def data_in(page: str) -> dict:
    """``{"info", "answers"}``: what an explorer page (:func:`explorer_page`) holds."""
    return json.loads(_EMBEDDED.search(page).group(1).replace("<\\/", "</"))


def _spread(items: Sequence, count: int) -> list:
    """``count`` of ``items`` spread evenly over them (every k-th), in order."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def translation_notes(corpus, data: str, count: int = 6, max_words: int = 10) -> dict:
    """What a translator's explorer says first: what it was trained on (``corpus``, read from
    ``data``: ``"generated"``, ``"download"`` or a file) and sentences to click, the lecture's
    first, then ``count`` from the test split (at most ``max_words`` words, spread over it)."""
    source = data_name(data, "the generated corpus")
    train, test = corpus.part("train")[0], corpus.part("test")[0]
    short = [s for s in test if len(s.split()) <= max_words] or test
    examples = [LECTURE_SENTENCE] + [s for s in _spread(short, count) if s != LECTURE_SENTENCE]
    seen = "is among them" if LECTURE_SENTENCE in set(train) else "is not among them"
    return {"trained_on": f"Trained on the training split of {source}: {len(train):,} "
                          f"Spanish-English pairs (the lecture's sentence, first below, {seen}). "
                          f"The other examples come from the test split ({len(test):,} pairs), "
                          "never trained on.",
            "examples": examples, "lecture_first": True}


def text_notes(source: str, train: int, test_texts: Sequence[str], count: int = 6,
               max_words: int = 16) -> dict:
    """A text classifier's: what it was trained on and ``count`` test sentences."""
    short = [t for t in test_texts if len(t.split()) <= max_words] or list(test_texts)
    return {"trained_on": f"Trained on {source}: {train:,} labelled sentences. The examples "
                          f"are from the test split ({len(test_texts):,}), never trained on.",
            "examples": _spread(short, count)}


def pixels(image: np.ndarray) -> list:
    """An image as a page holds it: nested lists of pixels rounded to 3 decimals."""
    return np.round(np.asarray(image, np.float64), 3).tolist()


def image_notes(source: str, train: int, images: np.ndarray, labels: Sequence[str],
                count: int = 8) -> dict:
    """An image classifier's: what it was trained on and ``count`` test images
    (:func:`pixels`), with their true labels."""
    chosen = _spread(range(len(images)), count)
    examples = [{"image": pixels(images[i]), "label": str(labels[i])} for i in chosen]
    return {"trained_on": f"Trained on {source}: {train:,} labelled images. The examples are "
                          f"from the test split ({len(images):,}), never trained on.",
            "examples": examples}


def explorer_page(info: dict, answers: Sequence[dict]) -> str:
    """The explorer's page with its style and script inlined and ``{"info": info,
    "answers": answers}`` embedded (each answer ``{"text", "result"}``, or ``{"image",
    "result"}``, ``result`` as the server's ``POST /translate`` or ``/classify`` gives it):
    the script reads these rather than ask a server."""
    page = (EXPLORER / "index.html").read_text(encoding="utf-8")
    style = (EXPLORER / "explorer.css").read_text(encoding="utf-8")
    script = (EXPLORER / "explorer.js").read_text(encoding="utf-8")
    # "</" cannot end the JSON's script element early once written "<\/" (the same JSON).
    data = json.dumps({"info": info, "answers": list(answers)}, ensure_ascii=False)
    data = data.replace("</", "<\\/")
    for tag in (_STYLE, _SCRIPT):
        if page.count(tag) != 1:
            raise RuntimeError(f"{EXPLORER / 'index.html'} no longer holds {tag} once")
    page = page.replace(_STYLE, f"<style>\n{style}</style>")
    return page.replace(_SCRIPT, f'<script type="application/json" id="embedded">{data}'
                                 f"</script>\n<script>\n{script}</script>")


def _answers(served, sentences: Sequence[str], notes: dict) -> tuple[dict, list[dict]]:
    """The page's info and what ``served`` answers (greedy, every attention map) for
    ``sentences`` and the notes' examples."""
    info = {**served.info(), **notes}
    if served.kind == "image-classifier":
        images = [example["image"] for example in notes.get("examples", [])]
        if not images:
            raise UsageError("no image to show: give an IMAGE (the run's test images are not "
                             "at hand)")
        results = served.run((True,), [served.check_image(image) for image in images])
        return info, [{"image": image, "result": result}
                      for image, result in zip(images, results, strict=True)]
    examples = notes.get("examples", [])
    lead = examples[:1] if notes.get("lecture_first") else []
    # The sentences asked for are offered beside the examples (after the lecture's).
    info["examples"] = list(dict.fromkeys([*lead, *sentences, *examples]))
    texts = list(dict.fromkeys([*sentences, *examples]))
    if not texts:
        raise ValueError("no sentence to hold: give one")
    key = (1, 0.0, 0, 0, True) if isinstance(served, ServedTranslator) else (True,)
    results = served.run(key, texts)
    return info, [{"text": text, "result": result}
                  for text, result in zip(texts, results, strict=True)]


class ExplorerView:
    """The explorer inline in a notebook cell: an ``<iframe>`` whose ``srcdoc`` is the
    whole page (:func:`explorer_page`), so that its script and style stay inside it (two
    views in one notebook do not meet) and nothing is fetched. ``page`` is that HTML."""

    def __init__(self, page: str, height: int = 900):
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe class="attention-explorer" srcdoc="{html.escape(self.page)}" '
                f'style="width: 100%; height: {self.height}px; border: 1px solid #d5d9e4; '
                f'border-radius: 6px" title="attention explorer"></iframe>')

    def save(self, path: str | Path) -> Path:
        """Writes the page as a file of its own (what ``plot --html`` writes).

        Raises:
            UsageError: ``path`` is a folder, or its folder does not exist.
        """
        path = page_path(path)
        atomic_write_text(path, self.page)
        return path


def explorer_view(saved_model: str | Path, sentences: Sequence[str], name: str | None = None,
                  notes: dict | None = None, height: int = 900) -> ExplorerView:
    """The explorer holding what the SavedModel at ``saved_model`` answers (greedy, with
    every attention map, as the server would) for ``sentences`` and the ``notes``'
    examples; it opens on the first sentence (an image classifier's: on the first example
    image). A notebook shows it as the last line of a cell (or ``display(...)``)."""
    info, answers = _answers(load_served(saved_model, name), sentences, notes or {})
    return ExplorerView(explorer_page(info, answers), height)
