import numpy as np
import pytest
from matplotlib.figure import Figure

from common.plotting import (
    MAX_TOKEN_LABELS,
    attention_figure,
    attention_heads_figure,
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


def test_a_long_input_labels_every_kth_token_and_keeps_the_figure_readable(tmp_path):
    """256 tokens: every 6th labelled with its index (no overlap), the figure the size of a
    48-token one (it was 37,000 pixels wide)."""
    tokens = [f"w{i}" for i in range(256)]
    fig = attention_heads_figure(np.full((4, 256, 256), 1 / 256), tokens, tokens)
    short = attention_heads_figure(np.full((4, 48, 48), 1 / 48), tokens[:48], tokens[:48])
    assert tuple(fig.get_size_inches()) == tuple(short.get_size_inches())
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) <= MAX_TOKEN_LABELS
    assert labels[:3] == ["0:w0", "6:w6", "12:w12"] and list(ax.get_xticks()[:3]) == [0, 6, 12]
    assert "1 in 6 of 256" in fig.axes[-5].get_xlabel()
    single = attention_figure(np.full((10, 256), 1 / 256), tokens, tokens[:10])
    assert [t.get_text() for t in single.axes[0].get_yticklabels()] == tokens[:10]
    assert len(single.axes[0].get_xticklabels()) == 43
    assert save_figure(fig, tmp_path / "long.png").stat().st_size < 2_000_000


def test_attention_figure_rejects_mismatched_tokens():
    with pytest.raises(ValueError, match="shape"):
        attention_figure(np.zeros((2, 2)), ["a"], ["b", "c"])


def test_history_and_positional_encoding_figures():
    fig = history_figure({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "masked_accuracy": [0.3,
                                                                                        0.6]})
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.lines]) == 2
    # A loss within a decade keeps a linear axis, which labels several values; a loss that
    # falls 100-fold gets a log axis.
    assert fig.axes[0].get_yscale() == "linear"
    fig.canvas.draw()
    assert len([t for t in fig.axes[0].get_yticklabels() if t.get_text()]) >= 4
    steep = history_figure({"loss": [5.0, 0.5, 0.05], "val_loss": [5.0, 0.6, 0.1]})
    assert steep.axes[0].get_yscale() == "log"
    table = positional_encoding(300, 16)
    fig = positional_encoding_figure(table, near=50)
    assert {a.get_xlabel() for a in fig.axes} >= {"position"}
    near = fig.axes[1].images[0].get_array()  # the first 50 positions, every pixel readable
    assert near.shape == (50, 50)
    # The distance curve: cos(w_k d) summed over the 8 frequencies, over the 8 of them.
    omegas = 1.0 / 10000 ** (np.arange(8) / 8)
    (curve,) = fig.axes[2].lines
    np.testing.assert_allclose(curve.get_ydata()[:300],
                               np.cos(np.outer(np.arange(300), omegas)).mean(-1), atol=1e-5)


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
