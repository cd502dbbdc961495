"""Shared fixtures: headless plotting, fixed seeds, one tiny trained run per session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder trained with the tiny preset on the generated corpus (seconds)."""
    from nmt_attention.config import Config
    from nmt_attention.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(Config.tiny().replace(epochs=3), run_dir, log=lambda _: None, verbose=0)
    return run_dir


@pytest.fixture(scope="session")
def tiny_translator(tiny_run):
    from nmt_attention.train import load_translator

    return load_translator(tiny_run)


@pytest.fixture(scope="session")
def tiny_transformer_run(tmp_path_factory):
    """A Transformer run folder trained with the tiny preset (seconds)."""
    from transformer.config import Config
    from transformer.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "transformer-tiny"
    train(Config.tiny().replace(epochs=3), run_dir, log=lambda _: None, verbose=0)
    return run_dir


@pytest.fixture(scope="session")
def tiny_transformer(tiny_transformer_run):
    from transformer.train import load_translator

    return load_translator(tiny_transformer_run)


@pytest.fixture(scope="session")
def tiny_text_run(tmp_path_factory):
    """A text classifier trained with the tiny preset on the generated task (seconds)."""
    from classify.cli import main

    run_dir = tmp_path_factory.mktemp("classify") / "text"
    assert main(["text", "train", "--preset", "tiny", "--run", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="session")
def tiny_bert_run(tmp_path_factory):
    """A small BERT pretrained then fine-tuned with the tiny preset (seconds)."""
    from classify.cli import main

    run_dir = tmp_path_factory.mktemp("classify") / "bert"
    assert main(["bert", "train", "--preset", "tiny", "--run", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="session")
def tiny_vit_run(tmp_path_factory):
    from classify.cli import main

    run_dir = tmp_path_factory.mktemp("classify") / "vit"
    assert main(["vit", "train", "--preset", "tiny", "--run", str(run_dir)]) == 0
    return run_dir
