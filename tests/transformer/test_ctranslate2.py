"""The Transformer exported to CTranslate2: the same model, decoded by another engine.

The export is checked apart from the text: the source pieces come from the run's own
tensorflow-text tokenizer, and what CTranslate2 writes is compared token for token with the
Keras model's own decoding."""

import json
import os

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ctranslate2 = pytest.importorskip("ctranslate2")


@pytest.fixture(scope="module")
def exported(tiny_transformer_run, tmp_path_factory):
    """The tiny run's CTranslate2 export, float32 and int8 (``python -m transformer export
    --format ctranslate2``), and its test split's Spanish."""
    from common.data.corpus import corpus_of
    from transformer.cli import main
    from transformer.runs import load_run

    out = tmp_path_factory.mktemp("ct2")
    folders = {}
    for quantization in ("float32", "int8"):
        assert main(["export", "--run", str(tiny_transformer_run), "--format", "ctranslate2",
                     "--quantization", quantization, "--out", str(out / quantization)]) == 0
        folders[quantization] = out / quantization / "ctranslate2"
    spanish, _ = corpus_of(load_run(tiny_transformer_run)[0]).part("test")
    return folders, spanish


def _source_pieces(translator, texts):
    ids = translator.source_tokenizer.encode(texts, translator.max_source_tokens - 2)
    return [[p.decode() for p in row]
            for row in translator.source_tokenizer.pieces(ids).to_list()], ids


def _keras_tokens(translator, texts, beam_width=1):
    """Each row's pieces up to and without [END], as the Keras model decodes them."""
    result = translator.run(texts, beam_width=beam_width)
    words = translator.target_tokenizer.pieces(result["output_ids"]).numpy()
    rows = []
    for row in words:
        pieces = [p.decode() for p in row]
        rows.append(pieces[: pieces.index("[END]")] if "[END]" in pieces
                    else [p for p in pieces if p != "[PAD]"])
    return rows


def _ct2_tokens(folder, pieces, limits, compute_type="float32", beam_size=1, **options):
    model = ctranslate2.Translator(str(folder), device="cpu", compute_type=compute_type)
    results = model.translate_batch(pieces, max_decoding_length=max(limits),
                                    beam_size=beam_size,  # CTranslate2's default is 2
                                    disable_unk=True, suppress_sequences=[["[PAD]"],
                                                                          ["[START]"]],
                                    **options)
    # A row stops at its own limit, as the package's decoding does (common.decoding.row_limits).
    return [r.hypotheses[0][:limit] for r, limit in zip(results, limits, strict=True)]


def _limits(translator, ids):
    from common.decoding import output_limit

    lengths = ids.row_lengths().numpy()
    return [int(output_limit(n, translator.max_output_tokens)) for n in lengths]


def test_the_export_writes_what_ctranslate2_loads(exported, tiny_transformer):
    folders, _ = exported
    folder = folders["float32"]
    assert {"model.bin", "config.json", "source_vocabulary.json", "target_vocabulary.json",
            "translator.json"} <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert config["layer_norm_epsilon"] == pytest.approx(1e-3)  # Keras's, not PyTorch's
    assert (config["bos_token"], config["eos_token"]) == ("[START]", "[END]")
    assert json.loads((folder / "target_vocabulary.json").read_text()) == \
        tiny_transformer.target_tokenizer.vocabulary.tokens
    assert not list(folder.parent.glob(".partial-*"))


def test_float32_greedy_writes_the_keras_tokens_on_every_test_sentence(exported,
                                                                       tiny_transformer):
    folders, spanish = exported
    pieces, ids = _source_pieces(tiny_transformer, spanish)
    theirs = _ct2_tokens(folders["float32"], pieces, _limits(tiny_transformer, ids))
    mine = _keras_tokens(tiny_transformer, spanish)
    differ = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
    assert len(spanish) >= 50 and not differ, [(mine[i], theirs[i]) for i in differ[:3]]


def test_int8_stays_close(exported, tiny_transformer):
    """int8 weights change some tokens, not most: at least 90% of the test sentences come
    out exactly as float32 writes them."""
    folders, spanish = exported
    pieces, ids = _source_pieces(tiny_transformer, spanish)
    limits = _limits(tiny_transformer, ids)
    full = _ct2_tokens(folders["float32"], pieces, limits)
    small = _ct2_tokens(folders["int8"], pieces, limits, compute_type="int8")
    same = np.mean([a == b for a, b in zip(full, small, strict=True)])
    assert same >= 0.9, same
    assert (folders["int8"] / "model.bin").stat().st_size < \
        (folders["float32"] / "model.bin").stat().st_size / 2


def test_what_ctranslate2_cannot_hold_is_refused_clearly(tiny_transformer,
                                                        tiny_transformer_run, tmp_path,
                                                        capsys):
    from common.errors import UsageError
    from transformer.cli import main
    from transformer.ctranslate2_export import export_ctranslate2

    translator = tiny_transformer
    norm = translator.model.encoder.encoder_layers[0].feed_forward.norm
    before = norm.epsilon
    try:
        norm.epsilon = 1e-6
        with pytest.raises(UsageError, match="one LayerNorm epsilon"):
            export_ctranslate2(translator, tmp_path / "ct2")
    finally:
        norm.epsilon = before
    assert not (tmp_path / "ct2").exists()
    with pytest.raises(UsageError, match="quantization must be one of"):
        export_ctranslate2(translator, tmp_path / "ct2", quantization="int4")
    capsys.readouterr()
    assert main(["export", "--run", str(tiny_transformer_run), "--quantization", "int8",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--quantization is for --format ctranslate2" in capsys.readouterr().err


def test_ctranslate2_scores_each_token_as_keras_does(exported, tiny_transformer):
    """The log-probability of every token of the Keras translations, teacher-forced, is the
    same in both engines: the weights, norms, positions and scaling all carried over."""
    import tensorflow as tf

    folders, spanish = exported
    texts = spanish[:16]
    pieces, ids = _source_pieces(tiny_transformer, texts)
    targets = _keras_tokens(tiny_transformer, texts)
    model = ctranslate2.Translator(str(folders["float32"]), device="cpu")
    theirs = [r.log_probs for r in model.score_batch(pieces, targets)]  # + [END]
    target_tokenizer = tiny_transformer.target_tokenizer
    vocabulary, start, end = (target_tokenizer.vocabulary, target_tokenizer.start_id,
                              target_tokenizer.end_id)
    for row, target, scores in zip(ids.to_list(), targets, theirs, strict=True):
        out = [vocabulary.tokens.index(p) for p in target] + [end]
        logits = tiny_transformer.model((tf.constant([row]), tf.constant([[start] + out[:-1]])),
                                        training=False)
        mine = tf.nn.log_softmax(logits[0]).numpy()[np.arange(len(out)), out]
        np.testing.assert_allclose(scores, mine, atol=1e-4)


# The engine: text in, text out, without TensorFlow.


@pytest.fixture(scope="module")
def engine_run(exported, tiny_transformer_run, tmp_path_factory):
    """A copy of the tiny run with its float32 CTranslate2 export in RUN/export/ctranslate2."""
    import shutil

    folders, _ = exported
    run = tmp_path_factory.mktemp("engine") / "run"
    shutil.copytree(tiny_transformer_run, run, ignore=shutil.ignore_patterns("export"))
    shutil.copytree(folders["float32"], run / "export" / "ctranslate2")
    return run


def test_the_engine_translates_as_the_keras_model_does(engine_run, exported, tiny_transformer):
    """Text to text through the TensorFlow-free path: greedy equal on every test sentence
    and on awkward lines; beam search equal on every test sentence (the package's beam is
    CTranslate2's, ranked by the package's length penalty), and not greedy on all; a sampled
    line drawn by its seed and its row, whatever the other rows of the batch are."""
    from transformer.ctranslate2_engine import CTranslate2Translator

    _, spanish = exported
    engine = CTranslate2Translator(engine_run)
    texts = spanish + ["", "¿?", "日本語", "x" * 3000, "Él " * 200]
    assert engine.translate(texts) == tiny_transformer.translate(texts)
    beam = engine.translate(spanish, beam_width=4)
    assert beam == tiny_transformer.translate(spanish, beam_width=4)
    assert beam != engine.translate(spanish)  # the search changed something
    drawn = engine.translate(spanish[:6], temperature=1.0, seed=5)
    assert drawn != engine.translate(spanish[:6], temperature=1.0, seed=6)
    assert drawn != engine.translate(spanish[:6])  # sampling is not greedy
    # Other rows, untranslatable ones among them, change no row's draw.
    others = engine.translate([spanish[0], "¿?", *spanish[2:6], *spanish[10:14]],
                              temperature=1.0, seed=5)
    assert [others[0], *others[2:6]] == [drawn[0], *drawn[2:6]]
    result = engine.run(texts[-5:])
    assert list(result["translated"]) == [False, False, False, False, True]  # x*3000: [UNK]


_BLOCK_TENSORFLOW = """
import runpy, sys
from common.cli import TENSORFLOW_EXTRA
# The "tensorflow" extra's packages (pyproject.toml): an import of one fails, as where only
# the inference part is installed.
for name in TENSORFLOW_EXTRA:
    sys.modules[name] = None
sys.argv = ["transformer", *sys.argv[1:]]
runpy.run_module("transformer", run_name="__main__")
"""


def test_translate_with_ctranslate2_runs_without_tensorflow(engine_run, tiny_transformer):
    """The command's contract (one line out a line in, notes for empty, unknown and long
    lines, exit 0) with TensorFlow unimportable: the inference part alone."""
    import subprocess
    import sys

    lines = ["Él nadará.", "", "¿?", "Yo los vi ayer. " * 200]
    done = subprocess.run([sys.executable, "-c", _BLOCK_TENSORFLOW, "translate", "--run",
                           str(engine_run), "--engine", "ctranslate2"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == tiny_transformer.translate(
        [lines[0], "", "", lines[3]])
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert [n.split()[2] for n in notes] == ["2", "3", "4"], notes


def test_evaluate_with_ctranslate2_scores_what_tensorflow_scores(engine_run, capsys):
    from transformer.cli import main

    assert main(["evaluate", "--run", str(engine_run), "--beam", "1"]) == 0
    tensorflow = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--run", str(engine_run), "--beam", "1", "--engine",
                 "ctranslate2"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert mine["engine"] == "ctranslate2"
    assert mine["greedy"]["bleu"] == tensorflow["greedy"]["bleu"]
    assert (engine_run / "metrics-ctranslate2.json").exists()
    assert (engine_run / "translations-ctranslate2.tsv").exists()


def test_engine_errors_are_one_clear_line(tiny_transformer_run, engine_run, capsys):
    from transformer.cli import main

    assert main(["translate", "--run", str(tiny_transformer_run), "--engine", "ctranslate2",
                 "hola"]) == 2
    assert "export --run" in capsys.readouterr().err  # says how to make the export
    assert main(["translate", "--run", str(engine_run), "--compute-type", "int8",
                 "hola"]) == 2
    assert "--compute-type is for --engine ctranslate2" in capsys.readouterr().err
    model = engine_run / "export" / "ctranslate2" / "model.bin"
    os.utime(model, (model.stat().st_atime, model.stat().st_mtime - 3600))  # trained on since
    assert main(["translate", "--run", str(engine_run), "--engine", "ctranslate2",
                 "hola"]) == 2
    assert "older than the run's best weights" in capsys.readouterr().err
    os.utime(model)
    settings = engine_run / "export" / "ctranslate2" / "translator.json"
    kept = settings.read_text()
    settings.write_text("{")
    try:
        assert main(["translate", "--run", str(engine_run), "--engine", "ctranslate2",
                     "hola"]) == 2
        assert "damaged CTranslate2 export" in capsys.readouterr().err
    finally:
        settings.write_text(kept)


def test_the_server_translates_with_ctranslate2_and_keeps_the_attention_maps(
        tiny_transformer_run_exported, exported):
    """``serve --engine ctranslate2``: the translations the engine's, the explorer's maps
    the SavedModel's, drawn for the engine's tokens: equal to the TensorFlow server's
    answer, maps included, where the tokens are the same (greedy)."""
    from common.serving import load_served
    from transformer.ctranslate2_engine import CTranslate2Translator

    folders, spanish = exported
    saved_model = tiny_transformer_run_exported / "export" / "saved_model"
    tensorflow = load_served(saved_model)
    engine = load_served(saved_model)
    engine.engine = CTranslate2Translator(folders["float32"])
    texts = spanish[:8] + ["", "¿?"]
    key = (1, 0.0, 0, 0, True)  # greedy, with attention
    mine, theirs = engine.run(key, texts), tensorflow.run(key, texts)
    assert engine.info()["engine"] == "ctranslate2"
    for a, b in zip(mine, theirs, strict=True):
        assert (a["translation"], a["translated"], a["source_tokens"]) == \
            (b["translation"], b["translated"], b["source_tokens"])
        if not b["translated"]:  # nothing to translate: the engine decodes nothing
            assert a["output_tokens"] == ["[END]"]
            continue
        assert a["output_tokens"] == b["output_tokens"]
        for name in b["attention"]:
            np.testing.assert_allclose(a["attention"][name], b["attention"][name], atol=1e-4)
    beam = engine.run((4, 0.0, 0, 0, False), texts)
    assert [r["translation"] for r in beam] == CTranslate2Translator(
        folders["float32"]).translate(texts, beam_width=4)


@pytest.mark.parametrize("settings", [{}, {"temperature": 0.8, "seed": 3}, {"beam_width": 3}],
                         ids=["greedy", "sampled", "beam"])
def test_a_runaway_line_is_cut_at_its_own_limit(settings, tiny_transformer, tmp_path):
    """As the TensorFlow translators (tests/test_batch_independence.py): with [END] made
    impossible, a line's translation is the same alone and batched with a longer line."""
    from tests.test_batch_independence import LONG, SHORT, _never_ends, _roomy
    from transformer.ctranslate2_engine import CTranslate2Translator
    from transformer.ctranslate2_export import export_ctranslate2

    with _never_ends(_roomy(tiny_transformer)) as translator:
        engine = CTranslate2Translator(export_ctranslate2(translator, tmp_path / "ct2"))
        alone = engine.run([SHORT], **settings)["output_tokens"][0]
        batched = engine.run([SHORT, LONG], **settings)["output_tokens"]
        if not settings:  # the Keras model's runaway, token for token, as long
            keras_tokens = [t.decode() for t in translator.run([SHORT])["output_tokens"][0]]
            assert alone == [t for t in keras_tokens if t != "[PAD]"]
    assert len(batched[1]) > len(alone)  # the long line's limit is longer
    assert batched[0] == alone
