"""A screenshot of the attention explorer, as the docs show it: serves a run, types a
sentence into the page in headless chromium (Debian's, with chromium-driver), hovers an
output token and saves the PNG. With --notebook, the explorer inline in a notebook instead:
a cell showing ``explorer_view`` of the run's export, executed by nbclient and rendered by
nbconvert, opened from disk.

Usage: python bench/explorer_screenshot.py --run RUN --tutorial transformer
       --sentence "¿Todavía está en casa?" --out docs/images/explorer.png [--layer N]
       [--head H|mean|all] [--map cross|encoder_self|decoder_self] [--hover-row I]
       [--notebook] (layers and heads counted from 1)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving import _Server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--tutorial", default="transformer",
                        help="transformer, nmt_attention, 'classify text', 'classify bert'")
    parser.add_argument("--sentence", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--map", default="cross")
    parser.add_argument("--layer", help="1-based; default the last")
    parser.add_argument("--head", default="1", help="head (1 = the first), mean or all")
    parser.add_argument("--hover-row", type=int, default=1)
    parser.add_argument("--size", default="1200,900")
    parser.add_argument("--notebook", action="store_true",
                        help="the explorer inline in a rendered notebook (the run's export)")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server = None if args.notebook else _Server(args.tutorial.split(), Path(args.run), 32)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     f"--window-size={args.size}", "--hide-scrollbars"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        wait = WebDriverWait(browser, 120)
        if args.notebook:
            browser.get(_rendered_notebook(Path(args.run), args.sentence, args.tutorial).as_uri())
            frame = browser.find_element(By.CSS_SELECTOR, "iframe.attention-explorer")
            browser.execute_script("arguments[0].scrollIntoView()", frame)
            browser.execute_script("window.scrollBy(0, -190)")  # the cell above it too
            browser.switch_to.frame(frame)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            browser.execute_script(  # the map in the frame's view
                "document.getElementById('heatmap').scrollIntoView({block: 'end'})")
        else:
            browser.get(f"{server.url}/")
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            browser.find_element(By.ID, "sentence").clear()  # the page opens on an example
            browser.find_element(By.ID, "sentence").send_keys(args.sentence)
            browser.find_element(By.ID, "submit").click()
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#heatmap .cell"))
        Select(browser.find_element(By.ID, "map")).select_by_value(args.map)
        if args.layer:
            Select(browser.find_element(By.ID, "layer")).select_by_value(str(int(args.layer) - 1))
        Select(browser.find_element(By.ID, "head")).select_by_value(
            str(int(args.head) - 1) if args.head.isdigit() else args.head)
        rows = browser.find_elements(By.CSS_SELECTOR, "#heatmap .token.row")
        if rows and args.head != "all":
            row = rows[min(args.hover_row, len(rows) - 1)]
            ActionChains(browser).move_to_element(row).perform()
        browser.switch_to.default_content()
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(args.out)
        print(args.out)
    finally:
        browser.quit()
        if server:
            server.stop()
    return 0


def _rendered_notebook(run: Path, sentence: str, tutorial: str) -> Path:
    """A two-cell notebook showing the explorer of a translation run (``tutorial``:
    transformer or nmt_attention), executed and rendered to HTML (the JupyterLab template)
    in a temporary folder."""
    import tempfile

    import nbformat
    from nbconvert import HTMLExporter

    sys.path.insert(0, str(ROOT / "tutorials"))
    from render import run_notebook

    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_markdown_cell(
            "Every layer, head and kind of attention of the trained model, in the notebook: "
            "hover a token to see where it looks."),
        nbformat.v4.new_code_cell(
            "from pathlib import Path\n"
            "from common.cli import translation_explorer\n"
            f"from {tutorial}.demo import library\n\n"
            f"translation_explorer(Path({str(run)!r}), [{sentence!r}], library())")]
    run_notebook(book, ROOT)
    for cell in book.cells:  # TensorFlow's logs on stderr are not the notebook's reading
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(book)
    page = Path(tempfile.mkdtemp()) / "notebook.html"
    page.write_text(body, encoding="utf-8")
    return page


if __name__ == "__main__":
    raise SystemExit(main())
