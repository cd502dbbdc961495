"""Servers for the serving tests: ``python -m TUTORIAL serve`` in a subprocess on a free
localhost port, one per tiny run, started once a session."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, body=None, raw: bytes | None = None, timeout: float = 120,
         headers: dict | None = None) -> tuple[int, dict]:
    """``(status, JSON body)`` of a GET (no body) or a POST."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Server:
    """``python -m <module> [kind] serve --run RUN`` on a free port."""

    def __init__(self, argv: list[str], folder):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", *argv, "--port", str(self.port)], stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        self._ready = False

    def ready(self, timeout: float = 300) -> "Server":
        """Waits for ``GET /health`` to answer (the export first, when the run has none)."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            assert self.process.poll() is None, self.log()
            try:
                status, _ = call(f"{self.url}/health", timeout=5)
                self._ready = status == 200
            except OSError:
                assert time.monotonic() < deadline, "server not up:\n" + self.log()
                time.sleep(0.5)
        return self

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it: its exit status (None if it had to be
        killed)."""
        self.process.terminate()
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self._log.close()
        return code


READ_TIMEOUT = 3  # the Transformer server's --read-timeout, seconds
ALLOWED_HOST = "translator.example"  # a name the Transformer server answers to besides
MAX_CONNECTIONS = 4  # the GRU server's --max-connections


def _server(tmp_path_factory, run, argv_head, options=()):
    folder = tmp_path_factory.mktemp("serve")
    copy = folder / run.name
    shutil.copytree(run, copy)  # with the export the shared copy was made with
    server = Server([*argv_head, "serve", "--run", str(copy), *options], folder)
    server.run = copy
    return server


@pytest.fixture(scope="session")
def _servers(tmp_path_factory, tiny_run_exported, tiny_transformer_run_exported,
             tiny_text_run_exported, tiny_vit_run_exported):
    """All four servers, started together, each on a copy of its exported run: each loads it
    in its own process, so they start side by side while the tests wait for the first."""
    servers = {
        "transformer": _server(tmp_path_factory, tiny_transformer_run_exported,
                               ["transformer"],
                               ["--read-timeout", str(READ_TIMEOUT),
                                "--allowed-host", ALLOWED_HOST.upper() + "."]),
        "gru": _server(tmp_path_factory, tiny_run_exported, ["nmt_attention"],
                       ["--max-connections", str(MAX_CONNECTIONS)]),
        "text": _server(tmp_path_factory, tiny_text_run_exported, ["classify", "text"]),
        "vit": _server(tmp_path_factory, tiny_vit_run_exported, ["classify", "vit"]),
    }
    yield servers
    served = {name for name, server in servers.items() if server._ready}
    codes = {name: server.stop() for name, server in servers.items()}
    # Stopped by SIGTERM once their requests are answered: a clean exit, not 143 (a server
    # no test waited for may still be loading).
    assert {name: codes[name] for name in served} == dict.fromkeys(served, 0), codes


def _one(name: str):
    @pytest.fixture(scope="session", name=f"{name}_server")
    def server(_servers):
        return _servers[name]

    return server


transformer_server, gru_server, text_server, vit_server = (
    _one(name) for name in ("transformer", "gru", "text", "vit"))


@pytest.fixture(scope="session")
def saved_models():
    """Each run's exported SavedModel, loaded once in the test process."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 - the Transformer's tokenizer ops

    loaded = {}

    def load(run):
        if run not in loaded:
            loaded[run] = tf.saved_model.load(str(run / "export" / "saved_model"))
        return loaded[run]

    return load
