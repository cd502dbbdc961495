"""Each tutorial runs top to bottom as a notebook at the tiny scale, and its cells that claim
"by hand == layer" really compared the two (the checks they recorded, with the largest
difference each found)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"
sys.path.insert(0, str(TUTORIALS))

import render  # noqa: E402 (tutorials/render.py)

from common.explorer_file import data_in, page_in  # noqa: E402

pytestmark = pytest.mark.slow

# The equalities each tutorial must have checked (name fragments of lesson.check calls).
CLAIMS = {
    "01_attention_seq2seq": ["by hand == CrossAttention weights", "CrossAttention output",
                             "projected dot-product", "values are the encoder states",
                             "general:", "additive:", "combine=add by hand",
                             "combine=concat by hand", "without sqrt(d_k)"],
    "02_transformer": ["dot(PE[p], PE[p+1])", "dot(PE[p], PE[p+100])",
                       "encoder layer 1, head 1: weights by hand", "concatenate the heads",
                       "heads of width 16: concatenation", "heads of width 8: concatenation",
                       "heads of width 2: concatenation",
                       "== keras.layers.MultiHeadAttention", "encoder layer 1 by hand",
                       "unchanged when token 6 changes", "cross-attention weights by hand",
                       "decoder layer 1 by hand", "Linear by hand", "sum to 1",
                       "the argmax at every step", "cached tokens", "cached logits",
                       "a lower temperature, a lower entropy"],
    "03_classification": ["mean pooling ==", "[CLS] pooling ==", "shuffled words give the same",
                          "causal: the positions before", "bidirectional: every position",
                          "segment ids by hand", "WordPiece by hand == the tokenizer",
                          "then 80/10/10", "== PatchEmbedding",
                          "rollout by hand", "mean pooling keeps 1/length"],
}


STATISTICAL = {"then 80/10/10": 0.01}  # shares counted over 128,000 tokens
LOOSE = {"cached logits": 1e-3, "Linear by hand": 1e-3}
# The attention explorers each shows inline (lesson.explorer), and the sentence each opens on.
EXPLORERS = {"01_attention_seq2seq": {"01_explorer": "¿Todavía está en casa?"},
             "02_transformer": {"02_explorer": "¿Todavía está en casa?"},
             "03_classification": {"03_bert_explorer": None, "03_vit_explorer": None}}


_RUN = """
import sys
sys.path.insert(0, sys.argv[1])
import nbformat, render
report = "import json, lesson; print('CHECKS=' + json.dumps(lesson.CHECKS))"
book = render.execute(render.HERE / (sys.argv[2] + ".py"), scale="tiny", timeout=600,
                      extra_cells=(report,))
nbformat.write(book, sys.argv[3])
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory, tiny_run_exported, tiny_transformer_run_exported,
             tiny_bert_run_exported, tiny_vit_run_exported):
    """Every tutorial executed as a notebook at the tiny scale, all at once, each in its own
    process (much of a notebook's time is one core's Python: two cores run three at once in
    about the time of the longest).

    The runs the suite trains with the tiny presets anyway are put where the tutorials train
    theirs, so the notebooks reuse them as a second reading does (``lesson.train_or_resume``)
    rather than train the same models again, and with their exports, which the explorers
    read; the text classifiers of the pooling comparison and the BERT from scratch, which no
    other test trains, are trained in the notebook."""
    import shutil

    root = tmp_path_factory.mktemp("tutorials")
    for name, run in [("nmt_attention", tiny_run_exported),
                      ("transformer", tiny_transformer_run_exported),
                      ("bert", tiny_bert_run_exported), ("vit", tiny_vit_run_exported)]:
        shutil.copytree(run, root / "runs" / name)
    env = {**os.environ, "TUTORIAL_RUNS": str(root / "runs"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    processes = {name: (root / f"{name}.ipynb", subprocess.Popen(
        [sys.executable, "-c", _RUN, str(TUTORIALS), name, str(root / f"{name}.ipynb")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for name in sorted(CLAIMS)}
    return processes


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_the_tutorial_runs_as_a_notebook_and_checks_its_claims(name, executed):
    import nbformat

    path, process = executed[name]
    _, errors = process.communicate(timeout=900)
    assert process.returncode == 0, f"{name} failed as a notebook:\n{errors[-6000:]}"
    book = nbformat.read(path, as_version=4)
    printed = "".join(o.get("text", "") for o in book.cells[-1].outputs)
    checks = json.loads(printed.split("CHECKS=", 1)[1])
    for claim in CLAIMS[name]:
        found = [value for key, value in checks.items() if claim in key]
        assert found, f"{name} never checked {claim!r}; it checked {sorted(checks)}"
        # float32 sums agree to 1e-4 (the bound) but for the logits and the cache
        # (1e-3: a 128-wide sum of larger values); the masking shares are measured frequencies.
        bound = STATISTICAL.get(claim, LOOSE.get(claim, 1e-4))
        assert all(value <= bound for value in found), (claim, found)
    figures = sum(1 for cell in book.cells if cell.cell_type == "code"
                  for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
    assert figures >= 2, f"{name} showed {figures} figures inline"
    explorers = {o["metadata"]["attention-explorer"]: o["data"]["text/html"]
                 for cell in book.cells if cell.cell_type == "code"
                 for o in cell.get("outputs", []) if "attention-explorer" in o.get("metadata", {})}
    assert sorted(explorers) == sorted(EXPLORERS[name])
    for explorer, first in EXPLORERS[name].items():
        data = data_in(page_in(explorers[explorer]))
        assert len(data["answers"]) > 3 and data["info"]["trained_on"].startswith("Trained on")
        if first:
            assert data["answers"][0]["text"] == first


def test_every_tutorial_is_tested():
    assert sorted(p.stem for p in render.tutorials()) == sorted(CLAIMS)


def test_a_rendering_holds_the_prose_the_outputs_and_the_figures(tmp_path, monkeypatch):
    source = tmp_path / "99_small.py"
    source.write_text(
        "# %% [markdown]\n# # A small tutorial\n# Some prose.\n\n"
        "# %%\nimport lesson\nfrom matplotlib.figure import Figure\n\n"
        "figure = Figure(figsize=(3, 2))\nfigure.add_subplot().plot([0, 1], [1, 0])\n"
        "print('printed by a cell')\nlesson.show(figure, 'small')\n\n"
        "# %%\nfrom common.explorer_file import ExplorerView, explorer_page\n"
        "lesson.explorer(ExplorerView(explorer_page({'kind': 'translator'}, [])), 'explored')\n",
        encoding="utf-8")
    monkeypatch.setenv("TUTORIAL_SCALE", "tiny")
    page = render.render(source, out=tmp_path / "docs")
    text = page.read_text(encoding="utf-8")
    assert "# A small tutorial" in text and "printed by a cell" in text
    assert "TUTORIAL_SCALE=tiny make docs" in text and "Rendered 20" in text
    figure, explorer = sorted((tmp_path / "docs" / "99_small_files").iterdir(),
                              key=lambda path: path.suffix != ".png")
    assert figure.read_bytes()[:4] == b"\x89PNG" and f"99_small_files/{figure.name}" in text
    # The explorer: a file of its own beside the page, linked; no iframe in the Markdown.
    assert explorer.name == "explored.html" and "(99_small_files/explored.html)" in text
    assert '<script type="application/json" id="embedded">' in explorer.read_text("utf-8")
    assert "<iframe" not in text
