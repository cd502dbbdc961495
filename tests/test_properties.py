"""Property-based tests: generated Unicode (every plane and category, control and format
characters, empty, very long) into both translators (greedy, beam, sampling), the text
classifier, the small BERT and the four SavedModels; generated arrays (any shape, NaN,
infinities, pixels outside [0, 1]) into the ViT predictor and its SavedModel. Every input
gets exactly one answer or one clear refusal, no other exception; the exports answer as
the Python objects do (the translators' greedy signature on every batch, their beam and
sampled ones on every other).

``EXAMPLES`` batches of ``BATCH`` strings: 2,000 strings in all, derandomized (the same
strings in every run).
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from common.errors import InputError

pytestmark = pytest.mark.slow

EXAMPLES, BATCH = 100, 20
SEEN = {"strings": 0, "nmt": 0, "transformer": 0}  # strings; those each model translated

_any_character = st.characters(exclude_categories=["Cs"])  # all but lone surrogates
_sentence = st.one_of(
    st.text(_any_character, max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Po", "So"]),
            max_size=12),
    st.text(st.sampled_from("abcdefghijklmnñopqrstuvwxyzáéíóú ¿?¡!.,"), max_size=60),
    # Long: a drawn piece repeated to 3,000-10,000 characters (drawn character by character,
    # such strings overran Hypothesis's buffer: most examples were discarded, and drawing
    # them took most of the test's time).
    st.builds(lambda piece, length: (piece * (length // len(piece) + 1))[:length],
              st.text(_any_character, min_size=1, max_size=40), st.integers(3000, 10000)),
)
_batches = st.lists(_sentence, min_size=BATCH, max_size=BATCH)
_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def exports(tiny_text_run, tiny_bert_run, tiny_run_exported, tiny_transformer_run_exported,
            tiny_text_run_exported, tiny_bert_run_exported):
    """The in-process classifiers and the SavedModels of the same runs (the suite's shared
    exports: the same weights, exported once a test run)."""
    import tensorflow_text  # noqa: F401 (the Transformer export's ops)

    from classify.runs import load_predictor

    predictors = {"text": load_predictor(tiny_text_run)[1],
                  "bert": load_predictor(tiny_bert_run)[1]}
    runs = {"nmt": tiny_run_exported, "transformer": tiny_transformer_run_exported,
            "text": tiny_text_run_exported, "bert": tiny_bert_run_exported}
    return predictors, {name: tf.saved_model.load(str(run / "export" / "saved_model"))
                        for name, run in runs.items()}


def _decoded(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


def test_every_input_gets_one_answer_everywhere(tiny_translator, tiny_transformer, exports):
    """Hypothesis's examples, then that it ran enough of them (in the same test: under
    pytest-xdist another test may run in another process)."""
    SEEN.update(strings=0, nmt=0, transformer=0)
    _every_input_gets_one_answer(tiny_translator=tiny_translator,
                                 tiny_transformer=tiny_transformer, exports=exports)
    assert SEEN["strings"] >= 2000, SEEN
    # Not a translator that refuses everything: texts with words it knows are translated
    # (few of the generated strings hold a word of the tiny GRU's vocabulary: 7 of 2,000;
    # WordPiece knows the pieces of most).
    assert SEEN["nmt"] > 0 and SEEN["transformer"] > 500, SEEN


@_settings
@given(texts=_batches)
def _every_input_gets_one_answer(texts, tiny_translator, tiny_transformer, exports):
    predictors, saved = exports
    SEEN["strings"] += len(texts)
    for translator, name in ((tiny_translator, "nmt"), (tiny_transformer, "transformer")):
        greedy = translator.run(texts)
        assert len(greedy["translation"]) == len(texts)
        SEEN[name] += int(np.sum(greedy["translated"]))
        # Nothing to translate (see common.text.has_known_word) means an empty answer.
        assert all(t == b"" for t, ok in zip(greedy["translation"], greedy["translated"],
                                             strict=True) if not ok)
        beam = translator.translate(texts, beam_width=2)
        sampled = translator.translate(texts, temperature=0.9, top_k=5, seed=3)
        for answer in (beam, sampled):
            assert len(answer) == len(texts) and all(isinstance(t, str) for t in answer)
        export = saved[name]
        assert _decoded(export.translate(tf.constant(texts))["translation"]) == \
            [t.decode("utf-8") for t in greedy["translation"]], name
        if SEEN["strings"] % (2 * BATCH):  # every other batch: 1,000 strings
            continue
        assert _decoded(export.translate_beam(tf.constant(texts), tf.constant(2))
                        ["translation"]) == beam, name
        assert _decoded(export.sample(tf.constant(texts), tf.constant(0.9), tf.constant(5),
                                      tf.constant(3, tf.int64))["translation"]) == sampled, name
    for name, predictor in predictors.items():
        predictions = predictor.predict(texts)
        assert len(predictions) == len(texts)
        assert all(label in predictor.label_names or (label == "" and np.isnan(p))
                   for label, p in predictions)
        served = saved[name].signatures["serving_default"](texts=tf.constant(texts))
        assert _decoded(served["label"]) == [label for label, _ in predictions], name


@pytest.fixture(scope="module")
def vit(tiny_vit_run, tiny_vit_run_exported):
    from classify.runs import load_predictor

    predictor = load_predictor(tiny_vit_run)[1]
    path = tiny_vit_run_exported / "export" / "saved_model"
    return predictor, tf.saved_model.load(str(path)).signatures["serving_default"]


_pixel = st.one_of(st.floats(0, 1, width=32), st.floats(width=32))  # NaN, inf, any size
_images = st.one_of(
    hnp.arrays(np.float32, st.tuples(st.integers(0, 6), st.just(8), st.just(8), st.just(1)),
               elements=_pixel),
    hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.just(8), st.just(8), st.just(1)),
               elements=st.floats(0, 1, width=32)),
    hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8]),
               hnp.array_shapes(min_dims=0, max_dims=5, max_side=9)),
)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), database=None)
@given(images=_images)
def test_every_image_batch_gets_answers_or_one_clear_refusal(images, vit):
    predictor, serve = vit
    well_formed = images.dtype.kind == "f" and images.ndim == 4 and \
        images.shape[1:] == (8, 8, 1)
    in_range = well_formed and np.isfinite(images).all() and (
        not images.size or (images.min() >= -1e-3 and images.max() <= 1 + 1e-3))
    try:
        answers = predictor.predict(images)
    except InputError:
        answers = None
    if not in_range:
        # A single image (8, 8[, 1]) is a batch of one; anything else not in range is refused.
        assert answers is None or images.ndim < 4
        if answers is None and well_formed:
            with pytest.raises(tf.errors.InvalidArgumentError, match="NaN|\\[0, 1\\]"):
                serve(images=tf.constant(images, tf.float32))
        return
    assert answers is not None and len(answers) == len(images)
    served = serve(images=tf.constant(images))
    assert _decoded(served["label"]) == [label for label, _ in answers]
    np.testing.assert_allclose(served["probabilities"].numpy().max(axis=-1),
                               [p for _, p in answers], rtol=1e-5)
