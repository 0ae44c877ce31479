"""The page in a real browser (bench/browser.py): headless Chromium loads `printability serve`'s
form, submits the example boxes and shows their verdicts, the thin wall's pictures and the 3D
view drawn with nothing fetched from elsewhere, and the page no wider than the window at 1400
and 800 px. Skipped, with the reason, where Chromium,
chromedriver or Selenium is missing (CI has no browser)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from printability.inspect.samples import write_examples

BENCH = Path(__file__).parents[1] / "bench" / "browser.py"


def _bench():
    spec = importlib.util.spec_from_file_location("browser_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser = _bench()
FOUND = browser.find_browser()
pytestmark = pytest.mark.skipif(isinstance(FOUND, str), reason=f"no browser: {FOUND}")


@pytest.mark.parametrize("width", browser.WIDTHS)
def test_a_part_submitted_in_chromium_shows_its_verdict_and_pictures(tmp_path, width):
    examples = {p.stem: p for p in write_examples(tmp_path)}
    shown = browser.check_in_browser(examples, width)
    thin, plain = shown["thin_wall"], shown["plain_box"]
    assert thin["verdict"] == "thin_wall.stl: NOT printable" and not thin["error"]
    assert "NOT printable" in thin["cells"] and "wall 1.01 mm < 1.2 mm" in thin["cells"]
    assert thin["images"] == thin["images_drawn"] == 2  # the cuts and the 3D view, drawn
    assert plain["verdict"] == "plain_box.stl: printable" and plain["images"] == 0
    for page in (thin, plain):
        assert page["view_drawn"] is True  # the interactive 3D view, Plotly on a canvas
        assert page["fetched_elsewhere"] == []  # offline: nothing but this server
        assert page["process_kept"] == "fdm"  # the form shows what was asked
        assert page["page_width"] <= page["window_width"]  # nothing to scroll sideways
