"""Export: a SavedModel taking raw strings and returning translations, and a .keras file.

Signatures: ``serving_default`` (``texts`` -> ``translation``), ``translate_with_attention``
(also ``output_tokens``, ``source_tokens`` and the last decoder layer's cross-attention,
(batch, heads, steps, source_len)) and ``translate_beam`` (``texts``, ``beam_width``).

The tokenizers are tensorflow-text ops, so a process that loads the SavedModel must
``import tensorflow_text`` first (``saved_model_cli``: see :func:`saved_model_cli_command`).
Written to a temporary folder and renamed into place: never half an export.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import tensorflow as tf

from common.runs import atomic_save, atomic_write_text, save_saved_model
from transformer.translator import Translator

__all__ = ["ServingModule", "export", "saved_model_cli_command"]


class ServingModule(tf.Module):
    def __init__(self, translator: Translator):
        super().__init__(name="serving")
        self.translator = translator
        # The tf.Variables under the Keras 3 variables, tracked directly: TF1-style loaders
        # (saved_model_cli run, TF Serving) need them (keras-team/keras#20095).
        self._tf_variables = [v.value for v in translator.model.variables]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate(self, texts):
        result = self.translator._sample(texts, tf.constant(0.0), tf.constant(0),
                                         tf.constant(0, tf.int64))
        return {"translation": result["translation"]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate_with_attention(self, texts):
        return self.translator._sample(texts, tf.constant(0.0), tf.constant(0),
                                       tf.constant(0, tf.int64))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts"),
                                  tf.TensorSpec([], tf.int32, name="beam_width")])
    def translate_beam(self, texts, beam_width):
        return {"translation": self.translator._beam(texts, beam_width)["translation"]}


def export(translator: Translator, out_dir: str | os.PathLike) -> Path:
    """Writes ``out_dir/saved_model`` and ``out_dir/model.keras`` atomically; returns the
    SavedModel's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if translator.jit_compile:  # a served model meets every batch shape: no XLA programs
        translator = Translator(translator.model, translator.source_tokenizer,
                                translator.target_tokenizer, translator.max_source_tokens,
                                translator.max_output_tokens)
    module = ServingModule(translator)
    final = save_saved_model(module, out_dir / "saved_model", {
        "serving_default": module.translate,
        "translate_with_attention": module.translate_with_attention,
        "translate_beam": module.translate_beam,
    })
    atomic_save(out_dir / "model.keras", translator.model.save, ".keras")
    for name, tokenizer in (("source", translator.source_tokenizer),
                            ("target", translator.target_tokenizer)):
        atomic_write_text(out_dir / "tokenizer" / f"{name}.json",
                          json.dumps(tokenizer.vocabulary, ensure_ascii=False))
    return final


def saved_model_cli_command() -> list[str]:
    """``saved_model_cli`` with tensorflow-text's ops registered first."""
    code = ("import sys, tensorflow_text; "
            "from tensorflow.python.tools.saved_model_cli import main; sys.exit(main())")
    return [sys.executable, "-c", code]
