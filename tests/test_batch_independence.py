"""A sentence's translation (greedy, sampled or beam) does not depend on the sentences it is
batched with, even when it never writes [END] (a runaway): it stops at its own length limit,
not its batch's."""

import contextlib

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SHORT = "gato"
LONG = " ".join(["el hombre come una manzana roja en la casa grande"] * 4)


def _roomy(translator):
    """The same model and vocabularies, with room for 200 output tokens (the tiny presets'
    limit would cut every line at the same length)."""
    if hasattr(translator, "target_tokenizer"):
        from transformer.translator import Translator

        return Translator(translator.model, translator.source_tokenizer,
                          translator.target_tokenizer, max_output_tokens=200)
    from nmt_attention.translator import Translator

    return Translator(translator.model, translator.source_vocabulary,
                      translator.target_vocabulary, translator.max_source_words,
                      max_output_tokens=200)


@contextlib.contextmanager
def _never_ends(translator):
    """The translator with [END] made impossible (its logit's bias at -1e4): every line
    runs away. The session's fixture gets its weights back after."""
    model = getattr(translator.model, "decoder", translator.model)
    dense = getattr(model, "output_dense", None) or translator.model.output_dense
    end_id = (translator.target_tokenizer if hasattr(translator, "target_tokenizer")
              else translator.target_vocabulary).end_id
    saved = dense.bias.numpy()
    changed = saved.copy()
    changed[end_id] = -1e4
    dense.bias.assign(changed)
    try:
        yield translator
    finally:
        dense.bias.assign(saved)


def _ids(translator, texts, **settings):
    return [row[row > 0] for row in translator.run(texts, **settings)["output_ids"]]


@pytest.mark.parametrize("translator", ["tiny_translator", "tiny_transformer"])
@pytest.mark.parametrize("settings", [{}, {"temperature": 0.8, "seed": 3}, {"beam_width": 3}],
                         ids=["greedy", "sampled", "beam"])
def test_a_runaway_line_is_cut_at_its_own_limit(translator, settings, request):
    with _never_ends(_roomy(request.getfixturevalue(translator))) as translator:
        alone = _ids(translator, [SHORT], **settings)[0]
        batched = _ids(translator, [SHORT, LONG], **settings)
    assert len(batched[1]) > len(alone)  # the long line's limit is longer
    np.testing.assert_array_equal(batched[0], alone)
