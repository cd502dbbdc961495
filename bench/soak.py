"""A bounded soak of ``python -m TUTORIAL serve`` on localhost: mixed requests (greedy, beam,
sampled, with attention maps, and hostile bodies) from many clients at once, while hundreds
of connections send half a request and stall.

Prints one JSON line: the requests sent and answered by kind, the unexpected answers (a
good request not answered 200, a hostile one not answered its 4xx, a connection error),
latency p50/p99 in ms for each kind, the stalled connections and how long after opening the
server closed each (it must, within ``--read-timeout``), the requests answered while they
were held, and the server's resident memory after the warm-up and at the end.

The server listens on 127.0.0.1 only; the load is bounded (at most 20,000 requests, 128
clients, 2,000 stalled connections).

Usage: python bench/soak.py --run runs/demo/transformer [--tutorial transformer]
       [--requests 5000] [--clients 32] [--stalled 500] [--read-timeout 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from serving import _percentiles, _Server, server_arguments  # noqa: E402

from common.data.generated import generate_pairs  # noqa: E402

# A hostile body and the status the server must answer it with.
HOSTILE = [
    (b"{not json", 422),
    (b"\xff\xfe{}", 422),  # not UTF-8
    (b'{"texts": "one string, not a list"}', 422),
    (b'{"texts": []}', 422),
    (b'{"texts": [1, 2]}', 422),
    (b'{"texts": ["hola"], "beam": 100}', 422),
    (b'{"texts": ["hola"], "temperature": -1}', 422),
    (b'{"texts": ["hola"], "unknown": true}', 422),
    (b'{"texts": ["' + b"a" * 3000 + b'"]}', 422),  # over max_chars
    (b"[]", 422),
]
KINDS = ("greedy", "beam", "sampled", "attention", "hostile")


def _memory_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def _request(texts: list[str], rng: random.Random) -> tuple[str, bytes, int]:
    """One request of a random kind: (kind, body, expected status)."""
    kind = rng.choice(KINDS)
    if kind == "hostile":
        body, status = rng.choice(HOSTILE)
        return kind, body, status
    payload = {"texts": rng.sample(texts, rng.randint(1, 4))}
    if kind == "beam":
        payload["beam"] = 4
    elif kind == "sampled":
        payload.update(temperature=0.8, top_k=20, seed=rng.randint(0, 1000))
    elif kind == "attention":
        payload["attention"] = True
    return kind, json.dumps(payload).encode(), 200


class _Load:
    """``clients`` threads, each on its own kept-alive connection, sending requests until
    ``total`` have been sent among them."""

    def __init__(self, port: int, texts: list[str], clients: int, total: int, seed: int):
        self.port, self.texts, self.total = port, texts, total
        self.sent = 0
        self.lock = threading.Lock()
        self.latencies = {kind: [] for kind in KINDS}
        self.unexpected: list[str] = []
        self.answered_at: list[float] = []
        self.threads = [threading.Thread(target=self._client, args=(seed + c,))
                        for c in range(clients)]

    def _next(self) -> bool:
        with self.lock:
            if self.sent >= self.total:
                return False
            self.sent += 1
            return True

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while self._next():
            kind, body, expected = _request(self.texts, rng)
            started = time.perf_counter()
            try:
                connection.request("POST", "/translate", body,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status, answer = None, repr(error).encode()
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            took = time.perf_counter() - started
            with self.lock:
                self.answered_at.append(time.monotonic())
                if status == expected and (status == 200 or b'"error"' in answer):
                    self.latencies[kind].append(took)
                else:
                    self.unexpected.append(f"{kind}: {status} {answer[:200]!r}")
        connection.close()

    def run(self) -> None:
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join()


class _Stalled:
    """``count`` connections that each send half a request head and nothing more; a thread
    records when the server closes each."""

    def __init__(self, port: int, count: int):
        self.opened: list[float] = []
        self.closed: list[float | None] = []
        self.sockets = []
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
            connection.setblocking(False)
            self.sockets.append(connection)
            self.opened.append(time.monotonic())
            self.closed.append(None)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        import selectors

        selector = selectors.DefaultSelector()
        for index, connection in enumerate(self.sockets):
            selector.register(connection, selectors.EVENT_READ, index)
        while selector.get_map():
            for key, _ in selector.select(timeout=1):
                try:
                    data = key.fileobj.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:  # closed by the server
                    self.closed[key.data] = time.monotonic()
                    selector.unregister(key.fileobj)
                    key.fileobj.close()

    def wait(self, seconds: float) -> None:
        self.thread.join(seconds)

    def summary(self) -> dict:
        after = sorted(closed - opened for opened, closed
                       in zip(self.opened, self.closed, strict=True) if closed is not None)
        return {"stalled": len(self.sockets),
                "stalled_closed_by_server": len(after),
                "stalled_closed_after_s": {
                    "min": round(after[0], 2) if after else None,
                    "median": round(after[len(after) // 2], 2) if after else None,
                    "max": round(after[-1], 2) if after else None}}


class _MemorySeries:
    """The server's resident memory each time another ``every`` requests have been
    answered: ``[requests answered, MB]``."""

    def __init__(self, pid: int, load: _Load, every: int):
        self.pid, self.load, self.every = pid, load, max(every, 1)
        self.series: list[list] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        mark = self.every
        while not self.done.wait(0.2):
            answered = len(self.load.answered_at)
            if answered >= mark:
                self.series.append([answered, _memory_mb(self.pid)])
                mark += self.every

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server_arguments(parser)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--stalled", type=int, default=500)
    parser.add_argument("--read-timeout", type=float, default=5.0)
    parser.add_argument("--warmup", type=int, default=500,
                        help="requests before the memory is first read (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (0 < args.requests <= 20_000 and 0 < args.clients <= 128
            and 0 <= args.stalled <= 2_000 and 0 < args.read_timeout <= 60
            and 0 < args.warmup <= 20_000):
        parser.error("bounds: --requests 1-20000, --clients 1-128, --stalled 0-2000, "
                     "--read-timeout (0, 60], --warmup 1-20000")
    texts = [pair.spanish for pair in generate_pairs(512, seed=7)]
    server = _Server(args.tutorial, Path(args.run), 32,
                     options=["--read-timeout", str(args.read_timeout)])
    port = int(server.url.rsplit(":", 1)[1])
    try:
        warm = _Load(port, texts, args.clients, args.warmup, args.seed)
        warm.run()  # traces every graph the kinds use
        memory_warm = _memory_mb(server.process.pid)
        stalled = _Stalled(port, args.stalled)
        load = _Load(port, texts, args.clients, args.requests, args.seed + 1000)
        memory = _MemorySeries(server.process.pid, load, every=args.requests // 10)
        started = time.monotonic()
        load.run()
        seconds = time.monotonic() - started
        memory.stop()
        stalled.wait(args.read_timeout + 10)
        held_until = max((c for c in stalled.closed if c is not None), default=started)
        memory_end = _memory_mb(server.process.pid)
    finally:
        server.stop()
    every = [t for kind in KINDS for t in load.latencies[kind]]
    print(json.dumps({
        "bench": "soak", "tutorial": args.tutorial, "run": args.run, "seed": args.seed,
        "clients": args.clients, "read_timeout_s": args.read_timeout,
        "warmup_requests": args.warmup,
        "requests": load.sent, "seconds": round(seconds, 1),
        "requests_per_s": round(load.sent / seconds, 1),
        "by_kind": {kind: len(load.latencies[kind]) for kind in KINDS},
        "unexpected": len(load.unexpected) + len(warm.unexpected),
        "unexpected_first": (warm.unexpected + load.unexpected)[:5],
        "latency_ms": {kind: _percentiles(load.latencies[kind]) for kind in KINDS},
        "latency_all_ms": _percentiles(every),
        **stalled.summary(),
        "answered_while_stalled_held": sum(a <= held_until for a in load.answered_at),
        "memory_mb_after_warmup": memory_warm, "memory_mb_end": memory_end,
        "memory_mb_by_requests": memory.series,
        "memory_growth_mb": round(memory_end - memory_warm, 1)}), flush=True)
    return 0 if not load.unexpected and not warm.unexpected else 1


if __name__ == "__main__":
    raise SystemExit(main())
