"""helpers.color: stretches, colour composites and the PNG, checked against formulas, astropy and the
colour ratios they must (or, per band, cannot) keep."""

import matplotlib.image
import numpy as np
import pytest
from astropy.visualization import make_lupton_rgb

from helpers import align, color, data, io

pytestmark = pytest.mark.filterwarnings("error")      # no warning may leak from normal use


@pytest.fixture(scope="module")
def galaxy():
    """The synthetic galaxy's R, V, B frames aligned on V with helpers.align: (r, g, b), NaN edges kept."""
    folder = data.ensure()
    truth = data.truth(folder)
    frames = {band: io.read_frame(folder / "m51" / f"m51-{band}-combined.fits")[0] for band in "rvb"}
    aligned = {"v": frames["v"]}
    for band in "rb":
        dx, dy = align.measure_offset(frames["v"], frames[band])
        true_dx, true_dy = truth.offset("m51-v-combined", f"m51-{band}-combined")
        assert abs(dx - true_dx) < 0.1 and abs(dy - true_dy) < 0.1
        aligned[band] = align.shift(frames[band], dx, dy)
    return aligned["r"], aligned["v"], aligned["b"]


@pytest.fixture(scope="module")
def galaxy_inside(galaxy):
    """The aligned frames cut to the area where all three have data, and each band's sky level."""
    r, g, b = galaxy
    finite = np.isfinite(r) & np.isfinite(g) & np.isfinite(b)
    ny, nx = finite.shape
    rows, cols = np.flatnonzero(finite[:, nx // 2]), np.flatnonzero(finite[ny // 2, :])
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    bands = [band[box] for band in galaxy]
    assert all(np.isfinite(band).all() for band in bands)
    sky = [float(np.median(band)) for band in bands]
    return bands, sky


# --------------------------------------------------------------------------------------------------
# One band
# --------------------------------------------------------------------------------------------------
def test_linear_stretch_values():
    y = color.linear_stretch([np.nan, -5.0, 100.0, 150.0, 300.0, 1e9], vmin=100, vmax=300)
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.0, 0.25, 1.0, 1.0])


def test_log_stretch_formula_and_ends():
    x = np.array([0.0, 0.5, 2.0, 10.0, 40.0])
    t = x / 40.0
    np.testing.assert_allclose(color.log_stretch(x, 0, 40, a=100), np.log(100 * t + 1) / np.log(101))
    assert color.log_stretch([np.nan], 0, 1)[0] == 0.0
    # nearly linear for small a
    np.testing.assert_allclose(color.log_stretch(x, 0, 40, a=1e-8), t, atol=1e-8)


def test_asinh_stretch_formula():
    vmin, vmax, s = 100.0, 1100.0, 25.0
    x = np.array([-1e4, 50.0, 100.0, 110.0, 350.0, 1100.0, 5e4])
    expected = np.arcsinh(np.clip(x - vmin, 0, None) / s) / np.arcsinh((vmax - vmin) / s)
    y = color.asinh_stretch(x, vmin, vmax, s)
    np.testing.assert_allclose(y, np.clip(expected, 0, 1), rtol=1e-12)
    assert y[0] == y[1] == y[2] == 0.0 and y[5] == 1.0 and y[6] == 1.0
    # a hand-checked value: asinh(10 / 25) / asinh(1000 / 25)
    assert y[3] == pytest.approx(0.3900353 / 4.3821828, rel=1e-6)


def test_asinh_stretch_large_softening_is_linear():
    x = np.linspace(-50.0, 1200.0, 400)
    wide = color.asinh_stretch(x, 100.0, 1100.0, softening=1e7)
    np.testing.assert_allclose(wide, color.linear_stretch(x, 100.0, 1100.0), atol=1e-9)
    # ... and a moderate softening is not (the test would notice a linear implementation)
    moderate = color.asinh_stretch(x, 100.0, 1100.0, 100.0)
    assert np.abs(moderate - color.linear_stretch(x, 100.0, 1100.0)).max() > 0.2


def test_asinh_stretch_small_softening_is_logarithmic():
    vmin, vmax, s = 0.0, 1000.0, 1e-3
    u = np.geomspace(1.0, 1000.0, 50)            # all much larger than the softening
    y = color.asinh_stretch(u, vmin, vmax, s)
    log_like = 1 + np.log(u / vmax) / np.log(2 * vmax / s)
    np.testing.assert_allclose(y, log_like, atol=1e-6)
    # log-like: each factor of 10 in x adds the same step in y
    steps = np.diff(color.asinh_stretch([1.0, 10.0, 100.0, 1000.0], vmin, vmax, s))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-6)
    assert steps[0] == pytest.approx(np.log(10) / np.log(2 * vmax / s), rel=1e-6)


def test_asinh_stretch_nan_and_bad_arguments():
    y = color.asinh_stretch(np.array([[np.nan, 5.0]]), 0, 10, 1.0)
    assert y.shape == (1, 2) and y[0, 0] == 0.0 and 0 < y[0, 1] < 1
    with pytest.raises(ValueError, match="larger than vmin"):
        color.asinh_stretch([1.0], 10, 10, 1.0)
    with pytest.raises(ValueError, match="softening must be positive"):
        color.asinh_stretch([1.0], 0, 10, 0.0)


def test_stretches_take_numbers_and_leave_their_input_alone():
    assert color.linear_stretch(5.0, 0, 10) == 0.5
    assert color.asinh_stretch(5.0, 0, 10, 1e9) == pytest.approx(0.5)
    assert color.log_stretch(np.nan, 0, 10) == 0.0
    image = np.array([[np.nan, 1.0, 5.0, 20.0]])
    kept = image.copy()
    for stretch in (color.linear_stretch, color.log_stretch):
        stretch(image, 0, 10)
    color.asinh_stretch(image, 0, 10, 1.0)
    color.rgb_composite(image, image, image, stretch=5, Q=8)
    color.stack_bands(image, image, image, [(0, 10)] * 3, 1.0)
    color.composite_from_limits(image, image, image, [(0, 10)] * 3, 1.0)
    np.testing.assert_array_equal(image, kept)


def test_band_limits_plain_and_robust():
    rng = np.random.default_rng(4)
    image = rng.normal(200.0, 10.0, (300, 300))
    image[::30, ::30] = 30000.0                  # 100 bright "stars"
    image[0, :5] = np.nan                        # an empty edge is ignored
    finite = image[np.isfinite(image)]
    low, high = color.band_limits(image, k_low=0.75, k_high=5.0)
    assert low == pytest.approx(finite.mean() + 0.75 * finite.std(), rel=1e-12)
    assert high == pytest.approx(finite.mean() + 5.0 * finite.std(), rel=1e-12)
    # the stars pull the plain limits far above the sky; sigma clipping measures the sky itself
    assert low > 200.0 + 20 * 10.0
    low_r, high_r = color.band_limits(image, k_low=1.0, k_high=5.0, robust=True)
    assert low_r == pytest.approx(210.0, abs=0.5) and high_r == pytest.approx(250.0, abs=2.0)
    with pytest.raises(ValueError, match="k_high"):
        color.band_limits(image, k_low=2, k_high=1)


# --------------------------------------------------------------------------------------------------
# Lupton et al. (2004)
# --------------------------------------------------------------------------------------------------
def test_lupton_stretch_formula_and_linear_limit():
    i = np.array([0.0, 0.3, 0.5, 5.0, 80.0])
    expected = np.arcsinh(8 * i / 5) * 0.1 / np.arcsinh(0.8)
    np.testing.assert_allclose(color.lupton_stretch(i, stretch=5, Q=8), expected, rtol=1e-12)
    assert color.lupton_stretch(0.5, stretch=5, Q=30) == pytest.approx(0.1)   # 0.1 stretch -> 0.1, any Q
    np.testing.assert_allclose(color.lupton_stretch(i, stretch=5, Q=0), i / 5)
    np.testing.assert_allclose(color.lupton_stretch(i[:3], stretch=5, Q=1e-4), i[:3] / 5, rtol=1e-6)


def test_rgb_composite_grey_pixels_follow_the_stretch():
    level = np.array([[0.0, 0.2, 0.5, 1.0, 3.0, 500.0]])
    rgb = color.rgb_composite(level, level, level, stretch=5, Q=8)
    assert rgb.shape == (1, 6, 3) and rgb.dtype == np.float64
    expected = np.minimum(color.lupton_stretch(level[0], 5, 8), 1.0)
    for band in range(3):
        np.testing.assert_allclose(rgb[0, :, band], expected, rtol=1e-12)
    assert rgb[0, 2, 0] == pytest.approx(0.1)


def test_rgb_composite_minimum_per_band():
    rng = np.random.default_rng(2)
    r, g, b = rng.uniform(0, 50, (3, 20, 20))
    with_minimum = color.rgb_composite(r, g, b, minimum=(3.0, 5.0, 7.0), stretch=20, Q=5)
    subtracted = color.rgb_composite(r - 3.0, g - 5.0, b - 7.0, stretch=20, Q=5)
    np.testing.assert_array_equal(with_minimum, subtracted)


def test_rgb_composite_black_and_nan_pixels():
    r = np.array([[0.0, -1.0, 2.0, np.nan, 1e-300, 4.0]])
    g = np.array([[0.0, -1.0, -2.0, 5.0, 1e-300, -1.0]])
    b = np.array([[0.0, -1.0, 0.0, 5.0, 1e-300, 0.0]])
    rgb = color.rgb_composite(r, g, b, stretch=5, Q=8)
    assert (rgb[0, :4] == 0).all()                 # I = 0, I < 0, I = 0 with colours, NaN in one band
    slope = 8 / 5 * 0.1 / np.arcsinh(0.8)           # the I -> 0 limit of F(I) / I
    np.testing.assert_allclose(rgb[0, 4], 1e-300 * slope, rtol=1e-9)
    # a band below its minimum is cut to 0, the others keep their ratio
    assert rgb[0, 5, 1] == 0 and rgb[0, 5, 2] == 0 and rgb[0, 5, 0] > 0
    assert np.isfinite(rgb).all() and rgb.min() >= 0 and rgb.max() <= 1


def test_rgb_composite_keeps_colour_even_when_too_bright():
    scale = np.array([[0.1, 1.0, 10.0, 1e3, 1e6]])   # one source, 3 : 2 : 1, faint to far too bright
    rgb = color.rgb_composite(3 * scale, 2 * scale, scale, stretch=5, Q=8)
    np.testing.assert_allclose(rgb[0, :, 1] / rgb[0, :, 0], 2 / 3, rtol=1e-12)
    np.testing.assert_allclose(rgb[0, :, 2] / rgb[0, :, 0], 1 / 3, rtol=1e-12)
    assert np.all(np.diff(rgb[0, :, 0]) >= 0)               # brighter stays brighter
    np.testing.assert_array_equal(rgb[0, 3:, 0], 1.0)        # scaled down as a whole, not turned white
    # the classic per-band stretch loses the colour, the more the brighter
    classic = color.stack_bands(3 * scale, 2 * scale, scale, limits=[(0, 1e3)] * 3, softening=1.0)
    ratio = classic[0, :, 1] / classic[0, :, 0]
    assert ratio[0] < ratio[1] < ratio[2] and ratio[2] - ratio[0] > 0.1
    assert abs(ratio[0] - 2 / 3) < 0.01                       # the faint end: asinh is still linear there
    assert np.all(np.abs(ratio[1:] - 2 / 3) > 0.1)
    np.testing.assert_array_equal(classic[0, 3:], 1.0)       # white


def test_galaxy_colours_kept_by_lupton_not_by_per_band(galaxy_inside):
    (r, g, b), sky = galaxy_inside
    rgb = color.rgb_composite(r, g, b, minimum=sky, stretch=400, Q=8)
    rr, gg = r - sky[0], g - sky[1]
    bright = (rr > 20) & (gg > 20) & (b - sky[2] > 20)       # every band above its black level
    assert bright.sum() > 20000
    assert (rgb.max(axis=2)[bright] == 1.0).sum() > 100     # some are scaled down: the ratio holds there too
    np.testing.assert_allclose(rgb[..., 0][bright] / rgb[..., 1][bright], rr[bright] / gg[bright], rtol=1e-9)
    limits = [color.band_limits(band) for band in (r, g, b)]
    classic = color.stack_bands(r, g, b, limits, softening=2.0)
    shown = bright & (classic > 0).all(axis=2) & (classic < 1).all(axis=2)    # not cut in any band
    assert shown.sum() > 10000
    input_ratio = (r - limits[0][0]) / (g - limits[1][0])
    error = np.abs(np.log(classic[..., 0][shown] / classic[..., 1][shown] / input_ratio[shown]))
    assert np.median(error) > 0.2                              # colours off by more than 20 % (typically)


@pytest.mark.parametrize("stretch, Q", [(5.0, 8.0), (100.0, 3.0), (400.0, 8.0), (2000.0, 10.0),
                                        (1000.0, 0.5), (300.0, 30.0)])
def test_rgb_composite_matches_astropy(galaxy_inside, stretch, Q):
    (r, g, b), sky = galaxy_inside
    minimum = 0.0 if stretch == 5.0 else sky
    ours = color.to_uint8(color.rgb_composite(r, g, b, minimum=minimum, stretch=stretch, Q=Q))
    reference = make_lupton_rgb(r, g, b, minimum=minimum, stretch=stretch, Q=Q)
    assert ours.shape == reference.shape and ours.dtype == reference.dtype == np.uint8
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1
    assert 0 < ours.mean() < 255                                # not all black or all white


def test_rgb_composite_matches_astropy_on_awkward_pixels():
    """Negative bands, I = 0, I < 0, a different minimum per band."""
    rng = np.random.default_rng(7)
    r, g, b = rng.normal(0.0, 3.0, (3, 64, 64)) * rng.uniform(0, 30, (64, 64))
    r[0, :3] = g[0, :3] = b[0, :3] = 0.0
    r[1, 0], g[1, 0], b[1, 0] = 0.5, -0.5, 0.0
    minimum = (-1.0, 0.5, 2.0)
    ours = color.to_uint8(color.rgb_composite(r, g, b, minimum=minimum, stretch=10, Q=8))
    reference = make_lupton_rgb(r, g, b, minimum=minimum, stretch=10, Q=8)
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1


# --------------------------------------------------------------------------------------------------
# The slider's function
# --------------------------------------------------------------------------------------------------
def test_composite_from_limits_classic_is_stack_bands(galaxy_inside):
    (r, g, b), _ = galaxy_inside
    limits = [color.band_limits(band) for band in (r, g, b)]
    np.testing.assert_array_equal(color.composite_from_limits(r, g, b, limits, 50.0, keep_colours=False),
                                  color.stack_bands(r, g, b, limits, 50.0))


def test_composite_from_limits_grey_agrees_colour_kept():
    limits = [(10.0, 110.0), (20.0, 220.0), (5.0, 55.0)]        # ranges 100, 200, 50
    softenings = [5.0, 10.0, 2.5]                                 # 5 % of each range
    t = np.array([[0.0, 0.01, 0.1, 0.4, 0.9, 1.0, 3.0]])          # the same fraction of each range: grey
    r, g, b = (low + t * (high - low) for low, high in limits)
    kept = color.composite_from_limits(r, g, b, limits, softenings)
    np.testing.assert_allclose(kept, color.stack_bands(r, g, b, limits, softenings), atol=1e-12)
    # a coloured pixel: (t_r, t_g, t_b) = (0.6, 0.3, 0.15) keeps its 4 : 2 : 1 at every brightness
    scale = np.array([[0.05, 0.5, 1.0, 20.0]])
    t_bands = (0.6 * scale, 0.3 * scale, 0.15 * scale)
    r, g, b = (low + tb * (high - low) for (low, high), tb in zip(limits, t_bands))
    kept = color.composite_from_limits(r, g, b, limits, softenings)
    np.testing.assert_allclose(kept[0, :, 1] / kept[0, :, 0], 0.5, rtol=1e-9)
    np.testing.assert_allclose(kept[0, :, 2] / kept[0, :, 0], 0.25, rtol=1e-9)
    classic = color.composite_from_limits(r, g, b, limits, softenings, keep_colours=False)
    ratio = classic[0, :, 1] / classic[0, :, 0]
    assert abs(ratio[0] - 0.5) < 0.03                          # faint: the linear part of asinh
    assert np.all(np.abs(ratio[1:] - 0.5) > 0.2)               # brighter: paler


def test_bad_inputs_are_explained():
    a = np.zeros((4, 4))
    with pytest.raises(ValueError, match="same shape"):
        color.rgb_composite(a, a, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="three"):
        color.rgb_composite(a, a, a, minimum=(1.0, 2.0))
    with pytest.raises(ValueError, match="three"):
        color.stack_bands(a, a, a, limits=[(0, 1), (0, 1)], softening=1.0)
    with pytest.raises(ValueError, match="band g"):
        color.stack_bands(a, a, a, limits=[(0, 1), (1, 1), (0, 1)], softening=1.0)
    with pytest.raises(ValueError, match="stretch"):
        color.rgb_composite(a, a, a, stretch=0)


# --------------------------------------------------------------------------------------------------
# 8-bit and PNG
# --------------------------------------------------------------------------------------------------
def test_to_uint8_truncates_like_astropy():
    values = np.array([0.0, 0.5 / 255, 1.0 / 255, 0.5, 254.99 / 255, 1.0])
    np.testing.assert_array_equal(color.to_uint8(values), [0, 0, 1, 127, 254, 255])
    for bad in ([1.5], [-0.1], [np.nan]):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            color.to_uint8(bad)


def test_save_png_right_way_up(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0, 1, (5, 7, 3))
    rgb[0] = (1.0, 0.0, 0.0)                      # row 0 (y = 0, the bottom as displayed): red
    rgb[-1] = (0.0, 0.0, 1.0)                     # last row (the top as displayed): blue
    path = color.save_png(rgb, tmp_path / "new" / "folder" / "m51.png")
    assert path == tmp_path / "new" / "folder" / "m51.png" and path.is_file()
    png = matplotlib.image.imread(path)           # row 0 of a PNG file is its top
    assert png.shape[:2] == (5, 7)
    levels = np.round(png[..., :3] * 255).astype(int)
    np.testing.assert_array_equal(levels[0], np.tile([0, 0, 255], (7, 1)))    # top of the file: blue
    np.testing.assert_array_equal(levels[-1], np.tile([255, 0, 0], (7, 1)))   # bottom: red
    np.testing.assert_array_equal(levels, color.to_uint8(rgb)[::-1])          # every level, flipped


def test_save_png_refuses_to_overwrite(tmp_path):
    path = tmp_path / "composite.png"
    first = np.zeros((3, 3, 3))
    color.save_png(first, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        color.save_png(np.ones((3, 3, 3)), path)
    assert path.read_bytes() == before
    color.save_png(np.ones((3, 3, 3), dtype=np.uint8) * 200, path, overwrite=True)
    np.testing.assert_allclose(matplotlib.image.imread(path)[..., :3], 200 / 255, atol=1e-6)
    with pytest.raises(ValueError, match=r"\.png"):
        color.save_png(first, tmp_path / "composite.jpg")
    with pytest.raises(ValueError, match=r"\(ny, nx, 3\)"):
        color.save_png(np.zeros((3, 3)), tmp_path / "flat.png")
