"""Property-based tests: generated Unicode (every plane and category, control and format
characters, empty, very long) into both translators (greedy, beam, sampling), the text
classifier and the three SavedModels. Every input gets exactly one answer, no exception;
the exports answer as the Python objects do.

``EXAMPLES`` batches of ``BATCH`` strings: 2,400 strings in all, derandomized (the same
strings in every run).
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES, BATCH = 120, 20
SEEN = {"strings": 0}

_any_character = st.characters(exclude_categories=["Cs"])  # all but lone surrogates
_sentence = st.one_of(
    st.text(_any_character, max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Po", "So"]),
            max_size=12),
    st.text(st.sampled_from("abcdefghijklmnñopqrstuvwxyzáéíóú ¿?¡!.,"), max_size=60),
    st.text(_any_character, min_size=3000, max_size=10000),
)
_batches = st.lists(_sentence, min_size=BATCH, max_size=BATCH)
_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def exports(tiny_translator, tiny_transformer, tiny_text_run, tmp_path_factory):
    import tensorflow_text  # noqa: F401 (the Transformer export's ops)

    from classify.export import export as export_classifier
    from classify.predictor import load_predictor
    from nmt_attention.export import export as export_nmt
    from transformer.export import export as export_transformer

    root = tmp_path_factory.mktemp("exports")
    predictor = load_predictor(tiny_text_run)[1]
    paths = {"nmt": export_nmt(tiny_translator, root / "nmt"),
             "transformer": export_transformer(tiny_transformer, root / "transformer"),
             "classify": export_classifier(predictor, root / "classify")}
    return predictor, {name: tf.saved_model.load(str(path)) for name, path in paths.items()}


def _decoded(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


@_settings
@given(texts=_batches)
def test_every_input_gets_one_answer_everywhere(texts, tiny_translator, tiny_transformer,
                                               exports):
    predictor, saved = exports
    SEEN["strings"] += len(texts)
    for translator, name in ((tiny_translator, "nmt"), (tiny_transformer, "transformer")):
        greedy = translator.run(texts)
        assert len(greedy["translation"]) == len(texts)
        # Nothing to translate (see common.text.has_known_word) means an empty answer.
        assert all(t == b"" for t, ok in zip(greedy["translation"], greedy["translated"],
                                             strict=True) if not ok)
        for answer in (translator.translate(texts, beam_width=2),
                       translator.translate(texts, temperature=0.9, top_k=5, seed=3)):
            assert len(answer) == len(texts) and all(isinstance(t, str) for t in answer)
        served = _decoded(saved[name].translate(tf.constant(texts))["translation"])
        assert served == [t.decode("utf-8") for t in greedy["translation"]], name
    predictions = predictor.predict(texts)
    assert len(predictions) == len(texts)
    assert all(label in predictor.label_names or (label == "" and np.isnan(p))
               for label, p in predictions)
    served = saved["classify"].signatures["serving_default"](texts=tf.constant(texts))
    assert _decoded(served["label"]) == [label for label, _ in predictions]


def test_the_property_test_saw_enough_strings():
    assert SEEN["strings"] >= 2000, SEEN
