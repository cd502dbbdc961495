"""Serving, written once: an exported SavedModel behind an HTTP API, and the attention
explorer page.

The server loads the SavedModel alone (no training code): a translator's export
(:mod:`common.export`: signatures ``sample``, ``beam`` and ``attention``) or a classifier's
(:mod:`classify.export`: ``serving_default`` and ``explain``). Endpoints:

* ``GET /health``: ``{"status": "ok", ...}``; ``GET /info``: what the model is and takes;
* ``POST /translate`` (translators): ``{"texts": [...], "beam": 1, "temperature": 0,
  "top_k": 0, "seed": 0, "attention": false}`` -> one result a text: ``translation``,
  ``source_tokens``, ``output_tokens`` and, when asked, ``attention`` (``cross`` and, for the
  Transformer, ``encoder_self`` and ``decoder_self``: [layer][head][query][key]);
* ``POST /classify`` (classifiers): ``{"texts": [...]}`` or ``{"images": [...]}`` (height x
  width or height x width x channels pixels in [0, 1]) -> ``label``, ``probabilities`` and,
  when asked, the attention of every block and head (texts: with the words; images: the
  [CLS] rollout over the patches);
* ``GET /``: the attention explorer (one page, every file served from here);
  ``GET /docs``: the OpenAPI page FastAPI makes.

(No ``from __future__ import annotations`` here: FastAPI reads the request models'
annotations, which are made inside :func:`create_app`.)

A bad request gets a 4xx JSON body ``{"error": ..., "field": ...}``; a body over
``max_body_bytes`` gets 413. Requests are queued to one model thread, which runs the
requests waiting with the same settings as one batch (up to ``max_batch`` texts): TensorFlow
uses every core for one call, and one batch of many texts costs little more than one text.
A sampled request runs alone: its draws would otherwise depend on what it was batched with.
"""

import errno
import json
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.errors import RunError, UsageError

__all__ = ["Batcher", "ServedClassifier", "ServedTranslator", "create_app",
           "has_serving_signatures", "load_served", "serve"]

EXPLORER = Path(__file__).resolve().parent / "explorer"
PADDING = ("", "[PAD]")
END = "[END]"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _length(tokens: Sequence[str]) -> int:
    """Tokens before the padding."""
    n = len(tokens)
    while n and tokens[n - 1] in PADDING:
        n -= 1
    return n


def _output_length(tokens: Sequence[str]) -> int:
    """Output tokens up to and with the first ``[END]`` (else before the padding)."""
    return tokens.index(END) + 1 if END in tokens else _length(tokens)


def _rounded(array: np.ndarray) -> list:
    """Attention weights for JSON: 4 decimals are more than a heatmap shows."""
    return np.round(array.astype(np.float64), 4).tolist()


class Batcher:
    """One thread calls ``run(key, items)`` for the requests queued with the same ``key``
    (their items in one list, at most ``max_batch`` of them when they can be split); each
    request gets its own slice of the results. ``max_wait`` seconds are spent gathering
    only when a batch has room and another request is already waiting.

    ``max_batch=1`` runs each request alone (still one at a time: the model is never called
    from two threads at once); so does a request submitted with ``alone=True``, whatever its
    key.
    """

    def __init__(self, run: Callable[[tuple, list], list], max_batch: int = 32,
                 max_wait: float = 0.002):
        self._run = run
        self.max_batch = max(1, max_batch)
        self.max_wait = max_wait
        self._queue: queue.Queue = queue.Queue()
        self._held: list = []
        self._thread = threading.Thread(target=self._loop, name="model", daemon=True)
        self._thread.start()

    def submit(self, key: tuple, items: list, alone: bool = False) -> list:
        """The results of ``items`` (in order), once the model thread has run them; an
        exception raised by ``run`` reaches every request of its batch. ``alone``: run
        them in a call of their own, never batched with another request."""
        future: Future = Future()
        self._queue.put((key, list(items), future, alone))
        return future.result()

    def _next(self, block: bool):
        if self._held:
            return self._held.pop(0)
        try:
            return self._queue.get(block=block, timeout=None if block else self.max_wait)
        except queue.Empty:
            return None

    def _loop(self):
        while True:
            key, items, future, alone = self._next(block=True)
            batch = [(items, future)]
            size = len(items)
            held = []
            while size < self.max_batch and not alone:
                waiting = self._next(block=False)
                if waiting is None:
                    break
                other_key, other_items, other_future, other_alone = waiting
                if (other_key == key and not other_alone
                        and size + len(other_items) <= self.max_batch):
                    batch.append((other_items, other_future))
                    size += len(other_items)
                else:
                    held.append(waiting)
            self._held = held + self._held
            self._execute(key, batch)

    def _execute(self, key, batch):
        joined = [item for items, _ in batch for item in items]
        try:
            results = self._run(key, joined)
        except Exception as error:  # noqa: BLE001 - handed to the requests, which report it
            for _, future in batch:
                future.set_exception(error)
            return
        start = 0
        for items, future in batch:
            future.set_result(results[start:start + len(items)])
            start += len(items)


@dataclass
class ServedTranslator:
    """A translator's SavedModel, called the way the server needs. With an ``engine`` (a
    :class:`transformer.ctranslate2_engine.CTranslate2Translator`) the translations are the
    engine's and only the attention maps the SavedModel's, computed for the engine's tokens."""

    model: object
    name: str = "translator"
    kind: str = "translator"
    layers: int = 1
    heads: int = 1
    maps: tuple = ("cross",)
    max_beam: int = 8
    engine: object = None

    @classmethod
    def load(cls, model, name: str) -> "ServedTranslator":
        import tensorflow as tf

        probe = model.signatures["attention"](
            texts=tf.constant(["a"]), output_ids=tf.constant([[1]], tf.int64))
        maps = tuple(key for key in ("encoder_self", "decoder_self", "cross") if key in probe)
        layers, _, heads = probe["cross"].shape[:3]
        return cls(model, name, layers=int(layers), heads=int(heads), maps=maps)

    def info(self) -> dict:
        return {"kind": self.kind, "name": self.name, "layers": self.layers,
                "heads": self.heads, "maps": list(self.maps), "max_beam": self.max_beam,
                "engine": "tensorflow" if self.engine is None else "ctranslate2"}

    def run(self, key: tuple, texts: list[str]) -> list[dict]:
        """``key`` = (beam, temperature, top_k, seed, attention)."""
        import tensorflow as tf

        beam, temperature, top_k, seed, attention = key
        batch = tf.constant(texts, tf.string)
        if self.engine is not None:
            out = self._engine_outputs(texts, beam, temperature, top_k, seed)
        elif beam > 1:
            out = self.model.signatures["beam"](texts=batch, beam_width=tf.constant(beam))
        else:
            out = self.model.signatures["sample"](
                texts=batch, temperature=tf.constant(float(temperature), tf.float32),
                top_k=tf.constant(top_k, tf.int32), seed=tf.constant(seed, tf.int64))
        maps = {}
        if attention:
            maps = self.model.signatures["attention"](texts=batch, output_ids=out["output_ids"])
        results = []
        for i in range(len(texts)):
            source = [_text(t) for t in np.asarray(out["source_tokens"][i])]
            output = [_text(t) for t in np.asarray(out["output_tokens"][i])]
            s, o = _length(source), _output_length(output)
            result = {"translation": _text(np.asarray(out["translation"][i]).item()),
                      "translated": bool(np.asarray(out["translated"][i])),
                      "source_tokens": source[:s], "output_tokens": output[:o]}
            if attention:
                sizes = {"encoder_self": (s, s), "decoder_self": (o, o), "cross": (o, s)}
                result["attention"] = {
                    name: _rounded(maps[name][:, i, :, :rows, :cols].numpy())
                    for name, (rows, cols) in sizes.items() if name in maps}
            results.append(result)
        return results

    def _engine_outputs(self, texts: list[str], beam, temperature, top_k, seed) -> dict:
        """The engine's translations in the SavedModel's output layout: tokens padded
        with [PAD], each row's ``output_ids`` ending with [END] (what the attention
        signature reads)."""
        import tensorflow as tf

        out = self.engine.run(texts, temperature=temperature, top_k=top_k, seed=seed,
                              beam_width=beam)
        outputs = [[*tokens, END] for tokens in out["output_tokens"]]
        width = max(len(tokens) for tokens in outputs)
        ids = [[self.engine.target.ids[t] for t in tokens] + [0] * (width - len(tokens))
               for tokens in outputs]
        return {"translation": out["translation"], "translated": out["translated"],
                "source_tokens": out["source_tokens"], "output_tokens": outputs,
                "output_ids": tf.constant(ids, tf.int64)}


@dataclass
class ServedClassifier:
    """A classifier's SavedModel (text or image), called the way the server needs."""

    model: object
    labels: list[str]
    name: str = "classifier"
    image_shape: tuple | None = None
    layers: int = 1
    heads: int = 1
    kind: str = field(init=False)

    def __post_init__(self):
        self.kind = "image-classifier" if self.image_shape else "text-classifier"

    @classmethod
    def load(cls, model, name: str, labels: list[str]) -> "ServedClassifier":
        import tensorflow as tf

        spec = model.signatures["explain"].structured_input_signature[1]
        if "images" in spec:
            shape = tuple(int(n) for n in spec["images"].shape[1:])
            probe = model.signatures["explain"](images=tf.zeros((1, *shape)))
        else:
            shape = None
            probe = model.signatures["explain"](texts=tf.constant(["a"]))
        layers, _, heads = probe["attention"].shape[:3]
        return cls(model, labels, name, shape, int(layers), int(heads))

    def info(self) -> dict:
        info = {"kind": self.kind, "name": self.name, "labels": self.labels,
                "layers": self.layers, "heads": self.heads}
        if self.image_shape:
            info["image_shape"] = list(self.image_shape)
        return info

    def run(self, key: tuple, inputs: list) -> list[dict]:
        """``key`` = (attention,); ``inputs`` texts or images (numpy arrays)."""
        import tensorflow as tf

        (attention,) = key
        signature = self.model.signatures["explain" if attention else "serving_default"]
        if self.image_shape:
            out = signature(images=tf.constant(np.stack(inputs), tf.float32))
        else:
            out = signature(texts=tf.constant(inputs, tf.string))
        results = []
        for i in range(len(inputs)):
            classified = bool(out["classified"][i].numpy())
            probabilities = out["probabilities"][i].numpy()
            result = {"label": _text(out["label"][i].numpy()), "classified": classified,
                      "probabilities": dict(zip(self.labels, np.round(
                          probabilities.astype(np.float64), 6).tolist(), strict=True))}
            if attention:
                if self.image_shape:
                    result["rollout"] = _rounded(out["rollout"][i].numpy())
                    result["attention"] = _rounded(out["attention"][:, i].numpy())
                else:
                    tokens = [_text(t) for t in out["tokens"][i].numpy()]
                    n = _length(tokens)
                    result["tokens"] = tokens[:n]
                    result["attention"] = _rounded(out["attention"][:, i, :, :n, :n].numpy())
            results.append(result)
        return results

    def check_image(self, image) -> np.ndarray:
        """A nested list as this model's image, or ``ValueError`` saying what is wrong (the
        rule of :mod:`common.images`)."""
        from common.images import is_number_grid, pixel_problem

        height, width, channels = self.image_shape
        if not is_number_grid(image):
            raise ValueError("an image is nested lists of numbers (pixel values in [0, 1]); "
                             "strings, booleans, objects and nulls are not pixels")
        try:
            array = np.asarray(image, dtype=np.float64)
        except (ValueError, OverflowError):  # ragged rows, an integer past float64
            raise ValueError(f"an image must be {height} x {width} x {channels} pixels of "
                             "numbers, each row as long as the others") from None
        if array.shape == (height, width) and channels == 1:
            array = array[..., None]
        if array.shape != (height, width, channels):
            raise ValueError(f"an image must be {height} x {width} x {channels} pixels "
                             f"(or {height} x {width}), not {' x '.join(map(str, array.shape))}")
        problem = pixel_problem(array)
        if problem:
            raise ValueError(problem)
        return array.astype(np.float32)


SERVING_SIGNATURES = ({"sample", "beam", "attention"}, {"serving_default", "explain"})


def has_serving_signatures(saved_model: str | Path) -> bool:
    """Whether ``saved_model`` holds a SavedModel with the signatures the server needs
    (read from ``saved_model.pb`` without loading the model). A damaged (truncated) file
    holds none: ``serve`` then exports the run again."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        proto = saved_model_pb2.SavedModel.FromString(
            (Path(saved_model) / "saved_model.pb").read_bytes())
    except (OSError, ValueError, DecodeError):
        return False
    names = {name for graph in proto.meta_graphs for name in graph.signature_def}
    return any(needed <= names for needed in SERVING_SIGNATURES)


def load_served(saved_model: str | Path, name: str | None = None):
    """The SavedModel at ``saved_model`` as a :class:`ServedTranslator` or
    :class:`ServedClassifier`; ``RunError`` when it is missing or has not the signatures
    the server needs (an export from before the server: export the run again)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 - registers the ops the Transformer's export needs

    saved_model = Path(saved_model)
    if not has_serving_signatures(saved_model):
        raise RunError(f"no SavedModel with the serving signatures in {saved_model}: export "
                       "the run (again)")
    try:
        model = tf.saved_model.load(str(saved_model))
    except Exception as error:  # a truncated graph or variables file fails in many ways
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise RunError(f"cannot load the SavedModel in {saved_model} ({type(error).__name__}: "
                       f"{first}): it is damaged or from another TensorFlow; export the run "
                       "again") from error
    name = name or saved_model.parent.parent.name
    if "attention" in model.signatures:
        return ServedTranslator.load(model, name)
    try:
        labels = json.loads((saved_model.parent / "labels.json").read_text())
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read the labels beside {saved_model}: {error}; export the run "
                       "again") from None
    return ServedClassifier.load(model, name, labels)


def _field(location: Sequence) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


class _BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 before the app
    sees it, whatever its Content-Length says (the body is read here, up to the limit, and
    handed on).

    A refused body is read to its end (up to ``DRAIN_LIMITS`` times the limit) before the
    answer: a server that answers and closes while the client is still sending makes the
    client's system reset the connection, and the client sees "connection reset" instead of
    the 413 that says what to do."""

    DRAIN_LIMITS = 16

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._refuse(receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._refuse(receive, send, more=message.get("more_body", False))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _refuse(self, receive, send, more: bool = True):
        unread = self.DRAIN_LIMITS * self.limit
        while more and unread > 0:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            unread -= len(message.get("body", b""))
            more = message.get("more_body", False)
        body = json.dumps({"error": f"request body over {self.limit} bytes: send fewer or "
                           "shorter texts", "field": "body"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (serve's ``--host``) is this machine only: localhost, 127.0.0.0/8,
    ::1."""
    import ipaddress

    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: bytes) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` -> ``::1``."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):  # an IPv6 address
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(host: str, names: Sequence[str] = ()) -> set[str] | None:
    """The names a request's Host header may carry on a server listening on ``host``
    (serve's ``--host``) with ``names`` allowed besides (``--allowed-host``): this machine's
    names on a loopback address, else the address itself; on a wildcard address (0.0.0.0,
    ::) only ``names``, or any (None) when there are none."""
    def plain(name: str) -> str:  # as host_name reads a Host header, without a final dot
        return name.strip().strip("[]").lower().rstrip(".")

    names = {plain(name) for name in names}
    if is_loopback(host):
        return set(LOOPBACK) | names
    if plain(host) in ("0.0.0.0", "::", ""):
        return names or None
    return {plain(host)} | names


class _KnownHostsOnly:
    """ASGI middleware: a request whose Host header names a host this server does not
    answer to (:func:`allowed_hosts`) is refused (400) before the app sees it. A web page
    from elsewhere can make the browser send requests to 127.0.0.1, or to an address on the
    local network, under a name it controls (DNS rebinding); their Host header still
    carries that name."""

    def __init__(self, app, allowed: Sequence[str]):
        self.app = app
        self.allowed = set(allowed)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"host", b"")
            if host_name(header) not in self.allowed:
                body = json.dumps({"error": f"the Host header {header.decode('latin-1')!r} "
                                   "is not this server's: it answers to "
                                   f"{', '.join(sorted(self.allowed))} (serve "
                                   "--allowed-host NAME to answer to another name)",
                                   "field": "Host"}).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                return await send({"type": "http.response.body", "body": body})
        return await self.app(scope, receive, send)


def create_app(served, max_batch: int = 32, max_texts: int = 64, max_chars: int = 2000,
               max_body_bytes: int = 1_000_000, notes: dict | None = None):
    """The FastAPI app serving ``served`` (from :func:`load_served`); ``notes`` (what the
    run was trained on, examples to try: :func:`common.explorer_file.translation_notes`)
    join what ``GET /info`` says."""
    from typing import Annotated

    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel, ConfigDict, Field, StringConstraints
    from starlette.exceptions import HTTPException as StarletteHTTPException

    Text = Annotated[str, StringConstraints(max_length=max_chars)]
    Texts = Annotated[list[Text], Field(min_length=1, max_length=max_texts)]

    class TranslateRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        texts: Texts
        beam: int = Field(1, ge=1, le=8, description="beam width; 1 is greedy or sampling")
        temperature: float = Field(0.0, ge=0.0, le=10.0,
                                   description="0 is greedy; more samples (beam 1 only)")
        top_k: int = Field(0, ge=0, le=1000, description="sample among the k likeliest; 0: all")
        seed: int = Field(0, ge=0, le=2**62, description="makes a sample reproducible")
        attention: bool = Field(False, description="also return every attention map")

    class ClassifyRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        texts: Texts | None = None
        images: Annotated[list[list], Field(min_length=1, max_length=max_texts)] | None = None
        attention: bool = False

    app = FastAPI(title=f"{served.name}: attention tutorials", version="1",
                  description="The run's exported SavedModel over HTTP; the attention "
                  "explorer at /.")
    batcher = Batcher(served.run, max_batch)
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0]
        if first.get("type") == "json_invalid":
            return JSONResponse({"error": "the body is not valid JSON: send a JSON object",
                                 "field": "body"}, status_code=422)
        where = _field(first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}",
                             "field": where}, status_code=422)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own and Starlette's
    async def _http(request: Request, error: StarletteHTTPException):
        if isinstance(error.detail, dict):
            return JSONResponse(error.detail, status_code=error.status_code)
        if error.status_code == 400:  # FastAPI could not read the body at all
            return JSONResponse({"error": "the body is not valid JSON in UTF-8: send a JSON "
                                 "object", "field": "body"}, status_code=422)
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))  # e.g. a 405's Allow

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception):
        return JSONResponse({"error": f"internal error: {type(error).__name__}: {error}"},
                            status_code=500)

    def _refuse(status: int, message: str, where: str):
        raise HTTPException(status, {"error": message, "field": where})

    def _model_call(key: tuple, items: list, alone: bool = False) -> list:
        import tensorflow as tf

        try:
            return batcher.submit(key, items, alone)
        except tf.errors.InvalidArgumentError as error:
            _refuse(400, error.message.splitlines()[0], "body")

    @app.get("/health")
    def health():
        return {"status": "ok", "kind": served.kind, "name": served.name}

    @app.get("/info")
    def info():
        return {**served.info(), **(notes or {}), "max_texts": max_texts,
                "max_chars": max_chars, "max_body_bytes": max_body_bytes}

    @app.post("/translate")
    def translate(request: TranslateRequest):
        if served.kind != "translator":
            _refuse(404, f"this server serves a {served.kind}: POST /classify", "path")
        if request.beam > 1 and request.temperature > 0:
            _refuse(422, "temperature is for sampling (beam 1); beam search takes none",
                    "temperature")
        key = (request.beam, request.temperature, request.top_k, request.seed,
               request.attention)
        started = time.perf_counter()
        # A text's draws depend on its row in the batch: a sampled request runs alone, so
        # that its seed gives the same answer whatever else is queued.
        results = _model_call(key, request.texts, alone=request.temperature > 0)
        return {"results": results, "seconds": round(time.perf_counter() - started, 4)}

    @app.post("/classify")
    def classify(request: ClassifyRequest):
        if served.kind == "translator":
            _refuse(404, "this server serves a translator: POST /translate", "path")
        want = "images" if served.kind == "image-classifier" else "texts"
        other = "texts" if want == "images" else "images"
        if getattr(request, other) is not None:
            _refuse(422, f"this model classifies {want}, not {other}", other)
        items = getattr(request, want)
        if items is None:
            _refuse(422, f"{want}: field required", want)
        if want == "images":
            checked = []
            for i, image in enumerate(items):
                try:
                    checked.append(served.check_image(image))
                except ValueError as error:
                    _refuse(422, f"images.{i}: {error}", f"images.{i}")
            items = checked
        started = time.perf_counter()
        results = _model_call((request.attention,), items)
        return {"results": results, "seconds": round(time.perf_counter() - started, 4)}

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(EXPLORER / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=EXPLORER), name="static")
    return _BodyLimit(app, max_body_bytes)


def open_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, for :func:`serve`: taken before anything is
    loaded, so an address that cannot be had is one clear error and nothing more.

    Raises:
        UsageError: ``host`` does not resolve, or the address is taken or not this
            machine's.
    """
    try:  # IPv4 unless the host is written as IPv6 (uvicorn's rule): "localhost" included
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, socket.AF_INET6 if ":" in host else socket.AF_INET,
            socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise UsageError(f"--host {host!r} is not an address this machine can resolve "
                         f"({error}); try 127.0.0.1") from None
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        listener.bind(address)
        listener.listen(2048)  # connections wait while the model loads; the port is held
    except OSError as error:
        listener.close()
        taken = error.errno == errno.EADDRINUSE
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}"
                         + ("; another server holds it: stop it or choose another --port"
                            if taken else "")) from None
    return listener


def read_timeout_protocol(seconds: float):
    """uvicorn's HTTP/1.1 protocol (h11) with a limit on reading a request: a connection
    that has not sent a whole request (line, headers and body) ``seconds`` after it opened,
    or after its last answer on a kept-alive connection, is closed. Without it a client that
    sends half a request, or a body a byte at a time, holds its connection, and a socket,
    for ever (slowloris)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class ReadTimeoutH11(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self._read_timer = None
            self._expect_request()

        def _expect_request(self):
            if self._read_timer is None:
                self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

        def _read_timed_out(self):
            self._read_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def handle_events(self):
            super().handle_events()
            if self._read_timer is not None and self.conn.their_state is h11.DONE:
                self._read_timer.cancel()  # the whole request is in: the app has it
                self._read_timer = None

        def on_response_complete(self):
            super().on_response_complete()
            self._expect_request()

        def connection_lost(self, exc):
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None
            super().connection_lost(exc)

    return ReadTimeoutH11


def serve(saved_model: str | Path, host: str = "127.0.0.1", port: int = 8000,
          max_batch: int = 32, name: str | None = None, ready: Callable[[str], None] = print,
          listener: socket.socket | None = None, read_timeout: float = 10.0,
          max_connections: int = 1000, allowed_host_names: Sequence[str] = (),
          notes: dict | None = None, engine=None):
    """Loads ``saved_model`` and serves it until interrupted, on ``listener`` (default: one
    opened on ``host``:``port`` by :func:`open_listener`). A request's Host header must
    name a host it answers to (:func:`allowed_hosts`). A connection that sends no whole
    request within ``read_timeout`` seconds is closed (:func:`read_timeout_protocol`); past
    ``max_connections`` open at once, a request is answered 503. ``notes``: see
    :func:`create_app`. ``engine``: what translates, for a translator (see
    :class:`ServedTranslator`). SIGTERM stops it: the
    address is given up at once (a new connection is refused), the requests in flight are
    answered, then it returns.
    """
    import uvicorn

    listener = listener or open_listener(host, port)
    served = load_served(saved_model, name)
    if engine is not None:
        served.engine = engine
    app = create_app(served, max_batch=max_batch, notes=notes)
    allowed = allowed_hosts(host, allowed_host_names)
    if allowed is not None:
        app = _KnownHostsOnly(app, allowed)
    shown = f"[{host}]" if ":" in host else host
    ready(f"serving {served.kind} {served.name} at http://{shown}:{listener.getsockname()[1]}/ "
          f"(API docs at /docs; Ctrl-C stops)")
    # uvicorn counts the connection asking among those open: one more serves max_connections.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                           http=read_timeout_protocol(read_timeout),
                                           limit_concurrency=max_connections + 1))
    if threading.current_thread() is not threading.main_thread():
        return server.run(sockets=[listener])
    # SIGTERM asks for a stop: uvicorn closes the listening socket, finishes the requests in
    # flight, then raises the signal again for the handler it found; this one lets serve
    # return (exit status 0).
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run(sockets=[listener])
    finally:
        signal.signal(signal.SIGTERM, previous)
