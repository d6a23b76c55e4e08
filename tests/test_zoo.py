"""The camera zoo: each camera writes what it promises, the truth is right, it is reproducible and safe."""
import gzip
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from helpers import observatory as obs
from helpers import io, reduce, zoo

SIZE = 256


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return zoo.make(tmp_path_factory.mktemp("zoo") / "zoo", seed=zoo.DEFAULT_SEED, size=SIZE)


def _headers(folder, pattern="*"):
    """name -> header of the image HDU, for every readable frame."""
    out = {}
    for path in sorted(Path(folder).glob(pattern)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hdul = fits.open(path)
            with hdul:
                hdu = next(h for h in hdul if h.is_image and h.header.get("NAXIS") == 2)
                out[path.name] = hdu.header.copy()
        except Exception:   # the broken files of the maxim camera are tested on their own
            continue
    return out


def _stored(path):
    """The integers as stored on disk (no BZERO/BSCALE applied) and the image header."""
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        hdu = next(h for h in hdul if h.is_image and h.header.get("NAXIS") == 2)
        return np.array(hdu.data), hdu.header.copy()


def _good(t, kind, band=None):
    return [r["name"] for r in t.frames
            if r["kind"] == kind and not r["defect"] and (band is None or r["band"] == band)]


def _centroid(image, x, y, sigma):
    """Gaussian-windowed centroid of a background-subtracted star, iterated from (x, y)."""
    for _ in range(20):
        ix, iy = int(round(x)), int(round(y))
        half = int(4 * sigma) + 2
        box = image[iy - half:iy + half + 1, ix - half:ix + half + 1]
        yy, xx = np.mgrid[iy - half:iy + half + 1, ix - half:ix + half + 1]
        w = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)) * box
        nx, ny = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
        # the windowed centroid converges to the true centre of a symmetric star: x = x + 2 (c - x)
        nx, ny = x + 2 * (nx - x), y + 2 * (ny - y)
        if np.hypot(nx - x, ny - y) < 1e-4:
            break
        x, y = nx, ny
    return x, y


def _bright_isolated(t, name, n=8, margin=25):
    x, y = t.positions(name)
    band = t.frame(name)["band"]
    flux = np.asarray(t.stars[f"flux_{band.lower()}"])
    ok = (x > margin) & (x < t.size - margin) & (y > margin) & (y < t.size - margin)
    chosen = []
    for i in np.argsort(-flux):
        if not ok[i]:
            continue
        d = np.hypot(x - x[i], y - y[i])
        if ((d > 0) & (d < 20 / t.binning) & (flux > 0.003 * flux[i])).any():
            continue
        chosen.append(i)
    return [(x[i], y[i], flux[i]) for i in chosen]


# ---------------------------------------------------------------- the layout
def test_cameras_are_folders_without_truth_and_the_truth_is_beside_them(root):
    assert zoo.CAMERAS == ("maxim-gz", "eso-fz", "nina-binned", "lights-only")
    for camera in zoo.CAMERAS:
        folder = root / camera
        assert folder.is_dir()
        assert not any("truth" in p.name.lower() for p in folder.rglob("*"))
        assert (root / "truth" / camera / "truth.json").is_file()
        assert zoo.has_truth(folder)
        t = zoo.truth(folder)
        assert t.name == camera and len(t.stars) > 50
        assert {p.name for p in folder.iterdir()} >= set(t.frames["name"])


def test_truth_of_a_folder_that_is_not_a_zoo_camera_says_so(tmp_path):
    assert not zoo.has_truth(tmp_path)
    with pytest.raises(FileNotFoundError, match="only the zoo's camera folders"):
        zoo.truth(tmp_path)


# ---------------------------------------------------------------- 1. MaxIm DL, gzip, BLANK
def test_maxim_writes_gzip_uint16_with_bzero_and_blank(root):
    folder = root / "maxim-gz"
    t = zoo.truth(folder)
    headers = _headers(folder, "*.fits.gz")
    good = [r["name"] for r in t.frames if r["defect"] in ("", "no filter", "no exposure time")]
    assert set(good) <= set(headers)
    for name in good:
        assert (folder / name).read_bytes()[:2] == b"\x1f\x8b", name                 # gzip
        h = headers[name]
        assert (h["BITPIX"], h["BZERO"], h["BSCALE"], h["BLANK"]) == (16, 32768, 1, -32768)
        assert h["XBINNING"] == 1 and (h["NAXIS2"], h["NAXIS1"]) == (SIZE, SIZE)
        assert h["SWCREATE"].startswith("MaxIm DL")
    kinds = {name: headers[name]["IMAGETYP"] for name in good}
    assert set(kinds.values()) == {"Bias Frame", "Dark Frame", "Flat Field", "Light Frame"}
    assert {headers[n].get("FILTER") for n in good if kinds[n] in ("Flat Field", "Light Frame")} \
        == {"JohnsonV", "JohnsonB", None}
    assert t.filters == {"JohnsonV": "V", "JohnsonB": "B"}
    with fits.open(folder / good[0]) as hdul:
        assert hdul[0].data.dtype == np.uint16                                  # as a camera writes it


def test_maxim_night_has_what_chapters_00_and_01_need(root):
    t = zoo.truth(root / "maxim-gz")
    science = t.frames[[r["kind"] == "science" and not r["defect"] for r in t.frames]]
    v = science[science["band"] == "V"]
    assert sorted(set(v["exptime"])) == [30.0, 60.0]
    assert set(science[science["band"] == "B"]["exptime"]) == {60.0}
    darks = _good(t, "dark")
    assert len(darks) == 5 and {t.frame(n)["exptime"] for n in darks} == {180.0}   # longer than any light
    assert len(_good(t, "bias")) == 5
    assert len(_good(t, "flat", "V")) == 5 and len(_good(t, "flat", "B")) == 5
    # the second night: offset by tens of pixels, recorded in DATE-OBS
    night2 = [r for r in science if r["date_obs"].startswith("2024-05-13")]
    assert len(night2) == 3
    for r in night2:
        dx, dy = t.offset(t.reference, r["name"])
        assert abs(dx + 37.4) < 0.35 and abs(dy - 21.8) < 0.35


def test_maxim_dead_pixels_are_exactly_blank_on_disk_and_nowhere_else(root):
    folder = root / "maxim-gz"
    t = zoo.truth(folder)
    assert len(t.dead_pixels) >= 8
    dead = np.zeros((SIZE, SIZE), bool)
    dead[t.dead_pixels["y"], t.dead_pixels["x"]] = True
    for name in _good(t, "bias") + _good(t, "flat") + _good(t, "science"):
        stored, h = _stored(folder / name)
        assert stored.dtype == np.dtype(">i2")
        assert np.array_equal(stored == h["BLANK"], dead), name
        assert np.isnan(t.raw(name)[dead]).all() and np.isfinite(t.raw(name)[~dead]).all()


def test_maxim_bad_inputs_are_what_they_say(root):
    folder = root / "maxim-gz"
    t = zoo.truth(folder)
    truncated = [r["name"] for r in t.frames if r["defect"] == "truncated"]
    assert sorted(truncated) == ["Dark-180s-006.fits", "M13-JohnsonB-60s-004.fits.gz"]
    with pytest.raises(EOFError):   # the gzip stream ends early
        gzip.decompress((folder / "M13-JohnsonB-60s-004.fits.gz").read_bytes())
    plain = (folder / "Dark-180s-006.fits").read_bytes()
    assert plain.startswith(b"SIMPLE  =") and len(plain) % 2880 != 0
    html = folder / "M13-JohnsonV-60s-download.fits"
    assert html.read_bytes().startswith(b"<!DOCTYPE html>") and html.name in t.bad_files
    with pytest.raises(OSError):
        fits.open(html)
    assert (folder / "README.txt").read_text().startswith("Observing log")

    headers = _headers(folder)
    focus = headers["Focus-001.fits.gz"]
    assert focus["IMAGETYP"] == "Focus" and (focus["NAXIS1"], focus["NAXIS2"]) == (128, 128)
    assert t.frame("Focus-001.fits.gz")["kind"] == "unknown"
    assert "FILTER" not in headers["Flat-006.fits.gz"] and headers["Flat-006.fits.gz"]["IMAGETYP"] == "Flat Field"
    assert t.frame("Flat-006.fits.gz")["defect"] == "no filter"
    lost = headers["M13-JohnsonV-60s-007.fits.gz"]
    assert lost["IMAGETYP"] == "Light Frame" and not {"EXPTIME", "EXPOSURE", "ITIME"} & set(lost)
    assert t.frame("M13-JohnsonV-60s-007.fits.gz")["defect"] == "no exposure time"


# ---------------------------------------------------------------- 2. ESO archive, Rice, overscan
def test_eso_writes_rice_compressed_images_in_extension_1_with_eso_keywords(root):
    folder = root / "eso-fz"
    t = zoo.truth(folder)
    types, filters = set(), set()
    for name in t.frames["name"]:
        assert name.endswith(".fits.fz")
        with fits.open(folder / name, disable_image_compression=True) as hdul:
            assert hdul[0].header["NAXIS"] == 0 and hdul[0].data is None
            assert hdul[1].header["ZCMPTYPE"] == "RICE_1" and hdul[1].header["ZBITPIX"] == 16
        with fits.open(folder / name) as hdul:
            assert isinstance(hdul[1], fits.CompImageHDU)
            h = hdul[1].header
            assert "IMAGETYP" not in h and "OBSTYPE" not in h
            assert (h["NAXIS2"], h["NAXIS1"]) == t.raw_shape and h["BZERO"] == 32768
            types.add(h["HIERARCH ESO DPR TYPE"])
            if "HIERARCH ESO INS FILT1 NAME" in h:
                filters.add(h["HIERARCH ESO INS FILT1 NAME"])
            assert hdul[1].data.dtype == np.uint16
            assert reduce.parse_section(h["TRIMSEC"]) == t.trim
            assert reduce.parse_section(h["BIASSEC"]) == t.overscan
    assert types == {"BIAS", "FLAT,SKY", "OBJECT"}
    assert filters == {"V_Bess", "B_Bess"}
    assert "dark" not in set(t.frames["kind"])


def test_eso_overscan_follows_each_frames_bias_level_and_drift(root):
    folder = root / "eso-fz"
    t = zoo.truth(folder)
    levels = []
    for name in _good(t, "bias") + _good(t, "science"):
        raw = t.raw(name)
        strip = raw[t.overscan].mean(axis=1)
        # the strip and the image area share the bias of each row (the image area adds its column structure)
        expected = t.bias(name).mean(axis=1)
        noise = t.camera["read_noise_adu"] / np.sqrt(raw[t.overscan].shape[1])
        assert np.abs(strip - expected).mean() < 1.5 * noise, name
        drift = (strip - t.bias().mean(axis=1)).reshape(8, -1).mean(axis=1)   # minus the fixed structure
        assert np.ptp(drift) > 2.0, name                                       # it drifts along the readout
        levels.append(strip.mean())
    assert np.ptp(levels) > 2.0                                              # and changes from frame to frame
    bias0 = t.raw(_good(t, "bias")[0])[t.trim]
    assert abs(np.mean(bias0 - t.bias(_good(t, "bias")[0]))) < 0.1


def test_eso_has_one_header_card_astropy_refuses(root):
    folder = root / "eso-fz"
    broken = [p.name for p in sorted(folder.iterdir()) if b"AIRMASS =                1,187" in p.read_bytes()]
    assert broken == [_good(zoo.truth(folder), "science")[0]]
    with fits.open(folder / broken[0]) as hdul:
        with pytest.raises(fits.VerifyError, match="AIRMASS"):
            hdul[1].header["AIRMASS"]


# ---------------------------------------------------------------- 3. N.I.N.A., binned, no bias
def test_nina_writes_fit_files_binned_2x2_with_exposure_and_no_bias(root):
    folder = root / "nina-binned"
    t = zoo.truth(folder)
    headers = _headers(folder)
    assert set(headers) == set(t.frames["name"]) and all(n.endswith(".fit") for n in headers)
    assert {h["IMAGETYP"] for h in headers.values()} == {"LIGHT", "DARK", "FLAT"}
    for name, h in headers.items():
        assert "EXPTIME" not in h and h["EXPOSURE"] == t.frame(name)["exptime"]
        assert h["XBINNING"] == h["YBINNING"] == 2 and (h["NAXIS1"], h["NAXIS2"]) == (SIZE // 2, SIZE // 2)
        assert h["BITPIX"] == 16 and h["BZERO"] == 32768
    assert {h["FILTER"] for h in headers.values() if "FILTER" in h} == {"r (530-700)", "g (400-550)"}
    assert t.filters == {"r (530-700)": "V", "g (400-550)": "B"}
    darks = {headers[n]["EXPOSURE"] for n in headers if headers[n]["IMAGETYP"] == "DARK"}
    lights = {headers[n]["EXPOSURE"] for n in headers if headers[n]["IMAGETYP"] == "LIGHT"}
    flats = {headers[n]["EXPOSURE"] for n in headers if headers[n]["IMAGETYP"] == "FLAT"}
    assert darks == lights | flats == {2.0, 60.0}
    assert t.binning == 2 and t.size == SIZE // 2


def test_nina_pixels_are_sums_of_four(root):
    """A binned pixel collects the sky of four detector pixels (and their dark current) but is read once."""
    t = zoo.truth(root / "nina-binned")
    name = _good(t, "science", "V")[0]
    sky = np.median(t.calibrated(name))
    assert t.bands["V"]["sky"] == 4 * 6.0
    assert sky == pytest.approx(t.bands["V"]["sky"] * 60 / t.camera["gain"], rel=0.01)
    darks = np.mean([t.raw(n) - t.bias() for n in _good(t, "dark") if t.frame(n)["exptime"] == 60.0], axis=0)
    assert np.median(darks) == pytest.approx(np.median(t.dark_current()) * 60 / t.camera["gain"], abs=0.5)
    assert np.median(t.dark_current()) == pytest.approx(4 * 0.15, rel=0.05)


def test_nina_darks_extrapolate_to_the_bias(root):
    """Darks at 2 s and 60 s still hold the bias; a straight line through them meets it at 0 s."""
    t = zoo.truth(root / "nina-binned")
    mean = {}
    for exptime in (2.0, 60.0):
        names = [n for n in _good(t, "dark") if t.frame(n)["exptime"] == exptime]
        assert len(names) == 5
        mean[exptime] = np.median([t.raw(n) for n in names], axis=0)
    bias = mean[2.0] - (mean[60.0] - mean[2.0]) * 2.0 / 58.0
    assert np.median(bias - t.bias()) == pytest.approx(0.0, abs=0.5)
    # scaled to 2 s, a 60 s dark that still holds the bias keeps only 1/30 of it: subtracted from a 2 s frame,
    # it leaves 29/30 of the bias in
    d60 = np.median(t.dark_current()) * 60 / t.camera["gain"]
    assert np.median(mean[60.0]) == pytest.approx(t.camera["bias_level"] + d60, abs=1.0)
    assert np.median(mean[2.0] - mean[60.0] * 2 / 60) == pytest.approx(t.camera["bias_level"] * 29 / 30, abs=1.0)


def test_nina_has_bad_columns_and_bright_edge_columns_in_every_frame(root):
    folder = root / "nina-binned"
    t = zoo.truth(folder)
    assert sorted(t.edge_columns) == [0, 1, t.size - 1]
    sky = t.bands["V"]["sky"] * 60 / t.camera["gain"]
    for name in t.frames["name"]:
        raw = t.raw(name)
        for x, extra in t.edge_columns.items():
            inside = 2 if x < t.size // 2 else t.size - 2
            assert np.median(raw[:, x] - raw[:, inside]) > 0.75 * extra > sky, (name, x)
            # the true bias holds them: what is left is the sky's (or flat lamp's) small change over a column
            calibrated = raw - t.bias()
            assert abs(np.median(calibrated[:, x] - calibrated[:, inside])) < 0.15 * extra, (name, x)
    assert len(t.bad_columns) == 3
    trap = t.bad_columns[[k.startswith("charge trap") for k in t.bad_columns["kind"]]][0]
    flat = t.raw(_good(t, "flat", "V")[0]) - t.bias()
    x, y0 = trap["x"], trap["y_start"]
    ratio = np.median(flat[y0 + 2:, x]) / np.median(flat[y0 + 2:, x + 2])
    assert ratio < 0.06 and np.median(flat[:y0 - 2, x]) / np.median(flat[:y0 - 2, x + 2]) > 0.9
    assert np.median(t.flat("r (530-700)")[y0 + 2:, x]) < 0.06


# ---------------------------------------------------------------- 4. lights only, int16 with BSCALE
def test_lights_only_writes_int16_with_bscale_and_no_calibration(root):
    folder = root / "lights-only"
    t = zoo.truth(folder)
    assert set(t.frames["kind"]) == {"science"}
    seen = set()
    for name in t.frames["name"]:
        stored, h = _stored(folder / name)
        assert stored.dtype == np.dtype(">i2") and h["BITPIX"] == 16
        assert h["BSCALE"] == 2.0 and h["BZERO"] == 32768
        assert "EXPTIME" not in h and "IMAGETYP" not in h and h["ITIME"] == 60.0
        with fits.open(folder / name) as hdul:
            physical = hdul[0].data
        assert physical.dtype.kind == "f" and np.all(physical % 2 == 0)
        assert np.array_equal(physical, 32768 + 2.0 * stored)
        if "OBSTYPE" in h:
            assert (h["OBSTYPE"], h["FILTER1"], h["FILTER2"]) == ("object", "Clear", "V")
            seen.add("OBSTYPE")
        else:
            assert (h["DATA-TYP"], h["FILTERS"]) == ("OBJECT", "B")
            seen.add("DATA-TYP")
    assert seen == {"OBSTYPE", "DATA-TYP"}


# ---------------------------------------------------------------- the truth is right
@pytest.mark.parametrize("camera", zoo.CAMERAS)
def test_stars_are_where_the_truth_says(root, camera):
    """Calibrated with the true bias, dark and flat, bright isolated stars sit where positions() says."""
    t = zoo.truth(root / camera)
    names = _good(t, "science")
    errors = []
    for name in (names[0], names[-1]):
        row = t.frame(name)
        image = t.calibrated(name)
        # what is left after the stars' light is the sky, no more: the bias, dark current and flat are right
        x, y = t.positions(name)
        band, scale = row["band"], row["exptime"] / t.camera["gain"]
        stars = obs.add_stars(np.zeros_like(image), x, y, t.stars[f"flux_{band.lower()}"] * scale,
                              t.fwhm(x, y, band))
        sky = t.bands[band]["sky"] * scale
        assert np.nanmedian(image - stars) == pytest.approx(sky, rel=0.003), (camera, name)
        image = np.nan_to_num(image - sky)
        for x, y, flux in _bright_isolated(t, name):
            if flux * row["exptime"] < 8000:   # fainter: the noise alone moves the centroid by 0.1 px
                continue
            cx, cy = _centroid(image, x, y, sigma=t.bands[band]["fwhm"] / 2.355)
            errors.append(np.hypot(cx - x, cy - y))
    assert len(errors) >= 3, camera
    assert np.median(errors) < 0.04 and max(errors) < 0.1, (camera, np.round(errors, 3))


@pytest.mark.parametrize("camera", zoo.CAMERAS)
def test_offsets_move_the_stars(root, camera):
    """The offset of each science frame is real: shifted by it, the reference's stars land on the frame's."""
    t = zoo.truth(root / camera)
    names = _good(t, "science")
    ref = t.calibrated(t.reference)
    ref = np.nan_to_num(ref - np.nanmedian(ref))
    x0, y0 = t.positions(t.reference)
    for name in names[1:]:
        dx, dy = t.offset(t.reference, name)
        x, y = t.positions(name)
        assert np.allclose(x0 - x, dx) and np.allclose(y0 - y, dy)
    far = max(names, key=lambda n: np.hypot(*t.offset(t.reference, n)))
    image = t.calibrated(far)
    image = np.nan_to_num(image - np.nanmedian(image))
    dx, dy = t.offset(t.reference, far)
    x, y, _ = _bright_isolated(t, t.reference, margin=25 + np.hypot(dx, dy))[0]
    sigma = t.bands[t.frame(far)["band"]]["fwhm"] / 2.355
    cx, cy = _centroid(image, x - dx, y - dy, sigma)
    assert np.hypot(cx - (x - dx), cy - (y - dy)) < 0.1


def test_the_true_dark_current_is_what_the_darks_hold(root):
    t = zoo.truth(root / "maxim-gz")
    names = _good(t, "dark")
    dark = np.median([t.raw(n)[t.trim] for n in names], axis=0) - t.bias()
    expected = t.dark_current() * 180 / t.camera["gain"]
    assert np.nanmedian(dark) == pytest.approx(np.median(expected), rel=0.03)
    hot = expected > 200
    assert hot.sum() > 5
    assert np.nanmedian(dark[hot] / expected[hot]) == pytest.approx(1.0, abs=0.02)


def test_the_true_flat_is_what_the_flats_hold(root):
    t = zoo.truth(root / "eso-fz")
    names = _good(t, "flat", "V")
    flats = [t.raw(n)[t.trim] - t.bias(n) for n in names]
    flat = np.median([f / np.median(f) for f in flats], axis=0)
    truth = t.flat("V_Bess")
    assert np.std(flat / truth) < 0.012          # the pixel noise of five flats, nothing else
    assert np.ptp(truth) > 0.1                   # vignetting and dust: there is something to find


# ---------------------------------------------------------------- reproducible, fast when current, safe
def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return zoo.make(tmp_path_factory.mktemp("small") / "zoo", seed=5, size=64)


def test_same_seed_gives_byte_identical_files(small, tmp_path):
    one = _files(small)
    two = _files(zoo.make(tmp_path / "two", seed=5, size=64))
    for files in (one, two):
        files.pop("MANIFEST.json")   # it records the seconds taken
    assert one.keys() == two.keys() and [k for k in one if one[k] != two[k]] == []


def test_another_seed_gives_other_frames(small, tmp_path):
    other = zoo.make(tmp_path / "other", seed=6, size=64)
    for camera in zoo.CAMERAS:
        name = zoo.truth(small / camera).reference
        assert not np.array_equal(zoo.truth(small / camera).raw(name), zoo.truth(other / camera).raw(name))


def test_ensure_is_quick_when_current_and_remakes_what_changed(small, tmp_path):
    root = Path(shutil.copytree(small, tmp_path / "zoo"))
    manifest = json.loads((root / "MANIFEST.json").read_text())
    assert set(manifest["files"]) == {k for k in _files(root) if k != "MANIFEST.json"}
    bias = root / "maxim-gz" / "Bias-002.fits.gz"
    stamp = bias.stat().st_mtime_ns
    assert zoo.is_current(root) and zoo.ensure(root) == root
    assert bias.stat().st_mtime_ns == stamp                           # nothing rewritten
    original = bias.read_bytes()
    bias.write_bytes(original[:100])                                   # a damaged file ...
    (root / "lights-only" / "obj0012.fits").unlink()                   # ... and a missing one
    (root / "my-notes.txt").write_text("mine")                        # the user's, not in the way
    assert not zoo.is_current(root)
    zoo.ensure(root)
    assert zoo.is_current(root) and bias.read_bytes() == original       # same seed and size as before
    assert (root / "lights-only" / "obj0012.fits").is_file()
    assert (root / "my-notes.txt").read_text() == "mine"


def test_make_refuses_a_folder_that_is_not_its_own(tmp_path):
    night = tmp_path / "my-night"
    night.mkdir()
    (night / "bias-1.fits").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="CCD_HANDBOOK_FRAMES"):
        zoo.ensure(night)
    assert [p.name for p in night.iterdir()] == ["bias-1.fits"]
    assert (night / "bias-1.fits").read_bytes() == b"mine"


def test_make_never_replaces_a_file_its_manifest_does_not_list(small, tmp_path):
    root = Path(shutil.copytree(small, tmp_path / "zoo"))
    manifest = json.loads((root / "MANIFEST.json").read_text())
    del manifest["files"]["nina-binned/" + next(p.name for p in (root / "nina-binned").iterdir())]
    (root / "MANIFEST.json").write_text(json.dumps(manifest))       # as if that file were the user's
    (root / "lights-only" / "obj0011.fits").unlink()                  # and the zoo needs remaking
    before = _files(root)
    with pytest.raises(FileExistsError, match="was not written by the camera zoo"):
        zoo.ensure(root)
    after = _files(root)
    assert after == before


def test_make_never_replaces_a_read_only_file(small, tmp_path):
    root = Path(shutil.copytree(small, tmp_path / "zoo"))
    locked = root / "maxim-gz" / "Bias-001.fits.gz"
    locked.chmod(0o444)                     # checked from the mode bits: CI runs as root, where chmod stops nothing
    (root / "eso-fz" / next(p.name for p in (root / "eso-fz").iterdir())).unlink()
    before = _files(root)
    with pytest.raises(PermissionError, match="read-only"):
        zoo.ensure(root)
    assert _files(root) == before


def test_truth_names_an_unknown_frame(root):
    with pytest.raises(KeyError, match="not a frame of the camera 'eso-fz'"):
        zoo.truth(root / "eso-fz").positions("bias-1.fits")


def test_make_checks_its_size(tmp_path):
    with pytest.raises(ValueError, match="multiple of 8"):
        zoo.make(tmp_path / "zoo", size=100)
    assert not (tmp_path / "zoo").exists()


def test_the_truth_names_files_as_they_are_on_disk(root):
    for camera in zoo.CAMERAS:
        t = zoo.truth(root / camera)
        on_disk = {p.name for p in (root / camera).iterdir()}
        assert set(t.frames["name"]) | set(t.bad_files) | ({"README.txt"} if camera == "maxim-gz" else set()) \
            == on_disk
        assert t.reference in t.frames["name"] and t.offset(t.reference, t.reference) == (0.0, 0.0)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", t.frames["date_obs"][0])


# ---------------------------------------------------------------- what helpers.io makes of the zoo
@pytest.mark.parametrize("camera", zoo.CAMERAS)
def test_collect_finds_every_frame_and_says_what_is_wrong_with_the_rest(root, camera):
    folder = root / camera
    t = zoo.truth(folder)
    frames = io.collect(folder)
    assert list(frames["name"]) == sorted(set(t.frames["name"]) | set(t.bad_files))   # README.txt is no frame
    rows = {r["name"]: r for r in frames}
    for truth in t.frames:
        row = rows[truth["name"]]
        defect = truth["defect"]
        if defect == "truncated":
            assert row["kind"] == "unreadable" and "truncated" in row["problem"], row
            continue
        assert (row["ny"], row["nx"]) == (truth["ny"], truth["nx"])
        assert (truth["ny"], truth["nx"]) == t.raw_shape or truth["kind"] == "unknown"
        assert row["kind"] == truth["kind"], row
        assert row["filter"] == ("" if defect == "no filter" else truth["filter"]), row
        if defect == "no exposure time":
            assert np.isnan(row["exptime"]) and "exposure" in row["problem"], row
        else:
            assert row["exptime"] == truth["exptime"], row
        if defect == "no filter":
            assert "filter" in row["problem"], row
        elif defect:
            assert row["problem"], row
        else:
            assert row["problem"] == "", row
    for name in t.bad_files:
        assert rows[name]["kind"] == "unreadable" and "not a FITS file" in rows[name]["problem"]
    for kind in ("bias", "dark", "flat", "science"):
        chosen = {Path(p).name for p in io.select(frames, kind=kind)}
        assert chosen == set(_good(t, kind)), kind     # select never hands out a frame with a problem


@pytest.mark.parametrize("camera", zoo.CAMERAS)
def test_read_frame_gives_the_physical_values(root, camera):
    """BZERO, BSCALE, BLANK, Rice tiles and gzip: read_frame returns what the camera measured, untrimmed."""
    t = zoo.truth(root / camera)
    for name in (_good(t, "science")[0], t.frames["name"][0]):
        data, _ = io.read_frame(root / camera / name)
        assert data.shape == t.raw_shape
        assert np.array_equal(data, t.raw(name), equal_nan=True)
    if camera == "maxim-gz":
        assert np.isnan(data).sum() == len(t.dead_pixels)


def test_the_malformed_card_is_repaired_and_named(root, tmp_path):
    folder = root / "eso-fz"
    name = _good(zoo.truth(folder), "science")[0]
    notes = {r["name"]: r["note"] for r in io.collect(folder)}
    assert "AIRMASS" in notes[name] and [n for n in notes if notes[n]] == [name]
    copy = Path(shutil.copy(folder / name, tmp_path / name))   # not yet reported: read_frame says it
    with pytest.warns(io.HeaderRepairWarning, match="AIRMASS"):
        _, header = io.read_frame(copy)
    assert str(header["AIRMASS"]).replace(",", ".") == "1.187"
