"""Export staging, written once: a SavedModel published whole (a crash mid-export leaves the
previous export, or none, never half of one), the ``.keras`` model beside it, and the
translators' serving module with its three signatures.

A translator's exported SavedModel has:

* ``serving_default``: ``texts`` (string [None]) -> ``translation`` (string [None]);
* ``translate_with_attention``: the same input -> ``translation``, ``translated`` (bool
  [None]: False where there was nothing to translate, see
  :func:`common.text.has_known_word`), ``output_tokens``
  (string [None, steps]), ``source_tokens`` (string [None, source_len]) and ``attention``
  (the GRU: [None, steps, source_len]; the Transformer's last decoder layer:
  [None, heads, steps, source_len]);
* ``translate_beam``: ``texts`` and ``beam_width`` (int32 scalar, at least 1: checked in
  the graph) -> ``translation``;
* ``sample``: ``texts``, ``temperature`` (float32), ``top_k`` (int32, 0: all) and ``seed``
  (int64) -> everything ``translate_with_attention`` gives, and ``output_ids`` (int64
  [None, steps]); greedy at temperature 0;
* ``beam``: ``texts`` and ``beam_width`` -> the same as ``sample``, by beam search;
* ``attention``: ``texts`` and ``output_ids`` (what ``sample`` or ``beam`` returned) ->
  ``source_tokens`` and the attention maps of that translation, each (layers, None, heads,
  queries, keys) float32: ``cross`` (both translators; the GRU's is one layer of one head),
  and for the Transformer also ``encoder_self`` and ``decoder_self``.

The server (:mod:`common.serving`) uses the last three.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from common.files import (
    PARTIAL,
    atomic_save,
    atomic_write_text,
    publish_dir,
    refusals_naming,
    remove_partial_files,
)

__all__ = ["ExportModule", "TranslatorModule", "save_saved_model", "write_export"]


class ExportModule(tf.Module):
    """Base of the exported objects: tracks the Keras model's variables for every loader."""

    def __init__(self, model):
        super().__init__(name="serving")
        # Track the tf.Variables under the Keras 3 variables directly: without this the
        # SavedModel loads in TF2 but TF1-style loaders (saved_model_cli run, TF Serving)
        # fail with "Could not find variable" (keras-team/keras#20095).
        self._tf_variables = [v.value for v in model.variables]


class TranslatorModule(ExportModule):
    """The exported object of a translator: anything with the graph functions
    ``sample(texts, temperature, top_k, seed)`` and ``beam(texts, beam_width)`` and a
    ``model`` (both tutorials' ``Translator``)."""

    def __init__(self, translator):
        super().__init__(translator.model)
        self.translator = translator

    def _greedy(self, texts):
        return self.translator.sample(texts, tf.constant(0.0), tf.constant(0),
                                      tf.constant(0, tf.int64))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")],
                 autograph=False)
    def translate(self, texts):
        return {"translation": self._greedy(texts)["translation"]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")],
                 autograph=False)
    def translate_with_attention(self, texts):
        return self._greedy(texts)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts"),
                                  tf.TensorSpec([], tf.int32, name="beam_width")],
                 autograph=False)
    def translate_beam(self, texts, beam_width):
        return {"translation": self.beam(texts, beam_width)["translation"]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts"),
                                  tf.TensorSpec([], tf.float32, name="temperature"),
                                  tf.TensorSpec([], tf.int32, name="top_k"),
                                  tf.TensorSpec([], tf.int64, name="seed")],
                 autograph=False)
    def sample(self, texts, temperature, top_k, seed):
        checks = [tf.debugging.assert_non_negative(temperature,
                                                   message="temperature must be at least 0"),
                  tf.debugging.assert_non_negative(top_k, message="top_k must be at least 0")]
        with tf.control_dependencies(checks):
            texts = tf.identity(texts)
        return self.translator.sample(texts, temperature, top_k, seed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts"),
                                  tf.TensorSpec([], tf.int32, name="beam_width")],
                 autograph=False)
    def beam(self, texts, beam_width):
        check = tf.debugging.assert_positive(
            beam_width, message="beam_width must be at least 1 (1 is greedy decoding)")
        with tf.control_dependencies([check]):
            beam_width = tf.identity(beam_width)
        return self.translator.beam(texts, beam_width)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts"),
                                  tf.TensorSpec([None, None], tf.int64, name="output_ids")],
                 autograph=False)
    def attention(self, texts, output_ids):
        return self.translator.attention(texts, output_ids)

    def signatures(self) -> dict:
        return {"serving_default": self.translate,
                "translate_with_attention": self.translate_with_attention,
                "translate_beam": self.translate_beam,
                "sample": self.sample,
                "beam": self.beam,
                "attention": self.attention}


def save_folder(final: Path, write: Callable[[Path], None],
                marker: str = "saved_model.pb") -> Path:
    """``write(folder)`` into a temporary folder beside ``final``, then renamed into place: a
    crash mid-export leaves the previous export (or none), never half of one. ``marker``
    names the file that makes a folder this kind of export (an existing ``final`` without it
    is not replaced: :func:`common.files.publish_dir`)."""
    final = Path(final)
    with refusals_naming(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        # An export a killed process left half-written here (only that: --out is the user's).
        remove_partial_files(final.parent, f"{final.name}-")
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f"{PARTIAL}{final.name}-"))
    try:
        with refusals_naming(final):
            write(staging)
            publish_dir(staging, final, marker)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def save_saved_model(module, final: Path, signatures: dict) -> Path:
    """``tf.saved_model.save`` into ``final`` with :func:`save_folder`."""
    logger = tf.get_logger()
    level = logger.level
    # TensorFlow's INFO line names the staging folder, not where the export ends up.
    logger.setLevel(max(level, logging.WARNING))
    try:
        return save_folder(final, lambda staging: tf.saved_model.save(
            module, str(staging), signatures=signatures))
    finally:
        logger.setLevel(level)


def write_export(out_dir: str | os.PathLike, module: tf.Module, signatures: dict, model,
                 files: dict[str, str] | None = None) -> Path:
    """Writes ``out_dir/saved_model`` (``module`` with ``signatures``), ``out_dir/model.keras``
    (``model``) and each ``files`` entry (relative name -> text), each atomically; returns
    the SavedModel's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = save_saved_model(module, out_dir / "saved_model", signatures)
    atomic_save(out_dir / "model.keras", model.save, ".keras")
    for name, text in (files or {}).items():
        atomic_write_text(out_dir / name, text)
    return final
