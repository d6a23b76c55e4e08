"""Tests for helpers.reduce: each compares against an analytic truth, so a wrong method fails."""
import re
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import mad_std, sigma_clip

from helpers import reduce
from helpers.reduce import FlatFieldWarning

# Any warning not expected with pytest.warns is an error: normal use must be silent (strict nbval).
pytestmark = pytest.mark.filterwarnings("error")

SHAPE = (40, 50)  # (ny, nx)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# --------------------------------------------------------------------------------------------------
# combine
# --------------------------------------------------------------------------------------------------

def test_median_and_mean_on_known_values():
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    stack = values[:, None, None] * np.ones((5, 3, 4))
    np.testing.assert_array_equal(reduce.combine(stack, "median"), np.full((3, 4), 3.0))
    np.testing.assert_array_equal(reduce.combine(stack, "mean"), np.full((3, 4), 22.0))
    np.testing.assert_array_equal(reduce.combine(stack), np.full((3, 4), 3.0))  # default: median


def test_combine_accepts_list_and_returns_float64():
    frames = [np.full((2, 3), v, dtype=np.uint16) for v in (1, 2, 6)]
    result = reduce.combine(frames, "mean")
    assert result.dtype == np.float64 and result.shape == (2, 3)
    np.testing.assert_array_equal(result, np.full((2, 3), 3.0))


def test_combine_does_not_change_its_input(rng):
    stack = rng.normal(100, 5, (5, *SHAPE))
    stack[1, 3, 4] = np.nan
    before = stack.copy()
    for method in reduce.METHODS:
        reduce.combine(stack, method)
    np.testing.assert_array_equal(stack, before)


def test_sigma_clip_rejects_one_cosmic_ray_in_five_frames(rng):
    sigma = 10.0
    stack = rng.normal(1000.0, sigma, (5, *SHAPE))
    y, x = 17, 23
    others = np.delete(stack[:, y, x], 2)
    stack[2, y, x] += 30000.0

    clipped = reduce.combine(stack, "sigma_clip")
    assert abs(clipped[y, x] - others.mean()) < 1.5 * sigma       # mean of the other four, within noise
    assert reduce.combine(stack, "mean")[y, x] > others.mean() + 5000  # the plain mean is ruined


def test_sigma_clip_rejects_cosmic_rays_everywhere(rng):
    """A cosmic ray at every pixel, each in a random frame: all rejected."""
    sigma = 10.0
    clean = rng.normal(1000.0, sigma, (5, *SHAPE))
    hit = rng.integers(0, 5, SHAPE)
    yy, xx = np.indices(SHAPE)
    stack = clean.copy()
    stack[hit, yy, xx] += rng.uniform(1000, 50000, SHAPE)
    mean_of_others = (clean.sum(axis=0) - clean[hit, yy, xx]) / 4

    clipped = reduce.combine(stack, "sigma_clip")
    assert np.abs(clipped - mean_of_others).max() < 1.5 * sigma
    # On frames without cosmic rays, clipping adds no bias: on average it gives the plain mean.
    assert abs(np.mean(reduce.combine(clean, "sigma_clip") - clean.mean(axis=0))) < 0.1 * sigma


def test_sigma_clip_is_less_noisy_than_median(rng):
    truth = 1000.0
    stack = rng.normal(truth, 10.0, (5, 200, 200))
    rms = {m: np.std(reduce.combine(stack, m) - truth) for m in reduce.METHODS}
    assert rms["mean"] < rms["sigma_clip"] < rms["median"]


@pytest.mark.parametrize("amplitude", [1e3, 1e5, 1e9])
def test_plain_std_clipping_cannot_reject_one_cosmic_ray_in_five_frames(rng, amplitude):
    """The docstring's claim: with five frames the plain std is inflated by the cosmic ray itself."""
    stack = rng.normal(1000.0, 10.0, (5, *SHAPE))
    y, x = 5, 7
    stack[2, y, x] += amplitude

    plain = sigma_clip(stack, sigma=3, maxiters=5, cenfunc="median", stdfunc="std", axis=0)
    assert not plain.mask[2, y, x]                      # kept, however large it is
    robust = sigma_clip(stack, sigma=3, maxiters=5, cenfunc="median", stdfunc="mad_std", axis=0)
    assert robust.mask[2, y, x]                         # rejected

    values = stack[:, y, x]
    assert (values[2] - np.median(values)) / np.std(values) < 3


def test_plain_std_bound_for_five_frames():
    """Four equal values and one of any size: the outlier is exactly n/sqrt(n-1) = 2.5 std away."""
    for amplitude in (1.0, 1e3, 1e12):
        values = np.array([0.0, 0.0, 0.0, 0.0, amplitude])
        assert np.isclose((amplitude - np.median(values)) / np.std(values), 2.5)


@pytest.mark.parametrize("method", reduce.METHODS)
def test_nan_pixels_are_ignored(rng, method):
    stack = rng.normal(100.0, 1.0, (5, *SHAPE))
    stack[1, 10, 20] = np.nan
    stack[:, 0, 0] = np.nan           # NaN in every frame stays NaN, without a warning
    result = reduce.combine(stack, method)
    good = np.delete(stack[:, 10, 20], 1)  # the four frames without the NaN
    if method == "median":
        expected = np.median(good)
    elif method == "mean":
        expected = good.mean()
    else:  # MAD clipping of four values may drop one more; compare with what astropy keeps
        expected = sigma_clip(good, sigma=3, maxiters=5, cenfunc="median", stdfunc="mad_std").mean()
    assert result[10, 20] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(result[0, 0])
    assert np.isfinite(np.delete(result.ravel(), 0)).all()


def test_unknown_method_lists_the_methods():
    with pytest.raises(ValueError, match="median.*mean.*sigma_clip"):
        reduce.combine(np.zeros((3, 2, 2)), "average")


def test_shape_mismatch_names_the_frame():
    frames = [np.zeros((4, 5)), np.zeros((4, 5)), np.zeros((5, 4))]
    with pytest.raises(ValueError, match=r"frame 2 is 5x4 \(ny x nx\) but frame 0 is 4x5"):
        reduce.combine(frames)


def test_empty_or_flat_input_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        reduce.combine([])
    with pytest.raises(ValueError, match="stack"):
        reduce.combine(np.zeros((4, 5)))


# --------------------------------------------------------------------------------------------------
# master frames
# --------------------------------------------------------------------------------------------------

def _truth(rng):
    """Known bias, dark-current rate, flat (median exactly 1) and sky for an analytic camera."""
    yy, xx = np.indices(SHAPE)
    bias = 300.0 + 0.2 * xx + rng.normal(0, 2.0, SHAPE)            # ADU, with structure
    rate = 0.05 + 0.002 * yy                                       # ADU/s, a gradient ...
    rate[5, 7] = rate[30, 40] = 20.0                                # ... and two hot pixels
    flat = 1.0 + 0.15 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
    flat /= np.median(flat)
    sky = 500.0 + 3.0 * xx                                         # ADU per pixel on a flat of 1
    return bias, rate, flat, sky


def test_master_bias_equals_combine_and_recovers_bias(rng):
    bias, *_ = _truth(rng)
    biases = bias + rng.normal(0, 5.0, (7, *SHAPE))
    master = reduce.master_bias(biases)
    np.testing.assert_array_equal(master, reduce.combine(biases, "median"))
    assert np.std(master - bias) < 5.0 / np.sqrt(7) * 1.5
    np.testing.assert_array_equal(reduce.master_bias(biases, "mean"), biases.mean(axis=0))


def test_master_dark_is_bias_subtracted_dark_for_its_own_exptime(rng):
    bias, rate, _, _ = _truth(rng)
    t_dark = 120.0
    darks = np.stack([bias + rate * t_dark] * 5)
    np.testing.assert_allclose(reduce.master_dark(darks, bias), rate * t_dark, rtol=1e-12)


def test_master_dark_from_uint16_does_not_wrap():
    darks = np.full((3, 2, 2), 100, dtype=np.uint16)
    np.testing.assert_array_equal(reduce.master_dark(darks, bias=np.full((2, 2), 150.0)),
                                  np.full((2, 2), -50.0))


def test_master_dark_bias_shape_mismatch_names_bias():
    with pytest.raises(ValueError, match="bias"):
        reduce.master_dark(np.zeros((3, 4, 5)), np.zeros((5, 4)))


def _flats(rng, t_flat=30.0, levels=(8000.0, 12000.0, 20000.0, 15000.0, 9000.0)):
    bias, rate, flat, _ = _truth(rng)
    frames = np.stack([bias + level * flat + rate * t_flat for level in levels])
    return frames, bias, rate, flat


def test_master_flat_removes_bias_and_scaled_dark_and_is_normalised(rng):
    t_flat, t_dark = 30.0, 120.0
    flats, bias, rate, flat = _flats(rng, t_flat)
    dark = rate * t_dark
    master = reduce.master_flat(flats, bias, dark, flat_exptime=t_flat, dark_exptime=t_dark)
    assert np.median(master) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(master, flat, rtol=1e-10)
    for method in reduce.METHODS:
        np.testing.assert_allclose(
            reduce.master_flat(flats, bias, dark, t_flat, t_dark, method=method), flat, rtol=1e-10)


def test_master_flat_without_or_with_unscaled_dark_is_measurably_wrong(rng):
    t_flat, t_dark = 30.0, 120.0
    flats, bias, rate, flat = _flats(rng, t_flat)
    dark = rate * t_dark
    no_dark = reduce.master_flat(flats, bias)
    unscaled = reduce.master_flat(flats, bias, dark)            # dark of 120 s taken off 30 s flats
    assert np.abs(no_dark / flat - 1).max() > 0.01              # hot pixels show up in the flat
    assert np.abs(unscaled / flat - 1).max() > 0.01
    forgot_bias = reduce.master_flat(flats, 0.0, dark, t_flat, t_dark)
    assert np.abs(forgot_bias / flat - 1).max() > 0.002             # 300 ADU of bias on ~10000


def test_master_flat_normalises_each_flat_before_combining(rng):
    """Twilight flats of very different levels, with photon noise (gain 1).

    Without normalising each flat first, the median at every pixel is just the middle-level flat,
    with that one flat's noise (1/sqrt(16000) = 0.8 %); normalised, all five flats average down.
    """
    shape = (200, 200)
    flat = 1.0 + 0.1 * rng.standard_normal(shape)
    flat /= np.median(flat)
    levels = (4000.0, 8000.0, 16000.0, 32000.0, 64000.0)
    flats = np.stack([level * flat + rng.normal(0, np.sqrt(level * flat)) for level in levels])
    master = reduce.master_flat(flats, bias=0.0)
    assert np.std(master / flat - 1) < 0.6 / np.sqrt(16000)
    for method in reduce.METHODS:  # normalised to median 1 exactly, not only approximately
        assert np.median(reduce.master_flat(flats, 0.0, method=method)) == pytest.approx(1, abs=1e-12)


def test_master_flat_dark_times_must_come_in_pairs(rng):
    flats, bias, rate, _ = _flats(rng)
    with pytest.raises(ValueError, match="dark_exptime"):
        reduce.master_flat(flats, bias, rate * 120, flat_exptime=30.0)
    with pytest.raises(ValueError, match="flat_exptime"):
        reduce.master_flat(flats, bias, rate * 120, dark_exptime=120.0)


def test_master_flat_rejects_an_unexposed_flat():
    flats = np.full((3, 4, 4), 100.0)
    with pytest.raises(ValueError, match="flat 0"):
        reduce.master_flat(flats, bias=100.0)


# --------------------------------------------------------------------------------------------------
# calibrate
# --------------------------------------------------------------------------------------------------

def test_calibrate_recovers_the_sky_exactly(rng):
    bias, rate, flat, sky = _truth(rng)
    t_sci, t_dark = 60.0, 120.0
    raw = bias + rate * t_sci + flat * sky
    dark = rate * t_dark
    before = raw.copy()
    result = reduce.calibrate(raw, bias, dark, flat, exptime=t_sci, dark_exptime=t_dark)
    np.testing.assert_allclose(result, sky, rtol=1e-12)
    np.testing.assert_array_equal(raw, before)  # the raw frame is not changed
    assert result.dtype == np.float64


def test_calibrate_wrong_dark_scaling_fails(rng):
    bias, rate, flat, sky = _truth(rng)
    raw = bias + rate * 60.0 + flat * sky
    dark = rate * 120.0
    unscaled = reduce.calibrate(raw, bias, dark, flat)                     # dark used as is
    inverted = reduce.calibrate(raw, bias, dark, flat, exptime=120.0, dark_exptime=60.0)
    for wrong in (unscaled, inverted):
        assert np.abs(wrong - sky).max() > 100  # the hot pixels are way off
    np.testing.assert_allclose(unscaled, (raw - bias - dark) / flat)      # documented: both None


def test_calibrate_a_stack_frame_by_frame(rng):
    bias, rate, flat, sky = _truth(rng)
    skies = np.stack([sky, 2 * sky, sky + 50])
    raw = bias + rate * 60.0 + flat * skies
    result = reduce.calibrate(raw, bias, rate * 120.0, flat, exptime=60.0, dark_exptime=120.0)
    assert result.shape == raw.shape
    np.testing.assert_allclose(result, skies, rtol=1e-12)


def test_calibrate_bias_only_and_uint16_does_not_wrap():
    raw = np.full((2, 2), 100, dtype=np.uint16)
    np.testing.assert_array_equal(reduce.calibrate(raw, bias=150.0), np.full((2, 2), -50.0))


def test_calibrate_one_exposure_time_only_is_an_error():
    raw, dark = np.ones((3, 3)), np.ones((3, 3))
    with pytest.raises(ValueError, match="dark_exptime"):
        reduce.calibrate(raw, dark=dark, exptime=60.0)
    with pytest.raises(ValueError, match="exptime"):
        reduce.calibrate(raw, dark=dark, dark_exptime=60.0)


def test_bad_flat_pixels_give_nan_and_a_warning():
    raw = np.full((4, 5), 100.0)
    flat = np.ones((4, 5))
    flat[1, 2] = 0.0
    flat[3, 0] = -0.5
    flat[2, 4] = np.nan
    with pytest.warns(FlatFieldWarning, match=r"^3 flat-field pixel.*\(2, 1\)") as record:
        result = reduce.calibrate(raw, flat=flat)
    assert issubclass(FlatFieldWarning, UserWarning) and len(record) == 1
    assert not np.isinf(result).any()
    bad = np.zeros((4, 5), bool)
    bad[1, 2] = bad[3, 0] = bad[2, 4] = True
    assert np.isnan(result[bad]).all()
    np.testing.assert_array_equal(result[~bad], 100.0)


def test_nan_in_raw_is_propagated_without_error():
    raw = np.ones((3, 3))
    raw[1, 1] = np.nan
    result = reduce.calibrate(raw, bias=0.5, flat=np.full((3, 3), 0.5))
    assert np.isnan(result[1, 1])
    assert np.isfinite(result).sum() == 8


@pytest.mark.parametrize("name", ["bias", "dark", "flat"])
def test_calibrate_shape_mismatch_names_the_input(name):
    raw = np.ones((10, 12))
    inputs = {"bias": np.ones((10, 12)), "dark": np.ones((10, 12)), "flat": np.ones((10, 12))}
    inputs[name] = np.ones((12, 10))
    with pytest.raises(ValueError, match=rf"^{name} has shape \(12, 10\)"):
        reduce.calibrate(raw, **inputs)


# --------------------------------------------------------------------------------------------------
# overscan and trimming
# --------------------------------------------------------------------------------------------------

def test_parse_section():
    assert reduce.parse_section("[4:13,1:520]") == (slice(0, 520), slice(3, 13))
    assert reduce.parse_section("[  17: 528,   1: 520]") == (slice(0, 520), slice(16, 528))


@pytest.mark.parametrize("bad", ["4:13,1:520", "[4:13]", "[a:13,1:520]", "[13:4,1:520]", "[0:5,1:5]",
                                 "[4:13,1:520,1:2]", ""])
def test_parse_section_malformed_quotes_it(bad):
    with pytest.raises(ValueError, match=re.escape(f"section {bad!r}")):
        reduce.parse_section(bad)


def _ramp_frame():
    """Overscan in columns 0..9 with a known per-row ramp; image columns 12..; a sky pattern."""
    ny, nx = 60, 80
    yy, xx = np.indices((ny, nx))
    level = 200.0 + 0.75 * yy + 5.0 * np.sin(yy / 4.0)     # bias drifts during readout
    sky = np.where(xx >= 12, 50.0 + xx + 0.1 * yy, 0.0)
    return level + sky, sky, "[1:10,1:60]", "[13:80,1:60]"


def test_row_overscan_ramp_is_removed_exactly():
    data, sky, biassec, trimsec = _ramp_frame()
    before = data.copy()
    result = reduce.subtract_overscan(data, biassec, axis="row")
    np.testing.assert_allclose(result, sky, atol=1e-9)
    np.testing.assert_array_equal(reduce.subtract_overscan(data, biassec), result)  # auto -> row
    np.testing.assert_array_equal(data, before)
    # one constant cannot follow the ramp
    constant = reduce.subtract_overscan(data, biassec, axis="constant")
    assert np.abs(constant - sky).max() > 10
    trimmed = reduce.overscan_and_trim(data, {"BIASSEC": biassec, "TRIMSEC": trimsec})
    np.testing.assert_allclose(trimmed, sky[:, 12:], atol=1e-9)


def test_column_overscan_is_auto_detected():
    data, sky, _, _ = _ramp_frame()
    data, sky = data.T.copy(), sky.T.copy()          # overscan is now rows 0..9 (a row strip)
    result = reduce.subtract_overscan(data, "[1:60,1:10]")
    np.testing.assert_allclose(result, sky, atol=1e-9)


def test_overscan_rows_not_covered_become_nan():
    data, _, _, _ = _ramp_frame()
    result = reduce.subtract_overscan(data, "[1:10,1:50]", axis="row")
    assert np.isnan(result[50:]).all() and np.isfinite(result[:50]).all()


def test_overscan_errors():
    data, _, biassec, _ = _ramp_frame()
    with pytest.raises(ValueError, match="axis"):
        reduce.subtract_overscan(data, biassec, axis="diagonal")
    with pytest.raises(ValueError, match="beyond the frame"):
        reduce.trim(data, "[1:81,1:60]")
    with pytest.raises(ValueError, match="TRIMSEC"):
        reduce.overscan_and_trim(data, fits.Header({"BIASSEC": biassec}))
    with pytest.raises(ValueError, match="BIASSEC"):
        reduce.overscan_and_trim(data, {})


def test_trim():
    data = np.arange(20).reshape(4, 5)
    result = reduce.trim(data, "[2:4,3:4]")
    np.testing.assert_array_equal(result, [[11, 12, 13], [16, 17, 18]])
    assert result.dtype == np.float64


def test_real_saao_frame_overscan_and_read_noise(realdata):
    with fits.open(realdata / "saao_raw_overscan" / "a8280271.fits") as hdul:
        header = hdul[0].header
        data = hdul[0].data.astype(np.float64)
    assert data.shape == (520, 536)
    rows, cols = reduce.parse_section(header["BIASSEC"])
    overscan = data[rows, cols]
    assert overscan.shape == (520, 10)
    assert np.median(overscan) == pytest.approx(214, abs=2)

    result = reduce.overscan_and_trim(data, header)
    assert result.shape == (520, 512)
    expected = data[:, 16:528] - np.median(data[:, 3:13], axis=1, keepdims=True)
    np.testing.assert_array_equal(result, expected)

    # Read noise: the overscan after removing its row medians is pure read noise (robust std).
    residual = reduce.subtract_overscan(data, header["BIASSEC"], axis="row")[rows, cols]
    read_noise = mad_std(residual) * header["GAIN"]
    assert read_noise == pytest.approx(header["RDNOISE"], rel=0.20)
    assert abs(np.median(residual)) < 0.5


# --------------------------------------------------------------------------------------------------
# file names instead of arrays (reads with helpers.io)
# --------------------------------------------------------------------------------------------------

def test_masters_accept_file_names(tmp_path, rng):
    pytest.importorskip("helpers.io")
    bias, rate, flat, _ = _truth(rng)

    def write(name, frames):
        paths = []
        for i, frame in enumerate(frames, 1):
            path = tmp_path / f"{name}-{i}.fits"
            fits.PrimaryHDU(frame.astype(np.float32)).writeto(path)
            paths.append(path)
        return paths

    biases = bias + rng.normal(0, 3.0, (5, *SHAPE))
    darks = bias + rate * 120.0 + rng.normal(0, 3.0, (5, *SHAPE))
    flats = np.stack([bias + level * flat for level in (9000, 11000, 10000)])
    bias_paths, dark_paths, flat_paths = write("bias", biases), write("dark", darks), write("flat", flats)

    master = reduce.master_bias([str(p) for p in bias_paths])
    np.testing.assert_allclose(master, reduce.master_bias(biases.astype(np.float32)), rtol=1e-6)
    dark = reduce.master_dark(dark_paths, master)
    np.testing.assert_allclose(dark, reduce.master_dark(darks.astype(np.float32), master), rtol=1e-6)
    np.testing.assert_allclose(reduce.master_flat(flat_paths, bias), flat, rtol=1e-5)
    with pytest.raises(TypeError, match="list of file names"):
        reduce.master_bias(str(bias_paths[0]))


# ---------------------------------------------------------------- the one-call reduction used by later chapters
def test_reduce_band_is_chapter_01_step_by_step():
    from helpers import data, io

    folder = data.ensure()
    frames = io.collect(folder)
    v = reduce.reduce_band(frames, "v")
    bias = reduce.master_bias(io.select(frames, kind="bias"))
    dark = reduce.master_dark(io.select(frames, kind="dark"), bias)
    flat = reduce.master_flat(io.select(frames, kind="flat", filter="V"), bias, dark, flat_exptime=5.0,
                              dark_exptime=120.0)
    science = io.read_stack(io.select(frames, kind="science", filter="V"))
    expected = reduce.combine(reduce.calibrate(science, bias, dark, flat, exptime=60.0, dark_exptime=120.0))
    assert v.names == ["m13-v-60s-1.fits", "m13-v-60s-2.fits", "m13-v-60s-3.fits"]
    assert v.exptime == 60.0 and v.dark_exptime == 120.0 and v.frames.shape == (3, 1024, 1024)
    np.testing.assert_array_equal(v.image, expected)
    with pytest.raises(ValueError, match="no science frames in filter 'I'"):
        reduce.reduce_band(frames, "I")
    b = reduce.reduce_band(frames, "B", masters=v)          # bias and dark made once for both filters
    assert b.bias is v.bias and b.dark is v.dark
    np.testing.assert_array_equal(b.image, reduce.reduce_band(frames, "B").image)


def test_dead_pixels_missing_in_raw_and_flat_are_no_flat_warning():
    """A dead pixel stored as BLANK is NaN in every raw frame and so in the flat: NaN, but not a flat problem."""
    raw = np.full((2, 4, 5), 100.0)
    raw[:, 1, 1] = np.nan
    flat = np.ones((4, 5))
    flat[1, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = reduce.calibrate(raw, flat=flat)
    assert np.isnan(result[:, 1, 1]).all() and np.isfinite(result).sum() == 2 * 19
    flat[2, 2] = np.nan                                   # but a hole in the flat alone is still said
    with pytest.warns(FlatFieldWarning, match=r"^1 flat-field pixel.*\(2, 2\)"):
        reduce.calibrate(raw, flat=flat)


def test_reduce_band_ignores_frames_with_a_problem(tmp_path):
    """A light without an exposure time (a problem in collect's table) must not turn into NaN downstream."""
    from helpers import data, io
    folder = data.synthesize(tmp_path / "set", seed=8, size=64)
    copy = tmp_path / "night"
    copy.mkdir()
    for path in folder.glob("*.fits"):
        copy.joinpath(path.name).write_bytes(path.read_bytes())
    with fits.open(copy / "m13-v-60s-3.fits", mode="update") as hdul:
        del hdul[0].header["EXPTIME"]
    frames = io.collect(copy)
    with pytest.warns(reduce.CombineWarning, match="only two frames"):      # said: two frames keep cosmic rays
        reduced = reduce.reduce_band(frames, "V")
    assert reduced.names == ["m13-v-60s-1.fits", "m13-v-60s-2.fits"] and reduced.exptime == 60.0
    assert np.isfinite(reduced.image).mean() > 0.99


# ----------------------------------------------------------------- large stacks, block by block (issue 10)
@pytest.fixture(scope="module")
def frames_on_disk(tmp_path_factory):
    """Seven 60 x 50 frames on disk (uint16 with BZERO and a BLANK pixel, as cameras write), and in memory."""
    folder = tmp_path_factory.mktemp("stack")
    rng = np.random.default_rng(12)
    paths, frames = [], []
    for i in range(7):
        physical = np.round(1000 + 200 * i + rng.normal(0, 20, (60, 50)))
        physical[5 + i, 7] = 60000                               # a cosmic ray in each frame
        stored = (physical - 32768).astype(np.int16)
        stored[30, 20] = -32768                                   # a dead pixel, stored as BLANK
        hdu = fits.PrimaryHDU(stored)
        hdu.header["BZERO"], hdu.header["BLANK"] = 32768, -32768
        paths.append(tmp_path_factory.getbasetemp() / f"stack{i}.fits")
        hdu.writeto(paths[-1], overwrite=True)
        physical[30, 20] = np.nan
        frames.append(physical)
    return paths, np.array(frames)


@pytest.mark.parametrize("method", ["median", "mean", "sigma_clip"])
def test_combining_files_block_by_block_gives_what_combining_in_memory_gives(frames_on_disk, method):
    paths, frames = frames_on_disk
    in_memory = reduce.combine(frames, method)
    for block_bytes in (7 * 50 * 8, 7 * 50 * 8 * 7, None):      # one row per block, 7 rows, all at once
        on_disk = reduce.combine_files(paths, method, block_bytes=block_bytes)
        np.testing.assert_array_equal(on_disk, in_memory)
    np.testing.assert_array_equal(reduce.combine([str(p) for p in paths], method), in_memory)   # names: on disk


def test_masters_from_file_names_match_masters_from_arrays(frames_on_disk):
    paths, frames = frames_on_disk
    bias = np.full(frames.shape[1:], 900.0)
    np.testing.assert_array_equal(reduce.master_bias(paths), reduce.master_bias(frames))
    np.testing.assert_array_equal(reduce.master_dark(paths, bias), reduce.master_dark(frames, bias))
    np.testing.assert_allclose(reduce.master_flat(paths, bias), reduce.master_flat(frames, bias), rtol=1e-12)
