"""The attention explorer in a real headless browser: Debian's chromium and chromium-driver
(``make test`` installs them when missing), driven by selenium. Fails, never skips, when the
browser is missing."""

import json
import shutil
import sys
from pathlib import Path
from urllib.parse import urlencode, urlparse

import numpy as np
import pytest

from common.explorer_file import data_in, page_in
from tests.serving.conftest import call

pytestmark = pytest.mark.slow

SENTENCE = "el gato negro come pescado."


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, ("the browser test needs Debian's chromium and chromium-driver: "
                               "`make browser` installs them (as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1200,1000", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-default-apps", "--disable-sync"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


def _wait(browser, condition, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda _: condition())


def _by(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def _colors(browser):
    return [cell.value_of_css_property("background-color")
            for cell in _by(browser, "#heatmap .cell")]


def _texts(browser, selector) -> list[str]:
    """The text of each element ``selector`` finds, read at once in the page (no element
    can go stale between finding and reading)."""
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((node) => node.textContent)",
        selector)


def _stale(element) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def _select(browser, element_id, value):
    from selenium.webdriver.support.ui import Select

    Select(_by(browser, f"#{element_id}")[0]).select_by_value(str(value))


def _requested_hosts(browser) -> set:
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlparse(message["params"]["request"]["url"])
            if url.scheme not in ("data", "blob"):
                hosts.add(url.netloc)
    return hosts


def test_the_explorer_translates_and_shows_every_head(browser, transformer_server):
    from selenium.webdriver.common.action_chains import ActionChains

    server = transformer_server.ready()
    info = call(f"{server.url}/info")[1]
    expected = call(f"{server.url}/translate", {"texts": [SENTENCE]})[1]["results"][0]
    browser.get(f"{server.url}/")
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"))
    # A first visit: what the model learned from, and sentences of its test split to click,
    # the lecture's first and already translated.
    assert _by(browser, "#trained-on")[0].text.startswith(
        "Trained on the training split of the generated corpus: ")
    examples = [button.text for button in _by(browser, "#examples button")]
    assert examples == info["examples"] and examples[0] == "¿Todavía está en casa?"
    assert len(examples) > 3
    lecture = call(f"{server.url}/translate", {"texts": [examples[0]]})[1]["results"][0]
    assert _by(browser, "#answer")[0].text == lecture["translation"]
    _by(browser, "#examples button")[2].click()
    third = call(f"{server.url}/translate", {"texts": [examples[2]]})[1]["results"][0]
    # (a tiny model may write one translation for all: the tokens tell the answers apart)
    _wait(browser, lambda: _texts(browser, "#heatmap .token.col") == third["source_tokens"])
    assert _by(browser, "#answer")[0].text == third["translation"]

    _by(browser, "#sentence")[0].clear()
    _by(browser, "#sentence")[0].send_keys(SENTENCE)
    _by(browser, "#submit")[0].click()
    _wait(browser, lambda: _texts(browser, "#heatmap .token.col") == expected["source_tokens"])
    assert _by(browser, "#answer")[0].text == expected["translation"]

    # The cross-attention of the last layer, head 1: one cell per output x source token.
    rows, cols = len(expected["output_tokens"]), len(expected["source_tokens"])
    assert len(_by(browser, "#heatmap .cell")) == rows * cols
    assert [t.text for t in _by(browser, "#heatmap .token.col")] == expected["source_tokens"]
    assert [t.text for t in _by(browser, "#heatmap .token.row")] == expected["output_tokens"]

    before = _colors(browser)
    _select(browser, "layer", 0)
    after_layer = _colors(browser)
    assert len(after_layer) == rows * cols and after_layer != before
    _select(browser, "head", 1)
    assert _colors(browser) != after_layer
    assert _by(browser, "#heatmap")[0].get_attribute("data-head") == "1"

    # Hovering a source token lights its column: what looks at it.
    token = _by(browser, "#heatmap .token.col")[2]
    ActionChains(browser).move_to_element(token).perform()
    lit = _by(browser, "#heatmap .cell.lit")
    assert len(lit) == rows and {c.get_attribute("data-col") for c in lit} == {"2"}
    # Hovering an output token lights its row and lists where it looks.
    ActionChains(browser).move_to_element(_by(browser, "#heatmap .token.row")[1]).perform()
    assert {c.get_attribute("data-row") for c in _by(browser, "#heatmap .cell.lit")} == {"1"}
    assert expected["output_tokens"][1] in _by(browser, "#words .intro")[0].text

    # Every head at once, and the encoder's self-attention (source x source).
    _select(browser, "head", "all")
    assert len(_by(browser, "#heatmap figure")) == info["heads"]
    _select(browser, "head", 0)
    _select(browser, "map", "encoder_self")
    assert len(_by(browser, "#heatmap .cell")) == cols * cols

    # Beam search from the page.
    _select(browser, "method", "beam")
    _by(browser, "#submit")[0].click()
    beam = call(f"{server.url}/translate", {"texts": [SENTENCE], "beam": 4})[1]["results"][0]
    _wait(browser, lambda: _by(browser, "#answer")[0].text == beam["translation"])

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert _requested_hosts(browser) == {f"127.0.0.1:{server.port}"}


def test_the_explorer_shows_a_classifiers_attention(browser, text_server):
    server = text_server.ready()
    sentence = "the film was not good at all"
    expected = call(f"{server.url}/classify", {"texts": [sentence], "attention": True}
                    )[1]["results"][0]
    info = call(f"{server.url}/info")[1]
    browser.get(f"{server.url}/")
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"))
    assert [b.text for b in _by(browser, "#examples button")] == info["examples"]
    assert len(info["examples"]) > 3
    assert "test split" in _by(browser, "#trained-on")[0].text
    _by(browser, "#sentence")[0].clear()
    _by(browser, "#sentence")[0].send_keys(sentence)
    _by(browser, "#submit")[0].click()
    _wait(browser, lambda: _texts(browser, "#heatmap .token.col") == expected["tokens"])
    tokens = expected["tokens"]  # [CLS], then each word or [UNK]
    assert len(tokens) == 1 + len(sentence.split())
    assert len(_by(browser, "#heatmap .cell")) == len(tokens) ** 2
    assert expected["label"] in _by(browser, "#answer")[0].text
    assert len(_by(browser, "#bars .bar")) == len(expected["probabilities"])
    # The [CLS] row over the words, as chips.
    assert [c.text for c in _by(browser, "#words .chip")] == tokens
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_explorer_classifies_a_drawn_digit_with_its_rollout(browser, vit_server):
    from selenium.webdriver.common.action_chains import ActionChains

    server = vit_server.ready()
    info = call(f"{server.url}/info")[1]
    browser.get(f"{server.url}/")
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"))
    # Test images to click, the first already classified: its answer is the served one.
    assert len(_by(browser, "#examples button canvas")) == len(info["examples"]) > 3
    first = call(f"{server.url}/classify", {"images": [info["examples"][0]["image"]]}
                 )[1]["results"][0]
    assert _by(browser, "#answer")[0].text == f"label: {first['label']}"
    shown = _by(browser, "#heatmap .cell")[0]
    canvas = _by(browser, "#canvas")[0]
    stroke = ActionChains(browser).move_to_element_with_offset(canvas, 0, -60).click_and_hold()
    for dy in range(-40, 70, 20):
        stroke = stroke.move_to_element_with_offset(canvas, 0, dy)
    stroke.release().perform()
    _by(browser, "#classify-image")[0].click()
    _wait(browser, lambda: _stale(shown) and _by(browser, "#heatmap .cell"))
    patches = int(_by(browser, "#overlay")[0].get_attribute("data-patches"))
    info = call(f"{server.url}/info")[1]
    assert patches >= 4
    assert len(_by(browser, "#heatmap .cell")) == (patches + 1) ** 2
    assert len(_by(browser, "#bars .bar")) == len(info["labels"])
    assert _by(browser, "#answer")[0].text.startswith("label: ")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_explorer_file_opens_from_disk_with_the_models_weights(browser, transformer_server,
                                                                   tmp_path, capsys):
    """`plot --html`: one file, opened from disk (no server; the browser requests nothing
    but the file), shows the sentence at once with every map; a hovered token's row holds
    the model's weights (the served answer's, to the 3 decimals a cell shows)."""
    from selenium.webdriver.common.action_chains import ActionChains

    from transformer.cli import main

    server = transformer_server.ready()  # its run holds the export the file is made from
    out = tmp_path / "explorer.html"
    assert main(["plot", "--run", str(server.run), "--html", str(out), SENTENCE]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    expected = call(f"{server.url}/translate",
                    {"texts": [SENTENCE], "attention": True})[1]["results"][0]
    browser.get_log("performance")  # what the page before asked for
    browser.get(out.as_uri())
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"), timeout=30)
    _wait(browser, lambda: _by(browser, "#heatmap .cell"), timeout=30)
    assert _by(browser, "#answer")[0].text == expected["translation"]
    assert "saved in this page" in _by(browser, "#model-line")[0].text
    # The sentence asked for is offered among the examples, after the lecture's.
    assert [b.text for b in _by(browser, "#examples button")][:2] == [
        "¿Todavía está en casa?", SENTENCE]
    assert [t.text for t in _by(browser, "#heatmap .token.col")] == expected["source_tokens"]

    # The last layer's cross-attention, head 1 (the page's first view): hover output token 1.
    layer = len(expected["attention"]["cross"]) - 1
    ActionChains(browser).move_to_element(_by(browser, "#heatmap .token.row")[1]).perform()
    lit = [c for c in _by(browser, "#heatmap .cell.lit")]
    shown = {int(c.get_attribute("data-col")): float(c.get_attribute("title").rsplit(": ", 1)[1])
             for c in lit}
    row = expected["attention"]["cross"][layer][0][1]
    assert sorted(shown) == list(range(len(row)))
    assert max(abs(shown[j] - weight) for j, weight in enumerate(row)) <= 1e-3
    # Every map is in the file: the decoder's causal self-attention, layer 1, head 2.
    _select(browser, "map", "decoder_self")
    _select(browser, "layer", 0)
    _select(browser, "head", 1)
    cells = _by(browser, "#heatmap .cell")
    size = len(expected["output_tokens"])
    assert len(cells) == size * size
    first_row = [float(c.get_attribute("title").rsplit(": ", 1)[1]) for c in cells[:size]]
    assert abs(first_row[0] - 1.0) <= 1e-3 and max(first_row[1:]) <= 1e-3  # causal
    assert browser.execute_script("return location.hash").endswith(
        "map=decoder_self&layer=0&head=1")  # a file's view can be linked too

    # A sentence the page does not hold: one clear line, no request.
    _by(browser, "#sentence")[0].clear()
    _by(browser, "#sentence")[0].send_keys("otra frase")
    _by(browser, "#submit")[0].click()
    _wait(browser, lambda: not _by(browser, "#error")[0].get_attribute("hidden"), timeout=10)
    assert "holds the model's answers for" in _by(browser, "#error")[0].text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert _requested_hosts(browser) == {""}, _requested_hosts(browser)  # file:// only


def test_the_address_carries_the_view_so_a_link_opens_it(browser, transformer_server):
    """#sentence=…&map=…&layer=…&head=… opens that view (translated at once), and the address
    follows the view as it changes."""
    from urllib.parse import parse_qs, urlencode

    server = transformer_server.ready()
    expected = call(f"{server.url}/translate", {"texts": [SENTENCE]})[1]["results"][0]
    view = {"sentence": SENTENCE, "map": "encoder_self", "layer": 0, "head": 1}
    browser.get(f"{server.url}/#{urlencode(view)}")
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"))
    _wait(browser, lambda: _by(browser, "#heatmap .cell"))
    assert _by(browser, "#answer")[0].text == expected["translation"]
    heatmap = _by(browser, "#heatmap")[0]
    assert [heatmap.get_attribute(f"data-{k}") for k in ("map", "layer", "head")] == \
        ["encoder_self", "0", "1"]
    size = len(expected["source_tokens"])
    assert len(_by(browser, "#heatmap .cell")) == size * size  # source x source
    _select(browser, "head", 0)
    address = parse_qs(browser.execute_script("return location.hash")[1:])
    assert address == {"sentence": [SENTENCE], "map": ["encoder_self"], "layer": ["0"],
                       "head": ["0"]}


def _pieces(tokens):
    """The tokens the page marks as pieces of a word the vocabulary never saw whole."""
    marked = set()
    for i, token in enumerate(tokens):
        if token.startswith("##"):
            k = i
            while k >= 0:
                marked.add(k)
                if not tokens[k].startswith("##"):
                    break
                k -= 1
    return [t for i, t in enumerate(tokens) if i in marked]


def test_words_the_vocabulary_never_saw_whole_are_marked(browser, transformer_server):
    server = transformer_server.ready()
    sentence = "los gatitos blanquísimos comen pescado."
    expected = call(f"{server.url}/translate", {"texts": [sentence]})[1]["results"][0]
    pieces = _pieces(expected["source_tokens"])
    assert len(pieces) >= 3, expected["source_tokens"]  # the test's premise
    browser.get(f"{server.url}/#{urlencode({'sentence': sentence, 'map': 'encoder_self'})}")
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"))
    _wait(browser, lambda: len(_by(browser, "#heatmap .token.col")) == len(
        expected["source_tokens"]))
    assert [t.text for t in _by(browser, "#heatmap .token.col.piece")] == pieces
    assert [t.text for t in _by(browser, "#heatmap .token.row.piece")] == pieces
    assert _by(browser, "#legend")[0].is_displayed()
    # A sentence of the words it held whole: nothing marked, no legend.
    words = " ".join(token for token in expected["source_tokens"]
                     if token not in pieces and not token.startswith("["))
    whole = call(f"{server.url}/translate", {"texts": [words]})[1]["results"][0]
    assert not _pieces(whole["source_tokens"]) and len(whole["source_tokens"]) > 3, whole
    _by(browser, "#sentence")[0].clear()
    _by(browser, "#sentence")[0].send_keys(words)
    _by(browser, "#submit")[0].click()
    _wait(browser, lambda: _texts(browser, "#heatmap .token.col") == whole["source_tokens"])
    assert not _by(browser, "#heatmap .token.piece")
    assert not _by(browser, "#legend")[0].is_displayed()


def test_the_explorer_inline_in_a_notebook_holds_the_models_weights(browser, transformer_server,
                                                                    tmp_path):
    """A notebook cell ending in explorer_view(...), executed by nbclient: its output is the
    page (an iframe's srcdoc) with the model's answer; the notebook rendered by nbconvert
    and opened from disk shows it, a hovered token's row the model's weights (1e-3), and
    nothing but the file is requested."""
    import nbformat
    from nbconvert import HTMLExporter
    from selenium.webdriver.common.action_chains import ActionChains

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tutorials"))
    from render import run_notebook  # tutorials/render.py

    server = transformer_server.ready()
    saved_model = server.run / "export" / "saved_model"
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(
        "from common.explorer_file import explorer_view\n"
        f"explorer_view({str(saved_model)!r}, [{SENTENCE!r}])")]
    run_notebook(book, tmp_path, timeout=300)
    [output] = [o for o in book.cells[0].outputs if o.output_type == "execute_result"]
    held = data_in(page_in(output.data["text/html"]))["answers"][0]
    expected = call(f"{server.url}/translate",
                    {"texts": [SENTENCE], "attention": True})[1]["results"][0]
    assert held["text"] == SENTENCE
    assert held["result"]["translation"] == expected["translation"]
    assert held["result"]["source_tokens"] == expected["source_tokens"]
    for name, weights in expected["attention"].items():
        np.testing.assert_allclose(held["result"]["attention"][name], weights, atol=1e-3)

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(book)
    out = tmp_path / "notebook.html"
    out.write_text(f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}'
                   "</body></html>", encoding="utf-8")
    browser.get_log("performance")
    browser.get(out.as_uri())
    frame = _by(browser, "iframe.attention-explorer")
    assert len(frame) == 1
    browser.switch_to.frame(frame[0])
    try:
        _wait(browser, lambda: _by(browser, "body[data-ready='true']"), timeout=30)
        assert _by(browser, "#answer")[0].text == expected["translation"]
        layer = len(expected["attention"]["cross"]) - 1
        ActionChains(browser).move_to_element(_by(browser, "#heatmap .token.row")[1]).perform()
        shown = {int(c.get_attribute("data-col")):
                 float(c.get_attribute("title").rsplit(": ", 1)[1])
                 for c in _by(browser, "#heatmap .cell.lit")}
        row = expected["attention"]["cross"][layer][0][1]
        assert sorted(shown) == list(range(len(row)))
        assert max(abs(shown[j] - weight) for j, weight in enumerate(row)) <= 1e-3
    finally:
        browser.switch_to.default_content()
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert _requested_hosts(browser) == {""}, _requested_hosts(browser)


def test_the_vit_and_text_explorer_files_open_from_disk(browser, vit_server, text_server,
                                                        tmp_path, capsys):
    """`classify vit plot --html`: test digits to click, each answered as the server
    answers it, offline; `classify text plot --html SENTENCE`: the sentence's tokens and
    [CLS] row as served."""
    from classify.cli import main

    server = vit_server.ready()
    out = tmp_path / "vit.html"
    assert main(["vit", "plot", "--run", str(server.run), "--html", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    examples = data_in(out.read_text(encoding="utf-8"))["info"]["examples"]
    browser.get_log("performance")
    browser.get(out.as_uri())
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"), timeout=30)
    buttons = _by(browser, "#examples button")
    assert len(buttons) == len(examples) > 3
    def shown():  # the [CLS] row of the last layer's head 1, as the cells' titles say
        return [float(title.rsplit(": ", 1)[1]) for title in browser.execute_script(
            "return [...document.querySelectorAll('#heatmap .cell')].map((c) => c.title)")]

    opened = shown()
    for i in (3, 1):  # not the first, which the page opens on
        expected = call(f"{server.url}/classify", {"images": [examples[i]["image"]],
                                                   "attention": True})[1]["results"][0]
        buttons[i].click()
        _wait(browser, lambda e=expected: _by(browser, "#answer")[0].text ==
              f"label: {e['label']}", timeout=10)
        cls_row = expected["attention"][-1][0][0]
        assert len(shown()) == len(cls_row) ** 2 == (len(expected["rollout"]) + 1) ** 2
        assert np.allclose(shown()[:len(cls_row)], cls_row, atol=1e-3)
        assert shown() != opened  # another image's weights
    assert _requested_hosts(browser) == {""}, _requested_hosts(browser)

    server = text_server.ready()
    sentence = "the film was not good at all"
    out = tmp_path / "text.html"
    assert main(["text", "plot", "--run", str(server.run), "--html", str(out), sentence]) == 0
    expected = call(f"{server.url}/classify", {"texts": [sentence], "attention": True}
                    )[1]["results"][0]
    browser.get(out.as_uri())
    _wait(browser, lambda: _by(browser, "body[data-ready='true']"), timeout=30)
    assert _by(browser, "#answer")[0].text == f"label: {expected['label']}"
    assert [c.text for c in _by(browser, "#words .chip")] == expected["tokens"]
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
