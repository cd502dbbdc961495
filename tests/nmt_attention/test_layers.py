import numpy as np
import pytest
import tensorflow as tf

from common.decoding import Sampling
from nmt_attention.config import Config
from nmt_attention.cross_attention import CrossAttention
from nmt_attention.decoder import Decoder
from nmt_attention.encoder import Encoder
from nmt_attention.model import build_model
from tests.layer_contract import check_layer_contract

SOURCE = tf.constant([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]], tf.int64)
TARGET = tf.constant([[2, 9, 4, 3], [2, 7, 0, 0]], tf.int64)


def test_encoder_contract_and_padding_changes_no_real_position(tmp_path):
    encoder = check_layer_contract(
        lambda: Encoder(vocabulary_size=12, units=8), (SOURCE,), [(2, 5, 8)], tmp_path
    )
    short = encoder(SOURCE[1:, :3]).numpy()
    padded = encoder(SOURCE[1:]).numpy()
    np.testing.assert_allclose(short[0], padded[0, :3], atol=1e-5)
    np.testing.assert_array_equal(padded[0, 3:], 0.0)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_cross_attention_contract_and_weights(score, tmp_path):
    query = tf.random.normal([2, 3, 8])
    context = tf.random.normal([2, 5, 8])
    attention = check_layer_contract(
        lambda: CrossAttention(units=8, score=score), (query, context),
        [(2, 3, 8), (2, 3, 5)], tmp_path,
    )
    mask = tf.constant([[True] * 5, [True, True, True, False, False]])
    out, weights = attention(query, context, context_mask=mask)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights.numpy()[1, :, 3:], 0.0, atol=1e-7)
    # The output is the weights' mix of the values, and the values are the context itself.
    np.testing.assert_allclose(out.numpy(), weights.numpy() @ context.numpy(), atol=1e-5)
    # Changing what sits under the mask changes nothing.
    noisy = tf.concat([context[:, :3], 100 * tf.random.normal([2, 2, 8])], axis=1)
    out2, _ = attention(query[1:], noisy[1:], context_mask=mask[1:])
    np.testing.assert_allclose(out.numpy()[1], out2.numpy()[0], atol=1e-5)


def test_dot_score_is_the_scaled_dot_product_of_the_projections():
    attention = CrossAttention(units=4, score="dot")
    query, context = tf.random.normal([1, 2, 4]), tf.random.normal([1, 3, 4])
    _, weights = attention(query, context)
    q = attention.query_dense(query).numpy()[0]
    k = attention.key_dense(context).numpy()[0]
    scores = q @ k.T / 2.0
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights.numpy()[0], expected, rtol=1e-5)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_general_score_is_luongs_bilinear_form_with_known_weights():
    attention = CrossAttention(units=3, score="general")
    query = tf.constant([[[1.0, 0.0, 2.0]]])  # h_t
    context = tf.constant([[[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]])  # h_s
    attention(query, context)
    w_a = np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0], [1.0, 0.0, -1.0]], np.float32)
    attention.key_dense.set_weights([w_a])
    out, weights = attention(query, context)
    # score(h_t, h_s) = h_t . (h_s W_a): [1, 0, 2] . [1, 2, 0.5] = 2 ; . [1, 4, -1] = -1
    np.testing.assert_allclose(weights.numpy()[0, 0], _softmax(np.array([2.0, -1.0])),
                               rtol=1e-6)
    np.testing.assert_allclose(out.numpy()[0, 0], weights.numpy()[0, 0] @ context.numpy()[0],
                               rtol=1e-6)


def test_additive_score_is_bahdanaus_form_with_known_weights():
    attention = CrossAttention(units=2, score="additive")
    query = tf.constant([[[1.0, -1.0]]])
    context = tf.constant([[[0.5, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    attention(query, context)
    w_1 = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    w_2, b_2 = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32), np.array([0.1, -0.2], "f")
    v = np.array([[1.0], [-2.0]], np.float32)
    attention.query_dense.set_weights([w_1])
    attention.key_dense.set_weights([w_2, b_2])
    attention.score_dense.set_weights([v])
    _, weights = attention(query, context)
    h_t, h_s = query.numpy()[0, 0], context.numpy()[0]
    scores = np.tanh(h_t @ w_1 + h_s @ w_2 + b_2) @ v[:, 0]  # v^T tanh(W_1 h_t + W_2 h_s)
    np.testing.assert_allclose(weights.numpy()[0, 0], _softmax(scores), rtol=1e-5)


def test_concat_combine_is_luongs_attentional_state():
    decoder = Decoder(vocabulary_size=7, units=4, score="dot", combine="concat")
    context = tf.random.normal([1, 3, 4], seed=1)
    target = tf.constant([[2, 5]], tf.int64)
    logits, _, _ = decoder(target, context)
    rnn_out, _ = decoder.rnn(decoder.embedding(target))
    attended, _ = decoder.attention(rnn_out, context)
    w_c, b_c = decoder.join.get_weights()
    state = np.tanh(np.concatenate([attended.numpy(), rnn_out.numpy()], -1) @ w_c + b_c)
    w_o, b_o = decoder.output_dense.get_weights()
    np.testing.assert_allclose(logits.numpy(), state @ w_o + b_o, rtol=1e-4, atol=1e-5)


def test_unknown_options_name_the_value():
    with pytest.raises(ValueError, match="'cosine'"):
        CrossAttention(units=4, score="cosine")
    with pytest.raises(ValueError, match="'stack'"):
        Decoder(vocabulary_size=10, units=4, combine="stack")


@pytest.mark.parametrize("combine", ["add", "concat"])
def test_decoder_contract(combine, tmp_path):
    context = tf.random.normal([2, 5, 8])
    check_layer_contract(
        lambda: Decoder(vocabulary_size=10, units=8, score="general", combine=combine),
        (TARGET, context), [(2, 4, 10), (2, 8), (2, 4, 5)], tmp_path,
    )


@pytest.mark.parametrize("score,combine", [("dot", "add"), ("additive", "concat")])
def test_step_by_step_decoding_equals_the_full_teacher_forced_pass(score, combine):
    model = build_model(Config.tiny().replace(units=8, score=score, combine=combine), 12, 10)
    full_logits, full_weights = model((SOURCE, TARGET), return_attention=True)
    context = model.encoder(SOURCE)
    mask = tf.not_equal(SOURCE, 0)
    state = tf.zeros([2, 8])
    for t in range(TARGET.shape[1]):
        logits, state, weights = model.decoder(TARGET[:, t : t + 1], context, mask,
                                               initial_state=state)
        np.testing.assert_allclose(logits.numpy()[:, 0], full_logits.numpy()[:, t], atol=1e-4)
        np.testing.assert_allclose(weights.numpy()[:, 0], full_weights.numpy()[:, t],
                                   atol=1e-5)


def test_model_keras_round_trip(tmp_path):
    model = build_model(Config.tiny(), 12, 10)
    path = tmp_path / "model.keras"
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(model((SOURCE, TARGET)).numpy(),
                               loaded((SOURCE, TARGET)).numpy(), atol=1e-5)
    assert loaded.get_config()["combine"] == "add"


def test_generate_stops_each_row_at_its_end_token():
    model = build_model(Config.tiny().replace(units=8), 12, 10)
    tokens, weights = model.generate(SOURCE, max_length=7, sampling=Sampling(1.0, seed=3))
    tokens = tokens.numpy()
    assert tokens.shape[1] <= 7 and weights.shape[:2] == tokens.shape
    for row in tokens:
        ends = np.flatnonzero(row == 3)
        if len(ends):
            assert (row[ends[0] + 1 :] == 0).all()
        assert not np.isin(row[: ends[0] if len(ends) else None], [0, 1, 2]).any()
    again, _ = model.generate(SOURCE, max_length=7, sampling=Sampling(1.0, seed=3))
    np.testing.assert_array_equal(tokens, again.numpy())


def _log_prob(model, source, tokens):
    """Sum of log P(token) of each row's tokens up to and including [END]."""
    start = tf.fill([tokens.shape[0], 1], tf.constant(2, tf.int64))
    logits = model((source, tf.concat([start, tokens[:, :-1]], axis=1)))
    log_probs = tf.nn.log_softmax(logits.numpy() + _BANNED(logits.shape[-1])).numpy()
    total = []
    for row, ids in enumerate(tokens.numpy()):
        total.append(sum(log_probs[row, t, i] for t, i in enumerate(ids) if i))
    return np.array(total)


def _BANNED(vocabulary):
    banned = np.zeros(vocabulary, np.float32)
    banned[[0, 1, 2]] = -1e9
    return banned


def test_beam_width_one_is_greedy_and_wider_beams_find_likelier_translations():
    model = build_model(Config.tiny().replace(units=8), 12, 10)
    greedy, _ = model.generate(SOURCE, max_length=6)
    beam_1 = model.beam_search(SOURCE, max_length=6, beam_width=1)
    np.testing.assert_array_equal(greedy.numpy(), beam_1.numpy())
    beam_4 = model.beam_search(SOURCE, max_length=6, beam_width=4, length_penalty=0.0)
    greedy_score = _log_prob(model, SOURCE, greedy)
    beam_score = _log_prob(model, SOURCE, beam_4)
    assert (beam_score >= greedy_score - 1e-4).all()
    assert (beam_score > greedy_score + 1e-3).any()  # and somewhere likelier: it searched
