"""What self-attention does to words: each output is its own input shaded by its context.

Measurements on a trained encoder, for the tutorial and its tests:

* :func:`encoder_states` runs the encoder layer by layer and keeps every layer's input and
  output, so one layer's effect can be looked at alone.
* :func:`own_input_similarity` compares each position's output with every position's input:
  the lecture's "its own embedding" is the diagonal being the largest of its row.
* :func:`sense_accuracy` asks whether the contextual vectors of one word tell its senses
  apart (Spanish *vino*: "wine" or "came"), where the word's embedding, one vector for every
  occurrence, cannot.

If the attention gave each position back its own input (no context), the same word at the
same position of two sentences would get the same output and :func:`sense_accuracy` would
fall to chance: the tests check both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

__all__ = ["encoder_states", "own_input_similarity", "own_is_closest", "sense_accuracy",
           "principal_plane", "sense_examples", "word_vectors"]


def encoder_states(encoder, token_ids) -> list[np.ndarray]:
    """The encoder's input (token embedding scaled, plus positions) and every layer's output,
    without dropout: ``num_layers + 1`` arrays (batch, length, hidden_dim). Layer ``n``
    (counted from 1) reads ``states[n - 1]`` and writes ``states[n]``; a pre-norm encoder's
    final LayerNorm (``norm_first``) is not applied to the last."""
    token_ids = tf.convert_to_tensor(token_ids)
    padding_mask = tf.not_equal(token_ids, 0)  # (batch, length)
    x = encoder.embedding(token_ids)  # (batch, length, hidden_dim)
    states = [x.numpy()]
    for layer in encoder.encoder_layers:
        x = layer(x, padding_mask=padding_mask, training=False)
        states.append(x.numpy())
    return states


def word_vectors(encoder, token_ids, piece_id: int) -> tuple[np.ndarray, list[np.ndarray],
                                                               np.ndarray]:
    """The vectors of one piece where it first occurs in each row of ``token_ids``:
    ``(embedding, states, rows)``. ``embedding`` (found, hidden_dim) is the piece's token
    embedding, the same vector at every occurrence; ``states`` one (found, hidden_dim) array
    for the encoder's input and each layer's output (:func:`encoder_states`); ``rows`` the
    rows that hold the piece (the others are left out)."""
    ids = np.asarray(token_ids)
    rows = np.flatnonzero((ids == piece_id).any(axis=1))
    columns = (ids[rows] == piece_id).argmax(axis=1)
    states = encoder_states(encoder, ids[rows])
    found = np.arange(len(rows))
    embedding = encoder.embedding.token_embedding(ids[rows, columns]).numpy()
    return embedding, [state[found, columns] for state in states], rows


def sense_examples(spanish: Sequence[str], english: Sequence[str], word: str,
                   senses: dict[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """The sentences of ``spanish`` that hold ``word`` (as a whole word, any case) and whose
    translation names exactly one of the ``senses`` (each sense a list of English words, e.g.
    ``{"wine": ["wine"], "came": ["came", "come"]}``): ``(sentences, sense names)``."""
    found, names = [], []
    for source, target in zip(spanish, english, strict=True):
        if word not in re.findall(r"\w+", source.lower()):
            continue
        english_words = set(re.findall(r"[\w']+", target.lower()))
        named = [name for name, words in senses.items() if english_words & set(words)]
        if len(named) == 1:
            found.append(source)
            names.append(named[0])
    return found, names


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def own_input_similarity(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Cosine similarity of every output with every input of one sentence: ``(length,
    length)``, row ``i`` output ``i``, column ``j`` input ``j``."""
    return _unit(outputs) @ _unit(inputs).T


def own_is_closest(inputs: np.ndarray, outputs: np.ndarray, lengths: Sequence[int],
                   skip: int = 0) -> np.ndarray:
    """For each real position of each sentence (batch rows, ``lengths`` real tokens each,
    the first ``skip`` and the last ``skip`` left out, e.g. ``[START]``/``[END]``): whether
    its output is more similar to its own input than to any other input of the sentence.
    Returns a flat bool array, one entry a position."""
    found = []
    for row, length in enumerate(lengths):
        similarity = own_input_similarity(inputs[row, :length], outputs[row, :length])
        for i in range(skip, length - skip):
            found.append(int(similarity[i].argmax()) == i)
    return np.array(found, dtype=bool)


def sense_accuracy(vectors: np.ndarray, senses: Sequence[str], seed: int = 0) -> float:
    """How well ``vectors`` (occurrences, width) tell the ``senses`` of a word apart.

    The same number of occurrences of each sense is drawn (so chance is ``1 / senses``) and
    their mean, the part every occurrence shares, subtracted; then each occurrence is
    assigned, leave-one-out, to the sense whose mean direction (over the other occurrences)
    is nearest by cosine. Identical vectors give chance: every sense ties, and a tie goes to
    the first sense.
    """
    senses = np.asarray(senses)
    names = sorted(set(senses.tolist()))
    if len(names) < 2:
        raise ValueError(f"sense_accuracy needs two senses or more, received {names}")
    rng = np.random.default_rng(seed)
    per_sense = min(int(np.sum(senses == name)) for name in names)
    if per_sense < 2:
        raise ValueError("sense_accuracy needs two occurrences of every sense or more")
    chosen = np.concatenate([rng.choice(np.flatnonzero(senses == name), per_sense,
                                        replace=False) for name in names])
    x = np.asarray(vectors, np.float64)[chosen]
    # What every occurrence shares (the word itself) taken out: what is left is the shading.
    x, y = _unit(x - x.mean(0)), senses[chosen]
    sums = {name: x[y == name].sum(0) for name in names}
    right = 0
    for vector, sense in zip(x, y, strict=True):
        means = [_unit(sums[name] - (vector if name == sense else 0)) for name in names]
        scores = np.array([mean @ vector for mean in means])
        # A tie (identical vectors) goes to the first sense: right for one sense only.
        right += names[int(np.flatnonzero(scores >= scores.max() - 1e-9)[0])] == sense
    return right / len(y)


def principal_plane(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (n, width) centred and projected on their first two principal axes: (n, 2),
    a picture of how they spread."""
    x = np.asarray(vectors, np.float64)
    x = x - x.mean(0)
    _, _, axes = np.linalg.svd(x, full_matrices=False)
    return x @ axes[:2].T
