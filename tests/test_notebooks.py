"""Every chapter has the handbook's shape: goals, links that resolve, a summary, checkable exercises."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CONTENTS = NOTEBOOKS / "index.ipynb"
README = NOTEBOOKS.parent / "README.md"


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _markdown(path):
    return "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")


def test_the_chapters_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in CHAPTERS]
    assert numbers == list(range(len(numbers))) and len(numbers) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_goals_summary_and_exercises(path):
    text = _markdown(path)
    assert text.lstrip().startswith(f"# {path.name[:2]} ")
    assert "After this chapter you can" in text
    assert "## Summary" in text and "## Exercises" in text
    code = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
    assert "exercises.ex" in code, "exercises must be checkable with a check function"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_previous_and_next_links_resolve(path):
    text = _markdown(path)
    links = re.findall(r"\]\(([^)#]+\.ipynb)\)", text)
    for link in links:
        assert (path.parent / link).is_file(), f"{path.name} links to {link}, which does not exist"
    number = int(path.name[:2])
    neighbours = {p.name for p in CHAPTERS if abs(int(p.name[:2]) - number) == 1}
    assert neighbours <= set(links), f"{path.name} should link to {sorted(neighbours - set(links))}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_committed_with_outputs_and_no_errors(path):
    for cell in _cells(path):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        assert cell["execution_count"] is not None, f"{path.name}: a cell was never run"
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{path.name}: {output.get('ename')}"
            assert output.get("name") != "stderr", f"{path.name}: stderr output {output.get('text')!r}"


def _chapter_links(text, prefix=""):
    """The chapter notebooks a text links to, in the order it names them."""
    return re.findall(rf"\]\({re.escape(prefix)}(\d\d_[^)#/]+\.ipynb)\)", text)


def test_the_contents_notebook_lists_every_chapter_once_in_order():
    assert [c["cell_type"] for c in _cells(CONTENTS)] == ["markdown"] * len(_cells(CONTENTS))
    text = _markdown(CONTENTS)
    listed = [line for line in text.splitlines() if line.startswith("- [")]
    assert _chapter_links("\n".join(listed)) == [p.name for p in CHAPTERS]      # one line per chapter
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        assert (NOTEBOOKS / link).is_file(), f"index.ipynb links to {link}, which does not exist"


def test_the_readme_contents_list_every_chapter_once_in_order():
    readme = README.read_text()
    section = readme.split("\n## Contents\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if "](notebooks/" in line and line.startswith("|")]
    assert _chapter_links("\n".join(rows), "notebooks/") == [p.name for p in CHAPTERS]
    assert len(rows) == len(CHAPTERS)                                            # one line each
    for link in re.findall(r"\]\((notebooks/[^)#]+)\)", section):
        assert (README.parent / link).is_file(), f"README links to {link}, which does not exist"
    assert "](notebooks/index.ipynb)" in section


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_to_the_contents_page_at_the_top_and_the_bottom(path):
    markdown = ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown"]
    for where, text in [("top", markdown[0]), ("bottom", markdown[-1])]:
        assert "[Contents](index.ipynb)" in text, f"{path.name}: no link to the contents page at the {where}"
    assert (path.parent / "index.ipynb").is_file()
