import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from common.data import generate_pairs
from common.errors import InputError
from transformer.tokenizer import RESERVED_TOKENS, WordPieceTokenizer, build_wordpiece_vocabulary


@pytest.fixture(scope="module")
def tokenizer():
    english = [p.english for p in generate_pairs(1500, seed=3)]
    return WordPieceTokenizer(build_wordpiece_vocabulary(english, 300))


def test_vocabulary_starts_with_reserved_tokens_and_splits_rare_words(tokenizer):
    assert tuple(tokenizer.vocabulary.tokens[:4]) == RESERVED_TOKENS
    assert any(piece.startswith("##") for piece in tokenizer.vocabulary.tokens)
    ids = tokenizer.encode(tf.constant(["The teachers didn't swim."])).to_list()[0]
    assert ids[0] == 2 and ids[-1] == 3 and 1 not in ids


def test_decode_inverts_encode(tokenizer):
    texts = ["They weren't nice.", "Will the young teachers break this watch?", ""]
    ids = tokenizer.encode(tf.constant(texts)).to_tensor()
    decoded = [t.decode() for t in tokenizer.decode(ids).numpy()]
    assert decoded == texts


def test_long_input_is_cut(tokenizer):
    ids = tokenizer.encode(tf.constant(["the " * 5000]), max_tokens=30)
    assert ids.row_lengths().numpy()[0] == 32


def test_awkward_inputs_each_get_a_string(tiny_transformer):
    inputs = ["", "  ", "la " * 3400, "😀😀", "東京", "Xylofón qwertz.", "¿Dónde está?"]
    for beam in (1, 3):
        outputs = tiny_transformer.translate(inputs, beam_width=beam)
        assert len(outputs) == len(inputs) and all(isinstance(o, str) for o in outputs)
        assert outputs[0] == outputs[1] == outputs[3] == ""
        # Not a translator that answers "" to everything: the sentences of known words
        # are translated.
        assert outputs[2] and outputs[6], outputs
    translated = tiny_transformer.run(inputs)["translated"].tolist()
    assert translated[:4] == [False, False, True, False] and translated[6]
    with pytest.raises(InputError, match="sentence 1 is a bytes"):
        tiny_transformer.translate([b"hola"])


def test_batched_equals_one_at_a_time_and_beam_one_is_greedy(tiny_transformer):
    sentences = ["El gato duerme.", "¿Quién compró el coche rojo en la ciudad ayer?"]
    batched = tiny_transformer.translate(sentences)
    assert batched == [tiny_transformer.translate([s])[0] for s in sentences]
    model = tiny_transformer.model
    ids = tiny_transformer.source_tokenizer.encode(tf.constant(sentences)).to_tensor()
    greedy = model.generate(ids, 10)[0].numpy()
    beam_1 = model.beam_search(ids, 10, beam_width=1).numpy()
    np.testing.assert_array_equal(greedy, beam_1)


def test_xla_translator_gives_the_same_translations(tiny_transformer):
    from transformer.translator import Translator

    xla = Translator(tiny_transformer.model, tiny_transformer.source_tokenizer,
                     tiny_transformer.target_tokenizer, tiny_transformer.max_source_tokens,
                     tiny_transformer.max_output_tokens, jit_compile=True)
    sentences = ["El gato duerme.", "", "¿Quién compró el coche rojo en la ciudad ayer?",
                 "la " * 3400]
    assert xla.translate(sentences) == tiny_transformer.translate(sentences)
    assert xla.translate(sentences, beam_width=3) == tiny_transformer.translate(
        sentences, beam_width=3)


def test_attention_maps_are_the_models_own_for_the_greedy_translation(tiny_transformer):
    """The plots' maps (from the served ``attention`` signature) equal the model's: the
    encoder's self-attention and the decoder's cross-attention over the translation it
    read, [START] first, one query row an output piece, rows summing to 1."""
    from transformer.translator import attention_maps

    sentence = "el hombre come una manzana ."
    maps = attention_maps(tiny_transformer, sentence)
    assert maps["translation"] == tiny_transformer.translate([sentence])[0]
    source_ids = tiny_transformer.source_tokenizer.encode(tf.constant([sentence])).to_tensor()
    assert len(maps["source_tokens"]) == source_ids.shape[1]
    index = {p: i for i, p in enumerate(tiny_transformer.target_tokenizer.vocabulary.tokens)}
    target_in = tf.constant([[tiny_transformer.target_tokenizer.start_id]
                             + [index[p] for p in maps["output_tokens"][:-1]]], tf.int64)
    _, cross = tiny_transformer.model((source_ids, target_in), return_attention=True)
    _, self_scores = tiny_transformer.model.encoder(source_ids, return_attention_scores=True)
    for ours, theirs in zip(maps["decoder_cross"], cross, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy()[0], atol=1e-5)
    for ours, theirs in zip(maps["encoder_self"], self_scores, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy()[0], atol=1e-5)
    np.testing.assert_allclose(maps["decoder_cross"][-1].sum(-1), 1.0, atol=1e-5)


def test_training_lowers_the_loss_and_writes_the_run(tiny_transformer_run):
    from common.run_folder import read_history

    losses = [float(r["loss"]) for r in read_history(tiny_transformer_run / "history.csv")]
    assert len(losses) == 3 and losses[-1] < losses[0]
    for name in ["tokenizer/source.json", "tokenizer/target.json", "config.json",
                 "checkpoints/last.keras", "plots/history.png"]:
        assert (tiny_transformer_run / name).exists(), name


@pytest.mark.slow
def test_export_reloads_in_a_fresh_process_and_in_saved_model_cli(
        tiny_transformer, tiny_transformer_run_exported):
    from transformer.export import saved_model_cli_command

    # The suite's shared export of the tiny run: `export --run`, the same weights.
    folder = tiny_transformer_run_exported / "export"
    saved = folder / "saved_model"
    texts = ["¿Dónde está el perro?", "", "  ", "😀", "la " * 3400, "Ella lo comió xyzzy."]
    code = (
        "import json, sys, tensorflow as tf, tensorflow_text\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "t = tf.constant(json.loads(sys.argv[2]))\n"
        "print(json.dumps([[x.decode() for x in m.translate(t)['translation'].numpy()],\n"
        "  [x.decode() for x in m.translate_beam(t, tf.constant(3))['translation'].numpy()],\n"
        "  sorted(m.signatures)]))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code, str(saved), json.dumps(texts)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    greedy, beam, signatures = json.loads(done.stdout.strip().splitlines()[-1])
    assert greedy == tiny_transformer.translate(texts)
    assert greedy[1] == greedy[2] == greedy[3] == ""
    assert json.loads((folder / "tokenizer" / "target.json").read_text())[:4] == [
        "[PAD]", "[UNK]", "[START]", "[END]"]
    assert beam == tiny_transformer.translate(texts, beam_width=3)
    assert {"serving_default", "translate_with_attention", "translate_beam"} <= set(signatures)
    # saved_model_cli runs it (through the wrapper that loads tensorflow-text's ops first).
    run = subprocess.run(saved_model_cli_command() + [
        "run", "--dir", str(saved), "--tag_set", "serve", "--signature_def",
        "serving_default", "--input_exprs", 'texts=["¿Dónde está el perro?"]'],
        capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert repr(greedy[0].encode()) in run.stdout
