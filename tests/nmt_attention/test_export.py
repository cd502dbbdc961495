import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from nmt_attention.export import export

pytestmark = pytest.mark.slow

SENTENCES = ["¿Dónde está el perro?", "", "   ", "😀 東京", "la " * 3400, "Ella lo comió."]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def exported(tiny_run_exported, tmp_path_factory):
    """A copy of the suite's shared export of the tiny run (``export`` of its translator),
    which the tests here may write beside."""
    import shutil

    folder = tmp_path_factory.mktemp("export")
    shutil.copytree(tiny_run_exported / "export", folder, dirs_exist_ok=True)
    return folder / "saved_model"


def _run(args, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def test_reloaded_in_a_fresh_process_it_translates_the_same(tiny_translator, exported):
    code = (
        "import json, sys, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "texts = tf.constant(json.loads(sys.argv[2]))\n"
        "out = m.signatures['serving_default'](texts=texts)['translation']\n"
        "att = m.translate_with_attention(texts)\n"
        "beam = m.translate_beam(texts, tf.constant(3))['translation']\n"
        "print(json.dumps({'t': [t.decode() for t in out.numpy()],\n"
        "                  'beam': [t.decode() for t in beam.numpy()],\n"
        "                  'shape': list(att['attention'].shape),\n"
        "                  'dtype': att['attention'].dtype.name}))\n"
    )
    done = _run([sys.executable, "-c", code, str(exported), json.dumps(SENTENCES)])
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["t"] == tiny_translator.translate(SENTENCES)
    assert result["t"][1] == "" and result["t"][2] == ""
    assert result["beam"] == tiny_translator.translate(SENTENCES, beam_width=3)
    assert result["shape"][0] == len(SENTENCES) and result["dtype"] == "float32"


def test_saved_model_cli_shows_both_signatures(exported):
    done = _run([str(BIN / "saved_model_cli"), "show", "--dir", str(exported), "--all"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "signature_def['serving_default']" in done.stdout
    assert "signature_def['translate_with_attention']" in done.stdout
    assert "signature_def['translate_beam']" in done.stdout
    assert "inputs['texts']" in done.stdout and "DT_STRING" in done.stdout


def test_saved_model_cli_run_translates_a_sentence(tiny_translator, exported):
    done = _run([str(BIN / "saved_model_cli"), "run", "--dir", str(exported), "--tag_set",
                 "serve", "--signature_def", "serving_default", "--input_exprs",
                 'texts=["¿Dónde está el perro?"]'])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Result for output key translation" in done.stdout
    expected = tiny_translator.translate(["¿Dónde está el perro?"])[0]
    assert repr(expected.encode("utf-8")) in done.stdout


def test_keras_model_file_reloads_with_every_custom_class(tiny_translator, exported):
    loaded = keras.saving.load_model(exported.parent / "model.keras")
    source = tf.constant([[2, 5, 6, 3]], tf.int64)
    target = tf.constant([[2, 7]], tf.int64)
    np.testing.assert_allclose(loaded((source, target)).numpy(),
                               tiny_translator.model((source, target)).numpy(), atol=1e-5)


def test_a_failed_export_leaves_the_previous_one_intact(tiny_translator, exported,
                                                        monkeypatch):
    before = sorted(p.name for p in exported.parent.iterdir())

    def broken_save(obj, path, signatures=None):
        Path(path, "saved_model.pb").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export(tiny_translator, exported.parent)
    assert sorted(p.name for p in exported.parent.iterdir()) == before
    assert (exported / "saved_model.pb").stat().st_size > 1000


def test_the_export_refuses_a_beam_below_1_and_answers_an_empty_batch(exported):
    model = tf.saved_model.load(str(exported))
    texts = tf.constant(["Ella come.", "中文", "¿?"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_width must be at least 1"):
        model.translate_beam(texts, tf.constant(0))
    assert model.translate(tf.constant([], tf.string))["translation"].shape == (0,)
    result = model.translate_with_attention(texts)
    assert result["translated"].numpy().tolist() == [True, False, False]
    assert result["translation"].numpy().tolist()[1:] == [b"", b""]
    assert model.translate_beam(tf.constant([], tf.string), tf.constant(3))[
        "translation"].shape == (0,)
