"""Each tutorial runs top to bottom as a notebook at the tiny scale, and its cells that claim
"by hand == layer" really compared the two (the checks they recorded, with the largest
difference each found)."""

import json
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"
sys.path.insert(0, str(TUTORIALS))

import render  # noqa: E402 (tutorials/render.py)

pytestmark = pytest.mark.slow

# The equalities each tutorial must have checked (name fragments of lesson.check calls).
CLAIMS = {
    "01_attention_seq2seq": ["by hand == CrossAttention weights", "CrossAttention output",
                             "projected dot-product", "values are the encoder states",
                             "general:", "additive:", "combine=add by hand",
                             "combine=concat by hand"],
    "02_transformer": ["dot(PE[p], PE[p+1])", "dot(PE[p], PE[p+100])",
                       "self-attention weights by hand", "self-attention output by hand",
                       "head 0: weights", "head 1: weights", "concatenate the heads",
                       "== keras.layers.MultiHeadAttention", "unchanged when token 5 changes",
                       "cached tokens", "cached logits"],
    "03_classification": ["mean pooling ==", "[CLS] pooling ==", "shuffled words give the same",
                          "then 80/10/10", "== PatchEmbedding", "rollout by hand"],
}


STATISTICAL = {"then 80/10/10": 0.01}  # shares counted over 128,000 tokens


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_the_tutorial_runs_as_a_notebook_and_checks_its_claims(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_RUNS", str(tmp_path / "runs"))
    book = render.execute(TUTORIALS / f"{name}.py", scale="tiny", timeout=600, extra_cells=(
        "import json, lesson; print('CHECKS=' + json.dumps(lesson.CHECKS))",))
    printed = "".join(o.get("text", "") for o in book.cells[-1].outputs)
    checks = json.loads(printed.split("CHECKS=", 1)[1])
    for claim in CLAIMS[name]:
        found = [value for key, value in checks.items() if claim in key]
        assert found, f"{name} never checked {claim!r}; it checked {sorted(checks)}"
        # float32 sums agree to 1e-3 at worst; the masking shares are measured frequencies.
        bound = STATISTICAL.get(claim, 1e-3)
        assert all(value <= bound for value in found), (claim, found)
    figures = sum(1 for cell in book.cells if cell.cell_type == "code"
                  for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
    assert figures >= 2, f"{name} showed {figures} figures inline"


def test_every_tutorial_is_tested():
    assert sorted(p.stem for p in render.tutorials()) == sorted(CLAIMS)


def test_a_rendering_holds_the_prose_the_outputs_and_the_figures(tmp_path, monkeypatch):
    source = tmp_path / "99_small.py"
    source.write_text(
        "# %% [markdown]\n# # A small tutorial\n# Some prose.\n\n"
        "# %%\nimport lesson\nfrom matplotlib.figure import Figure\n\n"
        "figure = Figure(figsize=(3, 2))\nfigure.add_subplot().plot([0, 1], [1, 0])\n"
        "print('printed by a cell')\nlesson.show(figure, 'small')\n", encoding="utf-8")
    monkeypatch.setenv("TUTORIAL_SCALE", "tiny")
    page = render.render(source, out=tmp_path / "docs")
    text = page.read_text(encoding="utf-8")
    assert "# A small tutorial" in text and "printed by a cell" in text
    assert "TUTORIAL_SCALE=tiny make docs" in text and "Rendered 20" in text
    (figure,) = (tmp_path / "docs" / "99_small_files").iterdir()
    assert figure.read_bytes()[:4] == b"\x89PNG" and f"99_small_files/{figure.name}" in text
