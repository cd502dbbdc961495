"""Export: a SavedModel taking raw strings (text, BERT) or float images (ViT) and returning
class probabilities, plus the ``.keras`` model, the label names and the vocabulary.

Signature ``serving_default``: ``texts`` string [None] (or ``images`` float32 [None, height,
width, channels], pixels in [0, 1]) -> ``probabilities`` float32 [None, classes],
``label_id`` int64 [None], ``label`` string [None], ``classified`` bool [None].

Signature ``explain``: the same input -> the same outputs and ``attention``, every block's
(blocks, None, heads, tokens, tokens) float32, [CLS] first; for text also ``tokens`` (string
[None, tokens]: the words the model read, ``[CLS]`` first, padding ``""``), for images also
``rollout`` (float32 [None, patches], :func:`classify.vit.attention_rollout`). What the
server's attention explorer shows.

A run of whole words exports core TensorFlow ops only: it loads with TensorFlow alone, in
``saved_model_cli`` and TF Serving. A WordPiece run's export holds tensorflow-text's WordPiece
op: load it after ``import tensorflow_text`` (as the Transformer's).
Written to a temporary folder and renamed into place: never half an export.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from classify.predictor import Predictor
from classify.vit import attention_rollout_batch
from common.export import ExportModule, write_export
from common.images import assert_pixels

__all__ = ["ServingModule", "export"]


class ServingModule(ExportModule):
    def __init__(self, predictor: Predictor):
        super().__init__(predictor.model)
        self.predictor = predictor
        if predictor.is_text:
            spec = tf.TensorSpec([None], tf.string, name="texts")
            self.serve = tf.function(self._classify_texts, input_signature=[spec])
            self.explain = tf.function(self._explain_texts, input_signature=[spec])
        else:
            spec = tf.TensorSpec([None, *predictor.image_shape], tf.float32, name="images")
            self.serve = tf.function(self._classify_images, input_signature=[spec])
            self.explain = tf.function(self._explain_images, input_signature=[spec])

    def signatures(self) -> dict:
        return {"serving_default": self.serve, "explain": self.explain}

    def _classify_texts(self, texts):
        return self.predictor.outputs(self.predictor.vocabulary.encode(texts))

    def _explain_texts(self, texts):
        inputs = self.predictor.vocabulary.encode(texts)
        return {**self.predictor.outputs(inputs), "attention": self._attention(inputs),
                "tokens": self.predictor.vocabulary.words(inputs)}

    def _explain_images(self, images):
        images = self._checked(images)
        attention = self._attention(images)
        return {**self.predictor.outputs(images), "attention": attention,
                "rollout": tf.cast(attention_rollout_batch(attention), tf.float32)}

    def _attention(self, inputs):
        _, scores = self.predictor.model(inputs, training=False, return_attention_scores=True)
        return tf.cast(tf.stack(scores), tf.float32)

    def _classify_images(self, images):
        return self.predictor.outputs(self._checked(images))

    def _checked(self, images):
        # The rule the Python API applies (common.images), inside the graph: a served model
        # gets no other chance to refuse NaN or pixels outside [0, 1].
        return assert_pixels(images)


def export(predictor: Predictor, out_dir: str | os.PathLike) -> Path:
    """Writes ``out_dir/saved_model``, ``out_dir/model.keras``, ``labels.json`` (and
    ``vocabulary.json`` for text) atomically; returns the SavedModel's path."""
    module = ServingModule(predictor)
    files = {"labels.json": json.dumps(predictor.label_names, indent=2)}
    if predictor.is_text:
        files["vocabulary.json"] = json.dumps(predictor.vocabulary.tokens, ensure_ascii=False)
    return write_export(out_dir, module, module.signatures(), predictor.model, files)
