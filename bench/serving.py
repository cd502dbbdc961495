"""Serving throughput and latency: N concurrent clients against ``python -m TUTORIAL serve``
on localhost, for a fixed time, against calling the SavedModel in-process.

Prints one JSON line per setting:

* ``mode`` ``in_process``: one caller, the SavedModel's greedy ``sample`` signature, batches
  of ``texts_per_request`` texts back to back (the floor any server adds to);
* ``mode`` ``http``: ``clients`` threads each sending ``POST /translate`` (greedy, no
  attention) with ``texts_per_request`` texts as soon as the last answer came, to a server
  started with ``--max-batch`` ``max_batch`` (1: each request alone; 32: requests waiting
  together run as one batch).

Each line: requests and texts per second, latency p50/p95/p99 in ms, errors (any answer but
200). The server listens on 127.0.0.1 only; clients are bounded (at most 64) and so is the
time (at most 60 s a setting).

Usage: python bench/serving.py --run runs/demo/transformer [--tutorial transformer]
       [--seconds 8] [--clients 1 4 16] [--batches 1 8]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from common.data.generated import generate_pairs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    values = np.array(latencies) * 1000
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)}


def _line(**fields) -> None:
    print(json.dumps({"bench": "serving", **fields}), flush=True)


def in_process(saved_model: Path, texts: list[str], per_request: int, seconds: float) -> dict:
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    model = tf.saved_model.load(str(saved_model))
    sample = model.signatures["sample"]
    args = dict(temperature=tf.constant(0.0), top_k=tf.constant(0),
                seed=tf.constant(0, tf.int64))
    sample(texts=tf.constant(texts[:per_request]), **args)  # traced once
    latencies, i = [], 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        batch = [texts[(i + k) % len(texts)] for k in range(per_request)]
        started = time.perf_counter()
        sample(texts=tf.constant(batch), **args)["translation"].numpy()
        latencies.append(time.perf_counter() - started)
        i += per_request
    return {"requests": len(latencies), "errors": 0, "latencies": latencies}


def over_http(url: str, texts: list[str], clients: int, per_request: int,
              seconds: float) -> dict:
    latencies, errors = [], [0]
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def client(offset: int):
        i = offset
        while time.perf_counter() < end:
            batch = [texts[(i + k) % len(texts)] for k in range(per_request)]
            body = json.dumps({"texts": batch}).encode()
            request = urllib.request.Request(f"{url}/translate", data=body,
                                             headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    ok = response.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[0] += 1
            i += per_request * clients

    threads = [threading.Thread(target=client, args=(c * per_request,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": len(latencies), "errors": errors[0], "latencies": latencies}


class _Server:
    """``python -m TUTORIAL serve`` (``tutorial`` a module name or a list of arguments, e.g.
    ``["classify", "text"]``) on a free localhost port, with ``options`` added to its command."""

    def __init__(self, tutorial: str | list[str], run: Path, max_batch: int,
                 options: list[str] = ()):
        tutorial = [tutorial] if isinstance(tutorial, str) else list(tutorial)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", *tutorial, "serve", "--run", str(run), "--port", str(port),
             "--max-batch", str(max_batch), *options], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server for {run} did not start") from None
                time.sleep(0.5)

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


def server_arguments(parser: argparse.ArgumentParser) -> None:
    """--run and --tutorial: the translator run served, and by which tutorial."""
    parser.add_argument("--run", default="runs/demo/transformer",
                        help="a trained translator run (default: make demo's Transformer)")
    parser.add_argument("--tutorial", default="transformer",
                        choices=["transformer", "nmt_attention"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server_arguments(parser)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8],
                        help="texts a request")
    parser.add_argument("--max-batch", type=int, nargs="+", default=[1, 32],
                        help="the server's --max-batch settings compared")
    args = parser.parse_args()
    if not 0 < args.seconds <= 60 or not all(0 < c <= 64 for c in args.clients):
        parser.error("--seconds must be in (0, 60] and --clients in 1-64")
    run = Path(args.run)
    texts = [pair.spanish for pair in generate_pairs(256, seed=7)]

    # The server exports the run first when it has to; the in-process side then loads it.
    servers = {size: _Server(args.tutorial, run, size) for size in args.max_batch[:1]}
    for per_request in args.batches:
        result = in_process(run / "export" / "saved_model", texts, per_request, args.seconds)
        latencies = result.pop("latencies")
        _line(mode="in_process", texts_per_request=per_request, seconds=args.seconds,
              requests_per_s=round(result["requests"] / args.seconds, 2),
              texts_per_s=round(result["requests"] * per_request / args.seconds, 2),
              **_percentiles(latencies), **result)
    for size in args.max_batch:
        server = servers.pop(size, None) or _Server(args.tutorial, run, size)
        over_http(server.url, texts, 1, 1, 1.0)  # warm: traces the server's graphs
        for per_request in args.batches:
            for clients in args.clients:
                result = over_http(server.url, texts, clients, per_request, args.seconds)
                latencies = result.pop("latencies")
                _line(mode="http", max_batch=size, clients=clients,
                      texts_per_request=per_request, seconds=args.seconds,
                      requests_per_s=round(result["requests"] / args.seconds, 2),
                      texts_per_s=round(result["requests"] * per_request / args.seconds, 2),
                      **_percentiles(latencies), **result)
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
