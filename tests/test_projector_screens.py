"""The projector style seen in a real JupyterLab, in headless Chromium, in a 1024 x 768 window.

Runs chapter 06 twice on a copy served by JupyterLab (the fixtures of ``test_browser.py``): as it is, and with
``plot.projector_style()`` as its first cell. Saves ``build/screenshots/style-normal.png`` and
``style-projector.png`` (the surface-brightness profile, a static figure; and
``style-projector-1920x1080.png`` in a 1920 x 1080 window) and checks that the projector's
figure is shown at its own pixel size, fits the window's width and the 600 pixels left below the bars, and
is drawn with larger text than the normal one. Skipped, like ``test_browser.py``, without Chromium or
Playwright unless ``CCD_HANDBOOK_REQUIRE_BROWSER=1``.
"""
import json
import urllib.request

import pytest

from test_browser import ROOT, SCREENSHOTS, browser_context, lab  # noqa: F401  (skips without a browser)

CHAPTER = "06_aperture_photometry.ipynb"
FIGURE_CELL = "height_ratios=[3, 1.3]"          # a piece of the code of the cell whose figure is shot
WINDOW = {"width": 1024, "height": 768}


def _upload(base, token, name, screen):
    """The chapter up to the figure, without outputs; with ``screen``, the projector style is switched on in a
    first cell."""
    notebook = json.loads((ROOT / "notebooks" / CHAPTER).read_text())
    last = next(i for i, c in enumerate(notebook["cells"]) if FIGURE_CELL in "".join(c["source"]))
    notebook["cells"] = notebook["cells"][:last + 2]
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    if screen:
        notebook["cells"].insert(0, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                     "source": f"from helpers import plot\nplot.projector_style(screen={screen!r})"})
    body = json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode()
    request = urllib.request.Request(f"{base}/api/contents/notebooks/{name}?token={token}", data=body,
                                     method="PUT", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()


def _idle(page, seconds=2.0):
    """Wait until the kernel has been idle for a while (Run All has finished, not just paused)."""
    quiet = 0
    while quiet < seconds * 10:
        quiet = quiet + 1 if page.locator("text=| Idle").count() else 0
        page.wait_for_timeout(100)


def _shoot(context, base, token, style, screen=None, window=WINDOW):
    name = f"style-{style}.ipynb"
    _upload(base, token, name, screen)
    page = context.new_page()
    page.set_viewport_size(window)
    page.goto(f"{base}/lab/tree/notebooks/{name}?token={token}&reset")
    page.wait_for_selector("text=| Idle", timeout=90_000)
    if page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").count():
        page.keyboard.press("Control+b")                        # an instructor closes the file browser
    page.click("text=Run", timeout=10_000)
    page.click("text=Run All Cells", timeout=10_000)
    cell = page.locator(".jp-CodeCell").filter(has_text=FIGURE_CELL)
    image = cell.locator(".jp-OutputArea-output img")
    try:
        image.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"style-{style}-failure.png"))
        raise
    _idle(page)
    image.scroll_into_view_if_needed()
    image.evaluate("""img => { const outer = img.closest('.jp-WindowedPanel-outer');
                               outer.scrollTop += img.getBoundingClientRect().top
                                                  - outer.getBoundingClientRect().top - 8; }""")
    page.wait_for_timeout(500)
    sizes = image.evaluate("""img => ({natural: [img.naturalWidth, img.naturalHeight],
                                       shown: [img.clientWidth, img.clientHeight],
                                       area: img.closest('.jp-OutputArea-output').clientWidth,
                                       panel: img.closest('.jp-WindowedPanel-outer').clientHeight})""")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"style-{style}.png"))
    page.close()
    print(f"\n{style}: figure {sizes['natural'][0]} x {sizes['natural'][1]} px, shown {sizes['shown'][0]} x "
          f"{sizes['shown'][1]}, output area {sizes['area']} px wide, notebook panel {sizes['panel']:.0f} px high")
    return sizes


def test_projector_style_fits_a_1024x768_window(lab, browser_context):  # noqa: F811
    base, token = lab[:2]
    normal = _shoot(browser_context, base, token, "normal")
    projector = _shoot(browser_context, base, token, "projector", "1024x768")
    width, height = projector["natural"]
    assert projector["shown"] == [width, height], "the figure was squeezed to fit: it is too wide"
    assert width <= projector["area"] and height <= 600
    # the same figure (8 x 6.5 in) at 90 instead of 100 dots per inch, with text twice the points
    assert width < normal["natural"][0] and height < normal["natural"][1]


def test_projector_style_fits_a_1920x1080_window(lab, browser_context):  # noqa: F811
    base, token = lab[:2]
    projector = _shoot(browser_context, base, token, "projector-1920x1080", "1920x1080",
                       {"width": 1920, "height": 1080})
    width, height = projector["natural"]
    assert projector["shown"] == [width, height]
    assert width <= projector["area"] and height <= projector["panel"]
