"""Every slider of every chapter, moved in a real JupyterLab in headless Chromium.

Starts JupyterLab on 127.0.0.1 (random token, free port, temporary config and settings folders) serving a
COPY of the notebooks, drives Debian's Chromium with Playwright (no browser download), and for each chapter
with sliders: runs all cells, moves every slider by keyboard and by mouse drag, and checks that the slider's
report line and its picture change (and in the direction they should, where the report says what).
A screenshot of each chapter after the moves goes to ``build/screenshots/``; the median time from a key
press to the new picture, and the kernel's median time per update, are printed and written to
``build/screenshots/timings.txt``. One more test checks that a slider whose callback breaks is caught.

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

from chromium import REQUIRED, launch, why_not

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"

if why_not():
    if REQUIRED:
        pytest.fail(f"CCD_HANDBOOK_REQUIRE_BROWSER=1 but {why_not()}", pytrace=False)
    pytest.skip(why_not(), allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

(SCREENSHOTS / "timings.txt").unlink(missing_ok=True)      # this run's timings only (imported once a session)


def _chapters_with_sliders():
    chapters = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any(c["cell_type"] == "code" and "widgets." in "".join(c["source"]) and
               "nbval-ignore-output" in c["metadata"].get("tags", []) for c in cells):
            chapters.append(path.name)
    return chapters


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks; yields (base_url, token, the served folder)."""
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
        yield base, token, tmp / "handbook"
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
        context = launch(p, profile)
        yield context
        context.close()


def _report_of(widget):
    """The report line of a slider's widget box: the label that is not the slider's description."""
    labels = [t for t in widget.locator(".widget-label").all_inner_texts() if any(ch.isdigit() for ch in t)]
    return labels[0] if labels else ""


def _picture_of(widget):
    """The address of the viewer's picture: a new blob: URL each time the kernel sends a new JPEG."""
    return widget.locator("img").first.get_attribute("src")


def _kernel_ms(widget):
    """The kernel's time for the viewer's last update, from its hidden timing label (helpers.widgets)."""
    text = widget.locator(".viewer-kernel-time").first.text_content() or ""
    return float(text) if text.strip() else None


def _wait_for_change(page, widget, old_src, what, timeout=20.0):
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        src = _picture_of(widget)
        if src and src != old_src:
            return time.perf_counter() - started
        page.wait_for_timeout(2)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "failure.png"))
    raise AssertionError(f"the picture did not change after {what} (screenshot: build/screenshots/failure.png)")


#: What a move must do to a report line, by the words in it: (pattern of a number, the key pressed on
#: the first handle (a single slider, or a range's lower end) makes that number at least as large (+1) or
#: at most as large (-1)).
DIRECTIONS = [
    (r"([\d.]+) % of pixels black", +1),     # chapter 01: a higher black point blackens more pixels
    (r"(\d+) detections", -1),               # chapter 02: a higher threshold finds fewer stars
    (r"\(([\d.]+) pixels\)", +1),            # chapter 06: a larger aperture holds more pixels
]


def _check_direction(chapter, handle, before, after):
    if handle != 0:
        return
    for pattern, sign in DIRECTIONS:
        old, new = re.search(pattern, before), re.search(pattern, after)
        if old and new:
            change = float(new.group(1)) - float(old.group(1))
            assert sign * change > 0, (f"{chapter}: {pattern!r} should {'rise' if sign > 0 else 'fall'} "
                                       f"when the slider goes up: {before!r} -> {after!r}")


def _move_every_slider(page, chapter):
    """Move every handle of every slider box on the page by key and by drag; return the key-to-picture
    times and the kernel's times (seconds, ms)."""
    boxes = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator(".widget-slider"))
    assert boxes.count() >= 1, f"{chapter}: no slider found"
    delays, kernel = [], []
    for b in range(boxes.count()):
        widget = boxes.nth(b)
        handles = widget.locator(".widget-slider [role=slider]")
        for h in range(handles.count()):
            handle = handles.nth(h)
            handle.scroll_into_view_if_needed()
            for repeat in range(3):          # by keyboard, a few times: the medians need several moves
                before, src = _report_of(widget), _picture_of(widget)
                handle.focus()
                key = "ArrowLeft" if h == 1 else "ArrowRight"     # the upper handle of a range moves down
                page.keyboard.press(key)
                delays.append(_wait_for_change(page, widget, src, f"{key} on handle {h} of slider box {b}"))
                page.wait_for_selector("text=| Idle")
                after = _report_of(widget)
                assert after != before, f"{chapter}: the report did not change ({before!r})"
                _check_direction(chapter, h, before, after)
                if _kernel_ms(widget) is not None:
                    kernel.append(_kernel_ms(widget))
            # by mouse drag
            before, src = _report_of(widget), _picture_of(widget)
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            # drag away from the other handle of a range: lower handle left, upper handle right
            page.mouse.move(box["x"] + box["width"] / 2 + (40 if h == 1 else -40), box["y"] + box["height"] / 2,
                            steps=8)
            page.mouse.up()
            _wait_for_change(page, widget, src, f"a drag of handle {h} of slider box {b}")
            page.wait_for_selector("text=| Idle")
            assert _report_of(widget) != before
    return delays, kernel


def _open_and_run(page, base, token, path):
    page.goto(f"{base}/lab/tree/{path}?token={token}&reset")
    page.wait_for_selector("text=| Idle", timeout=90_000)
    page.click("text=Run", timeout=10_000)
    page.click("text=Run All Cells", timeout=10_000)
    page.wait_for_selector(".widget-slider", timeout=180_000)
    page.wait_for_selector("text=| Idle", timeout=180_000)


@pytest.mark.parametrize("chapter", _chapters_with_sliders())
def test_every_slider_moves_the_numbers_and_the_picture(lab, browser_context, chapter):
    base, token, _ = lab
    page = browser_context.new_page()
    _open_and_run(page, base, token, f"notebooks/{chapter}")
    delays, kernel = _move_every_slider(page, chapter)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".jp-OutputArea-output .widget-vbox").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{Path(chapter).stem}.png"))
    line = (f"\n{chapter}: {len(delays)} key presses, median key press to new picture "
            f"{1000 * statistics.median(delays):.0f} ms, median kernel time per update "
            f"{statistics.median(kernel) if kernel else float('nan'):.0f} ms")
    print(line)
    with open(SCREENSHOTS / "timings.txt", "a") as log:
        log.write(line.strip() + "\n")
    page.close()


def test_a_broken_slider_callback_fails_the_check(lab, browser_context):
    """The check above must catch a slider whose callback fails: here one that raises."""
    import nbformat

    base, token, root = lab
    folder = root / "notebooks"
    cells = ["import numpy as np\nfrom helpers import widgets",
             "viewer = widgets.stretch_viewer(np.random.default_rng(0).normal(100, 5, (128, 128)))\n"
             "slider = viewer.children[0]\n"
             "slider.unobserve_all('value')\n"
             "slider.observe(lambda change: 1 / 0, names='value')   # a callback that breaks\n"
             "viewer"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "broken_slider.ipynb")
    page = browser_context.new_page()
    _open_and_run(page, base, token, "notebooks/broken_slider.ipynb")
    with pytest.raises(AssertionError, match="the picture did not change"):
        _move_every_slider(page, "broken_slider.ipynb")
    page.close()
