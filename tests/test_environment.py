"""The set-up files agree with each other, and CI runs exactly README's test command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirement(text):
    """('numpy', '>=1.24') from 'numpy>=1.24'."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", text)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(_requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])


def _conda():
    packages = {}
    dependencies = (ROOT / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    for line in dependencies.splitlines():
        item = re.fullmatch(r"\s*-\s+([A-Za-z0-9_.\-]+[^#]*?)\s*", line)
        if item and not line.startswith("      "):     # the pip: section is nested deeper
            name, spec = _requirement(item.group(1))
            if name not in {"python", "pip"}:
                packages[name] = spec
    return packages


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert _conda() == _pyproject()


def test_environment_yml_installs_helpers_in_editable_mode():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"- pip:\s*\n\s+- -e \.", text)


def test_constraints_pin_every_package_the_handbook_needs():
    pins = dict(_requirement(line) for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    for name in _pyproject():
        assert pins.get(name, "").startswith("=="), f"{name} is not pinned in constraints.txt"


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    open_cmd, test_cmd = blocks[0], blocks[1]
    assert open_cmd.endswith("-m helpers") and "pip install -e ." in open_cmd
    assert test_cmd.startswith("python3 -m venv") and "pytest" in test_cmd and "-c constraints.txt" in test_cmd
    assert readme.index(test_cmd) < readme.index("## ")           # before any section
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^python3 -m venv .*pytest' README.md" in ci
    first_pytest_line = next(l for l in readme.splitlines() if re.match(r"^python3 -m venv .*pytest", l))
    assert first_pytest_line == test_cmd


def test_pytest_runs_strict_nbval_over_the_notebooks():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--nbval " in options["addopts"] + " " and "--nbval-current-env" in options["addopts"]
    assert "--nbval-lax" not in options["addopts"]
    assert "notebooks" in options["testpaths"] and "tests" in options["testpaths"]
