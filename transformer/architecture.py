"""The parts of a Transformer, read off the model itself: which class computes each box of
the paper's figure, and in which file it lives (what :func:`transformer.plots.
architecture_figure` draws)."""

from __future__ import annotations

__all__ = ["describe"]


def implementation(obj) -> str:
    """``Class (path/file.py)`` for the package's own classes, ``keras.layers.Class`` for
    Keras's."""
    cls = type(obj)
    if cls.__module__.split(".")[0] == "keras":
        return f"keras.layers.{cls.__name__}"
    return f"{cls.__name__} ({cls.__module__.replace('.', '/')}.py)"


def describe(model) -> dict:
    """A ``transformer.model.Transformer`` as the boxes of the paper's figure, each naming
    its class and file: ``model``; ``num_layers``; ``encoder``/``decoder`` (the stacks),
    ``source_embedding``/``target_embedding``; ``encoder_layer`` with its ``encoder_parts``
    (self-attention, feed-forward), ``decoder_layer`` with its ``decoder_parts`` (causal
    self-attention, cross-attention, feed-forward); ``output`` (the Linear before the
    softmax); ``norm_first``."""
    encoder_layer = model.encoder.encoder_layers[0]
    decoder_layer = model.decoder.decoder_layers[0]
    return {
        "model": implementation(model),
        "num_layers": len(model.encoder.encoder_layers),
        "decoder_layers": len(model.decoder.decoder_layers),
        "norm_first": bool(model.norm_first),
        "encoder": implementation(model.encoder),
        "decoder": implementation(model.decoder),
        "source_embedding": implementation(model.encoder.embedding),
        "target_embedding": implementation(model.decoder.embedding),
        "encoder_layer": implementation(encoder_layer),
        "encoder_parts": [("self-attention", implementation(encoder_layer.self_attention)),
                          ("feed-forward", implementation(encoder_layer.feed_forward))],
        "decoder_layer": implementation(decoder_layer),
        "decoder_parts": [
            ("masked self-attention", implementation(decoder_layer.self_attention)),
            ("cross-attention", implementation(decoder_layer.cross_attention)),
            ("feed-forward", implementation(decoder_layer.feed_forward))],
        "output": implementation(model.output_dense),
    }
