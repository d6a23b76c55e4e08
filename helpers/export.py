"""Render the whole handbook to HTML pages and reveal.js slides that work offline.

Run from the top of the handbook::

    python -m helpers.export                  # into build/handbook/
    python -m helpers.export --out /tmp/hb    # somewhere else
    python -m helpers.export --no-slides      # HTML pages only

Open ``build/handbook/index.html`` (the contents page) in a browser, or serve the folder with
``python -m http.server -d build/handbook``. The folder can be copied anywhere: every link is relative.

What the command does:

1. Installs the browser files the pages need with ``npm ci`` from the committed ``export/package.json`` and
   ``export/package-lock.json`` (exact versions) into ``build/npm/``, once; later runs reuse them and need no
   network. The packages are require.js, jQuery, the Jupyter widget manager for plain HTML
   (``@jupyter-widgets/html-manager``), reveal.js and MathJax 2.
2. Copies only the files the pages load from those packages into ``static/`` beside the pages, with the
   packages' licences.
3. Converts every notebook in ``notebooks/`` with nbconvert, without running it (the notebooks are
   committed with their outputs and their widgets' saved state): ``NN_name.html`` (the page) and
   ``NN_name.slides.html`` (a reveal.js deck). Figures are embedded in the pages; sliders show their saved
   state but cannot run Python. Links between notebooks (``02_finding_stars.ipynb``) become links between
   pages (``02_finding_stars.html``, or ``02_finding_stars.slides.html`` in the slides).
4. Writes ``index.html``: the rendered ``notebooks/index.ipynb`` if there is one, else a generated
   contents page listing the chapters by their titles.

Every URL the pages load is relative and points into ``static/``: nothing is fetched from the internet
(no CDN, no web fonts). Mermaid diagrams are not supported offline (the handbook has none).

The output folder is never cleared blindly: the command writes into a folder that does not exist yet, an
empty folder, or a folder it made before (marked by the file ``.ccd-handbook-export``, which lists what it
wrote). There it replaces only the files it listed; if anything else is in the folder, it stops.

Examples
--------
>>> from helpers import export
>>> export.rewrite_notebook_links("Next: [Finding stars](02_finding_stars.ipynb#goals)",
...                               {"02_finding_stars.ipynb"})
'Next: [Finding stars](02_finding_stars.html#goals)'
>>> export.page_name("02_finding_stars.ipynb", slides=True)
'02_finding_stars.slides.html'
"""
from __future__ import annotations

import argparse
import copy
import filecmp
import html
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "handbook"
NPM_MANIFEST = ROOT / "export"              # package.json and package-lock.json: the pinned browser files
NPM_FOLDER = ROOT / "build" / "npm"         # where npm ci installs them (git-ignored, reused by later runs)
STAMP = ".ccd-handbook-export"
STATIC = "static"                           # the folder beside the pages that holds the browser files

# Files copied from node_modules into static/, keeping their npm paths (glob patterns, relative to
# node_modules). Only what the pages load, plus each package's licence.
ASSET_PATTERNS = (
    "requirejs/require.js",                                 # licence in its header
    "jquery/dist/jquery.min.js", "jquery/LICENSE.txt",
    "@jupyter-widgets/html-manager/dist/embed-amd.js",
    "@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt",
    "reveal.js/dist/reveal.js", "reveal.js/dist/reveal.css", "reveal.js/dist/theme/white.css",
    "reveal.js/dist/theme/fonts/source-sans-pro/*", "reveal.js/plugin/notes/notes.js", "reveal.js/LICENSE",
    # MathJax 2 (nbconvert's templates configure MathJax 2): the TeX input and CommonHTML output of the
    # TeX-AMS_CHTML-full configuration and the web fonts CommonHTML uses.
    "mathjax/MathJax.js", "mathjax/LICENSE",
    "mathjax/config/TeX-AMS_CHTML-full.js", "mathjax/config/Safe.js",
    "mathjax/extensions/*.js", "mathjax/extensions/TeX/*", "mathjax/extensions/HTML-CSS/*",
    "mathjax/extensions/a11y/*.js",
    "mathjax/jax/input/TeX/*", "mathjax/jax/output/CommonHTML/**/*", "mathjax/jax/element/**/*",
    "mathjax/localization/en/**/*", "mathjax/fonts/HTML-CSS/TeX/woff/*",
)

# What the nbconvert templates would otherwise load from CDNs, pointed at the copies in static/.
# Relative URLs: the pages and static/ move together.
PAGE_URLS = {
    "require_js_url": f"{STATIC}/requirejs/require.js",
    "jquery_url": f"{STATIC}/jquery/dist/jquery.min.js",
    "widget_renderer_url": f"{STATIC}/@jupyter-widgets/html-manager/dist/embed-amd.js",
    "mathjax_url": f"{STATIC}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
}
REVEAL_URL_PREFIX = f"{STATIC}/reveal.js"
REVEAL_THEME = "white"      # nbconvert's default, "simple", imports Google web fonts; "white" ships its fonts

# nbconvert's templates import mermaid.js from a CDN (the slides unconditionally); the handbook has no
# mermaid diagrams, so that block is left out. An empty icon stops browsers asking a server for /favicon.ico;
# the widgets' labels get JupyterLab's sans-serif font (in JupyterLab they inherit it; here they would be serif).
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<link rel="icon" href="data:,">
<style>.jupyter-widgets { font-family: var(--jp-ui-font-family); }</style>
{%- endblock html_head_css -%}
"""

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# A link target in markdown: [text](target "title"), [label]: target, or an HTML href="target".
_LINK = re.compile(r"""(?P<before>\]\(\s*<?|^[ ]{0,3}\[[^\]]+\]:\s*<?|href\s*=\s*["'])"""
                   r"""(?P<target>[^\s()<>"'#?]+\.ipynb)(?=[\s)>"'#?]|$)""", re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


class ExportError(Exception):
    """A problem the user can fix (npm missing, a folder that is not ours); printed without a traceback."""


@dataclass
class Page:
    """One exported notebook: its source, its title and the names of its pages (``slides`` may be None)."""

    notebook: Path
    title: str
    html: str
    slides: str | None


def page_name(notebook, slides=False):
    """The file name of a notebook's exported page.

    Parameters
    ----------
    notebook : str or Path
        The notebook's file name (a folder part is dropped).
    slides : bool
        The name of the slides (``.slides.html``, nbconvert's convention) instead of the page.

    Returns
    -------
    str

    Examples
    --------
    >>> page_name("notebooks/01_image_reduction.ipynb")
    '01_image_reduction.html'
    """
    stem = Path(notebook).stem
    return f"{stem}.slides.html" if slides else f"{stem}.html"


def rewrite_notebook_links(markdown, notebooks, slides=False):
    """Point markdown links to exported notebooks at their pages.

    Only relative links whose file name is one of ``notebooks`` change (``02_x.ipynb``, ``./02_x.ipynb``,
    with an optional ``#anchor`` or ``?query``); links to other sites or to notebooks that are not exported
    stay as they are. Inline links, reference definitions and HTML ``href`` attributes are handled.

    Parameters
    ----------
    markdown : str
        The source of a markdown cell.
    notebooks : collection of str
        File names of the exported notebooks, e.g. ``{"01_image_reduction.ipynb"}``.
    slides : bool
        Link to the slides (``.slides.html``) rather than the pages (``.html``).

    Returns
    -------
    str
        The markdown with the links rewritten.

    Examples
    --------
    >>> rewrite_notebook_links('[back](./00_the_data.ipynb) <a href="00_the_data.ipynb">',
    ...                        ["00_the_data.ipynb"], slides=True)
    '[back](./00_the_data.slides.html) <a href="00_the_data.slides.html">'
    >>> rewrite_notebook_links("[elsewhere](https://example.org/00_the_data.ipynb)", ["00_the_data.ipynb"])
    '[elsewhere](https://example.org/00_the_data.ipynb)'
    """
    names = set(notebooks)

    def replace(match):
        target = match.group("target")
        folder, _, name = target.rpartition("/")
        if ":" in target or target.startswith("/") or name not in names:
            return match.group(0)
        return match.group("before") + (folder + "/" if folder else "") + page_name(name, slides)

    return _LINK.sub(replace, markdown)


def notebook_title(nb, default):
    """The text of the first markdown heading of a notebook (``default`` if it has none).

    Examples
    --------
    >>> notebook_title({"cells": [{"cell_type": "markdown", "source": "Intro\\n\\n## 01 · Image reduction"}]},
    ...                "01_image_reduction")
    '01 · Image reduction'
    """
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            match = _HEADING.search(source)
            if match:
                return match.group(2)
    return default


def contents_page(pages, title="The CCD Handbook"):
    """A small self-contained HTML contents page: one line per page, with links to the page and its slides.

    Parameters
    ----------
    pages : list of Page
        In the order to list them.
    title : str
        The heading of the page.

    Returns
    -------
    str
        The HTML document (no scripts, no external files).

    Examples
    --------
    >>> from pathlib import Path
    >>> page = Page(Path("01_image_reduction.ipynb"), "01 · Image reduction", "01_image_reduction.html",
    ...             "01_image_reduction.slides.html")
    >>> '<a href="01_image_reduction.html">01 · Image reduction</a>' in contents_page([page])
    True
    """
    items = []
    for page in pages:
        line = f'<a href="{html.escape(page.html)}">{html.escape(page.title)}</a>'
        if page.slides:
            line += f' <span class="slides">(<a href="{html.escape(page.slides)}">slides</a>)</span>'
        items.append(f"    <li>{line}</li>")
    body = "\n".join(items)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 3em auto; padding: 0 1em; line-height: 1.5; }}
  ul.contents {{ list-style: none; padding-left: 0; }}
  li {{ margin: 0.4em 0; }}
  .slides {{ font-size: 0.9em; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>The chapters in order. Each page shows the notebook with its saved outputs; the sliders show the state they
were saved in (they need a running Python to move the pictures: open the notebooks in JupyterLab for that).</p>
<ul class="contents">
{body}
</ul>
</body>
</html>
"""


def _is_ours(folder):
    """The relative paths the stamp in ``folder`` lists, or None if the folder has no stamp."""
    stamp = folder / STAMP
    if not stamp.is_file():
        return None
    lines = stamp.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


class OutputFolder:
    """The folder the export writes into, with its stamp listing every file written there.

    Opening it checks that it is safe to write: the folder does not exist, is empty, or holds a stamp and
    nothing but the files that stamp lists (those are deleted). Otherwise :class:`ExportError` is raised
    and nothing is touched. Each file's name goes into the stamp before the file is written, so even an
    interrupted export leaves a folder the next export may replace.

    Parameters
    ----------
    path : str or Path
        The output folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = OutputFolder(Path(tmp) / "handbook")
    ...     out.write_text("index.html", "<p>hello</p>")
    ...     sorted(p.name for p in out.path.iterdir())
    ['.ccd-handbook-export', 'index.html']
    """

    def __init__(self, path):
        self.path = Path(path)
        self._clear()
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / STAMP).write_text(
            "# Made by `python -m helpers.export`. The next export deletes the files listed here and writes\n"
            "# them again; it stops, touching nothing, if this folder holds anything else.\n", encoding="utf-8")

    def _clear(self):
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise ExportError(f"{self.path} is a file, not a folder: choose another --out")
        present = {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if not p.is_dir()}
        if not present:
            return
        listed = _is_ours(self.path)
        if listed is None:
            raise ExportError(f"{self.path} already holds files that this command did not make (no {STAMP} "
                              f"stamp): choose another --out, or empty or remove that folder yourself")
        foreign = sorted(present - listed - {STAMP})
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ExportError(f"{self.path} was made by an earlier export but now also holds other files "
                              f"({shown}); move them away or choose another --out")
        for name in present:
            (self.path / name).unlink()
        for folder in sorted((p for p in self.path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()

    def _claim(self, name):
        with open(self.path / STAMP, "a", encoding="utf-8") as stamp:
            stamp.write(name + "\n")
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, name, text):
        """Write ``text`` (UTF-8) to the file ``name``, relative to the folder."""
        self._claim(name).write_text(text, encoding="utf-8")

    def copy(self, source, name):
        """Copy the file ``source`` to ``name``, relative to the folder."""
        shutil.copyfile(source, self._claim(name))


def install_npm_packages(manifest=NPM_MANIFEST, folder=NPM_FOLDER, log=print):
    """Install the pinned browser files with ``npm ci`` (once) and return their ``node_modules`` folder.

    ``package.json`` and ``package-lock.json`` are copied from ``manifest`` to ``folder`` and installed
    there. A later call with the same lock file reuses the installation and needs no network.

    Parameters
    ----------
    manifest : Path
        Folder holding the committed ``package.json`` and ``package-lock.json``.
    folder : Path
        Where to install (``folder/node_modules``).
    log : callable
        Called with progress messages.

    Returns
    -------
    Path
        ``folder / "node_modules"``.

    Raises
    ------
    ExportError
        If npm is missing or ``npm ci`` fails.

    Examples
    --------
    >>> node_modules = install_npm_packages()           # doctest: +SKIP
    >>> (node_modules / "reveal.js" / "dist" / "reveal.js").exists()   # doctest: +SKIP
    True
    """
    manifest, folder = Path(manifest), Path(folder)
    lock, done = folder / "package-lock.json", folder / "node_modules" / ".ccd-handbook-installed.json"
    if done.exists() and filecmp.cmp(done, manifest / "package-lock.json", shallow=False) and \
            filecmp.cmp(folder / "package.json", manifest / "package.json", shallow=False):
        return folder / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        raise ExportError("npm is needed once to fetch the pinned browser files (reveal.js, the widget manager, "
                          "MathJax) but was not found: install Node.js 18 or newer with npm "
                          "(Debian/Ubuntu: apt-get install nodejs npm; conda: conda install nodejs; "
                          "or https://nodejs.org) and run this command again")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest / "package.json", folder / "package.json")
    shutil.copyfile(manifest / "package-lock.json", lock)
    log(f"Installing the pinned browser files with npm ci into {folder} (once) ...")
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        raise ExportError(f"`npm ci` failed in {folder} (it needs the npm registry the first time):\n"
                          f"{result.stdout}{result.stderr}".rstrip())
    shutil.copyfile(lock, done)
    return folder / "node_modules"


def copy_assets(node_modules, out):
    """Copy the files of :data:`ASSET_PATTERNS` from ``node_modules`` to ``static/`` in ``out``.

    Parameters
    ----------
    node_modules : Path
        An installed ``node_modules`` folder.
    out : OutputFolder
        Where to copy.

    Returns
    -------
    int
        The number of files copied.

    Raises
    ------
    ExportError
        If a pattern matches nothing (the installation is incomplete or a package changed its layout).
    """
    count = 0
    for pattern in ASSET_PATTERNS:
        files = [p for p in sorted(Path(node_modules).glob(pattern)) if p.is_file()]
        if not files:
            raise ExportError(f"nothing in {node_modules} matches {pattern}: delete {NPM_FOLDER} and run again")
        for source in files:
            out.copy(source, f"{STATIC}/{source.relative_to(node_modules).as_posix()}")
            count += 1
    return count


def _cell_source(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _mark_slides(nb):
    """Give a notebook without slide marks one slide per heading (level 1-2) and sub-slides for level 3.

    Notebooks with any ``slideshow`` metadata keep their own marks. Changes ``nb`` in place.
    """
    if any("slideshow" in cell.get("metadata", {}) for cell in nb["cells"]):
        return
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        heading = re.match(r"\s{0,3}(#{1,6})\s", _cell_source(cell))
        if heading and len(heading.group(1)) <= 3:
            kind = "slide" if len(heading.group(1)) <= 2 else "subslide"
            cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}


def _has_widget_views(nb):
    return any(WIDGET_VIEW in output.get("data", {}) for cell in nb["cells"] if cell["cell_type"] == "code"
               for output in cell.get("outputs", []))


def _exporters(slides):
    from nbconvert import HTMLExporter, SlidesExporter

    page = HTMLExporter(raw_template=_TEMPLATE, **PAGE_URLS)
    deck = SlidesExporter(raw_template=_TEMPLATE, reveal_url_prefix=REVEAL_URL_PREFIX, reveal_theme=REVEAL_THEME,
                          reveal_scroll=True,
                          **PAGE_URLS) if slides else None
    return page, deck


def export(out=DEFAULT_OUT, notebooks=NOTEBOOKS, slides=True, npm_folder=NPM_FOLDER, log=print):
    """Render every notebook of ``notebooks`` to offline HTML (and slides) in ``out``.

    Parameters
    ----------
    out : str or Path
        The output folder (see :class:`OutputFolder` for when it may be written).
    notebooks : str or Path
        The folder of ``.ipynb`` files. Chapters (``NN_*.ipynb``) come first in the contents, in order.
    slides : bool
        Also write a reveal.js deck per notebook (``NN_name.slides.html``).
    npm_folder : str or Path
        Where the pinned npm packages are installed (reused across runs).
    log : callable
        Called with progress messages.

    Returns
    -------
    list of Page
        The exported notebooks, in contents order.

    Raises
    ------
    ExportError
        If the notebooks folder is missing or empty, npm is missing, or ``out`` holds foreign files.

    Examples
    --------
    >>> pages = export("build/handbook")          # doctest: +SKIP
    >>> pages[1].html, pages[1].slides            # doctest: +SKIP
    ('01_image_reduction.html', '01_image_reduction.slides.html')
    """
    import nbformat

    notebooks = Path(notebooks)
    if not notebooks.is_dir():
        raise ExportError(f"no notebooks folder at {notebooks}")
    sources = sorted(notebooks.glob("*.ipynb"), key=lambda p: (not re.match(r"\d\d_", p.name), p.name))
    if not sources:
        raise ExportError(f"no notebooks (*.ipynb) in {notebooks}")
    names = {p.name for p in sources}

    output = OutputFolder(out)          # first: a folder we may not write stops the export before npm runs
    node_modules = install_npm_packages(folder=Path(npm_folder), log=log)
    copied = copy_assets(node_modules, output)
    log(f"Copied {copied} browser files to {output.path / STATIC}")

    page_exporter, slides_exporter = _exporters(slides)
    pages = []
    for source in sources:
        started = time.perf_counter()
        nb = nbformat.read(source, as_version=4)
        if _has_widget_views(nb) and WIDGET_STATE not in nb.metadata.get("widgets", {}):
            log(f"warning: {source.name} shows widgets but has no saved widget state; its sliders will not "
                f"appear (save it from JupyterLab with 'Save Widget State Automatically' on)")
        title = notebook_title(nb, source.stem)
        page = Page(source, title, page_name(source), page_name(source, slides=True) if slides else None)
        for exporter, name, to_slides in ((page_exporter, page.html, False), (slides_exporter, page.slides, True)):
            if exporter is None:
                continue
            copy_nb = copy.deepcopy(nb)
            copy_nb.metadata["title"] = title
            for cell in copy_nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = rewrite_notebook_links(cell.source, names, slides=to_slides)
            if to_slides:
                _mark_slides(copy_nb)
            body, _ = exporter.from_notebook_node(copy_nb, resources={"metadata": {"name": source.stem}})
            output.write_text(name, body)
        pages.append(page)
        log(f"  {source.name} -> {page.html}" + (f", {page.slides}" if page.slides else "") +
            f" ({time.perf_counter() - started:.1f} s)")

    if "index.ipynb" not in names:
        output.write_text("index.html", contents_page(pages))
        log("  contents -> index.html")
    log(f"Done: open {output.path / 'index.html'}")
    return pages


def main(argv=None):
    """The command line: ``python -m helpers.export [--out FOLDER] [--no-slides]``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="output folder (default: build/handbook at the top of the handbook)")
    parser.add_argument("--no-slides", action="store_true", help="write the HTML pages only, no reveal.js decks")
    args = parser.parse_args(argv)
    try:
        export(args.out, slides=not args.no_slides)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
