"""The lecture-claim experiments (bench/experiments/): their pieces checked by numbers, and
each one's quick setting run end to end (generated data, tiny models)."""

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

EXPERIMENTS = Path(__file__).resolve().parents[2] / "bench" / "experiments"
sys.path.insert(0, str(EXPERIMENTS))

import forgetting  # noqa: E402
import heads  # noqa: E402
import lab  # noqa: E402
import pooling_length  # noqa: E402


def test_joined_inputs_are_whole_pairs_within_the_length_range():
    spanish = [f"uno{i} dos{i} tres{i}." for i in range(30)] + ["a b c d e f g h i j k."]
    english = [f"one{i} two{i} three{i}." for i in range(30)] + ["x."]
    made_es, made_en = lab.joined(spanish, english, 7, 10, count=25, seed=3)
    assert len(made_es) == 25
    for es, en in zip(made_es, made_en, strict=True):
        assert 7 <= len(es.split()) <= 10
        # Each Spanish part comes with its own English part, in the same order.
        assert re.findall(r"uno(\d+)", es) == re.findall(r"one(\d+)", en)
        assert len(re.findall(r"uno\d+", es)) == es.count(".")


def test_length_sets_hold_their_lengths_and_the_held_out_long_pairs(tmp_path):
    class Args:
        data, quick, max_words = None, True, 15

    split = lab.LengthSplit.of(Args, tmp_path)
    assert split.cut == 7
    trained_on = [line.split("\t")[1] for line in split.data.read_text().splitlines()]
    assert max(lab.words(s) for s in trained_on) <= 7
    assert min(lab.words(s) for s in split.long_spanish) == 8
    sets = split.length_sets(trained_on[:200], ["x"] * 200, per_bucket=10, seed=0)
    names = [name for name, _, _ in sets]
    assert names == ["1-2", "3-5", "6-7", "8+ real", "8-12 joined", "13-19 joined"]
    for (name, sources, _), bucket in zip(sets, [(1, 2), (3, 5), (6, 7), (8, 99), (8, 12),
                                                 (13, 19)], strict=True):
        assert sources, name
        assert all(bucket[0] <= lab.words(s) <= bucket[1] for s in sources), name


def test_bleu_interval_brackets_the_score():
    references = [f"the cat number {i} sat on the mat ." for i in range(40)]
    hypotheses = [r if i % 2 else "a dog stood there ." for i, r in enumerate(references)]
    score = lab.bleu_with_interval(hypotheses, references, resamples=200)
    assert score["bleu_low"] < score["bleu"] < score["bleu_high"]
    perfect = lab.bleu_with_interval(references, references, resamples=50)
    assert perfect["bleu"] == perfect["bleu_low"] == perfect["bleu_high"] == 100.0


def test_the_dictionary_links_each_word_to_its_translation_not_to_common_words():
    spanish, english = [], []
    for i in range(40):  # "perro" is always with "dog", "gato" with "cat"; "the" everywhere
        spanish.append(f"el perro come {'mucho' if i % 2 else 'poco'}.")
        english.append(f"the dog eats {'plenty' if i % 2 else 'little'}.")
        spanish.append("el gato duerme.")
        english.append(f"the cat {'sleeps' if i % 2 else 'naps'}.")
    lexicon = forgetting.dictionary(spanish, english, min_count=5, min_dice=0.7,
                                    max_share=0.6)
    assert lexicon["perro"] == ("dog", 1.0) and lexicon["gato"] == ("cat", 1.0)
    # "come" is as much "dog" as "eats" (Dice 1.0 both): equals go to the first in A-Z.
    assert lexicon["come"] == ("dog", 1.0)
    assert lexicon["mucho"] == ("plenty", 1.0)
    # "el" is in all 80 pairs, "the" too: too common to count as a content word. Its best
    # content words, "dog" and "cat", are in 40 each: Dice 2 * 40 / (80 + 40) = 0.67.
    assert "el" not in lexicon
    assert forgetting.dictionary(spanish, english, min_count=5, min_dice=0.6,
                                 max_share=0.6)["el"][1] == pytest.approx(2 / 3)


def test_words_are_followed_by_position_and_a_dropped_first_word_counts_as_lost():
    lexicon = {"perro": ("dog", 1.0), "gato": ("cat", 1.0), "casa": ("house", 1.0),
               "rojo": ("red", 1.0)}
    source = "¿El perro ve al gato rojo en casa?"  # 8 tokens; "¿El" is position 1
    reference = "Does the dog see the red cat at home?"  # no "house": casa is not tested
    tested = forgetting.tested_words(source, reference, "the red cat sees something.", lexicon)
    assert tested == [(2, 8, False), (5, 8, True), (6, 8, True)]
    # Thirds of 8 tokens: 1-3, 4-6, 7-8.
    assert [forgetting.third(p, 8) for p in range(1, 9)] == [0, 0, 0, 1, 1, 1, 2, 2]
    by_third = forgetting.by_group([tested, [(1, 3, True), (3, 3, False)]], forgetting.third,
                                   seed=0)
    assert by_third[0]["recall"] == 0.5 and by_third[0]["words"] == 2
    assert by_third[1]["recall"] == 1.0 and by_third[1]["words"] == 2
    assert by_third[2]["recall"] == 0.0 and by_third[2]["words"] == 1
    # A word twice in the source has no one position: not tested.
    assert forgetting.tested_words("el perro y el perro", "the dog", "the dog", lexicon) == []


def test_filler_keeps_the_sentence_whole_and_the_length_exact():
    filler = [["the", "train", "left"], ["it", "rained"], ["we", "met", "at", "noon", "again"]]
    texts = ["a truly wonderful film", "dull"]
    for length in (8, 16, 64):
        for text, out in zip(texts, pooling_length.padded(texts, filler, length, seed=1),
                             strict=True):
            assert len(out.split()) == length - 1
            assert f" {text} " in f" {out} "


def test_entropies_are_those_of_the_attention_weights(tiny_transformer):
    spanish = ["el gato come.", "¿quién no compró el coche rojo?"]
    english = ["the cat eats.", "who did not buy the red car?"]
    source, target_in = heads.teacher_batch(tiny_transformer, spanish, english)
    model = tiny_transformer.model
    measured = heads.entropies(model, source, target_in)
    _, encoder_scores = model.encoder(source, return_attention_scores=True)
    _, cross_scores = model((source, target_in), return_attention=True)
    decoder_scores = model.attention_scores(source, target_in)["decoder_self"]
    for kind, scores, real in (("encoder self", encoder_scores, source.numpy() != 0),
                               ("cross", cross_scores, target_in.numpy() != 0),
                               ("decoder self", decoder_scores, target_in.numpy() != 0)):
        for layer, weights in enumerate(scores):
            weights = weights.numpy()
            for head in range(weights.shape[1]):
                rows = weights[:, head][real]  # (real queries, keys)
                bits = -(rows * np.log2(np.clip(rows, 1e-12, None))).sum(-1).mean()
                assert measured[kind][layer, head] == pytest.approx(bits, abs=1e-4)
    # Causal self-attention: the first query sees one key only, so its entropy is 0 and a
    # layer's mean is below the uniform bound over the longest row.
    assert measured["decoder self"].shape == measured["cross"].shape
    assert (measured["decoder self"] < math.log2(target_in.shape[1])).all()


def test_removing_a_head_is_zeroing_its_share_of_the_output(tiny_transformer):
    layer = heads.attention_layers(tiny_transformer.model)["cross"][0]
    query = tf.random.normal([1, 3, layer.query_dim])
    context = tf.random.normal([1, 4, layer.query_dim])
    full, weights = layer(query, context, return_attention_scores=True)
    keys, values = layer.project_key_value(context)
    per_head = tf.einsum("bhts,bhsk->bhtk", weights, values)  # (1, heads, 3, key_dim)
    head_out = tf.einsum("btk,kd->btd", per_head[:, 0], layer.output_kernel[0])
    saved = layer.output_kernel.numpy()
    removed = saved.copy()
    removed[0] = 0.0
    layer.output_kernel.assign(removed)
    try:
        without, _ = layer(query, context, return_attention_scores=True)
    finally:
        layer.output_kernel.assign(saved)
    np.testing.assert_allclose(without.numpy(), (full - head_out).numpy(), atol=1e-5)


def _lines(captured: str) -> list[dict]:
    """The JSON records among the lines of ``captured``."""
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_quick_experiments_run_end_to_end(quick_experiments):
    """Each experiment's quick setting, as a user runs it (``all.py --quick``, started in its
    own process when the session began, see conftest): results as JSON lines, a page with
    date, machine, command and seeds, and its figures; a second run reuses the runs."""
    out = quick_experiments.out
    records = _lines(quick_experiments.wait())
    kinds = {r["experiment"] for r in records}
    assert kinds == {"why_attention", "replace_unknown", "forgetting", "positions", "entropy",
                     "head_ablation", "alignment", "pooling_length"}
    by_length = [r for r in records if r["experiment"] == "why_attention"]
    # Three GRUs (attention; none at the same budget; none trained to convergence), 6 sets.
    assert len(by_length) == 3 * 6 and all(r["sentences"] > 0 for r in by_length)
    assert {r["model"] for r in by_length} == {"attention", "no attention",
                                               "no attention, converged"}
    # Forgetting: the same three GRUs, reused; a length ratio a set, and recall by thirds.
    forgetting_rows = [r for r in records if r["experiment"] == "forgetting"]
    assert len([r for r in forgetting_rows if "length_ratio" in r]) == 3 * 6
    assert {r["part"] for r in forgetting_rows if "part" in r} == set(forgetting.THIRDS)
    assert len([r for r in records if r["experiment"] == "positions"]) == 3 * 6
    # Tiny Transformer: 2 layers x 2 heads x 3 kinds of attention, each removed once.
    assert len([r for r in records if r["experiment"] == "head_ablation"]) == 12
    alignment = [r for r in records if r["experiment"] == "alignment"]
    assert [r["model"] for r in alignment] == ["gru", "transformer", "transformer"]
    assert len([r for r in records if r["experiment"] == "pooling_length"]) == 2 * 2
    for name in ("why_attention", "forgetting", "positions", "heads", "pooling_length"):
        page = (out / f"{name}.md").read_text()
        for field in ("- Date: ", "- Machine: ", "- Command: `python bench/experiments/",
                      "- Seeds: "):
            assert field in page, (name, field)
        for figure in [line.split("(")[1].rstrip(")") for line in page.splitlines()
                       if line.startswith("![")]:
            assert (out / figure).stat().st_size > 10_000, figure
    # forgetting.py reuses the three GRUs why_attention.py trained; heads.py the sinusoidal
    # run positions.py trained, and its alignment two of the GRUs.
    assert quick_experiments.log().count("reusing") == 6


def test_minutes_trains_what_the_time_limit_command_trains_and_reuses_it(tmp_path, capsys):
    """minutes.py: each run is ``train --preset P --time-limit M`` (the Transformer's
    time-limit recipe, the GRU's limit alone), scored once; a second sweep trains nothing."""
    import minutes

    from transformer.config import time_budget_recipe

    class Args:
        quick, data, seeds = True, None, [3]

    transformer = minutes.config_of("transformer", 0.5, Args)
    for name, value in time_budget_recipe().items():
        assert getattr(transformer, name) == value, name
    assert (transformer.time_limit_minutes, transformer.seed) == (0.5, 3)
    gru = minutes.config_of("nmt_attention", 0.5, Args)
    assert gru == type(gru).tiny().replace(time_limit_minutes=0.5, seed=3)

    argv = ["--quick", "--models", "transformer", "--minutes", "0.01", "--work",
            str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert minutes.main(argv) == 0
    first = capsys.readouterr().out
    record = _lines(first)[0]
    run = tmp_path / "work" / "minutes" / "transformer-0.01min"
    assert record["steps"] == record["epochs"] * transformer.steps_per_epoch > 0
    assert record["bleu_low"] <= record["bleu"] <= record["bleu_high"]
    page = (tmp_path / "out" / "minutes.md").read_text()
    assert "- Command: `python " in page and "| 0.01 | Transformer |" in page
    assert (tmp_path / "out" / "minutes.png").stat().st_size > 10_000
    assert minutes.main(argv) == 0
    second = capsys.readouterr().out
    assert "training" not in second and f"reusing {run}" in second
    assert _lines(second)[0] == record


def test_sst2_whole_sentences_and_accuracy_interval(tmp_path, capsys):
    import sst2

    from common.data.splits import longest_of_groups

    texts = ["a fine film", "fine", "a dull , long movie", "dull", "long movie", "ok"]
    groups = np.array([0, 0, 1, 1, 1, 2])
    assert longest_of_groups(texts, groups).tolist() == [0, 2, 5]
    assert longest_of_groups(texts).tolist() == [0, 2, 5]  # the groups found by phrase
    right = np.array([True] * 30 + [False] * 10)
    score = sst2.interval(right, seed=0)
    assert score["accuracy"] == 0.75
    assert 0.6 < score["accuracy_low"] < 0.75 < score["accuracy_high"] < 0.9
    # The quick setting end to end: BERT pretrained on more unlabeled text, and its page.
    assert sst2.main(["--quick", "--variants", "bert + English", "--work", str(tmp_path),
                      "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    record = _lines(out)[-1]
    assert record["variant"] == "bert + English" and record["pretraining_epochs"] == 2
    extra = int(re.search(r"unlabeled text: (\d+) texts", out).group(1))
    labeled = int(re.search(r"read (\d+) labeled", out).group(1))
    pretrained_on = int(re.search(r"on (\d+) unlabeled sentences", out).group(1))
    # the English, and the training split's whole sentences (its phrases are in them)
    assert extra > 0 and extra < pretrained_on <= extra + int(0.7 * labeled)
    page = (tmp_path / "sst2.md").read_text()
    assert "| bert + English |" in page and "- Seeds: 0" in page


def test_the_marked_task_hides_three_phrases_and_labels_the_marked_one():
    import argparse

    args = argparse.Namespace(examples=40, task="marked")
    texts, labels = pooling_length.labeled_sentences(args)
    assert all(len(phrases) == 3 for phrases in texts) and sum(labels) == 20
    from common.data.classification import PEOPLE

    for phrases, label in zip(texts, labels, strict=True):
        (marked,) = [p for p in phrases if f" {pooling_length.MARKER} " in p]
        words = marked.split()
        assert int(words[words.index(pooling_length.MARKER) + 1] in PEOPLE) == label
    # The majority of the three agrees with the label only where the other two allow it.
    assert 0.6 < pooling_length.majority_accuracy(texts, labels) < 0.95
    filler = [["the", "train", "left"], ["it", "rained"], ["we", "met", "at", "noon"]]
    for text, out in zip(texts, pooling_length.padded(texts, filler, 40, seed=2), strict=True):
        assert len(out.split()) == 39
        positions = [f" {out} ".index(f" {p} ") for p in text]
        assert positions == sorted(positions)  # each phrase whole, in its order
