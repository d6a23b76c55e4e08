"""Every slider of every chapter, moved in a real JupyterLab in headless Chromium.

Starts JupyterLab on 127.0.0.1 (random token, free port, temporary config and settings folders) serving a
COPY of the notebooks, drives Debian's Chromium with Playwright (no browser download), and for each chapter
with sliders: runs all cells, moves every slider by keyboard and by mouse drag, and checks that the slider's
report line and its picture change. A screenshot of each chapter after the moves goes to
``build/screenshots/``; the median time from a key press to the new picture is printed.

Without Chromium or Playwright the module is skipped, unless the environment variable
``CCD_HANDBOOK_REQUIRE_BROWSER=1`` is set (CI sets it), which turns the skip into a failure.
"""
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CCD_HANDBOOK_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("CCD_HANDBOOK_REQUIRE_BROWSER") == "1"
SCREENSHOTS = ROOT / "build" / "screenshots"


def _why_not():
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; no browser download is needed)"
    return None


if _why_not():
    if REQUIRED:
        pytest.fail(f"CCD_HANDBOOK_REQUIRE_BROWSER=1 but {_why_not()}", pytrace=False)
    pytest.skip(_why_not(), allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


def _chapters_with_sliders():
    chapters = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any(c["cell_type"] == "code" and "widgets." in "".join(c["source"]) and
               "NBVAL_IGNORE_OUTPUT" in "".join(c["source"]) for c in cells):
            chapters.append(path.name)
    return chapters


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks; yields (base_url, token)."""
    tmp = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", tmp / "handbook" / "notebooks")
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp / 'handbook'}", f"--LabApp.user_settings_dir={tmp / 'settings'}",
               f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(tmp / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(tmp / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.25)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, viewport={"width": 1400, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield context
        context.close()


def _report_of(widget):
    """The report line of a slider's widget box: the label that is not the slider's description."""
    labels = [t for t in widget.locator(".widget-label").all_inner_texts() if any(ch.isdigit() for ch in t)]
    return labels[0] if labels else ""


def _picture_of(widget):
    return widget.locator(".widget-output img").first.get_attribute("src")


def _wait_for_change(page, widget, old_src, what, timeout=20.0):
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        src = _picture_of(widget)
        if src and src != old_src:
            return time.perf_counter() - started
        page.wait_for_timeout(5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "failure.png"))
    raise AssertionError(f"the picture did not change after {what} (screenshot: build/screenshots/failure.png)")


@pytest.mark.parametrize("chapter", _chapters_with_sliders())
def test_every_slider_moves_the_numbers_and_the_picture(lab, browser_context, chapter):
    base, token = lab
    page = browser_context.new_page()
    page.goto(f"{base}/lab/tree/notebooks/{chapter}?token={token}&reset")
    page.wait_for_selector("text=| Idle", timeout=90_000)
    page.click("text=Run", timeout=10_000)
    page.click("text=Run All Cells", timeout=10_000)
    page.wait_for_selector(".widget-slider", timeout=180_000)
    page.wait_for_selector("text=| Idle", timeout=180_000)

    boxes = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator(".widget-slider"))
    assert boxes.count() >= 1
    delays = []
    for b in range(boxes.count()):
        widget = boxes.nth(b)
        handles = widget.locator(".widget-slider [role=slider]")
        for h in range(handles.count()):
            handle = handles.nth(h)
            handle.scroll_into_view_if_needed()
            # by keyboard
            before, src = _report_of(widget), _picture_of(widget)
            handle.focus()
            key = "ArrowLeft" if h == 1 else "ArrowRight"     # the upper handle of a range moves down
            page.keyboard.press(key)
            delays.append(_wait_for_change(page, widget, src, f"{key} on handle {h} of slider box {b}"))
            page.wait_for_timeout(200)
            assert _report_of(widget) != before, f"{chapter}: the report did not change ({before!r})"
            # by mouse drag
            before, src = _report_of(widget), _picture_of(widget)
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            # drag away from the other handle of a range: lower handle left, upper handle right
            page.mouse.move(box["x"] + box["width"] / 2 + (40 if h == 1 else -40), box["y"] + box["height"] / 2,
                            steps=5)
            page.mouse.up()
            _wait_for_change(page, widget, src, f"a drag of handle {h} of slider box {b}")
            page.wait_for_timeout(200)
            assert _report_of(widget) != before
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    boxes.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{Path(chapter).stem}.png"))
    print(f"\n{chapter}: {len(delays)} keyboard moves, median key-to-picture "
          f"{1000 * statistics.median(delays):.0f} ms")
    page.close()
