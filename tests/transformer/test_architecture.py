"""The architecture figure is read off the model: its classes, files and depth."""

from transformer.architecture import describe
from transformer.config import Config
from transformer.model import build_model
from transformer.plots import architecture_figure


def test_the_figure_names_each_part_and_draws_n_as_depth():
    model = build_model(Config.tiny().replace(num_layers=3), 50, 60)
    parts = describe(model)
    assert parts["num_layers"] == parts["decoder_layers"] == 3
    assert parts["encoder_layer"] == "EncoderLayer (transformer/encoder.py)"
    assert parts["decoder_parts"][1] == ("cross-attention",
                                         "CrossAttention (transformer/attention.py)")
    assert parts["source_embedding"] == "TokenAndPositionEmbedding (common/positional_encoding.py)"
    assert parts["output"] == "keras.layers.Dense"
    figure = architecture_figure(parts)
    texts = [t.get_text() for t in figure.axes[0].texts]
    for n in (1, 2, 3):
        assert f"encoder layer {n} of 3: EncoderLayer (transformer/encoder.py)" in texts
        assert f"decoder layer {n} of 3: DecoderLayer (transformer/decoder.py)" in texts
    assert sum("CrossAttention (transformer/attention.py)" in t for t in texts) == 3
    # One arrow from the encoder's output to each decoder layer's cross-attention.
    orange = [a for a in figure.axes[0].texts
              if getattr(a, "arrow_patch", None) is not None
              and a.arrow_patch.get_edgecolor()[:3] != (0.2, 0.2, 0.2)]
    assert len(orange) == 3
