"""Shared fixtures: headless plotting, fixed seeds, one tiny trained run per session."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)


def _shared_root(config) -> Path | None:
    """(xdist) The folder this test run's workers share, named by the run's id; None
    without xdist."""
    import tempfile

    run_id = getattr(config, "workerinput", {}).get("testrunuid") \
        or getattr(config, "_shared_runs_id", None)
    return Path(tempfile.gettempdir()) / f"shared-runs-{run_id}" if run_id else None


def _shared_run(request, tmp_path_factory, name: str, train) -> Path:
    """A run folder trained once a test run: here without xdist; under xdist by the first
    worker to ask, holding a lock the others wait on (the system releases it if that worker
    dies, and the next one trains it). The tests that write into a run (evaluate, plot)
    write files of their own; a test that needs a run with its export copies the shared
    exported copy (``*_exported``)."""
    root = _shared_root(request.config)
    if root is None:
        run_dir = tmp_path_factory.mktemp("runs") / name
        train(run_dir)
        return run_dir
    import fcntl
    import shutil

    root.mkdir(exist_ok=True)
    run_dir, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another worker trains it
        if not done.exists():
            shutil.rmtree(run_dir, ignore_errors=True)  # a worker that died mid-training
            train(run_dir)
            done.touch()
    return run_dir


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist, the controller) Keeps the run's id, to clean up after the workers."""
    node.config._shared_runs_id = node.workerinput["testrunuid"]


def pytest_sessionfinish(session):
    """Once every test is done (the controller under xdist, or a plain run): stops the
    quick experiments if their test did not wait for them, and removes what the run
    shared."""
    if hasattr(session.config, "workerinput"):
        return
    import shutil
    import tempfile

    run_id = getattr(session.config, "_shared_runs_id", None)
    if run_id:  # xdist: the workers' shared folders, by the run's id
        shared = Path(tempfile.gettempdir())
        shutil.rmtree(shared / f"shared-runs-{run_id}", ignore_errors=True)
        background = _Background(shared / f"quick-experiments-{run_id}")
    else:
        background = getattr(session.config, "_quick_experiments", None)
    if background is not None:
        background.stop()
        shutil.rmtree(background.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_run(request, tmp_path_factory):
    """A run folder trained with the tiny preset on the generated corpus (seconds)."""
    from nmt_attention.config import Config
    from nmt_attention.train import train

    return _shared_run(request, tmp_path_factory, "tiny", lambda run_dir: train(
        Config.tiny().replace(epochs=3), run_dir, log=lambda _: None, verbose=0))


@pytest.fixture(scope="session")
def tiny_translator(tiny_run):
    from nmt_attention.runs import load_translator

    return load_translator(tiny_run)


@pytest.fixture(scope="session")
def tiny_transformer_run(request, tmp_path_factory):
    """A Transformer run folder trained with the tiny preset (seconds)."""
    from transformer.config import Config
    from transformer.train import train

    return _shared_run(request, tmp_path_factory, "transformer-tiny", lambda run_dir: train(
        Config.tiny().replace(epochs=3), run_dir, log=lambda _: None, verbose=0))


@pytest.fixture(scope="session")
def tiny_transformer(tiny_transformer_run):
    from transformer.runs import load_translator

    return load_translator(tiny_transformer_run)


@pytest.fixture(scope="session")
def tiny_text_run(request, tmp_path_factory):
    """A text classifier trained with the tiny preset on the generated task (seconds)."""
    from classify.cli import main

    return _shared_run(request, tmp_path_factory, "text", lambda run_dir: _trained(
        main(["text", "train", "--preset", "tiny", "--run", str(run_dir)])))


@pytest.fixture(scope="session")
def tiny_bert_run(request, tmp_path_factory):
    """A small BERT pretrained then fine-tuned with the tiny preset (seconds)."""
    from classify.cli import main

    return _shared_run(request, tmp_path_factory, "bert", lambda run_dir: _trained(
        main(["bert", "train", "--preset", "tiny", "--run", str(run_dir)])))


@pytest.fixture(scope="session")
def tiny_vit_run(request, tmp_path_factory):
    from classify.cli import main

    return _shared_run(request, tmp_path_factory, "vit", lambda run_dir: _trained(
        main(["vit", "train", "--preset", "tiny", "--run", str(run_dir)])))


def _exported(run_fixture: str, name: str, argv_head: list[str]):
    """A session fixture: a copy of the shared run ``run_fixture`` with its export (``python
    -m ARGV_HEAD export``), made once a test run; the servers and the tutorials copy it, the
    export with it, rather than each export the run again."""

    @pytest.fixture(scope="session", name=f"{run_fixture}_exported")
    def exported(request, tmp_path_factory):
        import importlib
        import shutil

        run = request.getfixturevalue(run_fixture)
        main = importlib.import_module(f"{argv_head[0]}.cli").main

        def make(run_dir):
            # Not an export, nor the files other tests are writing into the shared run.
            shutil.copytree(run, run_dir, ignore=shutil.ignore_patterns("export", ".partial*"))
            _trained(main([*argv_head[1:], "export", "--run", str(run_dir)]))

        return _shared_run(request, tmp_path_factory, f"{name}-exported", make)

    return exported


tiny_run_exported = _exported("tiny_run", "tiny", ["nmt_attention"])
tiny_transformer_run_exported = _exported("tiny_transformer_run", "transformer-tiny",
                                          ["transformer"])
tiny_text_run_exported = _exported("tiny_text_run", "text", ["classify", "text"])
tiny_bert_run_exported = _exported("tiny_bert_run", "bert", ["classify", "bert"])
tiny_vit_run_exported = _exported("tiny_vit_run", "vit", ["classify", "vit"])


def _trained(code: int) -> None:
    assert code == 0, f"training exited with {code}"


class _Background:
    """A command started once a test run, when collection ends, and waited for by the test
    that needs it (run last): at a lower priority, it uses the cycles the rest of the suite
    leaves idle rather than competing with it.

    Under pytest-xdist every worker collects the whole suite: the first to get here starts
    the command (an atomic ``mkdir`` of a folder named by the run's id), and whichever worker
    runs the test waits for the exit code the command leaves in ``rc``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.out = folder / "out"

    def start(self, argv: list[str], limit_seconds: int = 1800) -> None:
        import shlex
        import subprocess
        import sys

        files = {name: shlex.quote(str(self.folder / name))
                 for name in ("stdout.txt", "stderr.txt", "rc", "rc.tmp")}
        command = (f"nice -n 10 timeout {limit_seconds} "
                   f"{shlex.join([sys.executable, *argv])} "
                   f"> {files['stdout.txt']} 2> {files['stderr.txt']} < /dev/null; "
                   f"echo $? > {files['rc.tmp']} && mv {files['rc.tmp']} {files['rc']}")
        process = subprocess.Popen(["sh", "-c", command], start_new_session=True,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        (self.folder / "pid").write_text(str(process.pid))  # its process group's id

    def stop(self) -> None:
        """Ends the command and what it started, if it is still running."""
        import signal
        import time

        pid = self.folder / "pid"
        if not pid.exists() or (self.folder / "rc").exists():
            return
        try:
            os.killpg(int(pid.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            return
        for _ in range(50):  # its files are removed next: let it go first
            if (self.folder / "rc").exists():
                break
            time.sleep(0.1)

    def wait(self, timeout: float = 900) -> str:
        """Its standard output, once it has ended; a failure shows its standard error."""
        import time

        deadline = time.monotonic() + timeout
        while not (self.folder / "rc").exists():
            assert time.monotonic() < deadline, "still running after the wait:\n" + \
                self.log()[-4000:]
            time.sleep(1)
        code = int((self.folder / "rc").read_text())
        assert code == 0, self.log()[-4000:]
        return (self.folder / "stdout.txt").read_text()

    def log(self) -> str:
        return "".join((self.folder / name).read_text() for name in ("stdout.txt", "stderr.txt")
                       if (self.folder / name).exists())


_QUICK_EXPERIMENTS = "test_quick_experiments_run_end_to_end"


def pytest_collection_modifyitems(session, config, items):
    """The test that waits for the quick experiments runs last: they have the whole
    suite's time to finish in."""
    items.sort(key=lambda item: _QUICK_EXPERIMENTS in item.nodeid)  # stable: others keep order


def _quick_folder(config) -> Path:
    """This test run's folder of the quick experiments: named by the run's id under xdist
    (its workers share it), a fresh one without."""
    import tempfile

    worker = getattr(config, "workerinput", None)
    if worker is None:
        return Path(tempfile.mkdtemp(prefix="quick-experiments-"))
    return Path(tempfile.gettempdir()) / f"quick-experiments-{worker['testrunuid']}"


def pytest_collection_finish(session):
    """Starts the quick experiments at once if the run will check them (once a run)."""
    if session.config.option.collectonly or not any(
            _QUICK_EXPERIMENTS in item.nodeid for item in session.items):
        return
    folder = _quick_folder(session.config)
    background = _Background(folder)
    session.config._quick_experiments = background
    try:
        folder.mkdir()
    except FileExistsError:  # made by mkdtemp, or by another worker of this run
        if hasattr(session.config, "workerinput"):
            return  # the other worker started it
    root = Path(__file__).resolve().parents[1]
    background.start([str(root / "bench" / "experiments" / "all.py"), "--quick",
                      "--work", str(folder / "work"), "--out", str(folder / "out")])


@pytest.fixture(scope="session")
def quick_experiments(request):
    background = getattr(request.config, "_quick_experiments", None)
    assert background is not None, "started by pytest_collection_finish"
    return background  # stopped and removed when the run ends (pytest_sessionfinish)
