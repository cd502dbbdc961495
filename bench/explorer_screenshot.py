"""A screenshot of the attention explorer, as the docs show it: serves a run, types a
sentence into the page in headless chromium (Debian's, with chromium-driver), hovers an
output token and saves the PNG.

Usage: python bench/explorer_screenshot.py --run RUN --tutorial transformer
       --sentence "¿Todavía está en casa?" --out docs/images/explorer.png [--layer N]
       [--head H|mean|all] [--map cross|encoder_self|decoder_self] [--hover-row I]
       (layers and heads counted from 1)
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
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server = _Server(args.tutorial.split(), Path(args.run), 32)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     f"--window-size={args.size}", "--hide-scrollbars"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        browser.get(f"{server.url}/")
        wait = WebDriverWait(browser, 120)
        wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        browser.find_element(By.ID, "sentence").clear()  # the page opens on its first example
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
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(args.out)
        print(args.out)
    finally:
        browser.quit()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
