"""The shared decoding pieces against their definitions: sampling draws follow the softmax
(a statistical bound, so argmax would fail), top-k keeps only the k likeliest, and the beam
length penalty changes the winner exactly where the formula says."""

import numpy as np
import pytest
import tensorflow as tf

from common.decoding import GREEDY, Sampling, beam_search_loop, choose_next, decoding_loop

LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0], np.float32)
DRAWS = 20000


def _expected(temperature, top_k):
    scaled = LOGITS / temperature
    if top_k:
        scaled = np.where(scaled >= np.sort(scaled)[::-1][top_k - 1], scaled, -np.inf)
    e = np.exp(scaled - scaled.max())
    return e / e.sum()


def _frequencies(tokens):
    return np.bincount(np.asarray(tokens), minlength=len(LOGITS)) / len(tokens)


def assert_follows(frequencies, expected, draws):
    """Every frequency within 5 standard errors of its probability (a false alarm about
    once in 10^6 runs); probability 0 exactly 0."""
    bound = 5 * np.sqrt(expected * (1 - expected) / draws) + 1e-9
    assert np.all(np.abs(frequencies - expected) <= bound), (frequencies, expected)
    assert np.all(frequencies[expected == 0] == 0)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("temperature,top_k", [(1.0, 0), (0.5, 0), (2.0, 3), (0.8, 2)])
def test_sampled_draws_follow_the_softmax_of_the_top_k(temperature, top_k, jit):
    choose = tf.function(choose_next, jit_compile=jit)
    logits = tf.tile(tf.constant(LOGITS)[None], [DRAWS, 1])
    tokens = choose(logits, tf.constant(temperature), tf.constant(top_k),
                    tf.constant([7, 0], tf.int64)).numpy()
    assert_follows(_frequencies(tokens), _expected(temperature, top_k), DRAWS)


def test_temperature_zero_is_the_argmax():
    # Each row its own order (the argmax at another place in each), so that a choice that
    # ignored the logits could not pass.
    rows = np.stack([np.roll(LOGITS, shift) for shift in range(len(LOGITS))] * 20)
    tokens = choose_next(tf.constant(rows), tf.constant(0.0), tf.constant(0),
                         tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(tokens.numpy(), rows.argmax(axis=1))
    assert len(set(tokens.numpy().tolist())) == len(LOGITS)


# Vocabulary: 0 padding, 1 [UNK], 2 [START], 3 [END], 4 "a". From [START]: P([END]) 0.4,
# P(a) 0.6; after "a": P([END]) 0.6, P(a) 0.4.
def _step(token, state, index):
    after_a = tf.equal(token[:, 0], 4)[:, None]
    first = tf.math.log([[1e-9, 1e-9, 1e-9, 0.4, 0.6]])
    second = tf.math.log([[1e-9, 1e-9, 1e-9, 0.6, 0.4]])
    return tf.where(after_a, second, first), state


@pytest.mark.parametrize("length_penalty,winner", [(0.0, [3, 0, 0]), (1.0, [4, 3, 0])])
def test_the_length_penalty_changes_the_winner_as_computed_by_hand(length_penalty, winner):
    # "[END]": log 0.4 = -0.916, length 1, divided by ((5 + 1) / 6) ** alpha = 1.
    # "a [END]": log 0.36 = -1.022, length 2, divided by (7 / 6) ** alpha: -1.022 at
    # alpha 0 (the short one wins), -0.876 at alpha 1 (the long one wins).
    best, steps = beam_search_loop(_step, tf.zeros([2, 1]), batch=1, width=2, vocabulary=5,
                                   capacity=3, max_length=3, start_id=2, end_id=3,
                                   length_penalty=length_penalty)
    assert best.numpy().tolist() == [winner] and int(steps) == 2


# 0 padding, 1 [UNK], 2 [START], 3 [END], 4 "a", 5 "b": each row the next word's
# probabilities after that word.
_AFTER = [[1e-9] * 6, [1e-9] * 6,
          [1e-9, 1e-9, 1e-9, 0.5, 0.4, 0.1],  # [START]: [END] .5, a .4, b .1
          [1e-9, 1e-9, 1e-9, 1.0, 1e-9, 1e-9],
          [1e-9, 1e-9, 1e-9, 0.1, 0.9, 1e-9],  # a: a .9, [END] .1
          [1e-9, 1e-9, 1e-9, 1.0, 1e-9, 1e-9]]  # b: [END]


def test_finished_translations_are_set_aside_and_the_search_stops_as_computed_by_hand():
    # Step 1: the likeliest candidates "[END]" .5, "a" .4, "b" .1. "[END]" is finished: set
    # aside, and "b" takes its place, so the beam follows "a" and "b". Step 2: "a a" .36,
    # "b [END]" .1: "b [END]" finishes. A step's likeliest was finished (step 1) and 2 have
    # finished: the search stops after 2 steps. Of "[END]" (log .5 = -0.693, length 1) and
    # "b [END]" (log .1 / (7 / 6) ** 2 = -1.69), "[END]" wins, though "a a [END]" (.36:
    # -1.022 / (8 / 6) ** 2 = -0.575) would have beaten it had the search gone on, as a
    # search that keeps finished ones in the beam until all have finished does.
    table = tf.math.log(tf.constant(_AFTER))
    best, steps = beam_search_loop(
        lambda token, state, _: (tf.gather(table, token[:, 0]), state), tf.zeros([2, 1]),
        batch=1, width=2, vocabulary=6, capacity=4, max_length=4, start_id=2, end_id=3,
        length_penalty=2.0)
    assert best.numpy().tolist() == [[3, 0, 0, 0]] and int(steps) == 2
    # At a limit of one step every candidate of the first step is finished: "[END]" and
    # "a" (log .4 / (6 / 6) ** 2 = -0.916).
    best, steps = beam_search_loop(
        lambda token, state, _: (tf.gather(table, token[:, 0]), state), tf.zeros([2, 1]),
        batch=1, width=2, vocabulary=6, capacity=4, max_length=1, start_id=2, end_id=3,
        length_penalty=2.0)
    assert best.numpy().tolist() == [[3, 0, 0, 0]] and int(steps) == 1


def _first_step(model, logits_of, source, generate_kwargs):
    """Frequencies of the first sampled token over 4,000 copies of ``source``, and the
    probabilities softmax((logits + banned) / T) of the top 4, from one teacher-forced
    pass."""
    from common.decoding import Sampling, banned_logits

    temperature, top_k, draws = 0.7, 4, 4000
    logits = logits_of(source) + banned_logits(model.target_vocabulary_size, 2).numpy()
    scaled = logits / temperature
    scaled = np.where(scaled >= np.sort(scaled)[::-1][top_k - 1], scaled, -np.inf)
    expected = np.exp(scaled - scaled.max())
    copies = tf.tile(tf.constant(source, tf.int64)[None], [draws, 1])
    tokens = model.generate(copies, 1, sampling=Sampling(temperature, top_k, 11),
                            **generate_kwargs)[0].numpy()[:, 0]
    frequencies = np.bincount(tokens, minlength=len(logits)) / draws
    return frequencies, expected / expected.sum(), draws


@pytest.mark.slow
@pytest.mark.parametrize("tutorial,jit", [("nmt_attention", False), ("transformer", False),
                                          ("transformer", True)])
def test_both_translators_sample_from_their_softmax(tutorial, jit):
    import keras

    keras.utils.set_random_seed(3)
    source = [2, 5, 6, 7, 3]
    start = tf.constant([[2]], tf.int64)
    if tutorial == "nmt_attention":
        from nmt_attention.config import Config
        from nmt_attention.model import build_model
    else:
        from transformer.config import Config
        from transformer.model import build_model
    model = build_model(Config.tiny(), 20, 30)
    # An untrained model is nearly uniform: sharpen it so the top 4 differ.
    weights = model.get_weights()
    model.set_weights([w * 4 if w.ndim == 2 and w.shape[-1] == 30 else w for w in weights])
    kwargs = {"jit_compile": True, "capacity": 1} if jit else {}
    frequencies, expected, draws = _first_step(
        model, lambda s: model((tf.constant([s], tf.int64), start)).numpy()[0, 0], source,
        kwargs)
    assert expected.max() > 0.3  # sharp enough that argmax would fail the bound
    assert_follows(frequencies, expected, draws)


def test_settings_out_of_range_are_refused_by_name():
    from common.errors import InputError
    from common.inputs import MAX_BEAM_WIDTH, MAX_SEED, check_settings

    check_settings(temperature=0.7, top_k=10**6, seed=MAX_SEED + 10**6,
                   beam_width=MAX_BEAM_WIDTH)  # a command line's seed plus a line's index
    for settings, name in ((dict(temperature=float("nan")), "temperature"),
                           (dict(temperature=float("inf")), "temperature"),
                           (dict(temperature=-0.1), "temperature"),
                           (dict(top_k=-1), "top_k"), (dict(seed=-1), "seed"),
                           (dict(seed=2**63), "seed"), (dict(beam_width=0), "beam"),
                           (dict(beam_width=MAX_BEAM_WIDTH + 1), "beam")):
        with pytest.raises(InputError, match=f"^{name}"):
            check_settings(**settings)


def test_top_k_above_the_vocabulary_samples_among_all_tokens():
    logits = tf.random.stateless_normal([64, 7], [3, 4])
    seeds = tf.constant([5, 6], tf.int64)
    everything = choose_next(logits, tf.constant(1.0), tf.constant(0), seeds)
    above = choose_next(logits, tf.constant(1.0), tf.constant(1000), seeds)
    np.testing.assert_array_equal(above.numpy(), everything.numpy())
    # ... and a smaller k does restrict the draw: the same seeds pick other tokens.
    two = choose_next(logits, tf.constant(1.0), tf.constant(2), seeds).numpy()
    assert (two != everything.numpy()).any()
    top_two = np.argsort(-logits.numpy(), axis=1)[:, :2]
    assert all(t in row for t, row in zip(two, top_two, strict=True))


VOCABULARY, WORD, END = 8, 5, 3


def _countdown(lengths, seen_rows):
    """A decoder for :func:`decoding_loop`: row ``i`` writes WORD until its ``lengths[i]``-th
    token, which is END; the state is each row's remaining count; the attention is that
    count, so a row's attention shows which step wrote it. ``seen_rows`` collects how many
    rows each step computed."""

    def step(tokens, state, index):
        (remaining,) = state
        seen_rows.append(int(tokens.shape[0]))
        remaining = remaining - 1
        logits = tf.where((remaining == 0)[:, None], tf.one_hot(END, VOCABULARY) * 10.0,
                          tf.one_hot(WORD, VOCABULARY) * 10.0)
        return logits, tf.cast(remaining, tf.float32)[:, None], (remaining,)

    return step, (tf.constant(lengths, tf.int32),)


def _decode(lengths, max_length, sampling=GREEDY, **options):
    seen = []
    step, state = _countdown(lengths, seen)
    tokens, logits, attention, steps = decoding_loop(
        step, state, len(lengths), None, max_length, 2, END, sampling,
        tf.zeros([VOCABULARY]), **options)
    return tokens[:, :steps].numpy(), logits, attention[:, :steps].numpy(), int(steps), seen


def test_the_greedy_loop_drops_finished_rows_once_half_are_done():
    lengths = [1, 2, 6, 6]
    tokens, logits, attention, steps, seen = _decode(lengths, 10)
    assert steps == 6
    for row, length in enumerate(lengths):  # each row as it would be alone
        expected = [WORD] * (length - 1) + [END] + [0] * (steps - length)
        np.testing.assert_array_equal(tokens[row], expected)
        np.testing.assert_array_equal(attention[row, :length, 0],
                                      np.arange(length - 1, -1, -1))
    # Row 0 ends at step 0 (its END first: 3 of 4 live, kept), row 1 at step 1 (2 of 4
    # live: both dropped from step 2 on); a dropped row's attention is zeros from then on.
    assert seen == [4, 4, 2, 2, 2, 2]
    assert attention[0, 1, 0] == -1 and np.all(attention[:2, 2:] == 0)
    assert logits.shape == (4, 10, VOCABULARY)


def test_sampled_rows_are_kept_and_a_limit_ends_a_row_as_its_end():
    seen = []
    _, _, _, steps, seen = _decode([1, 2, 6, 6], 10, Sampling(1.0, 1, 7))
    assert seen == [4] * 6  # top_k 1 samples the argmax; every row, every step
    tokens, _, _, steps, _ = _decode([1, 9, 9], tf.constant([5, 3, 4]))
    assert steps == 4  # each row stops at its own limit
    np.testing.assert_array_equal(tokens, [[END, 0, 0, 0], [WORD] * 3 + [0], [WORD] * 4])


def test_without_stop_early_the_loop_runs_every_row_to_the_longest_limit():
    tokens, logits, _, steps, seen = _decode([1, 2, 6, 6], 7, stop_early=False,
                                             keep_logits=False)
    assert steps == 7 and seen == [4] * 7 and logits is None  # as the tutorial's export
    np.testing.assert_array_equal(tokens[0], [END] + [0] * 6)
    _, _, _, steps, _ = _decode([1, 2], 7)
    assert steps == 2
