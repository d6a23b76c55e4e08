"""Chapters 00, 01 and 08 on a folder of one's own frames (CCD_HANDBOOK_FRAMES): copies of the camera zoo's nights.

Each chapter in CHAPTERS runs top to bottom on a COPY of each camera of the zoo (no truth in the folder; odd
headers, compression, overscan, binning, no bias, no darks, no calibration at all, bad files) and must show no
error, print a line about the missing truth, and leave every file of the copied folder byte-identical, with no
new file in it. To add a chapter, add its notebook's name to CHAPTERS.
"""
import hashlib
import shutil
from pathlib import Path

import pytest

from helpers import data, exercises, io, reduce, zoo

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: The chapters that read CCD_HANDBOOK_FRAMES: one line each.
CHAPTERS = [
    "00_the_data.ipynb",
    "01_image_reduction.ipynb",
    "08_your_own_frames.ipynb",
]
SIZE = 256            # the zoo's frames are 384 x 384 by default; smaller is faster and shows the same
TIMEOUT = 300         # seconds a cell may take before the run fails (nbclient can stall: see the notes)


@pytest.fixture(scope="module")
def zoo_root(tmp_path_factory):
    """A camera zoo of our own, with its truth outside the camera folders."""
    return zoo.make(tmp_path_factory.mktemp("zoo") / "zoo", seed=zoo.DEFAULT_SEED, size=SIZE)


def _digests(folder):
    """relative path -> sha256 of every file in the folder, hidden ones and sub-folders included."""
    return {p.relative_to(folder).as_posix(): data.sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(chapter, night, monkeypatch):
    """Execute a chapter in a fresh kernel (cwd notebooks/) with CCD_HANDBOOK_FRAMES = night; its cells."""
    monkeypatch.setenv(data.FRAMES_VARIABLE, str(night))
    notebook = nbformat.read(NOTEBOOKS / chapter, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    finally:
        shutil.rmtree(data.derived_folder(night), ignore_errors=True)   # ours: named after this copy's path
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("camera", zoo.CAMERAS)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_on_a_copy_of_a_camera_and_leaves_it_untouched(chapter, camera, zoo_root, tmp_path,
                                                                   monkeypatch):
    night = tmp_path / camera
    shutil.copytree(zoo_root / camera, night)
    before = _digests(night)
    cells = _run(chapter, night, monkeypatch)

    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, cell in enumerate(cells) for o in cell.outputs
              if o.output_type == "error"]
    assert not errors, f"{chapter} on {camera}:\n" + "\n".join(errors)
    stderr = [o.text for cell in cells for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{chapter} on {camera} wrote to stderr (a warning a student would see):\n" + "".join(stderr)
    printed = "".join(o.text for cell in cells for o in cell.outputs if o.output_type == "stream")
    assert "no ground truth" in printed, f"{chapter} on {camera} never says that the folder has no truth"

    after = _digests(night)
    assert sorted(set(after) - set(before)) == [], "new files in the folder of frames"
    assert after == before, "a file in the folder of frames changed"


# ------------------------------------------------------------------ the rules the chapters rely on, fast
def test_the_synthetic_set_keeps_its_filter_frames_and_masters():
    night = reduce.plan(io.collect(data.ensure()))
    assert night.band == "V" and [Path(p).name for p in night.science_paths] == \
        ["m13-v-60s-1.fits", "m13-v-60s-2.fits", "m13-v-60s-3.fits"]
    assert (night.exptime, night.dark_exptime, night.flat_exptime, night.flat_dark_exptime) == (60, 120, 5, 120)
    assert night.notes == [] and not night.overscan


@pytest.mark.parametrize("camera, band, exptime, dark_exptime, flat_dark_exptime, overscan", [
    ("maxim-gz", "JohnsonV", 30.0, 180.0, 180.0, False),      # bias present: the longest darks, scaled
    ("eso-fz", "V_Bess", 30.0, None, None, True),             # no darks; an overscan strip
    ("nina-binned", "r (530-700)", 60.0, 60.0, 2.0, False),    # no bias: darks of each exposure, never scaled
    ("lights-only", "V", 60.0, None, None, False),            # nothing but lights
])
def test_plan_follows_its_rules_on_each_camera(zoo_root, camera, band, exptime, dark_exptime, flat_dark_exptime,
                                               overscan):
    night = reduce.plan(io.collect(zoo_root / camera))
    assert (night.band, night.exptime, night.dark_exptime, night.flat_dark_exptime, night.overscan) == \
        (band, exptime, dark_exptime, flat_dark_exptime, overscan)
    assert night.notes, "every zoo camera lacks something, and the plan says so"
    assert all("\n" not in note for note in night.notes)        # one line each


def test_read_raw_removes_the_overscan_and_trims(zoo_root):
    frames = io.collect(zoo_root / "eso-fz")
    paths = io.select(frames, kind="bias")[:2]
    stack = reduce.read_raw(paths)
    raw, header = io.read_frame(paths[0])
    assert stack.shape[1:] == reduce.overscan_and_trim(raw, header).shape and stack.shape[2] < raw.shape[1]
    assert abs(float(stack.mean())) < 2.0                        # the bias level went with the overscan


def test_main_filter_breaks_a_tie_by_the_filter_observed_first(zoo_root):
    assert io.main_filter(io.collect(zoo_root / "nina-binned")) == "r (530-700)"   # 'g' is first by name
    assert io.main_filter(io.collect(data.ensure())) == "V"


def test_exercises_of_00_and_01_say_a_folder_without_truth_cannot_be_checked(zoo_root):
    night = zoo_root / "nina-binned"
    for answer in (..., 3.0):
        assert exercises.ex00_flats(answer, answer, folder=night) == exercises.NEEDS_TRUTH
        assert exercises.ex00_pixel(answer, answer, folder=night) == exercises.NEEDS_TRUTH
        assert exercises.ex01_b_sky(answer, folder=night) == exercises.NEEDS_TRUTH
        assert exercises.ex01_mean_bias(answer, folder=night) == exercises.NEEDS_TRUTH
        assert exercises.ex01_master_noise(answer, folder=night) == exercises.NEEDS_TRUTH
    assert exercises.ex00_flats(..., ..., folder=data.ensure()).startswith("Replace")


def _night(folder, frames):
    """Write tiny frames: (name, IMAGETYP, FILTER, EXPTIME, DATE-OBS)."""
    import numpy as np
    from astropy.io import fits

    folder.mkdir()
    for name, kind, band, exptime, date in frames:
        header = fits.Header({"IMAGETYP": kind, "EXPTIME": exptime, "DATE-OBS": date})
        if band:
            header["FILTER"] = band
        fits.PrimaryHDU(np.full((8, 8), 100, np.uint16), header).writeto(folder / name)
    return folder


def test_plan_picks_the_matching_darks_else_the_longest_and_says_so(tmp_path):
    lights = [(f"l{i}.fits", "Light Frame", "R", 60.0, f"2024-01-01T0{i}:00:00") for i in range(2)]
    bias = [("b0.fits", "Bias Frame", "", 0.0, "2024-01-01T00:00:00")]
    darks = [("d30.fits", "Dark Frame", "", 30.0, "2024-01-01T00:00:00"),
             ("d300.fits", "Dark Frame", "", 300.0, "2024-01-01T00:00:00")]
    matching = reduce.plan(io.collect(_night(tmp_path / "a", lights + bias + darks
                                             + [("d60.fits", "Dark Frame", "", 60.0, "2024-01-01T00:00:00")])))
    assert matching.dark_exptime == 60.0 and any("match the science exposure" in n for n in matching.notes)
    longest = reduce.plan(io.collect(_night(tmp_path / "b", lights + bias + darks)))
    assert longest.dark_exptime == 300.0 and any("the longest, scaled by 0.20" in n for n in longest.notes)
    assert any("no flats in R" in n for n in longest.notes)
    unbiased = reduce.plan(io.collect(_night(tmp_path / "c", lights + darks)))   # never a scaled dark
    assert unbiased.dark_exptime is None and unbiased.dark_paths == []
    assert any("cannot be scaled" in n for n in unbiased.notes)
