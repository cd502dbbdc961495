"""The attention explorer as one file: the page the server serves, with its style, its script
and the model's answers for some sentences written into it, so that it opens from disk in a
browser with no server and no network (``python -m TUTORIAL plot --run DIR --html OUT.html
SENTENCE``). The page and script are the served explorer's own (``common/explorer/``): one
view, two places."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from common.files import atomic_write_text
from common.serving import EXPLORER, ServedTranslator, load_served

__all__ = ["explorer_page", "write_explorer_file"]

_STYLE = '<link rel="stylesheet" href="/static/explorer.css">'
_SCRIPT = '<script src="/static/explorer.js"></script>'


def explorer_page(info: dict, answers: Sequence[dict]) -> str:
    """The explorer's page with its style and script inlined and ``{"info": info,
    "answers": answers}`` embedded (each answer ``{"text", "result"}``, ``result`` as the
    server's ``POST /translate`` or ``/classify`` gives it): the script reads these rather
    than ask a server."""
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


def write_explorer_file(saved_model: str | Path, sentences: Sequence[str], out: str | Path,
                        name: str | None = None) -> Path:
    """Writes ``out``: the explorer holding what the SavedModel at ``saved_model`` answers
    for each of ``sentences`` (greedy, with every attention map), as the server would."""
    served = load_served(saved_model, name)
    key = (1, 0.0, 0, 0, True) if isinstance(served, ServedTranslator) else (True,)
    results = served.run(key, list(sentences))
    answers = [{"text": text, "result": result}
               for text, result in zip(sentences, results, strict=True)]
    out = Path(out)
    atomic_write_text(out, explorer_page(served.info(), answers))
    return out
