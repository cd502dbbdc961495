"""The seq2seq model without attention (the lecture's starting point), and unknown-word
replacement through attention."""

import keras
import numpy as np
import tensorflow as tf

from common.decoding import banned_logits
from common.text import SPECIAL_TOKENS, Vocabulary, tokenize
from nmt_attention.config import Config
from nmt_attention.decoder import Decoder
from nmt_attention.model import build_model
from nmt_attention.translator import Translator, attended_source_words
from tests.layer_contract import check_layer_contract

SOURCE = tf.constant([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]], tf.int64)
TARGET = tf.constant([[2, 9, 4, 3], [2, 7, 0, 0]], tf.int64)


def _model(**changes):
    return build_model(Config.tiny().replace(units=8, **changes), 12, 10)


def test_encoder_state_is_each_directions_final_state_and_ignores_padding():
    model = _model(use_attention=False)
    outputs, state = model.encoder(SOURCE, return_state=True)
    forward, backward = model.encoder.rnn.forward_layer, model.encoder.rnn.backward_layer
    x = model.encoder.embedding(SOURCE[:1])
    # The forward GRU's state after the last token plus the backward GRU's after the first.
    _, forward_last = forward(x)[0], forward(x)[1]
    _, backward_last = backward(x)[0], backward(x)[1]
    np.testing.assert_allclose(state.numpy()[0], (forward_last + backward_last).numpy()[0],
                               atol=1e-5)
    # A padded row's state is the state of the same row without its padding.
    _, unpadded = model.encoder(SOURCE[1:, :3], return_state=True)
    np.testing.assert_allclose(state.numpy()[1], unpadded.numpy()[0], atol=1e-5)
    np.testing.assert_allclose(outputs.numpy(), model.encoder(SOURCE).numpy(), atol=1e-6)


def test_without_attention_the_source_reaches_the_decoder_only_through_the_state():
    model = _model(use_attention=False)
    logits, weights = model((SOURCE, TARGET), return_attention=True)
    _, state = model.encoder(SOURCE, return_state=True)
    noise = tf.random.normal([2, 5, 8])  # any context: it is never read
    alone, _, _ = model.decoder(TARGET, noise, initial_state=state)
    np.testing.assert_allclose(logits.numpy(), alone.numpy(), atol=1e-5)
    np.testing.assert_array_equal(weights.numpy(), 0.0)
    assert not any("cross_attention" in w.path for w in model.weights)
    # With attention the decoder starts from zeros instead.
    attending = _model()
    _, zeros = attending.encode(SOURCE)
    np.testing.assert_array_equal(zeros.numpy(), 0.0)


def test_without_attention_greedy_and_beam_decode_from_the_encoder_state():
    model = _model(use_attention=False)
    tokens, _ = model.generate(SOURCE, max_length=6)
    start = tf.fill([2, 1], tf.constant(2, tf.int64))
    logits = model((SOURCE, tf.concat([start, tokens[:, :-1]], axis=1)))
    chosen = np.argmax(logits.numpy() + banned_logits(10, 2).numpy(), axis=-1)
    real = tokens.numpy() > 0
    np.testing.assert_array_equal(chosen[real], tokens.numpy()[real])
    beam_1 = model.beam_search(SOURCE, max_length=6, beam_width=1)
    np.testing.assert_array_equal(tokens.numpy(), beam_1.numpy())


def test_decoder_without_attention_contract(tmp_path):
    decoder = check_layer_contract(
        lambda: Decoder(vocabulary_size=10, units=8, use_attention=False),
        (TARGET, tf.random.normal([2, 5, 8])), [(2, 4, 10), (2, 8), (2, 4, 5)], tmp_path)
    assert decoder.get_config()["use_attention"] is False


def test_model_without_attention_keras_round_trip(tmp_path):
    model = _model(use_attention=False)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.use_attention is False
    np.testing.assert_allclose(model((SOURCE, TARGET)).numpy(),
                               loaded((SOURCE, TARGET)).numpy(), atol=1e-5)


def test_banned_logits_let_unknown_through_only_when_asked():
    np.testing.assert_array_equal(banned_logits(6, 2).numpy(), [-1e9, -1e9, -1e9, 0, 0, 0])
    np.testing.assert_array_equal(banned_logits(6, 2, allow_unknown=True).numpy(),
                                  [-1e9, 0, -1e9, 0, 0, 0])


def test_attended_source_words_take_the_strongest_real_word():
    texts = tf.constant(["Ana vio 42 gatos.", "Hola."])
    source_ids = tf.zeros([2, 7], tf.int64)  # [START] 5 tokens [END]; the second padded
    weights = np.zeros([2, 3, 7], np.float32)
    weights[0, 0, 3] = 0.9  # "42"
    weights[0, 1, [0, 1]] = [0.8, 0.2]  # [START] strongest: the best real word instead
    weights[0, 2, [6, 4]] = [0.7, 0.3]  # [END] strongest
    weights[1, :, 1] = 0.5  # "hola"
    weights[1, :, 4] = 0.9  # padding: never chosen
    words = attended_source_words(texts, source_ids, tf.constant(weights), "better").numpy()
    assert [w.decode() for w in words[0]] == ["42", "ana", "gatos"]
    assert [w.decode() for w in words[1]] == ["hola"] * 3


def test_replace_unknown_puts_the_attended_source_word_in_place_of_unk():
    mode = "better"
    source = Vocabulary(list(SPECIAL_TOKENS) + ["vio", "gatos", "."], mode)
    target = Vocabulary(list(SPECIAL_TOKENS) + ["saw", "cats", "."], mode)
    model = build_model(Config.tiny().replace(units=8), source.size, target.size)
    bias = np.zeros(target.size, np.float32)
    bias[1] = 50.0  # the model writes [UNK] whatever it reads
    model.decoder.output_dense.bias.assign(bias)
    sentence = "Zaragoza vio 42 gatos."
    plain = Translator(model, source, target, max_output_tokens=4)
    assert "[UNK]" not in plain.translate([sentence])[0]
    replacing = Translator(model, source, target, max_output_tokens=4, replace_unknown=True)
    result = replacing.run([sentence])
    typed = [w.decode() for w in tokenize(tf.constant([sentence]), mode)[0].numpy()]
    expected = [typed[np.argmax(row[1 : len(typed) + 1])] for row in result["attention"][0]]
    assert [w.decode() for w in result["output_tokens"][0]] == expected
    assert "[UNK]" not in result["translation"][0].decode()
