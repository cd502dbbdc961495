import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.decoding import Sampling
from common.masks import MaskedAccuracy, masked_loss
from tests.layer_contract import check_layer_contract
from transformer import (
    Config,
    EncoderLayer,
    FeedForward,
    WarmupSchedule,
    build_model,
    transformer_optimizer,
)
from transformer.encoder import Encoder
from transformer.reference import generate_by_recompute

SOURCE = tf.constant([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]], tf.int64)
TARGET = tf.constant([[2, 9, 4, 11, 3], [2, 7, 3, 0, 0]], tf.int64)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return build_model(Config.tiny(), 20, 15)


def test_block_contracts(tmp_path):
    x = tf.random.normal([2, 5, 16])
    check_layer_contract(lambda: FeedForward(16, 32), (x,), [(2, 5, 16)], tmp_path)
    check_layer_contract(lambda: EncoderLayer(16, 2, 32, dropout=0.0), (x,), [(2, 5, 16)],
                         tmp_path)
    check_layer_contract(lambda: Encoder(2, 20, 16, 2, 32, dropout=0.0), (SOURCE,),
                         [(2, 5, 16)], tmp_path)


def test_padding_changes_no_real_position(model):
    short = model.encoder(SOURCE[1:, :3]).numpy()
    padded = model.encoder(tf.pad(SOURCE[1:, :3], [[0, 0], [0, 6]])).numpy()
    np.testing.assert_allclose(short[0], padded[0, :3], atol=1e-5)
    logits = model((SOURCE[1:, :3], TARGET[1:, :2])).numpy()
    padded_logits = model((tf.pad(SOURCE[1:, :3], [[0, 0], [0, 6]]), TARGET[1:, :2])).numpy()
    np.testing.assert_allclose(logits, padded_logits, atol=1e-5)


def test_later_target_tokens_do_not_change_earlier_predictions(model):
    changed = tf.concat([TARGET[:, :2], tf.fill([2, 3], tf.constant(13, tf.int64))], axis=1)
    a = model((SOURCE, TARGET)).numpy()
    b = model((SOURCE, changed)).numpy()
    np.testing.assert_allclose(a[:, :2], b[:, :2], atol=1e-5)
    assert not np.allclose(a[:, 3:], b[:, 3:])


def test_cached_decoding_equals_full_recompute(model):
    cached = model.generate(SOURCE, max_length=9)
    full = generate_by_recompute(model, SOURCE, max_length=9)
    np.testing.assert_array_equal(cached[0].numpy(), full[0].numpy())
    np.testing.assert_allclose(cached[1].numpy(), full[1].numpy(), atol=1e-4)
    np.testing.assert_allclose(cached[2].numpy(), full[2].numpy(), atol=1e-5)
    # The generated logits are the teacher-forced logits of the generated prefix.
    tokens = cached[0].numpy()
    target_in = np.concatenate([np.full((2, 1), 2), tokens[:, :-1]], axis=1)
    forced = model((SOURCE, tf.constant(target_in))).numpy()
    for row in range(2):
        steps = int(np.argmax(tokens[row] == 3)) + 1 if 3 in tokens[row] else tokens.shape[1]
        np.testing.assert_allclose(forced[row, :steps, 3:], cached[1].numpy()[row, :steps, 3:],
                                   atol=1e-4)


def test_finished_rows_leave_the_graph_loop_and_the_others_decode_as_alone(model):
    # Rows 0-2 stop after one token, row 3 runs 7 steps: the loop keeps only row 3 once
    # three of four rows are done (their logits are zeros from then on); every row still
    # writes what it writes decoded alone.
    source = tf.constant([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0], [2, 9, 9, 3, 0], [2, 6, 5, 3, 0]],
                         tf.int64)
    limits = tf.constant([1, 1, 1, 7])
    run = tf.function(lambda s, n, t: model.generate(s, n, end_id=-1,
                                                     sampling=Sampling(t, 0, 4)),
                      autograph=False)
    tokens, logits, attention = (x.numpy() for x in run(source, limits, 0.0))
    assert tokens.shape == (4, 7) and (tokens[:3, 1:] == 0).all()
    assert (logits[:3, 1:] == 0).all() and (attention[:3, :, 1:] == 0).all()
    assert (logits[3] != 0).any(axis=-1).all()
    for row in range(4):
        alone = run(source[row : row + 1], limits[row : row + 1], 0.0)
        np.testing.assert_array_equal(tokens[row, : int(limits[row])], alone[0].numpy()[0])
        np.testing.assert_allclose(logits[row, : int(limits[row])], alone[1].numpy()[0],
                                   atol=1e-4)
    # Sampling keeps every row (a row's draw depends on the batch's shape).
    sampled_logits = run(source, limits, 1.0)[1].numpy()
    assert (sampled_logits[:3, 1:] != 0).any(axis=-1).all()


def test_xla_decoding_equals_graph_decoding(model):
    graph = model.generate(SOURCE, max_length=9)
    for generate in (model.generate, functools.partial(generate_by_recompute, model)):
        # without the cache XLA recomputes the whole buffer
        xla = generate(SOURCE, max_length=9, jit_compile=True, capacity=12)
        np.testing.assert_array_equal(xla[0].numpy(), graph[0].numpy())
        np.testing.assert_allclose(xla[1].numpy(), graph[1].numpy(), atol=1e-4)
        np.testing.assert_allclose(xla[2].numpy(), graph[2].numpy(), atol=1e-5)
    np.testing.assert_array_equal(
        model.beam_search(SOURCE, 9, beam_width=3, jit_compile=True, capacity=12).numpy(),
        model.beam_search(SOURCE, 9, beam_width=3).numpy())
    top_1 = model.generate(SOURCE, 6, sampling=Sampling(3.0, 1, 4), jit_compile=True)[0]
    np.testing.assert_array_equal(top_1.numpy(), model.generate(SOURCE, 6)[0].numpy())
    with pytest.raises(ValueError, match="capacity"):
        model.generate(SOURCE, tf.constant(9), jit_compile=True)


def test_sampling_top_k_one_is_greedy_and_seeded_sampling_repeats(model):
    greedy = model.generate(SOURCE, 6)[0].numpy()
    top_1 = model.generate(SOURCE, 6, sampling=Sampling(2.0, 1, 4))[0].numpy()
    np.testing.assert_array_equal(greedy, top_1)
    a = model.generate(SOURCE, 6, sampling=Sampling(1.0, 5, 4))[0].numpy()
    b = generate_by_recompute(model, SOURCE, 6, sampling=Sampling(1.0, 5, 4))[0]
    np.testing.assert_array_equal(a, b.numpy())
    # A sample: not the greedy tokens, the same again for its seed, another for another seed.
    assert (a != greedy).any()
    np.testing.assert_array_equal(
        a, model.generate(SOURCE, 6, sampling=Sampling(1.0, 5, 4))[0].numpy())
    assert (a != model.generate(SOURCE, 6, sampling=Sampling(1.0, 5, 5))[0].numpy()).any()


def test_model_keras_round_trip_with_schedule(model, tmp_path):
    model.compile(optimizer=transformer_optimizer(16), loss=masked_loss,
                  metrics=[MaskedAccuracy()])
    path = tmp_path / "transformer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(model((SOURCE, TARGET)).numpy(),
                               loaded((SOURCE, TARGET)).numpy(), atol=1e-5)
    assert isinstance(loaded.optimizer.learning_rate, WarmupSchedule) or \
        loaded.optimizer._learning_rate.get_config() == {"hidden_dim": 16, "warmup_steps": 4000,
                                                         "decay": "rsqrt"}
    assert loaded.get_config()["num_heads"] == 2


def test_warmup_schedule_values_and_config():
    schedule = WarmupSchedule(hidden_dim=128, warmup_steps=4000)
    peak = (128 * 4000) ** -0.5
    np.testing.assert_allclose(float(schedule(4000)), peak, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(2000)), peak / 2, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(16000)), peak / 2, rtol=1e-6)
    assert float(schedule(0)) == float(schedule(1)) > 0
    assert WarmupSchedule.from_config(schedule.get_config()).warmup_steps == 4000


def test_linear_decay_reaches_its_floor_at_the_fitted_total():
    schedule = WarmupSchedule(hidden_dim=128, warmup_steps=1000, decay="linear")
    peak = (128 * 1000) ** -0.5
    schedule.fit_to(3000, step=80, first=True)  # warm-up: a fifth of the total
    assert float(schedule.warmup.numpy()) == 600
    for step, share in [(300, 0.5), (600, 1.0), (1800, 0.5), (2400, 0.25), (3000, 0.02),
                        (5000, 0.02)]:
        np.testing.assert_allclose(float(schedule(step)), share * peak, rtol=1e-5)
    schedule.fit_to(4200, step=900, first=False)  # a later estimate moves only the end
    assert float(schedule.warmup.numpy()) == 600
    np.testing.assert_allclose(float(schedule(2400)), 0.5 * peak, rtol=1e-5)
    again = WarmupSchedule.from_config(schedule.get_config())
    np.testing.assert_allclose(float(again(2400)), 0.5 * peak, rtol=1e-5)
    # The warm-up never lengthens past the configured one, nor ends before the current step.
    long = WarmupSchedule(128, 1000, "linear")
    long.fit_to(20000, step=80, first=True)
    assert float(long.warmup.numpy()) == 1000
    short = WarmupSchedule(128, 1000, "linear")
    short.fit_to(300, step=250, first=True)
    assert float(short.warmup.numpy()) == 251
    with pytest.raises(ValueError, match="decay"):
        WarmupSchedule(128, decay="cosine")


def test_fit_schedule_to_time_measures_the_steps_the_limit_allows():
    from common.training import FitScheduleToTime

    schedule = WarmupSchedule(hidden_dim=16, warmup_steps=1000, decay="linear")
    calls = []
    fit_to = schedule.fit_to
    schedule.fit_to = lambda total, step, first: (calls.append((total, step, first)),
                                                  fit_to(total, step, first))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse",
                  steps_per_execution=2)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0,
              callbacks=[FitScheduleToTime(minutes=10, log=lambda _: None)])
    firsts = [call for call in calls if call[2]]
    assert len(firsts) == 1 and firsts[0][1] == 8  # after the 4th call of 2 steps
    assert [step for _, step, first in calls if not first] == [32, 48]  # epochs 2, 3
    # Ten minutes at this speed are far more steps than were taken.
    assert all(total > 10 * step for total, step, _ in calls)
    assert float(schedule.warmup.numpy()) == 1000  # a fifth of that would be longer


def test_fit_schedule_to_time_leaves_the_papers_schedule_alone():
    from common.training import FitScheduleToTime

    schedule = WarmupSchedule(hidden_dim=16, warmup_steps=100)  # rsqrt: nothing to fit
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    logged = []
    model.fit(x, x[:, :1], batch_size=4, epochs=2, verbose=0,
              callbacks=[FitScheduleToTime(minutes=10, log=logged.append)])
    assert logged == [] and schedule.get_config()["warmup_steps"] == 100


def test_a_tiny_model_learns_to_copy():
    keras.utils.set_random_seed(1)
    model = build_model(Config.tiny(), 12, 12)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=masked_loss)
    rng = np.random.default_rng(0)
    body = rng.integers(4, 12, size=(256, 5))
    ids = np.concatenate([np.full((256, 1), 2), body, np.full((256, 1), 3)], axis=1)
    history = model.fit((ids, ids[:, :-1]), ids[:, 1:], batch_size=32, epochs=12, verbose=0)
    losses = history.history["loss"]
    assert losses == sorted(losses, reverse=True)
    # A decoder that never read the source could do no better than guess each of the five
    # random tokens among 8 (and [END] for free): far below that, it copies.
    blind = 5 * np.log(8) / 6
    assert losses[-1] < 0.5 * blind, (losses, blind)


@pytest.mark.parametrize("position_embedding", ["learned", "none"])
def test_other_position_embeddings_decode_with_the_cache_as_recomputing(position_embedding):
    model = build_model(Config.tiny().replace(position_embedding=position_embedding), 20, 15)
    assert model.get_config()["position_embedding"] == position_embedding
    cached = model.generate(SOURCE, max_length=7)
    full = generate_by_recompute(model, SOURCE, max_length=7)
    np.testing.assert_array_equal(cached[0].numpy(), full[0].numpy())
    np.testing.assert_allclose(cached[1].numpy(), full[1].numpy(), atol=1e-4)


def test_a_decoder_layer_called_without_a_context_mask_reads_every_source_position():
    """As tutorial 2 calls it: no mask given is no padding, the same as an all-True mask
    (Keras fills a missing ``context_mask`` argument from the context's own mask, which the
    package's tensors never carry)."""
    from transformer.decoder import DecoderLayer

    layer = DecoderLayer(hidden_dim=8, num_heads=2, intermediate_dim=16, dropout=0.0)
    x, context = tf.random.normal([2, 3, 8]), tf.random.normal([2, 5, 8])
    unmasked, scores = layer(x, context)
    masked, _ = layer(x, context, context_mask=tf.ones([2, 5], tf.bool))
    np.testing.assert_allclose(unmasked.numpy(), masked.numpy(), atol=1e-6)
    assert scores.shape == (2, 2, 3, 5)


@pytest.mark.parametrize("name", ["transformer sinusoidal", "transformer learned",
                                  "nmt_attention"])
def test_the_variables_keep_the_order_runs_were_saved_in(name):
    """Keras saves an optimizer's state by position in the model's variable list: a run
    trained before (``train --resume``, ``last.keras``) loads only if the list keeps its
    order. variable_order.json holds the lists of the package before its encoder stack and
    positional layers were rewritten (cc1d797), for the tiny configs and vocabularies 20/15."""
    import json
    import re
    from pathlib import Path

    from nmt_attention.config import Config as GruConfig
    from nmt_attention.model import build_model as build_gru

    expected = json.loads((Path(__file__).parent / "variable_order.json").read_text())[name]
    if name == "nmt_attention":
        model = build_gru(GruConfig.tiny(), 20, 15)
    else:
        model = build_model(Config.tiny().replace(position_embedding=name.split()[1]), 20, 15)
    def numbering_aside(path):  # Keras numbers unnamed layers by how many a process made
        return re.sub(r"_\d+(?=/)", "", path)

    assert [[numbering_aside(v.path), list(v.shape)] for v in model.trainable_variables] == \
        [[numbering_aside(path), shape] for path, shape in expected]
