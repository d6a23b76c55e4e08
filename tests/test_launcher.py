"""`python -m helpers` opens JupyterLab on chapter 00, also as root."""
import sys

import pytest

from helpers import __main__ as launcher, data


def test_lab_command_opens_chapter_00_at_the_top_of_the_handbook():
    command = launcher.lab_command(["--no-browser"], is_root=False)
    assert command[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert f"--ServerApp.root_dir={data.HANDBOOK_ROOT}" in command
    assert command[-2].endswith("notebooks/00_the_data.ipynb") and command[-1] == "--no-browser"
    assert "--allow-root" not in command


def test_lab_command_allows_root_only_when_needed():
    assert "--allow-root" in launcher.lab_command([], is_root=True)
    assert launcher.lab_command(["--allow-root"], is_root=True).count("--allow-root") == 1


def test_a_relative_frames_folder_is_made_absolute_for_the_kernels(tmp_path, monkeypatch):
    """Kernels run in notebooks/, so 'my-night' typed in the shell must not be looked up there."""
    (tmp_path / "my-night").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.FRAMES_VARIABLE, "my-night")
    assert launcher.frames_from_environment() == tmp_path / "my-night"
    assert launcher.os.environ[data.FRAMES_VARIABLE] == str(tmp_path / "my-night")
    monkeypatch.setenv(data.FRAMES_VARIABLE, "no-such-night")
    with pytest.raises(FileNotFoundError, match="no-such-night"):
        launcher.frames_from_environment()
    monkeypatch.delenv(data.FRAMES_VARIABLE)
    assert launcher.frames_from_environment() is None
