"""Open the handbook: ``python -m helpers [JupyterLab options]``.

Makes the synthetic data if they are missing (a few seconds, once), then starts JupyterLab at the top of the
handbook with chapter 00 open. Options such as ``--no-browser`` or ``--port=8899`` are passed to JupyterLab.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from . import data


def lab_command(argv=(), is_root=None):
    """The command line that starts JupyterLab on the handbook (a list of strings)."""
    is_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if is_root is None else is_root
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={data.HANDBOOK_ROOT}",
               str(data.HANDBOOK_ROOT / "notebooks" / "00_the_data.ipynb")]
    if is_root and "--allow-root" not in argv:
        command.append("--allow-root")      # containers and CI run as root; JupyterLab refuses without it
    return command + list(argv)


def frames_from_environment():
    """Make ``$CCD_HANDBOOK_FRAMES`` an absolute path, and check it, before JupyterLab starts.

    The notebooks' kernels run in ``notebooks/``, so a relative path typed in the shell (say
    ``data/zoo/maxim-gz``) would be read from there; it is made absolute from where you typed it.
    Returns the folder, or None when the variable is not set.
    """
    value = os.environ.get(data.FRAMES_VARIABLE, "").strip()
    if not value:
        return None
    os.environ[data.FRAMES_VARIABLE] = str(Path(value).expanduser().resolve())
    return data.frames_folder()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = data.ensure()
    print(f"Synthetic data ready in {folder}")
    frames = frames_from_environment()
    if frames is not None:
        print(f"Chapters 00, 01 and 08 read your frames in {frames} ({data.FRAMES_VARIABLE}); they are only read.")
    command = lab_command(argv)
    print("Starting:", " ".join(command), flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
