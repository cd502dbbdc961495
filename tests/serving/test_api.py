"""The HTTP API of ``python -m TUTORIAL serve``: every endpoint against the SavedModel's own
answers, bad requests, hostile texts, concurrent clients."""

import contextlib
import http.client
import json
import select
import shutil
import socket
import threading
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from tests.serving.conftest import ALLOWED_HOST, MAX_CONNECTIONS, READ_TIMEOUT, Server, call

pytestmark = pytest.mark.slow

SENTENCES = ["el gato negro come pescado.", "¿Quién compró el libro?"]


def _strings(tensor) -> list[str]:
    return [t.decode() for t in tensor.numpy()]


def _trim(tokens: list[str], end: bool) -> list[str]:
    if end and "[END]" in tokens:
        return tokens[:tokens.index("[END]") + 1]
    while tokens and tokens[-1] in ("", "[PAD]"):
        tokens = tokens[:-1]
    return tokens


def test_translate_equals_the_saved_model_with_every_attention_map(transformer_server,
                                                                   saved_models):
    server = transformer_server.ready()
    status, body = call(f"{server.url}/translate", {"texts": SENTENCES, "attention": True})
    assert status == 200, body
    model = saved_models(server.run)
    own = model.signatures["sample"](texts=tf.constant(SENTENCES), temperature=tf.constant(0.0),
                                     top_k=tf.constant(0), seed=tf.constant(0, tf.int64))
    maps = model.signatures["attention"](texts=tf.constant(SENTENCES),
                                         output_ids=own["output_ids"])
    greedy = model.signatures["serving_default"](texts=tf.constant(SENTENCES))["translation"]
    for i, result in enumerate(body["results"]):
        assert result["translation"] == _strings(greedy)[i]
        source = _trim(_strings(own["source_tokens"][i]), end=False)
        output = _trim(_strings(own["output_tokens"][i]), end=True)
        assert result["source_tokens"] == source and result["output_tokens"] == output
        s, o = len(source), len(output)
        expected = {"encoder_self": maps["encoder_self"][:, i, :, :s, :s],
                    "decoder_self": maps["decoder_self"][:, i, :, :o, :o],
                    "cross": maps["cross"][:, i, :, :o, :s]}
        assert set(result["attention"]) == set(expected)
        for name, value in expected.items():
            np.testing.assert_allclose(result["attention"][name], value.numpy(), atol=1e-4)
        # Each query's weights sum to 1; the decoder's self-attention never looks ahead.
        cross = np.array(result["attention"]["cross"])
        np.testing.assert_allclose(cross.sum(-1), 1.0, atol=2e-3)
        causal = np.array(result["attention"]["decoder_self"])
        assert np.abs(np.triu(causal, k=1)).max() == 0
        # The last decoder layer's cross-attention is what decoding returned.
        np.testing.assert_allclose(cross[-1], own["attention"][i, :, :o, :s].numpy(), atol=1e-4)


def test_a_sampled_answer_does_not_depend_on_the_requests_queued_with_it(transformer_server):
    # Sixteen clients at once, the same text and seed: batched together, each would get the
    # draws of another row; each must get the answer the request gets alone.
    server = transformer_server.ready()
    request = {"texts": [SENTENCES[0]], "temperature": 3.0, "seed": 1}
    alone = call(f"{server.url}/translate", request)[1]["results"][0]["translation"]
    answers = [None] * 16

    def client(i):
        answers[i] = call(f"{server.url}/translate", request)[1]["results"][0]["translation"]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(answers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answers == [alone] * len(answers)


def test_beam_and_sampling_equal_the_saved_model(transformer_server, saved_models):
    server = transformer_server.ready()
    model = saved_models(server.run)
    status, body = call(f"{server.url}/translate", {"texts": SENTENCES, "beam": 3})
    assert status == 200, body
    beam = model.signatures["translate_beam"](texts=tf.constant(SENTENCES),
                                              beam_width=tf.constant(3))["translation"]
    assert [r["translation"] for r in body["results"]] == _strings(beam)
    greedy = [r["translation"] for r in call(f"{server.url}/translate",
                                             {"texts": SENTENCES[:1]})[1]["results"]]
    sampled = []
    for seed in range(6):
        status, body = call(f"{server.url}/translate", {"texts": SENTENCES[:1], "seed": seed,
                                                        "temperature": 3.0, "top_k": 0})
        own = model.signatures["sample"](
            texts=tf.constant(SENTENCES[:1]), temperature=tf.constant(3.0),
            top_k=tf.constant(0), seed=tf.constant(seed, tf.int64))["translation"]
        assert body["results"][0]["translation"] == _strings(own)[0]
        sampled.append(body["results"][0]["translation"])
    assert set(sampled) - set(greedy), "sampling at temperature 3 never left greedy decoding"


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["content-type"], response.read().decode()


def test_health_info_openapi_and_the_page(transformer_server):
    from transformer.config import Config

    server = transformer_server.ready()
    config = Config.tiny()
    assert call(f"{server.url}/health")[1] == {"status": "ok", "kind": "translator",
                                              "name": server.run.name}
    info = call(f"{server.url}/info")[1]
    assert (info["layers"], info["heads"]) == (config.num_layers, config.num_heads)
    assert info["maps"] == ["encoder_self", "decoder_self", "cross"]
    schema = json.loads(_get(f"{server.url}/openapi.json")[2])
    assert {"/translate", "/classify", "/health", "/info"} <= set(schema["paths"])
    status, kind, docs = _get(f"{server.url}/docs")
    assert status == 200 and "text/html" in kind
    status, kind, page = _get(f"{server.url}/")
    assert "text/html" in kind and "/static/explorer.js" in page
    for name in ("explorer.js", "explorer.css"):
        assert _get(f"{server.url}/static/{name}")[0] == 200
    # Nothing the page loads comes from another host.
    assert "http://" not in page and "https://" not in page


def test_info_says_what_the_run_learned_from_and_offers_test_sentences(transformer_server,
                                                                      vit_server):
    from common.data.corpus import corpus_of
    from common.run_folder import RunFolder
    from transformer.config import Config

    server = transformer_server.ready()
    info = call(f"{server.url}/info")[1]
    corpus = corpus_of(RunFolder(server.run).read_config(Config))
    test, train = corpus.part("test")[0], corpus.part("train")[0]
    assert info["examples"][0] == "¿Todavía está en casa?" and info["lecture_first"]
    assert len(info["examples"]) == 7 and set(info["examples"][1:]) <= set(test)
    assert len(set(info["examples"][1:]) - set(train)) >= 4  # not the training split's
    assert info["trained_on"].startswith(
        f"Trained on the training split of the generated corpus: {len(train):,} ")
    seen = "is among them" if "¿Todavía está en casa?" in train else "is not among them"
    assert f"(the lecture's sentence, first below, {seen})" in info["trained_on"]
    # The ViT's: test images with their labels, pixels as the data set has them.
    from classify.config import load_config
    from classify.data import load_data

    server = vit_server.ready()
    info = call(f"{server.url}/info")[1]
    data = load_data(load_config(RunFolder(server.run).config_path))
    images, labels = data.x["test"], data.y["test"]
    assert len(info["examples"]) == 8
    for example in info["examples"]:
        match = np.abs(images - np.asarray(example["image"])).max(axis=(1, 2, 3)) <= 1e-3
        assert match.any() and data.label_names[labels[match.argmax()]] == example["label"]


def _chunked(server, payload: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    chunks = (payload[i:i + 65536] for i in range(0, len(payload), 65536))
    connection.request("POST", "/translate", body=chunks, encode_chunked=True,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


BAD = [
    ({}, 422, "texts"),
    ({"texts": []}, 422, "texts"),
    ({"texts": "una frase"}, 422, "texts"),
    ({"texts": ["hola", 3]}, 422, "texts.1"),
    ({"texts": ["hola"] * 65}, 422, "texts"),
    ({"texts": ["x" * 2001]}, 422, "texts.0"),
    ({"texts": ["hola"], "beam": 0}, 422, "beam"),
    ({"texts": ["hola"], "beam": 9}, 422, "beam"),
    ({"texts": ["hola"], "temperature": -1}, 422, "temperature"),
    ({"texts": ["hola"], "top_k": -2}, 422, "top_k"),
    ({"texts": ["hola"], "beam": 3, "temperature": 0.5}, 422, "temperature"),
    ({"texts": ["hola"], "colour": "red"}, 422, "colour"),
    ([1, 2], 422, "body"),
]


def test_bad_requests_get_one_error_naming_the_field_and_serving_goes_on(transformer_server):
    server = transformer_server.ready()
    for body, status, field in BAD:
        got, answer = call(f"{server.url}/translate", body)
        assert (got, answer.get("field")) == (status, field), (body, answer)
        assert answer["error"]
    # Bodies that are not JSON in UTF-8: the same one error, never FastAPI's {"detail"}.
    for raw, headers in ((b'{"texts": [', {}), (b'{"texts": ["\xff\xfe"]}', {}),
                         (b"\xff\xfe\x00{", {}), (b"NaN", {}), (b'{"texts": ["hola"]} x', {}),
                         ('{"texts": ["ó"]}'.encode("latin-1"),
                          {"Content-Type": "application/json; charset=latin-1"})):
        got, answer = call(f"{server.url}/translate", raw=raw, headers=headers)
        assert (got, answer.get("field")) == (422, "body"), (raw, answer)
        assert "detail" not in answer
    assert call(f"{server.url}/classify", {"texts": ["hola"]})[0] == 404
    too_big = json.dumps({"texts": ["palabra " * 200] * 60 * 12}).encode()
    assert len(too_big) > 1_000_000
    assert call(f"{server.url}/translate", raw=too_big)[0] == 413
    assert _chunked(server, too_big)[0] == 413
    assert server.alive()
    status, body = call(f"{server.url}/translate", {"texts": SENTENCES[:1]})
    assert status == 200 and body["results"][0]["translation"]


HOSTILE = ["", "   ", "?!¿¡...", "😀😀😀", "漢字のテキスト", "\x00\x07\x1b[31m", "\u202eolleh",
           "gato " * 399, "Zzyzx Qwrtp"]


def test_hostile_texts_are_answered_and_never_guessed(transformer_server):
    server = transformer_server.ready()
    status, body = call(f"{server.url}/translate", {"texts": HOSTILE, "attention": True})
    assert status == 200, body
    results = body["results"]
    assert len(results) == len(HOSTILE)
    for result in results:
        if not result["translated"]:  # nothing the model knows: no guess from padding
            assert result["translation"] == ""
    assert [r["translated"] for r in results[:6]] == [False] * 6
    assert results[7]["translated"]
    long = results[7]
    assert np.array(long["attention"]["cross"]).shape[-1] == len(long["source_tokens"])
    status, body = call(f"{server.url}/translate", {"texts": ["gato " * 2000]})
    assert (status, body["field"]) == (422, "texts.0")
    assert call(f"{server.url}/health")[0] == 200


def test_concurrent_clients_each_get_their_own_answer(transformer_server):
    server = transformer_server.ready()
    texts = [f"el gato {w} come pescado." for w in
             ["negro", "blanco", "grande", "pequeño", "viejo", "joven", "rojo", "azul"]] * 2
    alone = {t: call(f"{server.url}/translate", {"texts": [t]})[1]["results"][0]
             for t in set(texts)}
    answers = [None] * len(texts)

    def client(i):
        answers[i] = call(f"{server.url}/translate", {"texts": [texts[i]]})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for text, (status, body) in zip(texts, answers, strict=True):
        assert status == 200
        assert body["results"][0] == alone[text]  # batched with others, the same answer


def test_the_gru_server_gives_its_one_map(gru_server, saved_models):
    server = gru_server.ready()
    info = call(f"{server.url}/info")[1]
    assert (info["layers"], info["heads"], info["maps"]) == (1, 1, ["cross"])
    status, body = call(f"{server.url}/translate", {"texts": SENTENCES, "attention": True})
    assert status == 200, body
    model = saved_models(server.run)
    own = model.translate_with_attention(tf.constant(SENTENCES))
    for i, result in enumerate(body["results"]):
        assert result["translation"] == _strings(own["translation"])[i]
        s, o = len(result["source_tokens"]), len(result["output_tokens"])
        np.testing.assert_allclose(result["attention"]["cross"][0][0],
                                   own["attention"][i, :o, :s].numpy(), atol=1e-4)


def test_the_text_classifier_server(text_server, saved_models):
    server = text_server.ready()
    texts = ["the film was not good at all", ""]
    status, body = call(f"{server.url}/classify", {"texts": texts, "attention": True})
    assert status == 200, body
    model = saved_models(server.run)
    own = model.signatures["explain"](texts=tf.constant(texts))
    labels = json.loads((server.run / "export" / "labels.json").read_text())
    first = body["results"][0]
    np.testing.assert_allclose([first["probabilities"][name] for name in labels],
                               own["probabilities"][0].numpy(), atol=1e-5)
    n = len(first["tokens"])
    assert first["tokens"][0] == "[CLS]" and n == 1 + len(texts[0].split())
    np.testing.assert_allclose(first["attention"], own["attention"][:, 0, :, :n, :n].numpy(),
                               atol=1e-4)
    assert body["results"][1]["classified"] is False and body["results"][1]["label"] == ""
    assert call(f"{server.url}/classify", {"images": [[[0.0]]]})[1]["field"] == "images"
    assert call(f"{server.url}/translate", {"texts": ["hola"]})[0] == 404


def test_the_vit_server_gives_the_rollout_over_the_patches(vit_server, saved_models):
    from classify.vit import attention_rollout

    server = vit_server.ready()
    info = call(f"{server.url}/info")[1]
    height, width, channels = info["image_shape"]
    image = np.random.default_rng(0).uniform(0, 1, (height, width)).round(3)
    status, body = call(f"{server.url}/classify", {"images": [image.tolist()],
                                                   "attention": True})
    assert status == 200, body
    result = body["results"][0]
    model = saved_models(server.run)
    own = model.signatures["serving_default"](
        images=tf.constant(image[None, :, :, None], tf.float32))
    assert result["label"] == own["label"][0].numpy().decode()
    expected = attention_rollout([np.array(block) for block in result["attention"]])
    np.testing.assert_allclose(result["rollout"], expected, atol=2e-3)
    # ... and both are the model's: the export's own attention and rollout for that image.
    explained = model.signatures["explain"](
        images=tf.constant(image[None, :, :, None], tf.float32))
    np.testing.assert_allclose(result["attention"], explained["attention"][:, 0], atol=1e-4)
    np.testing.assert_allclose(result["rollout"], explained["rollout"][0], atol=1e-4)
    # Pixels as strings, booleans, objects or nulls are refused, not read as numbers (and not
    # a 500); so are ragged rows, a wrong size and a wrong scale. 1.0005 is rounding: let in.
    grid = image.tolist()
    for pixel in ("0.5", True, {"v": 0.5}, None):
        bad = [row[:] for row in grid]
        bad[1][2] = pixel
        status, body = call(f"{server.url}/classify", {"images": [bad]})
        assert (status, body["field"]) == (422, "images.0"), (pixel, body)
    ragged = [row[:] for row in grid]
    ragged[0] = ragged[0][:-1]
    for bad in (grid[:-1], ragged, (image * 2).tolist(), [["a"] * width] * height):
        status, body = call(f"{server.url}/classify", {"images": [bad]})
        assert (status, body["field"]) == (422, "images.0"), body
    rounded = [row[:] for row in grid]
    rounded[0][0] = 1.0005
    assert call(f"{server.url}/classify", {"images": [rounded]})[0] == 200


def test_serve_refuses_an_address_it_cannot_have_before_any_work(tiny_text_run, capsys):
    from classify.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["text", "serve", "--run", str(tiny_text_run), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "another server holds it" in err and err.count("\n") == 1
    assert "serving" not in out and "exporting" not in err  # nothing done, nothing claimed
    assert main(["text", "serve", "--run", str(tiny_text_run), "--host",
                 "no-such-host.invalid"]) == 2
    assert "not an address this machine can resolve" in capsys.readouterr().err


def test_a_damaged_export_is_one_error_saying_export_again(text_server, tmp_path):
    from common.errors import RunError
    from common.serving import load_served

    text_server.ready()  # its run now holds an export
    exported = text_server.run / "export" / "saved_model"
    for damaged in ("variables/variables.data-00000-of-00001", "saved_model.pb"):
        copy = tmp_path / damaged.replace("/", "-")
        shutil.copytree(exported, copy)
        (copy / damaged).write_bytes((copy / damaged).read_bytes()[:200])
        with pytest.raises(RunError, match="export"):
            load_served(copy)


def test_serve_refuses_a_missing_run_and_a_bad_port(tmp_path, capsys):
    from transformer.cli import main

    assert main(["serve", "--run", str(tmp_path / "none")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["serve", "--run", str(tmp_path), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    for option, value in [("--max-connections", "0"), ("--max-connections", "99999999"),
                          ("--read-timeout", "nan"), ("--allowed-host", "http://x.example/"),
                          ("--allowed-host", " ")]:
        assert main(["serve", "--run", str(tmp_path), option, value]) == 2, (option, value)
        assert option in capsys.readouterr().err, (option, value)


def test_a_local_server_answers_only_requests_made_for_this_machine(transformer_server):
    """DNS rebinding: a page from another site reaches 127.0.0.1 under its own name, which
    its requests carry in the Host header."""
    from common.serving import allowed_hosts, host_name, is_loopback

    server = transformer_server.ready()
    port = server.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST",
                 f"{ALLOWED_HOST}:{port}"):  # the last one by --allowed-host
        assert call(f"{server.url}/health", headers={"Host": host})[0] == 200, host
    for host in (f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        status, body = call(f"{server.url}/health", headers={"Host": host})
        assert status == 400 and body["field"] == "Host", host
        assert "is not this server's" in body["error"]
    assert [host_name(h) for h in (b"[::1]:80", b"::1", b"a.b:8000", b"Localhost")] == \
        ["::1", "::1", "a.b", "localhost"]
    assert [is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "LOCALHOST", "::1", "[::1]",
                                     "0.0.0.0", "192.168.1.5", "example.org")] == \
        [True] * 5 + [False] * 3
    # An address of the network answers to itself; a wildcard to the names given, else any.
    assert allowed_hosts("192.168.1.5") == {"192.168.1.5"}
    assert allowed_hosts("Box.Example.", ["api.example"]) == {"box.example", "api.example"}
    assert allowed_hosts("0.0.0.0") is None and allowed_hosts("::") is None
    assert allowed_hosts("0.0.0.0", ["API.example"]) == {"api.example"}


def test_a_connection_that_sends_half_a_request_is_closed_after_the_read_timeout(
        transformer_server):
    """Slowloris: connections that never finish their request head are closed, so they
    cannot hold the server's sockets; a whole request on the same kind of connection is
    answered."""
    import time

    server = transformer_server.ready()
    port = int(server.url.rsplit(":", 1)[1])
    half = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(20)]
    started = time.monotonic()
    for i, connection in enumerate(half):
        if i % 2:  # half of them send part of a head; the others nothing at all
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    for connection in half:
        assert connection.recv(1024) == b""  # closed by the server, no answer
        connection.close()
    waited = time.monotonic() - started
    assert READ_TIMEOUT - 0.5 < waited < READ_TIMEOUT + 20, waited
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert connection.recv(1024).startswith(b"HTTP/1.1 200")


def test_a_request_whose_body_stalls_is_closed_after_the_read_timeout(transformer_server):
    """The timeout holds until the whole request is in: a head followed by a body sent a
    little at a time is closed as a half head is."""
    import time

    server = transformer_server.ready()
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                           b'{"texts": [')
        started, closed_after = time.monotonic(), None
        while time.monotonic() - started < 3 * READ_TIMEOUT:  # a byte each half second
            if select.select([connection], [], [], 0.5)[0]:
                try:
                    data = connection.recv(1024)
                except ConnectionResetError:
                    data = b""
                assert data == b"", data  # closed, with no answer to an unfinished request
                closed_after = time.monotonic() - started
                break
            with contextlib.suppress(OSError):
                connection.sendall(b" ")
    assert closed_after is not None and READ_TIMEOUT - 0.5 < closed_after < READ_TIMEOUT + 1.5, \
        closed_after
    assert call(f"{server.url}/health")[0] == 200


def test_connections_past_the_limit_are_answered_503(gru_server):
    server = gru_server.ready()
    port = int(server.url.rsplit(":", 1)[1])

    def status_beside(idle: int) -> int:
        """The status of GET /health on a new connection while ``idle`` others are open."""
        held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(idle)]
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/health")
            return connection.getresponse().status
        finally:
            connection.close()
            for socket_ in held:
                socket_.close()

    assert status_beside(MAX_CONNECTIONS - 1) == 200  # the limit's last connection
    assert status_beside(MAX_CONNECTIONS) == 503
    assert status_beside(0) == 200  # and served again once they are gone


def test_sigterm_refuses_new_connections_and_answers_those_in_flight(gru_server, tmp_path):
    """As a service manager stops it: the request being answered gets its answer, a client
    that connects meanwhile is refused at once (it hung), and the server exits 0."""
    import signal
    import time

    exported = gru_server.ready().run  # exported by the GRU server: served as it is
    server = Server(["nmt_attention", "serve", "--run", str(exported)], tmp_path).ready()
    long_texts = ["el gato negro come pescado en la casa de mi madre " * 4] * 64
    answer = {}

    def slow_request():
        answer["status"], answer["body"] = call(
            f"{server.url}/translate", {"texts": long_texts, "beam": 8})

    in_flight = threading.Thread(target=slow_request)
    in_flight.start()
    time.sleep(0.3)  # the request is read and being answered
    server.process.send_signal(signal.SIGTERM)
    refused_after = None
    started = time.monotonic()
    while time.monotonic() - started < 5:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        except ConnectionRefusedError:
            refused_after = time.monotonic() - started
            break
        time.sleep(0.05)
    still_answering = in_flight.is_alive()
    in_flight.join(60)
    code = server.stop()
    assert refused_after is not None and refused_after < 1.0, refused_after
    assert still_answering, "the request was answered before the server was stopped"
    assert answer["status"] == 200 and len(answer["body"]["results"]) == 64
    assert code == 0, server.log()
