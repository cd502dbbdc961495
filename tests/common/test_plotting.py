import numpy as np
import pytest
from matplotlib.figure import Figure

from common.plotting import (
    attention_figure,
    comparison_figure,
    confusion_matrix_figure,
    history_figure,
    image_attention_figure,
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


def test_classification_figures_check_their_inputs(tmp_path):
    figure = confusion_matrix_figure(np.array([[5, 1], [0, 7]]), ["animal", "person"])
    assert save_figure(figure, tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="3 labels"):
        confusion_matrix_figure(np.zeros([2, 2]), ["a", "b", "c"])
    figure = image_attention_figure(np.random.rand(8, 8, 1), np.full([2, 2], 0.25))
    assert len(figure.axes) == 4  # three panels and a colour bar
    with pytest.raises(ValueError, match="does not tile"):
        image_attention_figure(np.zeros([8, 8]), np.zeros([3, 3]))
    figure = comparison_figure(["a", "b"], [0.9, 0.5], [[0.1, 0.0], [0.05, 0.0]],
                               [[0.8, 0.95], [0.5, 0.5]], chance=0.5)
    assert figure.axes[0].get_ylabel() == "test accuracy"
