"""Raw inputs to class probabilities: sentences through the vocabulary, or images checked
for shape and scale. What ``predict``, ``plot`` and the export use."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from common.errors import InputError
from common.images import pixel_problem
from common.inputs import check_sentences
from common.text import Vocabulary, has_known_word

__all__ = ["Predictor", "check_images", "check_texts", "read_image"]


def check_texts(texts: Sequence[str]) -> list[str]:
    """Returns ``texts`` as a list of strings (see :func:`common.text.check_sentences`)."""
    return check_sentences(texts, "text")


def check_images(images, image_shape: Sequence[int]) -> np.ndarray:
    """Returns ``images`` as float32 (batch, height, width, channels) in [0, 1].

    A single image (height, width[, channels]) gets a batch axis; grey images without a
    channel axis get one.

    Raises:
        ValueError: integer pixels (say how to scale), the wrong size, NaN, or values
            outside [0, 1].
    """
    height, width, channels = (int(s) for s in image_shape)
    images = np.asarray(images)
    if images.dtype.kind not in "f":
        hint = " (divide by 255, or by 16 for scikit-learn's digits)" \
            if images.dtype.kind in "iub" else ""
        raise InputError(f"images must be floats in [0, 1], received dtype {images.dtype}"
                         f"{hint}")
    if images.ndim == 2 and channels == 1:
        images = images[None, ..., None]  # one grey image
    elif images.ndim == 3 and tuple(images.shape) == (height, width, channels):
        images = images[None]  # one image
    elif images.ndim == 3 and channels == 1 and tuple(images.shape[1:]) == (height, width):
        images = images[..., None]  # a batch of grey images
    if images.ndim != 4 or tuple(images.shape[1:]) != (height, width, channels):
        raise InputError(f"images must have shape (batch, {height}, {width}, {channels}), "
                         f"received {tuple(images.shape)}")
    problem = pixel_problem(images)
    if problem:
        raise InputError(problem)
    return images.astype(np.float32)


class Predictor(tf.Module):
    """A trained classifier behind one call: raw inputs in, probabilities and labels out.

    Args:
        model: a TextClassifier or VisionTransformer (logits out).
        label_names: one name per class.
        vocabulary: the run's vocabulary (``classify.vocabulary.text_vocabulary``) for text
            models; None for images.
        image_shape: (height, width, channels) for image models.
    """

    def __init__(self, model: keras.Model, label_names: Sequence[str],
                 vocabulary: Vocabulary | None = None,
                 image_shape: Sequence[int] | None = None):
        super().__init__(name="predictor")
        self.model = model
        self.label_names = list(label_names)
        self.vocabulary = vocabulary
        self.image_shape = tuple(image_shape) if image_shape else None
        self._names = tf.constant(self.label_names)

    @property
    def is_text(self) -> bool:
        return self.vocabulary is not None

    def inputs_of(self, raw) -> tf.Tensor:
        """Checked model inputs: token ids for text, float images otherwise."""
        if self.is_text:
            return self.vocabulary.encode(tf.constant(check_texts(raw)))
        return tf.constant(check_images(raw, self.image_shape))

    def outputs(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """Probabilities, label ids and names for model inputs (what the export serves).

        ``classified`` (bool) is False for a text with no word the model knows that has a
        letter or digit in it (empty, punctuation only, another script: see
        :func:`common.text.has_known_word`): its ``label`` is ``""`` and its ``label_id``
        -1, rather than a guess from padding and ``[UNK]``.
        """
        probabilities = tf.nn.softmax(self.model(inputs, training=False), axis=-1)
        label_id = tf.argmax(probabilities, axis=-1)
        label = tf.gather(self._names, label_id)
        if self.is_text:
            classified = has_known_word(inputs, self.vocabulary)
            label_id = tf.where(classified, label_id, tf.constant(-1, tf.int64))
            label = tf.where(classified, label, tf.constant(""))
        else:
            classified = tf.ones_like(label_id, tf.bool)
        return {"probabilities": probabilities, "label_id": label_id, "label": label,
                "classified": classified}

    def predict(self, raw) -> list[tuple[str, float]]:
        """Sentences (text) or images -> one ``(label, probability)`` per input;
        ``("", nan)`` for a text with nothing to classify (see :meth:`outputs`)."""
        if self.is_text and not check_texts(raw):
            return []
        outputs = self.outputs(self.inputs_of(raw))
        probabilities = outputs["probabilities"].numpy()
        return [(self.label_names[i], float(p[i])) if i >= 0 else ("", float("nan"))
                for i, p in zip(outputs["label_id"].numpy(), probabilities, strict=True)]

    @property
    def input_limit(self) -> int:
        """Words a text keeps (after ``[CLS]``); a longer one is cut to its first ones."""
        return self.vocabulary.sequence_length - 1

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """Words in each text ([SEP] counted in a pair), before the cut to ``input_limit``."""
        words = self.vocabulary.tokenize(tf.constant(check_texts(texts), tf.string))
        return [int(n) for n in words.row_lengths().numpy()]

    def attention(self, raw) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Model inputs and the attention scores of every block, for plots."""
        inputs = self.inputs_of(raw)
        _, scores = self.model(inputs, training=False, return_attention_scores=True)
        return inputs, scores


def read_image(path: str | os.PathLike, image_shape: Sequence[int]) -> np.ndarray:
    """One image from a file, checked for the model: a PNG (scaled to [0, 1] and resized to
    the model's size) or a .npy array (taken as it is), as (height, width, channels).

    Raises:
        InputError: a missing, unreadable or unsupported file, or not exactly one image.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"image file not found: {path}")
    if file.suffix.lower() == ".npy":
        try:
            image = np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"{path} is not a readable .npy array: {error}") from None
    elif file.suffix.lower() == ".png":
        try:
            decoded = tf.io.decode_png(file.read_bytes(), channels=int(image_shape[2]))
        except tf.errors.InvalidArgumentError:
            raise InputError(f"{path} is not a readable PNG") from None
        image = tf.image.resize(tf.cast(decoded, tf.float32) / 255.0, image_shape[:2],
                                antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0).numpy()
    else:
        raise InputError(f"{path}: give a .png or .npy image")
    images = check_images(image, image_shape)
    if len(images) != 1:
        raise InputError(f"{path} holds {len(images)} images; give one image a file")
    return images[0]
