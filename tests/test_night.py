"""A whole night (helpers.night, chapter 08) on the camera zoo, checked against each camera's ground truth."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from helpers import align, camera, data, io, night, zoo

SEED, SIZE = 31, 256      # not the zoo's default night: the method must not be tuned to one set


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return zoo.make(tmp_path_factory.mktemp("zoo-night") / "zoo", seed=SEED, size=SIZE)


@pytest.fixture(scope="module")
def nights(root):
    return {camera_name: night.run(root / camera_name) for camera_name in zoo.CAMERAS}


@pytest.mark.parametrize("camera_name", zoo.CAMERAS)
def test_offsets_match_the_truth(nights, root, camera_name):
    result, truth = nights[camera_name], zoo.truth(root / camera_name)
    reference = result.offsets.meta["reference"]
    assert len(result.offsets) == int(np.sum(truth.frames["kind"] == "science") - np.sum(
        (truth.frames["kind"] == "science") & (truth.frames["defect"] != "")))
    for row in result.offsets:
        true_dx, true_dy = truth.offset(reference, row["name"])
        assert row["dx"] == pytest.approx(true_dx, abs=0.05), row["name"]
        assert row["dy"] == pytest.approx(true_dy, abs=0.05), row["name"]


def test_offsets_of_tens_of_pixels_between_nights_are_found(nights, root):
    result, truth = nights["maxim-gz"], zoo.truth(root / "maxim-gz")
    reference = result.offsets.meta["reference"]
    largest = max(np.hypot(*truth.offset(reference, n)) for n in result.offsets["name"])
    assert largest > 20           # the zoo's second night: the test would prove nothing without it
    assert np.all(np.isfinite(result.offsets["dx"]))


@pytest.mark.parametrize("camera_name, scatter", [("maxim-gz", 0.03), ("eso-fz", 0.03), ("nina-binned", 0.03),
                                                  ("lights-only", 0.08)])
def test_magnitudes_of_isolated_stars_agree_with_the_truth(nights, root, camera_name, scatter):
    result = nights[camera_name]
    lines = night.compare_with_truth(zoo.truth(root / camera_name), result.offsets, result.stars, result.gain,
                                     result.read_noise)
    for line in lines[1:-1]:
        n = int(line.split("; ")[1].split(" isolated")[0])
        measured = float(line.split("scatter ")[1].split(" mag")[0])
        assert n >= 4, line
        assert measured < scatter, line


@pytest.mark.parametrize("camera_name", zoo.CAMERAS)
def test_gain_and_read_noise_are_right(nights, root, camera_name):
    result, truth = nights[camera_name], zoo.truth(root / camera_name)
    assert result.gain == pytest.approx(truth.camera["gain"], rel=0.06)
    assert result.read_noise == pytest.approx(truth.camera["read_noise"], rel=0.06)


@pytest.mark.parametrize("camera_name, expected", [
    ("maxim-gz", ["bias: median of", "scaled by", "exposure times 30 s, 60 s"]),
    ("eso-fz", ["overscan: BIASSEC", "darks: none", "from the header (HIERARCH ESO DET OUT1 CONAD)",
                "read noise 3.6 e- from the header (HIERARCH ESO DET OUT1 RON)"]),
    ("nina-binned", ["no bias frames", "the 60 s dark (bias included) subtracted", "the 2 s dark (bias included)"]),
    ("lights-only", ["nothing subtracted", "NOT flat-fielded", "the bias stays in"]),
])
def test_each_decision_is_said(nights, camera_name, expected):
    said = "\n".join(nights[camera_name].said)
    for words in expected:
        assert words in said


def test_a_dark_holding_the_bias_is_never_scaled(root, tmp_path):
    """No bias frames and darks of 60 s only: the 2 s flats cannot be cleaned, and are not used;
    the 60 s frames get the whole dark, and nothing comes out at minus the bias level."""
    folder = tmp_path / "night"
    shutil.copytree(root / "nina-binned", folder)
    for path in folder.glob("*DARK*_2.00s_*"):
        path.unlink()
    frames = io.collect(folder)
    cal = night.calibration(frames)
    assert cal.flats == {} and cal.bias is None and list(cal.darks_with_bias) == [60.0]
    assert any("not made" in line for line in cal.said)
    offset, how = cal.offset(30.0)
    assert offset is None and "cannot" in how
    science = night.calibrate_science(frames, cal)
    truth = zoo.truth(root / "nina-binned")
    sky = [np.nanmedian(f.image) * f.exptime for f in science]          # ADU in one frame
    true_sky = truth.bands["V"]["sky"] * 60 / truth.camera["gain"]
    assert all(0 < s < 3 * true_sky + 100 for s in sky)               # never -bias, never bias left in


def test_the_bias_estimated_from_two_dark_times_is_right(nights, root):
    cal, truth = nights["nina-binned"].calibration, zoo.truth(root / "nina-binned")
    assert np.nanmedian(cal.bias) == pytest.approx(truth.camera["bias_level"], abs=3.0)


def test_saturated_stars_are_flagged_and_left_out_of_the_colours(nights):
    result = nights["maxim-gz"]
    frames = result.science
    assert any(f.saturated.any() for f in frames)            # the zoo has saturated stars
    assert any(result.stars[f]["saturated"].any() for f in result.stars)
    x, y = result.colours["x"], result.colours["y"]
    for table in result.stars.values():
        flagged = table[table["saturated"]]
        i, _ = align.match(np.column_stack([flagged["x"], flagged["y"]]), np.column_stack([x, y]), 1.5)
        assert len(i) == 0


def test_results_are_written_beside_the_derived_frames_never_into_the_folder(nights, root):
    result = nights["eso-fz"]
    folder = root / "eso-fz"
    out = data.derived_folder(folder) / "night"
    assert all(p.parent == out for p in result.written)
    assert not any(folder in p.parents for p in result.written)
    offsets = Table.read(out / "offsets.ecsv")
    assert {"name", "dx", "dy"} <= set(offsets.colnames)
    assert set(offsets["name"]) == {f.name for f in result.science}
    stars = Table.read(out / f"stars-{night._safe('V_Bess')}.ecsv")
    assert len(stars) == len(result.stars["V_Bess"]) and "mag" in stars.colnames
    image, header = io.read_frame(out / "stack-V_Bess.fits")
    assert header["BUNIT"] == "ADU/s" and image.shape == result.stacks["V_Bess"].image.shape


def test_the_written_offsets_land_a_frame_on_the_reference(nights, root):
    result = nights["maxim-gz"]
    row = result.offsets[np.argmax(np.abs(result.offsets["dx"]))]
    frame = next(f for f in result.science if f.name == row["name"])
    reference = next(f for f in result.science if f.name == result.offsets.meta["reference"])
    moved = align.shift(frame.image.astype(float), row["dx"], row["dy"])
    good = np.isfinite(moved) & np.isfinite(reference.image)
    assert np.corrcoef(moved[good], reference.image[good])[0, 1] > 0.9


def test_a_read_only_result_of_an_earlier_run_is_not_replaced(root, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(root / "lights-only", folder)
    first = night.run(folder)
    kept = first.written[-1]
    kept.chmod(0o444)
    before = kept.read_bytes()
    try:
        with pytest.raises(PermissionError, match="read-only"):
            night.run(folder)
        assert kept.read_bytes() == before
    finally:
        kept.chmod(0o644)


def test_the_raw_folder_is_left_byte_identical(root, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(root / "maxim-gz", folder)
    before = {p.name: data.sha256(p) for p in folder.iterdir()}
    night.run(folder)
    assert {p.name: data.sha256(p) for p in folder.iterdir()} == before


def test_offset_from_stars_finds_a_large_offset_despite_a_fixed_pattern():
    rng = np.random.default_rng(4)
    stars = rng.uniform(0, 400, (50, 2))
    pattern = rng.uniform(0, 400, (8, 2))         # hot pixels and bad-column ends found as "stars"
    reference = np.vstack([pattern, stars])
    image = np.vstack([pattern, stars - (151.3, -88.7) + rng.normal(0, 0.03, stars.shape)])
    inside = (image[:, 0] > 0) & (image[:, 0] < 400) & (image[:, 1] > 0) & (image[:, 1] < 400)
    dx, dy, n = align.offset_from_stars(reference, image[inside])
    assert (dx, dy) == (pytest.approx(151.3, abs=0.03), pytest.approx(-88.7, abs=0.03))


def test_offset_from_stars_refuses_unrelated_fields():
    rng = np.random.default_rng(5)
    with pytest.raises(align.OffsetError, match="same field"):
        align.offset_from_stars(rng.uniform(0, 400, (50, 2)), rng.uniform(0, 400, (50, 2)))
    with pytest.raises(align.OffsetError, match="too few stars"):
        align.offset_from_stars([(1.0, 2.0)], [(3.0, 4.0)])


def test_gain_from_pairs_removes_the_flat_pattern_and_a_fading_sky():
    rng = np.random.default_rng(6)
    y, x = np.mgrid[0:200, 0:200]
    flat = 1 - 0.2 * ((x - 100) ** 2 + (y - 100) ** 2) / 100 ** 2                 # vignetting
    gain, read_noise_adu, bias = 1.7, 4.0, 500.0

    def frame(electrons):
        return bias + rng.poisson(electrons) / gain + rng.normal(0, read_noise_adu, flat.shape)
    g, rn = camera.gain_from_pairs(frame(30000 * flat), frame(24000 * flat), frame(0 * flat), frame(0 * flat))
    assert g == pytest.approx(gain, rel=0.04)
    assert rn == pytest.approx(read_noise_adu * gain, rel=0.04)


def test_filter_order_and_saturation_level():
    assert night.filter_order(["i'", "r (530-700)", "B_Bess", "Ha"]) == ["B_Bess", "r (530-700)", "i'", "Ha"]
    assert night.saturation_level({"BITPIX": 16, "BZERO": 0, "BSCALE": 2}) == 65534.0
    assert night.saturation_level({"BITPIX": 16, "BZERO": 32768, "SATURATE": 60000}) == 60000.0
    assert night.saturation_level({"BITPIX": 16, "BZERO": 32768, "BSCALE": 2}) == 65535.0   # the converter's limit
    assert night.saturation_level({"BITPIX": -32}) is None


def test_a_saturated_star_is_one_star(nights):
    for result in nights.values():
        for name, table in result.stars.items():
            flagged = table[table["saturated"]]
            xy = np.column_stack([flagged["x"], flagged["y"]])
            if len(xy) > 1:
                distances = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
                np.fill_diagonal(distances, np.inf)
                assert distances.min() > 1.5 * table.meta["fwhm"], name


def test_the_exercise_checks_use_the_truth_or_say_they_cannot(nights, root, tmp_path):
    from helpers import exercises

    folder = root / "maxim-gz"
    result, truth = nights["maxim-gz"], zoo.truth(folder)
    reference = result.offsets.meta["reference"]
    largest = max(np.hypot(*truth.offset(reference, n)) for n in result.offsets["name"])
    assert exercises.ex08_largest_offset(largest, folder) == "Correct."
    assert exercises.ex08_largest_offset(largest + 0.5, folder).startswith("Not yet")
    table = result.stars["JohnsonV"]
    near = np.abs(np.log10(table["snr"]) - np.log10(20)) < 0.15
    slope, intercept = np.polyfit(np.log10(table["snr"][near]), table["mag"][near], 1)
    assert exercises.ex08_snr_20(slope * np.log10(20) + intercept, "JohnsonV", folder) == "Correct."
    assert exercises.ex08_snr_20(slope * np.log10(20) + intercept + 0.5, "JohnsonV", folder).startswith("Not yet")
    assert "filters are" in exercises.ex08_snr_20(-3.0, "Halpha", folder)
    own = tmp_path / "own"                     # a folder with no truth and not yet run: said, not raised
    shutil.copytree(root / "lights-only", own)
    assert exercises.ex08_largest_offset(1.0, own).startswith("Run the chapter's cells first")
    night.run(own)
    assert "no ground truth" in exercises.ex08_largest_offset(1.0, own)


def test_a_stack_of_two_frames_says_it_keeps_cosmic_rays(nights):
    science = [f for f in nights["lights-only"].science if f.filter == "V"][:2]
    offsets = night.measure_offsets(science)
    assert "cosmic ray" in night.stack(science, offsets)["V"].note


def test_a_folder_without_science_frames_says_so_plainly(root, tmp_path):
    folder = tmp_path / "biases"
    folder.mkdir()
    for path in sorted((root / "maxim-gz").glob("Bias-*"))[:2]:
        shutil.copy(path, folder)
    with pytest.raises(ValueError) as info:
        night.calibration(io.collect(folder))
    message = str(info.value)
    assert "found 2 bias" in message and "at least one science" in message and "np.str_" not in message


def test_frames_of_another_size_are_left_out_and_counted_right(root, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(root / "lights-only", folder)
    image, header = io.read_frame(folder / "obj0013.fits")
    (folder / "obj0013.fits").unlink()
    from astropy.io import fits
    fits.PrimaryHDU(image[::2, ::2].astype("float32"), header).writeto(folder / "obj0013.fits")
    result = night.run(folder, write_files=False)
    said = "\n".join(result.said)
    assert "1 frame(s) of another size" in said and "obj0013.fits" in said
    assert "science V 60 s: 2 frame(s)" in said
    assert len(result.stacks["V"].names) == 2


def test_a_frame_left_out_of_the_stack_is_said(root, tmp_path):
    folder = tmp_path / "rotated"
    shutil.copytree(root / "lights-only", folder)
    image, header = io.read_frame(folder / "obj0013.fits")
    (folder / "obj0013.fits").unlink()
    from astropy.io import fits
    fits.PrimaryHDU(np.rot90(image).astype("float32"), header).writeto(folder / "obj0013.fits")
    result = night.run(folder, write_files=False)
    assert any(line.startswith("offset: obj0013.fits left out: no offset can be trusted") for line in result.said)
    assert result.stacks["V"].names == ["obj0011.fits", "obj0012.fits"]


def test_without_a_gain_in_the_headers_it_is_measured_by_photon_transfer(root, tmp_path):
    from astropy.io import fits

    folder = tmp_path / "no-gain"
    folder.mkdir()
    frames = io.collect(root / "maxim-gz")
    for path in frames["path"][frames["problem"] == ""]:
        with fits.open(path) as hdul:
            hdul[0].header.remove("EGAIN", ignore_missing=True)
            hdul.writeto(folder / Path(path).name.replace(".gz", ""))
    truth = zoo.truth(root / "maxim-gz")
    gain, read_noise, said = night.camera_noise(io.collect(folder), None)
    assert any("measured by photon transfer" in line for line in said)
    assert gain == pytest.approx(truth.camera["gain"], rel=0.05)
    assert read_noise == pytest.approx(truth.camera["read_noise"], rel=0.05)


def test_a_sky_gradient_across_the_night_does_not_hide_the_faint_stars(root, tmp_path, monkeypatch):
    """Moonlight brightening one side of every frame. One level for the whole frame measures the gradient as
    noise (a ramp of 40 sigma has a spread of 11.5 sigma), so its threshold is far too high and the faint stars
    are lost; the mesh background follows the ramp and finds them as on a dark night."""
    from astropy.io import fits

    from helpers import detect

    folder = tmp_path / "moonlit"
    folder.mkdir()
    truth = zoo.truth(root / "lights-only")
    for path in sorted((root / "lights-only").glob("*.fits")):
        image, header = io.read_frame(path)
        noise = detect.background(image)[1]
        x = np.arange(image.shape[1])[None, :]
        for key in ("BZERO", "BSCALE", "BLANK"):
            header.remove(key, ignore_missing=True)
        fits.PrimaryHDU((image + 40 * noise * x / image.shape[1]).astype(np.float32), header).writeto(
            folder / path.name)

    def true_stars_found(result):
        true_xy = np.column_stack(truth.positions(result.offsets.meta["reference"]))
        return min(align.match(np.column_stack([t["x"], t["y"]]), true_xy, 2.0)[0].size
                   for t in result.stars.values())

    dark_night = true_stars_found(night.run(root / "lights-only", write_files=False))
    assert true_stars_found(night.run(folder, write_files=False)) >= 0.9 * dark_night
    monkeypatch.setattr(night, "_sky", lambda image: None)          # one level for the whole frame, as before
    assert true_stars_found(night.run(folder, write_files=False)) < 0.6 * dark_night
