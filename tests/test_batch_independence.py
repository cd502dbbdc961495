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


@pytest.mark.parametrize("name", ["tiny_translator", "tiny_transformer"])
def test_a_long_sentence_is_translated_as_its_first_words_are(name, request):
    """The documented cut: a sentence longer than the model reads is translated as its first
    ``source_limit`` words (the GRU) or pieces (the Transformer) would be, greedy, beam and
    sampled alike."""
    translator = request.getfixturevalue(name)
    # Words that are one piece each: the first pieces are then the first words.
    known = [w for w in LONG.split()[:10] if translator.source_lengths([w]) == [1]]
    assert len(known) >= 3, known
    words = known * (translator.source_limit // len(known) + 1)
    first = " ".join(words[: translator.source_limit])
    assert translator.source_lengths([first]) == [translator.source_limit]
    # Other words after them: a model that read past the limit, or kept the last words,
    # would read these.
    whole = first + " " + " ".join(known[::-1] * 20)
    for settings in ({}, {"beam_width": 3}, {"temperature": 0.8, "seed": 5}):
        assert translator.translate([whole], **settings) == \
            translator.translate([first], **settings), settings
    read, read_first = translator.run([whole]), translator.run([first])
    np.testing.assert_array_equal(read["source_tokens"], read_first["source_tokens"])
    np.testing.assert_allclose(read["attention"], read_first["attention"], atol=1e-6)
