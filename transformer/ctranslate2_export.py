"""Export to CTranslate2, OpenNMT's inference engine for Transformers: the run's weights in
its model specification (``ctranslate2.specs.TransformerSpec``), written as a model folder
that ``ctranslate2.Translator`` loads, float32 or quantized to int8.

What the spec is told, from the Keras model: the layer count and heads, post-norm (the
paper's and the tutorial's: ``LayerNorm(x + sublayer(x))``) or pre-norm with its final
LayerNorms, the LayerNorm epsilon (Keras's 1e-3, where PyTorch's is 1e-5), the embeddings
scaled by sqrt(d_model), and the position table itself (the tutorial's sines then cosines,
not the interleaved layout CTranslate2 would assume; a learned table as it is; zeros for
``position_embedding="none"``). Keras keeps a projection's kernel as (inputs, heads, depth);
a CTranslate2 linear layer is PyTorch's (outputs, inputs), the self-attention's query, key
and value stacked in one, the cross-attention's key and value in one.

Besides CTranslate2's own files (``model.bin``, ``config.json``, the vocabularies), the
folder holds ``translator.json``: the text standardization and the length limits, what the
TensorFlow-free engine (:mod:`transformer.ctranslate2_engine`) needs to turn text into pieces
and back.
Written to a temporary folder and renamed into place: never half an export.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from common.errors import UsageError
from common.export import save_folder
from common.positional_encoding import positional_encoding
from transformer.translator import Translator

__all__ = ["QUANTIZATIONS", "export_ctranslate2", "transformer_spec"]

QUANTIZATIONS = ("float32", "int8")
MARKER = "model.bin"  # what makes a folder a CTranslate2 model


def _numpy(variable) -> np.ndarray:
    return np.asarray(variable.numpy(), dtype=np.float32)


def _linear(spec, kernel: np.ndarray, bias: np.ndarray | None) -> None:
    """A Keras kernel (inputs, ...outputs) as PyTorch's (outputs, inputs)."""
    spec.weight = np.ascontiguousarray(kernel.reshape(kernel.shape[0], -1).T)
    if bias is not None:
        spec.bias = bias.reshape(-1)


def _norm(spec, layer) -> None:
    spec.gamma = _numpy(layer.gamma)
    spec.beta = _numpy(layer.beta)


def _attention(spec, block, cross: bool) -> None:
    """A residual attention block (``transformer.attention``): its heads and LayerNorm."""
    attention = block.attention
    weights = {}
    for name in ("query", "key", "value"):
        kernel = _numpy(getattr(attention, f"{name}_kernel"))  # (d, heads, depth)
        bias = getattr(attention, f"{name}_bias")
        weights[name] = (kernel.reshape(kernel.shape[0], -1).T,
                         None if bias is None else _numpy(bias).reshape(-1))

    def stacked(names):
        kernel = np.concatenate([weights[n][0] for n in names])
        bias = None if weights[names[0]][1] is None else np.concatenate(
            [weights[n][1] for n in names])
        return kernel, bias

    groups = [("query",), ("key", "value")] if cross else [("query", "key", "value")]
    for linear, names in zip(spec.linear, groups, strict=False):
        kernel, bias = stacked(names)
        linear.weight = np.ascontiguousarray(kernel)
        if bias is not None:
            linear.bias = bias
    output = _numpy(attention.output_kernel)  # (heads, depth, d)
    _linear(spec.linear[-1], output.reshape(-1, output.shape[-1]),
            None if attention.output_bias is None else _numpy(attention.output_bias))
    _norm(spec.layer_norm, block.norm)


def _feed_forward(spec, block) -> None:
    _linear(spec.linear_0, _numpy(block.inner.kernel), _numpy(block.inner.bias))
    _linear(spec.linear_1, _numpy(block.outer.kernel), _numpy(block.outer.bias))
    _norm(spec.layer_norm, block.norm)


def _positions(embedding, max_length: int, depth: int) -> np.ndarray:
    if embedding.position_embedding == "learned":
        return _numpy(embedding.table)
    if embedding.position_embedding == "sinusoidal":
        return positional_encoding(max_length, depth)
    return np.zeros([max_length, depth], np.float32)  # "none": nothing added


def _norms(model) -> list:
    """Every LayerNormalization of the model: each block's, and the stacks' final ones."""
    norms = []
    for stack, layers in ((model.encoder, model.encoder.encoder_layers),
                          (model.decoder, model.decoder.decoder_layers)):
        for layer in layers:
            blocks = [layer.self_attention, getattr(layer, "cross_attention", None),
                      layer.feed_forward]
            norms += [block.norm for block in blocks if block is not None]
        if stack.final_norm is not None:
            norms.append(stack.final_norm)
    return norms


def _epsilon(model) -> float:
    """The one LayerNorm epsilon of ``model`` (CTranslate2 takes one for the whole model)."""
    found = sorted({float(norm.epsilon) for norm in _norms(model)})
    if len(found) != 1:
        raise UsageError(f"CTranslate2 takes one LayerNorm epsilon; this model has {found}: "
                         "it cannot be exported to CTranslate2")
    return found[0]


def transformer_spec(translator: Translator):
    """The ``ctranslate2.specs.TransformerSpec`` of ``translator``'s model and vocabularies.

    Raises:
        UsageError: what CTranslate2 cannot represent (several LayerNorm epsilons, a width
            its heads do not divide).
    """
    from ctranslate2.specs import transformer_spec as specs

    model = translator.model
    if model.hidden_dim % model.num_heads:
        raise UsageError(f"{model.num_heads} heads do not divide the width {model.hidden_dim}:"
                         " CTranslate2 cannot represent it")
    spec = specs.TransformerSpec.from_config(model.num_layers, model.num_heads,
                                             pre_norm=model.norm_first)
    encoder, decoder = model.encoder, model.decoder
    for ours, theirs in ((encoder, spec.encoder), (decoder, spec.decoder)):
        embedding = ours.embedding
        table = _numpy(embedding.token_embedding.embeddings)
        target = theirs.embeddings[0] if isinstance(theirs.embeddings, list) \
            else theirs.embeddings
        target.weight = table
        theirs.scale_embeddings = True  # * sqrt(d_model), as TokenAndPositionEmbedding
        theirs.position_encodings.encodings = _positions(embedding, model.max_length,
                                                         model.hidden_dim)
        if model.norm_first:
            _norm(theirs.layer_norm, ours.final_norm)
    for layer, spec_layer in zip(encoder.encoder_layers, spec.encoder.layer, strict=True):
        _attention(spec_layer.self_attention, layer.self_attention, cross=False)
        _feed_forward(spec_layer.ffn, layer.feed_forward)
    for layer, spec_layer in zip(decoder.decoder_layers, spec.decoder.layer, strict=True):
        _attention(spec_layer.self_attention, layer.self_attention, cross=False)
        _attention(spec_layer.attention, layer.cross_attention, cross=True)
        _feed_forward(spec_layer.ffn, layer.feed_forward)
    _linear(spec.decoder.projection, _numpy(model.output_dense.kernel),
            _numpy(model.output_dense.bias))
    source, target = translator.source_tokenizer, translator.target_tokenizer
    spec.register_source_vocabulary(list(source.vocabulary.tokens))
    spec.register_target_vocabulary(list(target.vocabulary.tokens))
    config = spec.config
    config.layer_norm_epsilon = _epsilon(model)
    config.unk_token, config.bos_token, config.eos_token = "[UNK]", "[START]", "[END]"
    config.decoder_start_token = "[START]"
    return spec


def export_ctranslate2(translator: Translator, out_dir: str | os.PathLike,
                       quantization: str = "float32") -> Path:
    """Writes the CTranslate2 model folder ``out_dir`` atomically (``quantization``
    ``"float32"`` or ``"int8"``: weights stored as 8-bit integers with a scale a row);
    returns it."""
    if quantization not in QUANTIZATIONS:
        raise UsageError(f"quantization must be one of {QUANTIZATIONS}, received "
                         f"{quantization!r}")
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        raise UsageError("the CTranslate2 export needs the ctranslate2 package: pip install "
                         "ctranslate2") from None
    spec = transformer_spec(translator)
    spec.validate()
    spec.optimize(quantization=None if quantization == "float32" else quantization)
    settings = {"text_mode": translator.source_tokenizer.mode,
                "max_source_tokens": translator.max_source_tokens,
                "max_output_tokens": translator.max_output_tokens,
                "quantization": quantization}

    def write(folder: Path) -> None:
        spec.save(str(folder))
        (folder / "translator.json").write_text(json.dumps(settings, indent=2) + "\n",
                                                encoding="utf-8")

    return save_folder(Path(out_dir), write, marker=MARKER)
