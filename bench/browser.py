"""The pages in a real browser: start `printability serve`, drive headless Chromium (Debian's
`chromium` and `chromium-driver` packages) to load the form, submit the example parts and read
the verdict shown; then, with --screenshots, save full-page pictures of the page, the check
report and the evaluation report at 1400 and 800 px wide.

Run: .venv/bin/python bench/browser.py --screenshots docs/screenshots
     (the evaluation report is `make demo`'s, out/demo/report/report.html; --evaluate-report)

tests/test_browser.py runs `check_in_browser` and skips, saying why, where no browser is
installed. Selenium drives the browser (a dev dependency); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WIDTHS = (1400, 800)  # a desktop and a narrow window


def find_browser() -> tuple[str, str] | str:
    """(browser, driver) paths, or the reason they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    browser = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if browser is None:
        return f"no Chromium found (looked for {', '.join(BROWSERS)}; apt install chromium)"
    driver = shutil.which("chromedriver")
    if driver is None:
        return "no chromedriver found (apt install chromium-driver)"
    return browser, driver


@contextmanager
def served(max_upload_mb: float = 100.0) -> Iterator[str]:
    """`printability serve`'s app on a free port of 127.0.0.1 in a thread; yields its URL."""
    from werkzeug.serving import make_server

    from printability.serve import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(max_upload_mb=max_upload_mb))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def chromium(width: int = WIDTHS[0]) -> Iterator:
    """A headless Chromium window `width` px wide, driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if isinstance(found, str):
        raise RuntimeError(found)
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--window-size={width},1000", "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(found[1]))
    try:
        yield driver
    finally:
        driver.quit()


def submit_part(driver, url: str, mesh: Path, process: str = "fdm") -> dict:
    """Load the form, choose `mesh` and `process`, submit, and read what the page shows: the
    verdict heading, the table's cells, the pictures (loaded and drawn), the page's width."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.find_element(By.NAME, "mesh").send_keys(str(mesh.resolve()))
    Select(driver.find_element(By.NAME, "process")).select_by_value(process)
    started = time.perf_counter()
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 120).until(
        lambda d: d.find_elements(By.ID, "verdict") or d.find_elements(By.CLASS_NAME, "error")
    )
    seconds = time.perf_counter() - started
    images = driver.find_elements(By.TAG_NAME, "img")
    return {
        "verdict": " ".join(e.text for e in driver.find_elements(By.ID, "verdict")),
        "error": " ".join(e.text for e in driver.find_elements(By.CLASS_NAME, "error")),
        "cells": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "tbody td")],
        "images": len(images),
        "images_drawn": sum(
            bool(driver.execute_script("return arguments[0].naturalWidth > 0", i)) for i in images
        ),
        "view_drawn": driver.execute_script(  # Plotly drew the 3D scene (WebGL canvas)
            "return !!window.Plotly && !!document.querySelector('.js-plotly-plot canvas')"
        ),
        "fetched_elsewhere": driver.execute_script(  # every resource came from this server
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => !n.startsWith(arguments[0]) && !n.startsWith('data:'))",
            url,
        ),
        "process_kept": Select(
            driver.find_element(By.NAME, "process")
        ).first_selected_option.get_attribute("value"),
        "page_width": driver.execute_script("return document.documentElement.scrollWidth"),
        "window_width": driver.execute_script("return window.innerWidth"),
        "seconds": seconds,
    }


def check_in_browser(examples: dict[str, Path], width: int = WIDTHS[0]) -> dict[str, dict]:
    """Submit the thin-wall box and the plain box through the page; what was shown for each."""
    with served() as url, chromium(width) as driver:
        return {
            name: submit_part(driver, url, examples[name]) for name in ("thin_wall", "plain_box")
        }


def save_full_page(driver, out_png: Path) -> Path:
    """The whole page, beyond the window, as a palette PNG (text stays sharp, files small)."""
    from PIL import Image

    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    })  # fmt: skip
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=256, dither=Image.Dither.NONE).save(out_png, optimize=True)
    return out_png


def screenshots(out: Path, examples: dict[str, Path], evaluate_report: Path | None) -> list[Path]:
    """Full-page pictures of the page after a submit, the check report of the examples and
    the evaluation report, at each width."""
    from printability.inspect.check import Checker
    from printability.inspect.report import write_check_report

    rows = Checker(keep_maps=True).check_paths(sorted(examples.values()), progress=False)
    report = write_check_report(rows, Path(tempfile.mkdtemp()) / "check.html")
    saved = []
    with served() as url:
        for width in WIDTHS:
            with chromium(width) as driver:
                submit_part(driver, url, examples["thin_wall"])
                saved.append(save_full_page(driver, out / f"serve_{width}.png"))
                driver.get(report.resolve().as_uri())
                saved.append(save_full_page(driver, out / f"check_report_{width}.png"))
                if evaluate_report is not None:
                    driver.get(evaluate_report.resolve().as_uri())
                    saved.append(save_full_page(driver, out / f"evaluate_report_{width}.png"))
    shutil.rmtree(report.parent)
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="folder for the full-page pictures")
    parser.add_argument("--evaluate-report", type=Path, default=Path("out/demo/report/report.html"))
    args = parser.parse_args()
    found = find_browser()
    if isinstance(found, str):
        print(f"skipped: {found}")
        return 0
    from printability.inspect.samples import write_examples

    with tempfile.TemporaryDirectory() as folder:
        examples = {p.stem: p for p in write_examples(folder)}
        for width in WIDTHS:
            for name, shown in check_in_browser(examples, width).items():
                print(f"{width} px  {name}: {shown['verdict']!r}, {shown['images_drawn']} of "
                      f"{shown['images']} pictures drawn, 3D view drawn {shown['view_drawn']}, "
                      f"fetched from elsewhere {shown['fetched_elsewhere']}, page "
                      f"{shown['page_width']} px wide, {shown['seconds']:.1f} s from submit "
                      "to verdict")  # fmt: skip
        if args.screenshots:
            report = args.evaluate_report if args.evaluate_report.is_file() else None
            if report is None:
                print(f"no evaluation report at {args.evaluate_report}: run `make demo` first")
            for path in screenshots(args.screenshots, examples, report):
                print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
