"""Debian's Chromium driven by Playwright, for the browser tests (shared by test_browser and test_export).

No browser is downloaded: Playwright starts ``/usr/bin/chromium`` (or ``CCD_HANDBOOK_CHROMIUM``) headless,
with a new empty profile and without the background connections that a closed network refuses.
Without Chromium or Playwright a browser test skips, unless ``CCD_HANDBOOK_REQUIRE_BROWSER=1`` (CI sets
it), which turns the skip into a failure.
"""
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CCD_HANDBOOK_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("CCD_HANDBOOK_REQUIRE_BROWSER") == "1"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def why_not():
    """Why no browser test can run here (a sentence), or None when Chromium and Playwright are there."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; no browser download is needed)"
    return None


def launch(playwright, profile, viewport=None):
    """A headless Chromium context on the empty profile folder ``profile``."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True,
        viewport=viewport or {"width": 1400, "height": 1000}, args=ARGS)
