"""helpers.align: matching, offsets, shifts and difference images, checked against known offsets."""
import warnings

import numpy as np
import pytest
from astropy.io import fits
from scipy import ndimage

from helpers import align, data, detect
from helpers import observatory as obs


def star_field(dx, dy, seed=5, size=256, n=60):
    """Two exposures of a field of Moffat stars (Poisson and read noise); in the second every star is
    moved by (+dx, +dy), so shift(second, -dx, -dy) lands on the first. Stars also fall off the edges."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-20, size + 20, (2, n))
    flux = 10 ** rng.uniform(3.5, 5.5, n)

    def exposure(offset_x, offset_y, k):
        electrons = np.full((size, size), 200.0)
        obs.add_stars(electrons, x + offset_x, y + offset_y, flux, np.full(n, 3.5))
        noise = np.random.default_rng(1000 * seed + k)
        return noise.poisson(electrons).astype(float) + noise.normal(0.0, 5.0, electrons.shape)

    return exposure(0.0, 0.0, 1), exposure(dx, dy, 2)


def fourier_shift(image, dx, dy):
    """Move an image by (dx, dy) exactly (periodically), through its Fourier transform."""
    return np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(image), (dy, dx))).real


@pytest.fixture(scope="module")
def default_set():
    folder = data.ensure()
    truth = data.truth(folder)
    return truth, truth.calibrated("m13-v-60s-1"), truth.calibrated("m13-b-60s-1")


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    """Two other seeds, 256 x 256: (truth, {name: calibrated frame})."""
    sets = []
    for seed in (3, 17):
        folder = data.synthesize(tmp_path_factory.mktemp(f"seed{seed}"), seed=seed, size=256)
        truth = data.truth(folder)
        names = ("m13-v-60s-1", "m13-v-60s-2", "m13-b-60s-1", "m13-b-60s-3")
        sets.append((truth, {name: truth.calibrated(name) for name in names}))
    return sets


@pytest.fixture(scope="module")
def real_frame(realdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # the ESO-LOG header cards
        return fits.getdata(realdata / "sep_eso_field" / "image.fits").astype(float)


# ---------------------------------------------------------------------------------------- match
def test_match_pairs_nearest_first_one_to_one():
    a = [(0.0, 0.0), (1.0, 0.0), (50.0, 50.0)]
    b = [(0.6, 0.0), (10.0, 10.0)]
    ia, ib = align.match(a, b, tol=1.0)
    assert ia.tolist() == [1] and ib.tolist() == [0]          # (1, 0) is nearer to (0.6, 0) than (0, 0)
    assert align.match(a, [], tol=1.0)[0].size == 0
    with pytest.raises(ValueError, match="shape"):
        align.match([1.0, 2.0, 3.0], b, tol=1.0)


def test_match_agrees_with_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 100, (300, 2)), rng.uniform(0, 100, (280, 2))
    ia, ib = align.match(a, b, tol=3.0)
    distance = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    expected = []
    while True:                                                 # greedy: the closest pair first
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[i, j] > 3.0:
            break
        expected.append((i, j))
        distance[i, :], distance[:, j] = np.inf, np.inf
    assert sorted(zip(ia.tolist(), ib.tolist())) == sorted(expected)


# ---------------------------------------------------------------------------------------- shift
def test_shift_moves_a_star_by_plus_dx_dy():
    yy, xx = np.mgrid[0:50, 0:70]
    star = np.exp(-((xx - 20.0) ** 2 + (yy - 30.0) ** 2) / (2 * 2.0 ** 2))
    moved = align.shift(star, 3.4, -2.7)
    x, y = detect.windowed_centroid(np.nan_to_num(moved), [23], [27], fwhm=4.7)
    assert (x[0], y[0]) == pytest.approx((23.4, 27.3), abs=0.005)


def test_shift_integer_is_exact_and_edges_are_nan():
    image = np.random.default_rng(2).normal(0, 1, (40, 50))
    moved = align.shift(image, 3, -2)
    assert np.isnan(moved[:, :3]).all() and np.isnan(moved[-2:, :]).all()
    np.testing.assert_allclose(moved[:-2, 3:], image[2:, :-3], atol=1e-9)


def test_shift_fractional_marks_the_spline_band():
    image = np.random.default_rng(3).normal(0, 1, (40, 50))
    moved = align.shift(image, 2.5, 0.0, order=3)
    # source x = x - 2.5 must lie in [3, 46]: columns 6 ... 48
    assert np.isnan(moved[:, :6]).all() and np.isnan(moved[:, 49:]).all()
    assert np.isfinite(moved[:, 6:49]).all()
    linear = align.shift(image, 2.5, 0.0, order=1)
    assert np.isfinite(linear[:, 4:48]).all() and np.isnan(linear[:, :4]).all()


def test_shift_keeps_a_nan_pixel_local():
    image = np.random.default_rng(4).normal(0, 1, (40, 40))
    image[20, 20] = np.nan
    moved = align.shift(image, 0.5, 0.5)                        # order 3: data in rows/columns 4 ... 36
    inner = moved[4:37, 4:37]
    assert np.isnan(moved[21, 21])
    rows, cols = np.nonzero(np.isnan(inner))
    assert np.all(np.abs(rows + 4 - 20.5) <= 4) and np.all(np.abs(cols + 4 - 20.5) <= 4)   # a small patch


def test_shift_there_and_back():
    yy, xx = np.mgrid[0:64, 0:64]
    image = np.exp(-((xx - 30.3) ** 2 + (yy - 33.1) ** 2) / (2 * 2.5 ** 2))
    back = align.shift(align.shift(image, 1.3, -0.6), -1.3, 0.6)
    inner = np.isfinite(back)
    assert inner.sum() > 40 * 40
    np.testing.assert_allclose(back[inner], image[inner], atol=2e-3)


# ---------------------------------------------------------------------------------------- measure_offset
def test_offset_sign_convention():
    """If the image is the reference moved by +3 px in x, dx = -3; shifting by (dx, dy) lands on it."""
    reference, image = star_field(3.0, -1.25)
    dx, dy = align.measure_offset(reference, image)
    assert (dx, dy) == pytest.approx((-3.0, 1.25), abs=0.02)
    aligned = align.shift(image, dx, dy)
    assert align.difference_residual(reference, image, dx, dy) < 0.5 * align.difference_residual(
        reference, image, -dx, -dy)
    assert np.nanmax(np.abs(aligned - reference)) < np.max(np.abs(image - reference))


@pytest.mark.parametrize("method", ["xcorr", "stars"])
def test_offset_on_the_default_set(default_set, method):
    truth, v1, b1 = default_set
    expected = truth.offset("m13-v-60s-1", "m13-b-60s-1")
    assert align.measure_offset(v1, b1, method=method) == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("method", ["xcorr", "stars"])
def test_offset_on_other_seeds(small_sets, method):
    for truth, frames in small_sets:
        for reference, image in (("m13-v-60s-1", "m13-v-60s-2"), ("m13-b-60s-1", "m13-b-60s-3")):
            got = align.measure_offset(frames[reference], frames[image], method=method)
            assert got == pytest.approx(truth.offset(reference, image), abs=0.02), (truth.info["seed"], image)
        # B against V in a small frame: a few bright blends of stars of different colours weigh a lot
        got = align.measure_offset(frames["m13-v-60s-1"], frames["m13-b-60s-1"], method=method)
        assert got == pytest.approx(truth.offset("m13-v-60s-1", "m13-b-60s-1"), abs=0.05)


@pytest.mark.parametrize("dx, dy", [(-12.37, 15.62), (20.0, -7.5), (3.25, -4.0), (-0.4, 0.3)])
@pytest.mark.parametrize("method", ["xcorr", "stars"])
def test_large_negative_and_integer_plus_fraction_offsets(dx, dy, method):
    reference, image = star_field(dx, dy, seed=6)
    assert align.measure_offset(reference, image, method=method) == pytest.approx((-dx, -dy), abs=0.02)


@pytest.mark.parametrize("dx, dy", [(0.37, -0.61), (-12.25, 7.4), (5.0, 0.5)])
def test_real_frame_shifted_comes_back(real_frame, dx, dy):
    expected = (-dx, -dy)
    exact = fourier_shift(real_frame, dx, dy)                 # periodic, no interpolation
    assert align.measure_offset(real_frame, exact) == pytest.approx(expected, abs=0.05)
    spline = align.shift(real_frame, dx, dy)                  # NaN edges, spline interpolation
    assert align.measure_offset(real_frame, spline) == pytest.approx(expected, abs=0.05)
    assert align.measure_offset(real_frame, spline, method="stars") == pytest.approx(expected, abs=0.05)


def test_measure_offset_errors():
    with pytest.raises(ValueError, match="same shape"):
        align.measure_offset(np.zeros((10, 10)), np.zeros((10, 12)))
    with pytest.raises(ValueError, match="unknown method"):
        align.measure_offset(np.zeros((10, 10)), np.zeros((10, 10)), method="guess")


# ---------------------------------------------------------------------------------------- difference
def test_difference_image_matches_scale_and_background():
    yy, xx = np.mgrid[0:64, 0:64]
    reference = 10 + 100 * np.exp(-((xx - 30.2) ** 2 + (yy - 20.7) ** 2) / 8)
    image = 5 + 50 * np.exp(-((xx - 32.2) ** 2 + (yy - 20.7) ** 2) / 8)
    difference, rms = align.difference_image(reference, image, -2, 0)
    assert rms < 1e-9
    assert np.isnan(difference[:, -2:]).all()


def test_difference_residual_is_smallest_at_the_true_offset(small_sets):
    truth, frames = small_sets[0]
    reference, image = frames["m13-v-60s-1"], frames["m13-v-60s-2"]
    true_dx, true_dy = truth.offset("m13-v-60s-1", "m13-v-60s-2")
    trials = np.arange(-1.0, 1.01, 0.1)
    residual = [[align.difference_residual(reference, image, true_dx + ox, true_dy + oy) for ox in trials]
                for oy in trials]
    row, col = np.unravel_index(np.argmin(residual), (len(trials), len(trials)))
    assert abs(trials[col]) <= 0.1 and abs(trials[row]) <= 0.1


def faint_field(dx, dy, seed, size=160, n=40):
    """Two exposures of faint stars on a bright sky, where the noise makes most of a difference image;
    in the second the stars are moved by (+dx, +dy)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(10, size - 10, (2, n))
    flux = 10 ** rng.uniform(3.3, 4.3, n)

    def exposure(offset_x, offset_y, k):
        electrons = np.full((size, size), 400.0)
        obs.add_stars(electrons, x + offset_x, y + offset_y, flux, np.full(n, 3.5))
        return np.random.default_rng(100 * seed + k).poisson(electrons).astype(float)

    return exposure(0.0, 0.0, 1), exposure(dx, dy, 2)


def smallest_residual(reference, image, dx, dy, order):
    """The trial offset with the smallest difference rms near (dx, dy): a 0.1 px grid, then 0.02 px."""
    best = (dx, dy)
    for step, half in ((0.1, 4), (0.02, 4)):
        trials = [(best[0] + i * step, best[1] + j * step) for i in range(-half, half + 1)
                  for j in range(-half, half + 1)]
        best = min(trials, key=lambda t: align.difference_residual(reference, image, *t, order=order))
    return best


# ---------------------------------------------------------------------------------------- fourier shift
def test_fourier_shift_moves_a_star_exactly_and_marks_the_wrapped_edge():
    yy, xx = np.mgrid[0:50, 0:70]
    star = 100 * np.exp(-((xx - 30.0) ** 2 + (yy - 24.0) ** 2) / (2 * 2.0 ** 2))
    moved = align.fourier_shift(star, 3.4, -2.7)
    x, y = detect.windowed_centroid(np.nan_to_num(moved), [33], [21], fwhm=4.7)
    assert (x[0], y[0]) == pytest.approx((33.4, 21.3), abs=0.002)
    # pixels whose data wrapped round (x < 3.4, y > 49 - 2.7) and those within about 3 px of the seam where
    # the opposite edges meet (source x or y < 3 or > n - 4) are NaN, the rest not
    assert np.isnan(moved[:, :7]).all() and np.isnan(moved[-6:, :]).all() and np.isnan(moved[0]).all()
    assert np.isfinite(moved[1:-6, 7:]).all()
    whole = align.fourier_shift(star, 3, -2)
    np.testing.assert_allclose(whole[:-2, 3:], star[2:, :-3], atol=1e-9)
    assert np.isnan(whole[:, :3]).all() and np.isnan(whole[-2:, :]).all()


def test_fourier_shift_keeps_the_noise_a_spline_smooths_it():
    noise = np.random.default_rng(12).normal(0.0, 1.0, (128, 128))
    assert np.nanstd(align.fourier_shift(noise, 0.5, 0.5)) == pytest.approx(1.0, abs=0.03)
    assert np.nanstd(align.shift(noise, 0.5, 0.5, order=1)) < 0.6       # linear: (0.5^2 + 0.5^2) per axis


@pytest.mark.parametrize("seed", [9, 10])
@pytest.mark.parametrize("dx, dy", [(0.1, -0.1), (0.2, 0.15)])
def test_difference_minimum_is_at_the_true_offset_not_pulled_to_half_pixels(seed, dx, dy):
    reference, image = faint_field(dx, dy, seed)
    assert smallest_residual(reference, image, -dx, -dy, None) == pytest.approx((-dx, -dy), abs=0.05)
    # the reason for the Fourier shift: a spline's smoothing pulls the minimum towards (-0.5, +-0.5)
    spline = smallest_residual(reference, image, -dx, -dy, 1)
    assert abs(spline[0] + dx) > 0.1 and abs(spline[1] + dy) > 0.1


# ---------------------------------------------------------------------------------------- position differences
def test_position_differences_pairs_and_leaves_out_flagged_stars():
    rng = np.random.default_rng(7)
    grid_y, grid_x = np.mgrid[0:200:10, 0:100:10]                 # 200 stars at least 10 px apart
    x, y = grid_x.ravel() + rng.uniform(0, 3, 200), grid_y.ravel() + rng.uniform(0, 3, 200)
    no_flags = np.zeros(200, bool)
    reference = {"x": x, "y": y, "edge": no_flags, "saturated": no_flags}
    edge, saturated = no_flags.copy(), no_flags.copy()
    edge[:10], saturated[10:15] = True, True
    image = {"x": x + 0.8 + rng.normal(0, 0.02, 200), "y": y - 0.5 + rng.normal(0, 0.02, 200),
             "edge": edge, "saturated": saturated}
    x_diff, y_diff = align.position_differences(reference, image, tol=1.5)
    assert len(x_diff) == 185
    assert np.all(np.abs(x_diff - 0.8) < 0.1) and np.all(np.abs(y_diff + 0.5) < 0.1)
    assert align.position_differences(reference, image, tol=0.5)[0].size == 0     # tol below the offset


# ----------------------------------------------------------------- what real cameras add: issue 10
def _sky(x, y, flux, shape=(300, 300), fwhm=3.5, seed=0):
    """Stars drawn at (x, y) on a sky of 100 with noise 5 (no fixed pattern)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    image = np.full(shape, 100.0)
    sigma = fwhm / 2.3548
    for x0, y0, f in zip(x, y, flux):
        if -10 < x0 < shape[1] + 10 and -10 < y0 < shape[0] + 10:
            image += f / (2 * np.pi * sigma ** 2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma ** 2))
    return image + rng.normal(0, 5.0, shape)


def _with_fixed_pattern(image, seed=7):
    """What stays put on a real camera: bright edge columns, a warm column, hot pixels, a brighter row."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    out[:, :3] += 4000.0                          # bright edge columns (an amplifier glow)
    out[:, -2:] += 2500.0
    out[:, 120] += 300.0                          # a warm column
    out[200, :] += 150.0                          # a brighter row
    hot_y, hot_x = rng.integers(0, image.shape[0], 60), rng.integers(0, image.shape[1], 60)
    out[hot_y, hot_x] += rng.uniform(2000, 20000, 60)
    return out


@pytest.fixture(scope="module")
def field():
    rng = np.random.default_rng(11)
    n = 400
    return rng.uniform(-150, 450, n), rng.uniform(-150, 450, n), 10 ** rng.uniform(3.0, 5.0, n)


@pytest.mark.parametrize("method", ["xcorr", "stars"])
@pytest.mark.parametrize("dx, dy", [(59.5, 0.0), (-100.4, 90.3), (0.3, -0.2), (140.6, -120.2)])
def test_fixed_pattern_and_large_offsets_do_not_capture_the_peak(field, method, dx, dy):
    x, y, flux = field
    reference = _with_fixed_pattern(_sky(x, y, flux, seed=1))
    image = _with_fixed_pattern(_sky(x + dx, y + dy, flux, seed=2))     # the sky moved, the camera did not
    assert align.measure_offset(reference, image, method=method) == pytest.approx((-dx, -dy), abs=0.05)


def test_no_offset_is_made_up(field):
    x, y, flux = field
    rng = np.random.default_rng(3)
    reference = _sky(x, y, flux, seed=1)
    unrelated = _sky(*rng.uniform(-150, 450, (2, 400)), flux, seed=2)
    noise_a, noise_b = rng.normal(100, 5, (2, 300, 300))
    for a, b, what in [(reference, unrelated, "unrelated fields"), (noise_a, noise_b, "pure noise"),
                       (np.full((300, 300), 100.0), np.full((300, 300), 100.0), "constant frames")]:
        for method in ("xcorr", "stars"):
            with pytest.raises(align.OffsetError):
                align.measure_offset(a, b, method=method)
                pytest.fail(f"{what}, {method}: an offset was made up")


def test_a_nan_shift_is_refused():
    image = np.ones((20, 20))
    for shift in (align.shift, align.fourier_shift):
        with pytest.raises(ValueError, match="not a number"):
            shift(image, np.nan, 1.0)
        with pytest.raises(TypeError, match="numbers of pixels"):
            shift(image, "3", None)
