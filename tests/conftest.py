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
    from nmt_attention.runs import load_translator

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
    from transformer.runs import load_translator

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


class _Background:
    """A command started when the session begins, to be waited for by the test that needs
    it (run last): at a lower priority, it uses the cycles the rest of the suite leaves
    idle (single-threaded Python, processes starting) rather than competing with it."""

    def __init__(self, argv: list[str], folder):
        import subprocess
        import sys

        self.folder = folder
        self.out = folder / "out"
        self._stdout = open(folder / "stdout.txt", "w")  # noqa: SIM115
        self._stderr = open(folder / "stderr.txt", "w")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, *argv], stdout=self._stdout,
                                        stderr=self._stderr, stdin=subprocess.DEVNULL,
                                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                                        preexec_fn=lambda: os.nice(10))

    def wait(self, timeout: float = 900) -> str:
        """Its standard output, once it has ended; a failure shows its standard error."""
        code = self.process.wait(timeout)
        self._stdout.close()
        self._stderr.close()
        stdout = (self.folder / "stdout.txt").read_text()
        assert code == 0, self.log()[-4000:]
        return stdout

    def log(self) -> str:
        return (self.folder / "stdout.txt").read_text() + (self.folder / "stderr.txt").read_text()


_QUICK_EXPERIMENTS = "test_quick_experiments_run_end_to_end"


def pytest_collection_modifyitems(session, config, items):
    """The test that waits for the quick experiments runs last: they have the whole
    suite's time to finish in."""
    items.sort(key=lambda item: _QUICK_EXPERIMENTS in item.nodeid)  # stable: others keep order


def pytest_collection_finish(session):
    """Starts the quick experiments at once if the session will check them."""
    if any(_QUICK_EXPERIMENTS in item.nodeid for item in session.items):
        import tempfile
        from pathlib import Path

        folder = Path(tempfile.mkdtemp(prefix="quick-experiments-"))
        root = Path(__file__).resolve().parents[1]
        session.config._quick_experiments = _Background(
            [str(root / "bench" / "experiments" / "all.py"), "--quick",
             "--work", str(folder / "work"), "--out", str(folder / "out")], folder)


@pytest.fixture(scope="session")
def quick_experiments(request):
    background = getattr(request.config, "_quick_experiments", None)
    assert background is not None, "started by pytest_collection_finish"
    yield background
    if background.process.poll() is None:
        background.process.kill()
        background.process.wait()
    import shutil

    shutil.rmtree(background.folder, ignore_errors=True)
