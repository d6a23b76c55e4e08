"""The offline export (``python -m helpers.export``): its pure parts, the exported folder, and a real browser.

Three groups:

- unit tests of link rewriting, titles, the contents page and the output folder's stamp (no npm, no browser);
- checks of a real export into a temporary folder: needs npm and the npm registry the first time (the
  packages are installed once into ``build/npm/`` and reused);
- the exported pages in headless Chromium driven by Playwright (the approach of ``tests/test_browser.py``),
  served from 127.0.0.1, with every request the pages make recorded: anything that is not the local server
  (or a ``data:``/``blob:`` URL) fails the test, as does any local request that fails.

Without npm, Chromium or Playwright those tests are skipped, unless ``CCD_HANDBOOK_REQUIRE_BROWSER=1`` is set
(CI sets it), which turns the skip into a failure. Screenshots go to ``build/screenshots/export-*.png``.
"""
import functools
import http.server
import json
import re
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest

from chromium import REQUIRED, launch, why_not
from helpers import export

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _skip_or_fail(reason):
    if REQUIRED:
        pytest.fail(f"CCD_HANDBOOK_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _widget_state(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return nb["metadata"].get("widgets", {}).get(export.WIDGET_STATE, {}).get("state", {})


def _saved_readouts(path):
    """The readouts ('213 – 330') that the linear sliders saved in a notebook's widget state may show.

    The slider (noUiSlider) puts its handles on the step grid ``min + k * step``, and depending on the order
    in which the page's scripts finish, the readout shows either the saved value or that value moved to the
    grid (seen: '213 – 330' and '213 – 332' for the saved [212.65, 329.89] with step 3.6). Both are the
    saved state; a slider that did not get it shows its defaults (e.g. '25 – 75').
    """
    readouts = set()
    for model in _widget_state(path).values():
        name, state = model["model_name"], model["state"]
        fmt = state.get("readout_format", "d" if name.startswith("Int") else ".2f")
        if not re.fullmatch(r"(Int|Float)(Range)?SliderModel", name) or not re.fullmatch(r"\+?\.?\d*[df]", fmt):
            continue                    # log sliders show 10**value; d3's g-formats differ from Python's
        values = state["value"] if isinstance(state["value"], list) else [state["value"]]
        low, high, step = state.get("min", 0), state.get("max", 100), state.get("step") or 1
        on_grid = [min(high, max(low, low + round((v - low) / step) * step)) for v in values]
        for shown in (values, on_grid):
            readouts.add(" – ".join(format(v, fmt) for v in shown))
    return readouts


def _chapter_with_sliders():
    for path in CHAPTERS:
        if _saved_readouts(path):
            return path
    return None


# ---------------------------------------------------------------------------------------------------------
# Pure parts

def test_links_between_notebooks_become_links_between_pages():
    names = {"00_the_data.ipynb", "02_finding_stars.ipynb"}
    text = ("**Previous:** [00 · The data](00_the_data.ipynb) · **Next:** [02](./02_finding_stars.ipynb#Goals)\n"
            "[ref]: 02_finding_stars.ipynb\n"
            '<a href="00_the_data.ipynb?x=1">back</a>\n'
            "[title](02_finding_stars.ipynb \"Finding stars\")")
    assert export.rewrite_notebook_links(text, names) == (
        "**Previous:** [00 · The data](00_the_data.html) · **Next:** [02](./02_finding_stars.html#Goals)\n"
        "[ref]: 02_finding_stars.html\n"
        '<a href="00_the_data.html?x=1">back</a>\n'
        "[title](02_finding_stars.html \"Finding stars\")")
    assert export.rewrite_notebook_links(text, names, slides=True).count(".slides.html") == 5


def test_other_links_are_left_alone():
    names = {"00_the_data.ipynb"}
    for text in ["[web](https://example.org/00_the_data.ipynb)", "[abs](/notebooks/00_the_data.ipynb)",
                 "[not exported](99_elsewhere.ipynb)", "[readme](../README.md)", "plain 00_the_data.ipynb text",
                 "[anchor](#00_the_data.ipynb)"]:
        assert export.rewrite_notebook_links(text, names) == text


def test_every_chapter_link_in_the_committed_notebooks_is_rewritten():
    names = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                rewritten = export.rewrite_notebook_links(cell.source, names)
                left = [n for n in names if f"]({n}" in rewritten or f"href=\"{n}" in rewritten]
                assert not left, f"{path.name}: links to {left} not rewritten"


def test_title_is_the_first_markdown_heading():
    nb = {"cells": [{"cell_type": "code", "source": "# a comment"},
                    {"cell_type": "markdown", "source": ["Some text\n", "\n", "# 03 · A second filter ##\n"]}]}
    assert export.notebook_title(nb, "x") == "03 · A second filter"
    assert export.notebook_title({"cells": []}, "fallback") == "fallback"


def test_contents_page_lists_the_pages_in_order_and_loads_nothing():
    pages = [export.Page(Path(f"0{i}_c.ipynb"), f"0{i} · Chapter <{i}>", f"0{i}_c.html",
                         f"0{i}_c.slides.html" if i else None) for i in range(3)]
    text = export.contents_page(pages)
    links = re.findall(r'href="([^"]+)"', text)
    assert links == ["data:,", "00_c.html", "01_c.html", "01_c.slides.html", "02_c.html", "02_c.slides.html"]
    assert "0 · Chapter &lt;0&gt;" in text                 # titles are escaped
    assert "<script" not in text and "http" not in text


def test_a_new_or_empty_folder_is_written_and_stamped(tmp_path):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "new" / "deeper", tmp_path / "empty"):
        out = export.OutputFolder(folder)
        out.write_text("static/a.js", "x")
        assert (folder / "static" / "a.js").read_text() == "x"
        assert "static/a.js" in (folder / export.STAMP).read_text().splitlines()


def test_a_folder_with_files_of_its_own_is_never_touched(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(export.ExportError, match="did not make"):
        export.OutputFolder(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "my notes"
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(export.ExportError, match="is a file"):
        export.OutputFolder(tmp_path / "a_file")


def test_an_earlier_export_is_replaced_but_files_added_to_it_stop_the_export(tmp_path):
    folder = tmp_path / "handbook"
    out = export.OutputFolder(folder)
    out.write_text("old_chapter.html", "old")
    out.write_text("static/lib/x.js", "x")
    export.OutputFolder(folder).write_text("index.html", "new")      # a second export
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [export.STAMP, "index.html"]
    (folder / "added.txt").write_text("mine")
    with pytest.raises(export.ExportError, match="added.txt"):
        export.OutputFolder(folder)
    assert (folder / "index.html").read_text() == "new" and (folder / "added.txt").read_text() == "mine"


def test_missing_notebooks_and_missing_npm_are_explained(tmp_path, monkeypatch):
    with pytest.raises(export.ExportError, match="no notebooks folder"):
        export.export(tmp_path / "out", notebooks=tmp_path / "nowhere")
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    with pytest.raises(export.ExportError, match="npm .* not found: install Node.js"):
        export.install_npm_packages(folder=tmp_path / "npm")


def test_the_command_refuses_a_foreign_folder_with_a_message(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert export.main(["--out", str(tmp_path)]) == 1
    assert "did not make" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_npm_packages_are_pinned_exactly_and_locked():
    manifest = json.loads((export.NPM_MANIFEST / "package.json").read_text())
    lock = json.loads((export.NPM_MANIFEST / "package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned exactly: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"]
    assert manifest["dependencies"]["@jupyter-widgets/html-manager"].startswith("1.")   # ipywidgets 8 state
    assert manifest["dependencies"]["mathjax"].startswith("2.")          # nbconvert configures MathJax 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_with_widgets_carry_their_saved_state(path):
    """Without saved widget state the export shows no sliders: save notebooks with the widget state."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    views = [output["data"][export.WIDGET_VIEW]["model_id"] for cell in nb["cells"] if cell["cell_type"] == "code"
             for output in cell.get("outputs", []) if export.WIDGET_VIEW in output.get("data", {})]
    state = _widget_state(path)
    assert all(view in state for view in views), f"{path.name}: widget views without saved state"


# ---------------------------------------------------------------------------------------------------------
# A real export

@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Export the handbook into a temporary folder once; yields (folder, pages)."""
    folder = tmp_path_factory.mktemp("export") / "handbook"
    started = time.perf_counter()
    try:
        pages = export.export(folder, log=lambda message: None)
    except export.ExportError as error:
        if "npm" not in str(error):
            raise
        _skip_or_fail(str(error))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"\nexport: {len(pages)} notebooks in {time.perf_counter() - started:.1f} s, {size / 1e6:.1f} MB")
    return folder, pages


def _local_references(page):
    """The src and href attributes of a page's HTML (not of the JSON inside its scripts)."""
    text = re.sub(r"<script[^>]*>.*?</script>", "", page.read_text(encoding="utf-8"), flags=re.S)
    return re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", text) + \
        re.findall(r"""<script[^>]*\bsrc\s*=\s*["']([^"']*)["']""", page.read_text(encoding="utf-8"))


def test_every_notebook_has_a_page_and_slides_and_the_contents_link_them(exported):
    folder, pages = exported
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert [p.notebook.name for p in pages] == [p.name for p in sorted(notebooks, key=lambda p: (
        not re.match(r"\d\d_", p.name), p.name))]
    contents = (folder / "index.html").read_text(encoding="utf-8")
    for page in pages:
        assert (folder / page.html).stat().st_size > 0 and (folder / page.slides).stat().st_size > 0
        if page.html != "index.html":
            assert f'href="{page.html}"' in contents


def test_pages_load_nothing_from_the_internet_and_every_local_link_exists(exported):
    folder, _ = exported
    pages = sorted(folder.glob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), page.name
        assert not re.findall(r"""(?:import\s*\(?\s*|from\s+)["'](?:https?:)?//""", text), page.name
        for reference in _local_references(page):
            if reference.startswith(("#", "data:", "mailto:", "javascript:")) or not reference:
                continue
            assert ".ipynb" not in reference, f"{page.name} links to a notebook: {reference}"
            target = folder / reference.split("#")[0].split("?")[0]
            assert target.is_file(), f"{page.name} refers to {reference}, which is not in the export"
    for css in folder.glob(f"{export.STATIC}/**/*.css"):
        assert not re.findall(r"@import\s+url\(\s*['\"]?(?:https?:)?//", css.read_text(encoding="utf-8")), css


def test_the_stamp_lists_every_file_of_the_export(exported):
    folder, _ = exported
    listed = export._is_ours(folder)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {export.STAMP}
    assert present == listed


def test_an_index_notebook_becomes_the_contents_page(exported, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in CHAPTERS[:2]:
        shutil.copy(path, notebooks)
    index = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# Contents\n\n" + "\n".join(f"- [{p.stem}]({p.name})" for p in CHAPTERS[:2]))])
    nbformat.write(index, notebooks / "index.ipynb")
    pages = export.export(tmp_path / "out", notebooks=notebooks, slides=False, log=lambda message: None)
    assert [p.html for p in pages] == [p.stem + ".html" for p in CHAPTERS[:2]] + ["index.html"]
    text = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "jp-Notebook" in text and 'class="contents"' not in text      # nbconvert's page, not the generated one
    assert f'href="{CHAPTERS[0].stem}.html"' in text and not list((tmp_path / "out").glob("*.slides.html"))


# ---------------------------------------------------------------------------------------------------------
# The export in a real browser

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(exported):
    """The exported folder served on 127.0.0.1 (a free port); yields its base URL."""
    folder, _ = exported
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory, served):
    """A Chromium context (new empty profile) that records every request its pages make."""
    if why_not():
        _skip_or_fail(why_not())
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = launch(p, profile)
        context.requests, context.failures = [], []
        context.on("request", lambda request: context.requests.append(request.url))
        context.on("requestfailed", lambda request: context.failures.append(f"{request.url} ({request.failure})"))
        context.on("response", lambda response: response.status >= 400 and
                   context.failures.append(f"{response.url} (HTTP {response.status})"))
        yield context
        context.close()


def _saved_readout_shown(page, selector, expected, timeout=15.0):
    """Wait until one of the slider readouts matched by ``selector`` shows a saved value; return all readouts."""
    started = time.perf_counter()
    while True:
        readouts = [r.strip() for r in page.locator(selector).all_text_contents()]
        if any(r in expected for r in readouts) or time.perf_counter() - started > timeout:
            assert any(r in expected for r in readouts), f"slider readouts {readouts}, saved {sorted(expected)}"
            return readouts
        page.wait_for_timeout(100)


def _check_requests(context, base):
    """Fail with the list of requests that went anywhere but the local server, or that failed."""
    foreign = sorted({url for url in context.requests if not url.startswith((base, "data:", "blob:"))})
    assert not foreign, "requests left the local server:\n" + "\n".join(foreign)
    assert not context.failures, "requests failed:\n" + "\n".join(context.failures)
    local = {url.split("?")[0] for url in context.requests if url.startswith(base)}
    others = sorted({url.split(":")[0] + ":" for url in context.requests if not url.startswith(base)})
    print(f"\n{len(context.requests)} requests, all to {base} ({len(local)} distinct files) or {others}: " +
          ", ".join(sorted(url[len(base):] for url in local)))
    return local


def test_contents_page_leads_to_a_chapter_with_figures_and_its_saved_slider(browser, served):
    chapter = _chapter_with_sliders()
    assert chapter is not None, "no chapter has a slider in its saved widget state"
    nb = nbformat.read(chapter, as_version=4)
    static_figures = sum("image/png" in output.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                         for output in cell.get("outputs", []))
    has_maths = any("$" in cell.source for cell in nb.cells if cell.cell_type == "markdown")
    browser.requests.clear(), browser.failures.clear()
    page = browser.new_page()
    page.goto(served + "index.html")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "export-index.png"))
    page.click(f'a[href="{chapter.stem}.html"]')
    page.wait_for_url(f"**/{chapter.stem}.html")

    # the sliders, drawn by the widget manager from the saved state
    page.wait_for_selector(".widget-slider .widget-readout", timeout=60_000)
    readouts = _saved_readout_shown(page, ".widget-slider .widget-readout", _saved_readouts(chapter))

    # every figure loaded: the notebook's PNG outputs and at least one picture inside a widget
    page.wait_for_selector(".widget-subarea img", timeout=30_000)
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
    images = page.evaluate("""[...document.images].map(i => ({src: i.src.slice(0, 22), width: i.naturalWidth,
                                                             widget: !!i.closest('.widget-subarea')}))""")
    static = [i for i in images if not i["widget"]]
    assert len(static) == static_figures, f"{len(static)} figures on the page, {static_figures} in the notebook"
    assert all(i["src"] == "data:image/png;base64," and i["width"] > 0 for i in static), static
    in_widgets = [i for i in images if i["widget"]]
    assert in_widgets and all(i["width"] > 0 and i["src"].startswith(("data:", "blob:")) for i in in_widgets)
    if has_maths:       # MathJax, served from static/, typeset the formulas
        try:
            page.wait_for_selector(".mjx-chtml", timeout=30_000)
        except Exception:
            _check_requests(browser, served)                 # the likelier cause, with the URLs
            raise AssertionError("MathJax typeset no formula within 30 s")

    page.locator(".widget-slider").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"export-{chapter.stem}.png"))
    local = _check_requests(browser, served)
    assert any("html-manager" in url for url in local) and any("require.js" in url for url in local)
    print(f"{chapter.stem}: {len(static)} figures, {len(in_widgets)} widget pictures, slider readouts {readouts}")
    page.close()


def test_slides_are_a_reveal_deck_with_the_saved_slider(browser, served):
    chapter = _chapter_with_sliders()
    assert chapter is not None, "no chapter has a slider in its saved widget state"
    browser.requests.clear(), browser.failures.clear()
    page = browser.new_page()
    page.goto(served + f"{chapter.stem}.slides.html")
    page.wait_for_selector(".reveal.ready", timeout=30_000)        # reveal.js adds "ready" once initialised
    slides = page.locator(".reveal .slides > section").count()
    assert slides >= 2
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"#/1$"), timeout=10_000)

    # go to the slide with the first slider (reveal.js follows the address: #/horizontal/vertical)
    page.wait_for_selector(".widget-slider .widget-readout", state="attached", timeout=60_000)
    where = page.evaluate("""() => {
        const slide = document.querySelector('.widget-slider').closest('section');
        const top = slide.parentElement.closest('section') || slide;
        const h = [...document.querySelectorAll('.reveal .slides > section')].indexOf(top);
        return top === slide ? `${h}` : `${h}/${[...top.querySelectorAll(':scope > section')].indexOf(slide)}`;
    }""")
    page.evaluate(f"location.hash = '#/{where}'")
    page.wait_for_selector("section.present .widget-slider .widget-readout", state="visible", timeout=10_000)
    page.wait_for_timeout(1500)                                     # let the slide transition finish
    readouts = _saved_readout_shown(page, "section.present .widget-slider .widget-readout", _saved_readouts(chapter))
    page.screenshot(path=str(SCREENSHOTS / f"export-{chapter.stem}-slides.png"))
    local = _check_requests(browser, served)
    assert any(url.endswith("reveal.js/dist/reveal.js") for url in local)
    print(f"{chapter.stem} slides: {slides} slides, reveal.js ready, slider readouts {readouts}")
    page.close()
