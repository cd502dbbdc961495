"""Self-attention shades each word by its context: the measurements of transformer.context,
and that they fail when the attention hands each position back its own input."""

import numpy as np
import pytest
import tensorflow as tf

from transformer.attention import MultiHeadAttention
from transformer.context import (
    encoder_states,
    own_input_similarity,
    own_is_closest,
    sense_accuracy,
    sense_examples,
    word_vectors,
)
from transformer.encoder import Encoder

WORD = 10  # the "homograph": always at position 2, between two context words
SENSES = {"a": [11, 12, 13], "b": [21, 22, 23]}  # each sense's context words


def _sentences():
    """[START] c1 WORD c2 [END], c1 and c2 drawn from the sense's context words."""
    rng = np.random.default_rng(0)
    rows, senses = [], []
    for sense, words in SENSES.items():
        for _ in range(20):
            c1, c2 = rng.choice(words, 2)
            rows.append([2, c1, WORD, c2, 3])
            senses.append(sense)
    return np.array(rows), senses


def _encoder():
    encoder = Encoder(num_layers=2, vocabulary_size=40, hidden_dim=16, num_heads=2,
                      intermediate_dim=32, dropout=0.0)
    encoder(tf.zeros([1, 5], tf.int32))
    # Embeddings the size a trained model's are (Keras initializes them near zero, where the
    # positions would drown the words).
    table = np.random.default_rng(2).normal(scale=0.5, size=(40, 16))
    encoder.embedding.token_embedding.set_weights([table])
    return encoder


def _no_context(self, query, keys, values, attention_mask=None, training=None):
    """The attention replaced by its input: every position gets its own vector back."""
    length = tf.shape(keys)[2]
    weights = tf.zeros(tf.concat([tf.shape(keys)[:2], tf.shape(query)[1:2], [length]], 0))
    return query, weights


def test_states_are_the_embedding_then_each_layer():
    encoder = _encoder()
    ids, _ = _sentences()
    states = encoder_states(encoder, ids)
    assert len(states) == 3
    np.testing.assert_allclose(states[0], encoder.embedding(ids).numpy(), atol=1e-6)
    np.testing.assert_allclose(states[-1], encoder(ids).numpy(), atol=1e-5)


def test_own_is_closest_by_its_formula():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(2, 6, 16))
    similarity = own_input_similarity(inputs[0], inputs[0])
    np.testing.assert_allclose(np.diag(similarity), 1.0, atol=1e-12)
    shaded = inputs + 0.1 * rng.normal(size=inputs.shape)
    assert own_is_closest(inputs, shaded, [6, 4]).all()
    rolled = np.roll(inputs, 1, axis=1)  # every output is its neighbour's input
    assert not own_is_closest(inputs, rolled, [6, 6]).any()
    assert own_is_closest(inputs, shaded, [6, 4], skip=1).size == 4 + 2


def test_the_same_word_gets_two_outputs_and_its_senses_separate():
    ids, senses = _sentences()
    states = encoder_states(_encoder(), ids)
    outputs = states[-1][:, 2]  # the word's output in every sentence
    assert np.abs(outputs[0] - outputs[-1]).max() > 1e-2
    assert sense_accuracy(outputs, senses) >= 0.8  # chance: 0.5
    # Its input (the same embedding and position everywhere) cannot tell them apart.
    assert sense_accuracy(states[0][:, 2], senses) == 0.5


def test_without_context_the_checks_fail(monkeypatch):
    encoder = _encoder()
    monkeypatch.setattr(MultiHeadAttention, "attend", _no_context)
    ids, senses = _sentences()
    outputs = encoder_states(encoder, ids)[-1][:, 2]
    np.testing.assert_allclose(outputs[0], outputs[-1], atol=1e-6)
    assert sense_accuracy(outputs, senses) == 0.5


def test_sense_accuracy_refuses_one_sense():
    with pytest.raises(ValueError, match="two senses"):
        sense_accuracy(np.zeros((4, 3)), ["a"] * 4)


def test_word_vectors_take_the_first_occurrence_of_the_piece():
    encoder = _encoder()
    ids, _ = _sentences()
    ids = np.concatenate([ids, [[2, 11, 12, 13, 3]]])  # a row without the word
    embedding, states, rows = word_vectors(encoder, ids, WORD)
    assert list(rows) == list(range(len(ids) - 1))
    np.testing.assert_allclose(embedding, np.repeat(embedding[:1], len(rows), 0))
    np.testing.assert_allclose(states[-1], encoder_states(encoder, ids[rows])[-1][:, 2],
                               atol=1e-6)


def test_sense_examples_keep_sentences_that_name_one_sense():
    spanish = ["El vino tinto.", "Él vino ayer.", "Vino y vino.", "No hay agua.", "Vinos."]
    english = ["The red wine.", "He came yesterday.", "Wine, and he came.", "No water.",
               "Wines."]
    found, senses = sense_examples(spanish, english, "vino",
                                   {"wine": ["wine"], "came": ["came", "come"]})
    assert found == ["El vino tinto.", "Él vino ayer."] and senses == ["wine", "came"]
