"""The HTML report as a person sees it: rendered by headless Chromium from a file, offline. The
screenshot must show something, and the page must ask the network for nothing (Chromium's own
background traffic aside, told apart by its network isolation key)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib import image

from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.render import html_report
from report_cases import CASES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--no-pings"]


def screenshot(page, png, netlog, size=(1000, 1600)) -> None:
    assert CHROMIUM, "Chromium is not installed: run bin/setup-test-tools"
    subprocess.run([CHROMIUM, *QUIET, f"--window-size={size[0]},{size[1]}", f"--log-net-log={netlog}",
                    f"--screenshot={png}", page.as_uri()], capture_output=True, timeout=120, check=True)


def page_requests(netlog) -> list[str]:
    """URLs that the page itself asked for (its network isolation key is the file's origin)."""
    events = json.loads(netlog.read_text())["events"]
    return sorted({e["params"]["url"] for e in events
                   if str(e.get("params", {}).get("url", "")).startswith(("http:", "https:", "ws:", "wss:"))
                   and "file://" in str(e["params"].get("network_isolation_key", ""))})


def ink(png) -> float:
    """The share of pixels that are not background white."""
    pixels = image.imread(png)[..., :3]
    return float((pixels.min(axis=-1) < 0.9).mean())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_report_renders_offline_and_shows_something(case, language, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html_report(CASES[case](), catalog(language)), encoding="utf-8")
    png, netlog = tmp_path / "shot.png", tmp_path / "net.json"
    screenshot(page, png, netlog)
    assert page_requests(netlog) == []
    assert ink(png) > 0.02, "the screenshot is (nearly) blank"
    assert np.asarray(image.imread(png)).std() > 0.05


def test_the_network_check_catches_a_page_that_loads_from_the_web(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="https://example.com/x.png"><p>hola</p></body></html>')
    netlog = tmp_path / "net.json"
    screenshot(page, tmp_path / "shot.png", netlog, size=(400, 300))
    assert page_requests(netlog) == ["https://example.com/x.png"]
