"""Corpus BLEU from summed sentence statistics: what the experiments' bootstrap resamples
must equal sacrebleu's own corpus BLEU, on every subset."""

import threading

import pytest
import sacrebleu

from common.evaluation import (
    bleu_of,
    bleu_scores,
    sentence_bleu_statistics,
    translate_all,
    tutorial_norm,
)
from common.machine import decoding_threads

HYPOTHESES = ["The cat sat on the mat.", "I am hungry", "Where is the station?",
              "he runs quickly to the house", "¡Hola!", "Tom didn't know what to do."]
REFERENCES = ["The cat sat on the mat.", "I'm hungry.", "Where's the train station?",
              "He is running to the house quickly.", "Hello!", "Tom didn't know what to do."]


def test_summed_sentence_statistics_give_the_corpus_bleu():
    stats = sentence_bleu_statistics(HYPOTHESES, REFERENCES)
    assert bleu_of(stats) == pytest.approx(
        bleu_scores(HYPOTHESES, REFERENCES)["bleu_tutorial_norm"], abs=0.005)


@pytest.mark.parametrize("picked", [[0, 1], [1, 2, 3], [3, 3, 4, 1], [5, 2, 2, 0, 1]])
def test_any_resample_scores_as_sacrebleu_scores_it(picked):
    stats = sentence_bleu_statistics(HYPOTHESES, REFERENCES)
    hypotheses = tutorial_norm([HYPOTHESES[i] for i in picked])
    references = tutorial_norm([REFERENCES[i] for i in picked])
    expected = sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", force=True)
    assert bleu_of([stats[i] for i in picked]) == pytest.approx(expected.score, abs=1e-9)
    assert expected.score not in (0.0, 100.0)  # a case where the n-gram counts matter


class _UpperCaser:
    """A translator that upper-cases, and whose first two batches each wait for the other:
    they finish only if they run side by side."""

    def __init__(self):
        self.meeting = threading.Barrier(2, timeout=10)
        self.batches = []

    def translate(self, texts, beam_width=1):
        self.batches.append(list(texts))
        if len(self.batches) <= 2:
            self.meeting.wait()
        return [text.upper() for text in texts]


@pytest.mark.skipif(decoding_threads() < 2, reason="side by side needs two cores")
def test_translate_all_decodes_batches_side_by_side_and_answers_in_input_order():
    texts = [f"sentence {'x' * (i * 7 % 11)} {i}" for i in range(10)]
    translator = _UpperCaser()
    out = translate_all(translator, texts, batch_size=3)
    assert out == [text.upper() for text in texts]
    assert len(translator.batches) == 4
    assert [len(b) for b in translator.batches].count(3) == 3  # batches of like length
    assert all(len(a) <= len(b) for batch in translator.batches
               for a, b in zip(batch, batch[1:], strict=False))
