import numpy as np
import pytest
from matplotlib.figure import Figure

from common.plotting import (
    attention_figure,
    history_figure,
    positional_encoding_figure,
    save_figure,
)
from common.positional_encoding import positional_encoding


def test_attention_figure_labels_tokens_on_both_axes(tmp_path):
    weights = np.full((3, 4), 0.25)
    fig = attention_figure(weights, ["[START]", "hola", ".", "[END]"], ["hi", ".", "[END]"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["[START]", "hola", ".", "[END]"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hi", ".", "[END]"]
    assert "source" in ax.get_xlabel() and "output" in ax.get_ylabel()
    path = save_figure(fig, tmp_path / "plots" / "a.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(path.parent.iterdir()) == [path]


def test_attention_figure_rejects_mismatched_tokens():
    with pytest.raises(ValueError, match="shape"):
        attention_figure(np.zeros((2, 2)), ["a"], ["b", "c"])


def test_history_and_positional_encoding_figures():
    fig = history_figure({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "masked_accuracy": [0.3,
                                                                                        0.6]})
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.lines]) == 2
    fig = positional_encoding_figure(positional_encoding(32, 16))
    assert {a.get_xlabel() for a in fig.axes} >= {"position"}
