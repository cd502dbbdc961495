import numpy as np
import pytest
import tensorflow as tf

from common.errors import InputError
from nmt_attention.evaluate import alignment_accuracy, alignment_error_rate, bleu_scores


def test_awkward_inputs_each_get_a_string(tiny_translator):
    inputs = [
        "",
        "   \t ",
        "la " * 3400,  # about 10,000 characters
        "😀😀 🎉",
        "東京は大きい。",
        "Xylofón qwertz zzzz.",
        "¿Dónde está el perro?",
        "Sí.",
    ]
    outputs = tiny_translator.translate(inputs)
    assert len(outputs) == len(inputs)
    assert all(isinstance(o, str) for o in outputs)
    assert outputs[0] == "" and outputs[1] == "" and outputs[3] == ""  # emoji only
    # Not a translator that answers "" to everything: the sentences of known words are
    # decoded (the tiny model's answer may still be short), the others are not.
    result = tiny_translator.run(inputs)
    assert result["translated"].tolist()[:5] == [False, False, True, False, False]
    assert result["translated"][6] and (result["output_ids"][6] > 0).any()
    assert all(o == "" for o, t in zip(outputs, result["translated"], strict=True) if not t)


def test_batched_translation_equals_one_at_a_time(tiny_translator):
    sentences = ["El gato duerme.", "¿Quién compró el coche rojo en la ciudad ayer?", "No."]
    batched = tiny_translator.translate(sentences)
    single = [tiny_translator.translate([s])[0] for s in sentences]
    assert batched == single


def test_non_string_input_gives_one_clear_error(tiny_translator):
    with pytest.raises(InputError, match="sentence 2 is a int"):
        tiny_translator.translate(["hola", 3])
    with pytest.raises(InputError, match="list of sentences"):
        tiny_translator.translate("hola")
    with pytest.raises(ValueError, match="temperature"):
        tiny_translator.translate(["hola"], temperature=-1)
    assert tiny_translator.translate([]) == []


def test_sampling_is_reproducible_for_a_seed(tiny_translator):
    texts = ["El perro come pan."] * 4
    a = tiny_translator.translate(texts, temperature=1.5, seed=7)
    assert a == tiny_translator.translate(texts, temperature=1.5, seed=7)
    # And it samples: not greedy decoding, and another seed draws otherwise.
    assert a != tiny_translator.translate(texts)
    assert a != tiny_translator.translate(texts, temperature=1.5, seed=8)


def test_greedy_tokens_are_the_argmax_of_a_full_forward_pass(tiny_translator):
    result = tiny_translator.run(["El niño come una manzana."])
    vocab = tiny_translator.target_vocabulary
    words = [w.decode() for w in result["output_tokens"][0]]
    ids = [vocab.tokens.index(w) for w in words if w]
    source = tiny_translator.source_vocabulary.encode(tf.constant(["El niño come una manzana."]))
    target_in = tf.constant([[vocab.start_id] + ids[:-1]], tf.int64)
    logits = tiny_translator.model((source.to_tensor(), target_in)).numpy()[0]
    logits[:, [0, 1, 2]] = -np.inf
    assert logits.argmax(-1).tolist() == ids


class _FakeModel:
    """Attention that looks exactly where the true alignment points (or one to the right)."""

    def __init__(self, pairs, shift):
        self.pairs, self.shift = pairs, shift

    def __call__(self, inputs, return_attention=True):
        source, target_in = inputs
        weights = np.zeros((len(self.pairs), target_in.shape[1], source.shape[1]), np.float32)
        for row, pair in enumerate(self.pairs):
            for e in range(len(pair.english_tokens)):
                sources = pair.sources_of(e) or (0,)
                weights[row, e, min(sources[0] + 1 + self.shift, source.shape[1] - 1)] = 1.0
        return None, tf.constant(weights)


def test_alignment_accuracy_is_one_for_the_true_alignment(tiny_translator):
    from common.data import generate_pairs

    pairs = generate_pairs(40, seed=5)

    class Wrapped:
        model = _FakeModel(pairs, shift=0)
        source_vocabulary = tiny_translator.source_vocabulary
        target_vocabulary = tiny_translator.target_vocabulary
        max_source_words = 100

    perfect = alignment_accuracy(Wrapped, pairs)
    assert perfect["alignment_accuracy_content"] == 1.0
    assert perfect["alignment_pairs_skipped"] == 0
    # AER with one predicted link a word, all on gold: only the words with several gold
    # links keep it above 0.
    linked = [len(p.sources_of(e)) for p in pairs for e in range(len(p.english_tokens))
              if p.sources_of(e)]
    expected = 1 - 2 * len(linked) / (len(linked) + sum(linked))
    assert perfect["alignment_error_rate"] == pytest.approx(expected, abs=1e-4)
    assert alignment_error_rate(3, 4, 5) == pytest.approx(1 - 6 / 9, abs=1e-4)
    Wrapped.model = _FakeModel(pairs, shift=1)
    assert alignment_accuracy(Wrapped, pairs)["alignment_accuracy_content"] < 0.5


def test_bleu_scores_normalize_the_tutorial_way():
    scores = bleu_scores(["It's very cold here."], ["its very cold here ."])
    assert scores["bleu_tutorial_norm"] == 100.0
    assert scores["bleu"] < 100.0
