"""The synthetic observatory: reproducible, fast to check, and its frames agree with its truth."""
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import sigma_clipped_stats

from helpers import data, observatory


@pytest.fixture(scope="module")
def default_set():
    folder = data.ensure()
    return folder, data.truth(folder)


def _read(folder, name):
    return fits.getdata(Path(folder) / f"{name}.fits").astype(float)


def _files(folder):
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- reproducible, and made only when needed
def test_same_seed_gives_byte_identical_files(tmp_path):
    one = _files(data.synthesize(tmp_path / "one", seed=7, size=128))
    two = _files(data.synthesize(tmp_path / "two", seed=7, size=128))
    one.pop("MANIFEST.json"), two.pop("MANIFEST.json")   # it records the seconds taken
    assert one.keys() == two.keys()
    assert [k for k in one if one[k] != two[k]] == []


def test_another_seed_gives_other_frames(tmp_path):
    a = data.synthesize(tmp_path / "a", seed=1, size=128)
    b = data.synthesize(tmp_path / "b", seed=2, size=128)
    assert not np.array_equal(_read(a, "m13-v-60s-1"), _read(b, "m13-v-60s-1"))


def test_every_frame_has_new_noise_and_cosmic_rays(tmp_path):
    folder = data.synthesize(tmp_path, seed=3, size=128)
    b1, b2 = _read(folder, "dark-1"), _read(folder, "dark-2")
    assert not np.array_equal(b1, b2)
    hits1, hits2 = (b1 - np.median(b1)) > 200, (b2 - np.median(b2)) > 200
    hot = data.truth(folder).dark_current() * 120 / 1.5 > 150
    assert (hits1 & ~hot).sum() > 0 and not np.array_equal(hits1 & ~hot, hits2 & ~hot)


def test_synthesize_refuses_to_overwrite(tmp_path):
    data.synthesize(tmp_path, seed=1, size=64)
    before = (tmp_path / "bias-1.fits").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        data.synthesize(tmp_path, seed=2, size=64)
    assert (tmp_path / "bias-1.fits").read_bytes() == before


def test_ensure_returns_at_once_when_current_and_remakes_when_stale(tmp_path):
    folder = data.synthesize(tmp_path, seed=11, size=96)
    stamp = (folder / "bias-1.fits").stat().st_mtime_ns
    assert data.ensure(folder) == folder
    assert (folder / "bias-1.fits").stat().st_mtime_ns == stamp      # nothing rewritten

    original = (folder / "flat-v-2.fits").read_bytes()
    (folder / "flat-v-2.fits").write_bytes(original[:-2880])           # a damaged file ...
    (folder / "dark-3.fits").unlink()                                 # ... and a missing one
    (folder / "my-notes.txt").write_text("mine")                      # a file of the user's
    assert not data.is_current(folder)
    data.ensure(folder)
    assert data.is_current(folder)
    assert (folder / "flat-v-2.fits").read_bytes() == original          # same seed and size as before
    assert (folder / "dark-3.fits").exists()
    assert (folder / "my-notes.txt").read_text() == "mine"


def test_ensure_remakes_a_set_from_an_older_generator(tmp_path):
    folder = data.synthesize(tmp_path, seed=11, size=64)
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["generator_version"] = data.GENERATOR_VERSION - 1
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    assert not data.is_current(folder)
    data.ensure(folder)
    assert data.is_current(folder)


def test_truth_of_a_folder_without_truth_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="ensure"):
        data.truth(tmp_path)


# ---------------------------------------------------------------- the files look like a real camera's
def test_raw_frames_are_uint16_with_bzero_and_full_headers(default_set):
    folder, truth = default_set
    with fits.open(folder / "m13-b-60s-2.fits", do_not_scale_image_data=True) as hdul:
        header = hdul[0].header
        assert header["BITPIX"] == 16 and header["BZERO"] == 32768
        assert hdul[0].data.dtype.kind == "i"
    for key in ("IMAGETYP", "FILTER", "EXPTIME", "GAIN", "RDNOISE", "DATE-OBS", "OBJECT"):
        assert key in header
    assert header["IMAGETYP"] == "Light Frame" and header["FILTER"] == "B" and header["EXPTIME"] == 60.0
    assert fits.getheader(folder / "bias-3.fits")["IMAGETYP"] == "Bias Frame"
    assert fits.getheader(folder / "dark-1.fits")["EXPTIME"] == 120.0
    assert fits.getheader(folder / "flat-v-1.fits")["IMAGETYP"] == "Flat Field"
    assert truth.size == 1024 and _read(folder, "bias-1").shape == (1024, 1024)


# ---------------------------------------------------------------- the truth matches the frames
def test_bias_level_and_read_noise_measured_from_the_frames(default_set):
    folder, truth = default_set
    biases = np.array([_read(folder, f"bias-{i}") for i in range(1, 6)])
    assert abs(np.median(biases, axis=0).mean() - truth.camera["bias_level"]) < 0.5
    diff = biases[0] - biases[1]
    read_noise = sigma_clipped_stats(diff, sigma=4)[2] / np.sqrt(2) * truth.camera["gain"]
    assert read_noise == pytest.approx(truth.camera["read_noise"], rel=0.03)
    # the column structure is in the frames, where the truth says
    columns = np.median(biases, axis=0).mean(axis=0)
    assert np.corrcoef(columns, truth.bias().mean(axis=0))[0, 1] > 0.95


def test_dark_current_measured_from_the_frames(default_set):
    folder, truth = default_set
    darks = np.array([_read(folder, f"dark-{i}") for i in range(1, 6)])
    dark_adu = np.median(darks, axis=0) - truth.bias()
    rate = np.mean(dark_adu[truth.dark_current() < 1.0]) * truth.camera["gain"] / 120.0
    assert rate == pytest.approx(truth.camera["dark_current"], rel=0.05)
    hot = truth.dark_current() > 50
    assert hot.sum() > 50 and np.median(dark_adu[hot]) > 40 * 120 / 1.5


def test_flat_frames_follow_the_true_flat(default_set):
    folder, truth = default_set
    flat = _read(folder, "flat-v-1") - truth.bias()
    ratio = (flat / np.median(flat)) / truth.flat("V")
    assert np.std(ratio) < 0.01
    true = truth.flat("V")
    assert 0.10 < 1 - true[:20, :20].mean() < 0.25                 # vignetting to the corners


def _centroid(image, x, y, half=10):
    for _ in range(3):
        ix, iy = int(round(x)), int(round(y))
        box = image[iy - half:iy + half + 1, ix - half:ix + half + 1]
        box = box - np.median(image[iy - 3 * half:iy + 3 * half, ix - 3 * half:ix + 3 * half])
        yy, xx = np.mgrid[iy - half:iy + half + 1, ix - half:ix + half + 1]
        x, y = (box * xx).sum() / box.sum(), (box * yy).sum() / box.sum()
    return x, y


def test_bright_stars_sit_where_the_truth_says_with_its_flux(default_set):
    folder, truth = default_set
    for name, band in (("m13-v-60s-2", "V"), ("m13-b-60s-3", "B")):
        raw = _read(folder, name)
        exptime = 60.0
        calibrated = (raw - truth.bias() - truth.dark_current() * exptime / truth.camera["gain"]) / truth.flat(band)
        x, y = truth.positions(name)
        stars = truth.stars[np.asarray(truth.stars["in_ds9_reg"])]
        assert len(stars) >= 8
        errors, ratios = [], []
        for row in stars:
            i = row["id"] - 1
            cx, cy = _centroid(calibrated, x[i], y[i])
            errors.append(np.hypot(cx - x[i], cy - y[i]))
            yy, xx = np.mgrid[0:truth.size, 0:truth.size]
            r = np.hypot(xx - x[i], yy - y[i])
            sky = np.median(calibrated[(r > 20) & (r < 30)])
            measured = (calibrated[r < 12] - sky).sum() * truth.camera["gain"] / exptime
            alpha = observatory.moffat_alpha(truth.fwhm(x[i], y[i], band))
            inside = 1 - (1 + (12 / alpha) ** 2) ** (1 - truth.psf["beta"])   # Moffat flux within r = 12
            ratios.append(measured / inside / row[f"flux_{band.lower()}"])
        assert np.median(errors) < 0.05, errors
        assert np.median(ratios) == pytest.approx(1.0, abs=0.01), ratios


def test_saturated_stars_are_flat_topped_at_65535(default_set):
    folder, truth = default_set
    raw = _read(folder, "m13-v-60s-1")
    saturated = truth.stars[np.asarray(truth.stars["saturated_v"])]
    assert 3 <= len(saturated) <= 12
    for row in saturated:
        ix, iy = int(round(row["x"])), int(round(row["y"]))
        assert raw[iy - 1:iy + 2, ix - 1:ix + 2].max() == observatory.SATURATION_ADU
    assert raw.max() == observatory.SATURATION_ADU


def test_cluster_sequence_spans_eight_magnitudes_with_all_phases(default_set):
    _, truth = default_set
    stars = truth.stars
    assert stars["V"].max() - stars["V"].min() > 8
    assert set(stars["phase"]) == {"MS", "SGB", "RGB", "HB", "field"}
    bv = stars["B"] - stars["V"]
    hb, rgb = stars["phase"] == "HB", stars["phase"] == "RGB"
    assert np.median(bv[hb]) < 0.2 < 0.7 < np.median(bv[rgb & (stars["V"] < 15)])


def test_b_frames_are_offset_from_v_as_the_truth_says(default_set):
    _, truth = default_set
    dx, dy = truth.offset("m13-v-60s-1", "m13-b-60s-1")
    assert 0.4 < abs(dx) < 1.0 and 0.4 < abs(dy) < 1.0
    for i in (2, 3):
        dx, dy = truth.offset("m13-v-60s-1", f"m13-v-60s-{i}")
        assert 0 < np.hypot(dx, dy) < 0.2


def test_galaxy_frames_are_the_model_plus_sky_and_noise(default_set):
    folder, truth = default_set
    for band in "BVR":
        frame = _read(folder, f"m51/m51-{band.lower()}-combined")
        header = fits.getheader(folder / "m51" / f"m51-{band.lower()}-combined.fits")
        residual = frame - truth.galaxy_model(band)
        sky = truth.bands[band]["sky"] * 60 / 1.5
        assert np.median(residual) == pytest.approx(sky, rel=0.01)
        noise = np.std(residual[:100, :100])  # galaxy-free corner (a star or two at most)
        expected = np.sqrt(sky * header["GAIN"] + header["RDNOISE"] ** 2) / header["GAIN"]
        assert noise == pytest.approx(expected, rel=0.1)


def test_region_files_point_at_the_truth(default_set):
    folder, truth = default_set
    lines = (folder / "ds9.reg").read_text().splitlines()
    assert lines[0].startswith("# Region file format: DS9") and "image" in lines
    circles = [l for l in lines if l.startswith("circle(")]
    x, y = truth.positions("m13-v-60s-1")
    for line in circles:
        cx, cy, _ = (float(v) for v in line[len("circle("):line.index(")")].split(","))
        star = int(line.split("star ")[1].rstrip("}"))
        assert np.hypot(cx - 1 - x[star - 1], cy - 1 - y[star - 1]) < 1.5
    annuli = [l.split() for l in (folder / "m51" / "annulus.reg").read_text().splitlines() if "annulus" in l]
    assert len(annuli) >= 5
    gx, gy = truth.galaxy["centre_x"], truth.galaxy["centre_y"]
    assert all(np.hypot(float(a[2]) - 1 - gx, float(a[3]) - 1 - gy) < 2 for a in annuli)
