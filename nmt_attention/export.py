"""Export: a SavedModel that takes raw strings and returns translations, and a .keras file.

The SavedModel has two signatures:

* ``serving_default``: ``texts`` (string [None]) -> ``translation`` (string [None]).
* ``translate_with_attention``: the same input -> ``translation``, ``output_tokens``
  (string [None, steps]), ``source_tokens`` (string [None, source_len]) and ``attention``
  (float32 [None, steps, source_len]).
* ``translate_beam``: ``texts`` and ``beam_width`` (int32 scalar) -> ``translation``.

Only core TensorFlow ops are inside, so ``saved_model_cli`` and TF Serving load it without
tensorflow-text. Both files are written to a temporary folder first and renamed into place:
an interrupted export never leaves half a model behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from common.runs import atomic_save, save_saved_model
from nmt_attention.translator import Translator

__all__ = ["ServingModule", "export", "load_exported"]


class ServingModule(tf.Module):
    """The exported object: a Translator and its two serving functions."""

    def __init__(self, translator: Translator):
        super().__init__(name="serving")
        self.translator = translator
        # Track the tf.Variables under the Keras 3 variables directly: without this the
        # SavedModel loads in TF2 but TF1-style loaders (saved_model_cli run, TF Serving)
        # fail with "Could not find variable" (keras-team/keras#20095).
        self._tf_variables = [v.value for v in translator.model.variables]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate(self, texts):
        result = self.translator._run(texts, tf.constant(0.0), tf.constant(0, tf.int64))
        return {"translation": result["translation"]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate_with_attention(self, texts):
        return self.translator._run(texts, tf.constant(0.0), tf.constant(0, tf.int64))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="texts"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
        ]
    )
    def translate_beam(self, texts, beam_width):
        return {"translation": self.translator._run_beam(texts, beam_width)["translation"]}


def export(translator: Translator, out_dir: str | os.PathLike) -> Path:
    """Writes ``out_dir/saved_model`` and ``out_dir/model.keras`` atomically; returns the
    SavedModel's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = ServingModule(translator)
    final = save_saved_model(module, out_dir / "saved_model", {
        "serving_default": module.translate,
        "translate_with_attention": module.translate_with_attention,
        "translate_beam": module.translate_beam,
    })
    atomic_save(out_dir / "model.keras", translator.model.save, ".keras")
    return final


def load_exported(path: str | os.PathLike):
    """Loads an exported SavedModel; call ``.translate(tf.constant([...]))`` on it."""
    path = Path(path)
    if not (path / "saved_model.pb").exists():
        raise FileNotFoundError(f"no SavedModel at {path}; run `python -m nmt_attention export`")
    return tf.saved_model.load(str(path))
