"""Export: a SavedModel taking raw strings (text, BERT) or float images (ViT) and returning
class probabilities, plus the ``.keras`` model, the label names and the vocabulary.

Signature ``serving_default``: ``texts`` string [None] (or ``images`` float32 [None, height,
width, channels], pixels in [0, 1]) -> ``probabilities`` float32 [None, classes],
``label_id`` int64 [None], ``label`` string [None]. Only core TensorFlow ops: it loads with
TensorFlow alone, in ``saved_model_cli`` and TF Serving. Written to a temporary folder and
renamed into place: never half an export.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from classify.predictor import Predictor
from common.export import ExportModule, write_export

__all__ = ["ServingModule", "export"]


class ServingModule(ExportModule):
    def __init__(self, predictor: Predictor):
        super().__init__(predictor.model)
        self.predictor = predictor
        if predictor.is_text:
            spec = tf.TensorSpec([None], tf.string, name="texts")
            self.serve = tf.function(self._classify_texts, input_signature=[spec])
        else:
            spec = tf.TensorSpec([None, *predictor.image_shape], tf.float32, name="images")
            self.serve = tf.function(self._classify_images, input_signature=[spec])

    def _classify_texts(self, texts):
        return self.predictor.outputs(self.predictor.vocabulary.encode(texts))

    def _classify_images(self, images):
        # The checks the Python API makes (check_images), inside the graph: a served model
        # gets no other chance to refuse NaN or pixels outside [0, 1].
        scale = "pixel values must lie in [0, 1]: scale the images as the training data was"
        checks = [
            tf.debugging.assert_all_finite(images, "images hold NaN or infinite values"),
            tf.debugging.assert_greater_equal(images, -1e-3, message=scale),
            tf.debugging.assert_less_equal(images, 1 + 1e-3, message=scale),
        ]
        with tf.control_dependencies(checks):
            return self.predictor.outputs(tf.identity(images))


def export(predictor: Predictor, out_dir: str | os.PathLike) -> Path:
    """Writes ``out_dir/saved_model``, ``out_dir/model.keras``, ``labels.json`` (and
    ``vocabulary.json`` for text) atomically; returns the SavedModel's path."""
    module = ServingModule(predictor)
    files = {"labels.json": json.dumps(predictor.label_names, indent=2)}
    if predictor.is_text:
        files["vocabulary.json"] = json.dumps(predictor.vocabulary.tokens, ensure_ascii=False)
    return write_export(out_dir, module, {"serving_default": module.serve}, predictor.model,
                        files)
