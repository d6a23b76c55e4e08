"""Magnitudes and zero points."""
import numpy as np
import pytest

from helpers import photometry


def test_instrumental_magnitude_is_minus_2_5_log10_not_natural_log():
    assert photometry.instrumental_magnitude(1.0) == 0.0
    assert photometry.instrumental_magnitude(100.0) == pytest.approx(-5.0)
    assert photometry.instrumental_magnitude(6000.0, exptime=60.0) == pytest.approx(-5.0)
    assert photometry.instrumental_magnitude(np.e) != pytest.approx(-1.0)    # not ln


def test_non_positive_flux_gives_nan_without_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = photometry.instrumental_magnitude([100.0, 0.0, -5.0])
    assert np.isfinite(m[0]) and np.isnan(m[1:]).all()


def test_zero_point_recovers_a_known_offset_and_ignores_outliers():
    rng = np.random.default_rng(2)
    catalogue = rng.uniform(12, 18, 200)
    instrumental = catalogue - 24.6 + rng.normal(0, 0.02, 200)
    instrumental[:5] += 2.0                       # five blended stars
    instrumental[5] = np.nan
    zp, err = photometry.zero_point(instrumental, catalogue)
    assert zp == pytest.approx(24.6, abs=0.005)
    assert 0.001 < err < 0.004                    # about 0.025 / sqrt(199)


def test_zero_point_needs_a_star():
    with pytest.raises(ValueError, match="no star"):
        photometry.zero_point([np.nan], [12.0])


# --------------------------------------------------------------------------------------------------
# calibrated_magnitude, values_at, circle_sum (chapter 03)
# --------------------------------------------------------------------------------------------------
YY, XX = np.mgrid[0:40, 0:60]           # a non-square frame: a swapped x/y cannot go unnoticed


def gaussian_star(x0, y0, total=10000.0, sigma=1.5):
    """A Gaussian star of the given total flux at (x0, y0), sampled at the pixel centres."""
    return total / (2 * np.pi * sigma ** 2) * np.exp(-((XX - x0) ** 2 + (YY - y0) ** 2) / (2 * sigma ** 2))


def test_calibrated_magnitude_adds_the_zero_point_of_the_chosen_stars_only():
    flux = np.array([10000.0, 1000.0, 100.0, 5000.0])
    catalogue = np.array([15.0, 17.5, np.nan, 99.0])       # star 2 unknown, star 3 a wrong catalogue entry
    mag, zp = photometry.calibrated_magnitude(flux, catalogue, use=np.array([True, True, False, False]))
    assert zp == pytest.approx(25.0)
    np.testing.assert_allclose(mag, [15.0, 17.5, 20.0, 25.0 - 2.5 * np.log10(5000.0)])


def test_calibrated_magnitude_colour_is_minus_2_5_log10_of_the_flux_ratio():
    flux_v, flux_b = np.array([1000.0, 2000.0]), np.array([500.0, 4000.0])
    v, _ = photometry.calibrated_magnitude(flux_v, np.array([15.0, np.nan]), use=[0])
    b, _ = photometry.calibrated_magnitude(flux_b, np.array([15.5, np.nan]), use=[0])
    # star 1 has twice star 0's V flux and 8 times its B flux: 4 times bluer, 2.5 log10(4) = 1.505 mag
    assert (b - v)[0] - (b - v)[1] == pytest.approx(2.5 * np.log10(4.0))


def test_calibrated_magnitude_refuses_lists_of_different_stars():
    with pytest.raises(ValueError, match="same stars"):
        photometry.calibrated_magnitude([100.0, 200.0], [15.0, 16.0, 17.0])


def test_values_at_reads_row_y_column_x_of_the_nearest_pixel():
    image = 1000.0 * YY + XX                                 # the value says where it was read
    values = photometry.values_at(image, x=[7.0, 7.4, 7.6, 0.0], y=[2.0, 2.4, 2.6, 39.0])
    np.testing.assert_array_equal(values, [2007.0, 2007.0, 3008.0, 39000.0])
    # a position on the border between two pixels goes up, always (numpy's round would go to even)
    np.testing.assert_array_equal(photometry.values_at(image, [2.5, 3.5], [0.5, 1.5]), [1003.0, 2004.0])


def test_values_at_truncates_like_the_classic_only_when_asked():
    image = 1000.0 * YY + XX
    assert photometry.values_at(image, 7.9, 2.9) == 3008.0
    assert photometry.values_at(image, 7.9, 2.9, rounding="truncate") == 2007.0
    with pytest.raises(ValueError, match="rounding"):
        photometry.values_at(image, 7.9, 2.9, rounding="ceil")


def test_values_at_subtracts_the_background_and_gives_nan_outside():
    import warnings

    image = np.full((40, 60), 100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = photometry.values_at(image, [10.0, -0.6, 59.6, 10.0], [5.0, 5.0, 5.0, 40.2], background=90.0)
    assert values[0] == 10.0 and np.isnan(values[1:]).all()
    assert photometry.values_at(image, -0.4, 0.0) == 100.0                # still in pixel 0


def test_values_at_misses_light_when_the_star_has_moved():
    # the classic's error in one picture: the pixel at the old centre of a star that moved by (0.8, -0.6)
    star, moved = gaussian_star(20.0, 15.0), gaussian_star(20.8, 14.4)
    at_peak = photometry.values_at(star, 20.0, 15.0)
    assert photometry.values_at(moved, 20.0, 15.0) < 0.85 * at_peak
    assert photometry.values_at(moved, 20.8, 14.4) > 0.95 * at_peak    # read at its own centre: close again


def test_circle_sum_counts_the_pixel_centres_inside_the_circle():
    ones = np.ones((40, 60))
    assert photometry.circle_sum(ones, 10.0, 10.0, 1.0) == 5              # the pixel and its 4 neighbours
    assert photometry.circle_sum(ones, 10.0, 10.0, 1.5) == 9
    assert photometry.circle_sum(ones, 10.5, 10.5, 1.0) == 4              # between four pixel centres
    assert photometry.circle_sum(ones, 20.0, 20.0, 10.0) == pytest.approx(np.pi * 100, rel=0.02)


def test_circle_sum_reads_rows_as_y_and_columns_as_x():
    image = np.zeros((40, 60))
    image[5, 30] = 1.0                                    # x = 30, y = 5
    assert photometry.circle_sum(image, 30.0, 5.0, 2.0) == 1.0
    assert photometry.circle_sum(image, 5.0, 30.0, 2.0) == 0.0


def test_circle_sum_recovers_a_stars_flux_wherever_it_falls_in_the_pixel():
    sums = []
    for x0, y0 in [(20.0, 15.0), (20.5, 15.5), (31.3, 17.8), (25.9, 22.2)]:
        image = 50.0 + gaussian_star(x0, y0, total=10000.0, sigma=1.5)
        sums.append(photometry.circle_sum(image, x0, y0, radius=6.0, background=50.0))
    # a Gaussian has 1 - exp(-r^2 / 2 sigma^2) of its light within r: 99.97 % at 4 sigma
    np.testing.assert_allclose(sums, 10000.0, rtol=0.003)


def test_circle_sum_of_many_positions_is_each_one_alone():
    image = np.random.default_rng(4).normal(100.0, 5.0, (40, 60))
    x, y = np.array([10.2, 30.7, 45.5]), np.array([20.0, 8.4, 30.1])
    together = photometry.circle_sum(image, x, y, 3.0, background=100.0)
    alone = [photometry.circle_sum(image, xi, yi, 3.0, background=100.0) for xi, yi in zip(x, y)]
    np.testing.assert_allclose(together, alone)


def test_circle_sum_is_nan_off_the_edge_or_on_a_nan_pixel_only_inside_the_circle():
    image = np.ones((40, 60))
    image[20, 33] = np.nan                               # 3 px right of (30, 20)
    near_edge = photometry.circle_sum(image, [1.0, 2.0, 58.0, 30.0], [20.0, 20.0, 20.0, 39.0], radius=2.0)
    assert np.isnan(near_edge[0]) and near_edge[1] == 13          # pixel x = -1 is needed, then it is not
    assert np.isnan(near_edge[2]) and np.isnan(near_edge[3])      # x = 60 and y = 41 do not exist
    assert photometry.circle_sum(image, 30.0, 20.0, 2.0) == 13    # the NaN pixel is in the box, not the circle
    assert np.isnan(photometry.circle_sum(image, 30.0, 20.0, 3.0))
    assert np.isnan(photometry.circle_sum(image, [np.nan, 10.0], [10.0, np.nan], 2.0)).all()   # no position
    with pytest.raises(ValueError, match="radius"):
        photometry.circle_sum(image, 30.0, 20.0, 0.0)


# --------------------------------------------------------------------------------------------------
# Chapter 06: exact partial pixels, sky annulus, errors, curve of growth, the classic's loop
# --------------------------------------------------------------------------------------------------

from helpers import io                                              # noqa: E402


def _photutils_exact(image, x, y, r):
    aperture = pytest.importorskip("photutils.aperture")
    positions = np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])
    table = aperture.aperture_photometry(image, aperture.CircularAperture(positions, r), method="exact")
    return np.asarray(table["aperture_sum"], dtype=float)


def test_pixel_overlap_closed_cases():
    assert photometry.pixel_overlap(-5, 5, -5, 5, 2.0) == pytest.approx(4 * np.pi, rel=1e-12)     # whole disc
    assert photometry.pixel_overlap(0, 5, 0, 5, 2.0) == pytest.approx(np.pi, rel=1e-12)           # a quarter
    assert photometry.pixel_overlap(0, 5, -5, 5, 2.0) == pytest.approx(2 * np.pi, rel=1e-12)      # a half
    assert photometry.pixel_overlap(-0.5, 0.5, -0.5, 0.5, 10.0) == pytest.approx(1.0, rel=1e-12)  # whole pixel
    assert photometry.pixel_overlap(3.0, 4.0, 0.0, 1.0, 2.0) == 0.0                              # outside
    # a circular segment: the part of the disc beyond x = d is r^2 acos(d/r) - d sqrt(r^2 - d^2)
    r, d = 3.0, 1.2
    segment = r * r * np.arccos(d / r) - d * np.sqrt(r * r - d * d)
    assert photometry.pixel_overlap(d, 10, -10, 10, r) == pytest.approx(segment, rel=1e-12)


def test_pixel_overlap_matches_brute_force_sampling_of_random_rectangles():
    rng = np.random.default_rng(11)
    n = 40
    x0, y0 = rng.uniform(-3, 2, n), rng.uniform(-3, 2, n)
    x1, y1 = x0 + rng.uniform(0.2, 2, n), y0 + rng.uniform(0.2, 2, n)
    r = rng.uniform(0.5, 3, n)
    exact = photometry.pixel_overlap(x0, x1, y0, y1, r)
    fine = 1000
    for k in range(n):
        u = x0[k] + (np.arange(fine) + 0.5) * (x1[k] - x0[k]) / fine
        v = y0[k] + (np.arange(fine) + 0.5) * (y1[k] - y0[k]) / fine
        sampled = np.mean(u[None, :] ** 2 + v[:, None] ** 2 < r[k] ** 2) * (x1[k] - x0[k]) * (y1[k] - y0[k])
        assert exact[k] == pytest.approx(sampled, abs=2e-3 * (x1[k] - x0[k]) * (y1[k] - y0[k]) + 1e-6)


def test_aperture_sum_of_a_uniform_image_is_pi_r_squared_wherever_the_circle_falls():
    ones = np.ones((60, 70))
    rng = np.random.default_rng(3)
    x, y = rng.uniform(20, 50, 200), rng.uniform(20, 40, 200)
    for r in (0.3, 0.5, 1.0, 2.7, 5.0, 9.9):
        total, area = photometry.aperture_sum(ones, x, y, r)
        np.testing.assert_allclose(total, np.pi * r * r, rtol=1e-10)
        np.testing.assert_allclose(area, np.pi * r * r, rtol=1e-10)
    # whole pixels (circle_sum) jump as the circle moves; partial pixels do not
    whole = photometry.circle_sum(ones, x, y, 4.0)
    assert whole.max() - whole.min() >= 4


def test_aperture_sum_agrees_with_photutils_exact_at_random_positions_and_radii():
    rng = np.random.default_rng(7)
    image = rng.normal(100.0, 20.0, (120, 150)) + rng.uniform(0, 1000, (120, 150)) * (rng.random((120, 150)) < 0.05)
    x, y = rng.uniform(20, 130, 300), rng.uniform(20, 100, 300)
    for r in (0.4, 1.0, 1.7, 3.0, 4.5, 8.25, 15.0):
        ours, _ = photometry.aperture_sum(image, x, y, r)
        np.testing.assert_allclose(ours, _photutils_exact(image, x, y, r), rtol=1e-3)      # goal: 0.1 %
        np.testing.assert_allclose(ours, _photutils_exact(image, x, y, r), rtol=1e-9)      # in fact: exact


def test_aperture_sum_agrees_with_photutils_on_the_synthetic_frame():
    from helpers import data

    folder = data.ensure()
    image, _ = io.read_frame(folder / "m13-v-60s-1.fits")
    x, y = data.truth(folder).positions("m13-v-60s-1")
    inside = (x > 20) & (x < image.shape[1] - 20) & (y > 20) & (y < image.shape[0] - 20)
    x, y = x[inside][:400], y[inside][:400]
    for r in (2.5, 4.0, 7.3):
        ours, _ = photometry.aperture_sum(image, x, y, r)
        np.testing.assert_allclose(ours, _photutils_exact(image, x, y, r), rtol=1e-3)


def test_aperture_sum_reads_x_as_column_and_handles_edges_and_nan():
    image = np.zeros((40, 60))
    image[5, 30] = 1.0                                            # x = 30, y = 5
    assert photometry.aperture_sum(image, 30.0, 5.0, 2.0)[0] == pytest.approx(1.0)
    assert photometry.aperture_sum(image, 5.0, 30.0, 2.0)[0] == 0.0
    total, area = photometry.aperture_sum(image, [1.0, 2.6, 30.0, np.nan], [20.0, 20.0, 39.0, 5.0], 2.0)
    assert np.isnan(total[0]) and total[1] == 0.0 and np.isnan(total[2]) and np.isnan(total[3])
    image[20, 33] = np.nan                                        # 3 px right of (30, 20)
    assert np.isfinite(photometry.aperture_sum(image, 30.0, 20.0, 2.4)[0])   # the circle stops at 32.4
    assert np.isnan(photometry.aperture_sum(image, 30.0, 20.0, 2.6)[0])      # and now reaches into x = 33
    with pytest.raises(ValueError, match="radius"):
        photometry.aperture_sum(image, 30.0, 20.0, 0.0)


def test_aperture_sum_of_many_positions_equals_each_alone_and_keeps_the_shape():
    image = np.random.default_rng(5).normal(100.0, 5.0, (50, 60))
    x, y = np.array([[10.2, 30.7], [45.5, 20.0]]), np.array([[20.0, 8.4], [30.1, 25.5]])
    together, area = photometry.aperture_sum(image, x, y, 3.3)
    assert together.shape == (2, 2) and area.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert together[i, j] == pytest.approx(photometry.aperture_sum(image, x[i, j], y[i, j], 3.3)[0])


def test_aperture_weights_show_the_partial_pixels():
    w = photometry.aperture_weights(10.3, 7.8, 2.5, (20, 25))
    assert w.sum() == pytest.approx(np.pi * 2.5 ** 2)
    assert w[8, 10] == 1.0 and w[7, 10] == 1.0                     # pixels around the centre: whole
    assert 0 < w[8, 13] < 1                                       # on the edge: a part
    assert w[0, 0] == 0.0 and w[7, 13] == w[7, 13]                # far away: nothing


def test_annulus_sum_is_the_ring_and_radial_profile_gives_means():
    image = np.full((90, 90), 3.0)
    total, area = photometry.annulus_sum(image, 45.2, 44.9, 5.0, 12.0)
    assert area == pytest.approx(np.pi * (144 - 25)) and total == pytest.approx(3 * area)
    yy, xx = np.mgrid[0:90, 0:90]
    ramp = 200.0 - np.hypot(xx - 45.0, yy - 45.0)               # falls by 1 per pixel
    profile = photometry.radial_profile(ramp, 45.0, 45.0, [0, 10, 20, 30, 40])
    mean_distance = [2 / 3 * (b ** 3 - a ** 3) / (b ** 2 - a ** 2) for a, b in [(0, 10), (10, 20), (20, 30), (30, 40)]]
    np.testing.assert_allclose(profile["mean"], 200.0 - np.array(mean_distance), atol=0.02)
    np.testing.assert_allclose(profile["area"], np.pi * np.diff(np.array([0, 10, 20, 30, 40]) ** 2))
    centre = photometry.radial_profile(ramp, 45.0, 45.0, [0, 10, 20, 30, 40], method="center")
    np.testing.assert_allclose(centre["mean"], profile["mean"], atol=0.2)     # nearly the same, whole pixels
    assert np.all(np.abs(centre["area"] - profile["area"]) < 0.05 * profile["area"])
    with pytest.raises(ValueError, match="method"):
        photometry.radial_profile(ramp, 45.0, 45.0, [0, 10], method="loop")


def test_radial_profile_reads_annuli_from_a_region_table(tmp_path):
    region = tmp_path / "annulus.reg"
    region.write_text("image; annulus 46 46 5 10\nimage; annulus 46 46 10 20\n")    # DS9 is 1-based
    regions = io.read_regions(region)
    image = np.zeros((90, 90))
    image[45, 45 + 7] = 1.0                                        # 7 px from the centre: the first ring
    profile = photometry.radial_profile(image, regions["x"][0], regions["y"][0], regions)
    assert profile["sum"][0] == pytest.approx(1.0) and profile["sum"][1] == pytest.approx(0.0)


def test_annuli_loop_and_vectorised_give_identical_numbers():
    rng = np.random.default_rng(9)
    image = rng.normal(1000.0, 300.0, (37, 53)) * rng.uniform(0.5, 1.5, (37, 53))    # not round numbers
    x, y = 31.37, 14.82
    inner, outer = np.array([0.0, 3.0, 7.5, 10.0, 5.0]), np.array([3.0, 7.5, 12.0, 40.0, 9.0])   # the last overlaps
    pix_loop, npix_loop = photometry.annuli_loop(image, x, y, inner, outer)
    pix_vec, npix_vec = photometry.annuli_vectorised(image, x, y, inner, outer)
    assert np.array_equal(pix_loop, pix_vec) and np.array_equal(npix_loop, npix_vec)       # to the last bit
    # and they are right: whole pixels with inner < r < outer, r measured from (x, y) = (column, row)
    yy, xx = np.mgrid[0:37, 0:53]
    r = np.hypot(xx - x, yy - y)
    for k in range(len(inner)):
        inside = (inner[k] < r) & (r < outer[k])
        assert npix_loop[k] == inside.sum()
        assert pix_loop[k] == pytest.approx(image[inside].sum(), rel=1e-12)


def test_annuli_use_strict_inequalities_and_x_as_the_column():
    image = np.zeros((11, 21))
    image[5, 13] = 1.0                                             # 3 px right of (10, 5)
    pix, npix = photometry.annuli_vectorised(image, 10.0, 5.0, [2.0, 3.0], [3.0, 4.0])
    assert pix.tolist() == [0.0, 0.0]                              # r = 3 exactly is in neither ring
    pix, _ = photometry.annuli_loop(image, 10.0, 5.0, [2.5], [3.5])
    assert pix.tolist() == [1.0]
    pix, _ = photometry.annuli_loop(image, 5.0, 10.0, [2.5], [3.5])   # swapped x and y: another place
    assert pix.tolist() == [0.0]


def test_sky_level_ignores_stars_and_cosmic_rays_in_the_annulus():
    rng = np.random.default_rng(4)
    image = rng.normal(250.0, 10.0, (100, 100))
    yy, xx = np.mgrid[0:100, 0:100]
    for sx, sy in [(70, 50), (35, 28), (50, 75)]:                  # three stars in the annulus around (50, 50)
        image += 20000.0 / (2 * np.pi * 4) * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / 8.0)
    image[50, 30] += 8000.0
    sky, std, n = photometry.sky_level(image, 50.0, 50.0, 15.0, 30.0)
    assert abs(sky[0] - 250.0) < 2.0 and abs(std[0] - 10.0) < 1.5     # the stars' faint wings stay in
    ring = (np.hypot(xx - 50, yy - 50) >= 15) & (np.hypot(xx - 50, yy - 50) < 30)
    assert image[ring].mean() > 260.0                              # the plain mean would be pulled up
    assert n[0] < ring.sum()


def _simulated_field(seed, gain=4.0, read_noise=8.0, sky_e=400.0):
    """A frame in ADU with Gaussian stars of known flux, Poisson noise on electrons and read noise."""
    rng = np.random.default_rng(seed)
    size, sigma = 300, 1.6
    gx, gy = np.meshgrid(np.arange(30, 271, 40), np.arange(30, 271, 40))
    x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
    y = gy.ravel() + rng.uniform(-0.5, 0.5, gx.size)
    flux_e = 10 ** rng.uniform(3.0, 5.0, x.size)                   # 1000 to 100000 electrons
    yy, xx = np.mgrid[0:size, 0:size]
    expected = np.full((size, size), sky_e)
    for xi, yi, fi in zip(x, y, flux_e):
        expected += fi / (2 * np.pi * sigma ** 2) * np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * sigma ** 2))
    electrons = rng.poisson(expected) + rng.normal(0.0, read_noise, expected.shape)
    return electrons / gain, (expected - sky_e) / gain, x, y


def test_flux_errors_from_the_ccd_equation_give_pulls_of_width_one():
    gain, read_noise = 4.0, 8.0
    pulls, wrong = [], []
    for seed in range(24):
        image, noiseless, x, y = _simulated_field(seed, gain, read_noise)
        table = photometry.aperture_photometry(image, x, y, 5.0, 10.0, 18.0, gain=gain, read_noise=read_noise)
        expected, _ = photometry.aperture_sum(noiseless, x, y, 5.0)      # the star's light inside r = 5
        pulls.append((table["flux"] - expected) / table["flux_err"])
        # the error bar the classic would draw, sqrt(counts in ADU), ignores gain, sky and read noise
        wrong.append((table["flux"] - expected) / np.sqrt(table["flux"]))
    pulls, wrong = np.concatenate(pulls), np.concatenate(wrong)
    assert pulls.size == 24 * 49
    assert abs(np.mean(pulls)) < 0.12
    assert 0.92 < np.std(pulls) < 1.08
    assert not 0.8 < np.std(wrong) < 1.2


def test_the_annulus_follows_a_sky_that_changes_across_the_frame():
    """A sky gradient of 150 ADU across the frame (moonlight): the annulus measures the sky around each star, so a
    straight gradient cancels (the annulus is symmetric about the star) and the fluxes stay right to their errors;
    one level for the whole frame (detect.background) is wrong by up to 60 ADU per pixel, thousands of ADU per star."""
    from helpers import detect
    pulls, global_pulls = [], []
    for seed in range(6):
        image, noiseless, x, y = _simulated_field(seed)
        image = image + 0.5 * np.arange(image.shape[1])[None, :]          # +0.5 ADU per column
        table = photometry.aperture_photometry(image, x, y, 5.0, 10.0, 18.0, gain=4.0, read_noise=8.0)
        expected, _ = photometry.aperture_sum(noiseless, x, y, 5.0)
        pulls.append((table["flux"] - expected) / table["flux_err"])
        level, _ = detect.background(image)
        global_pulls.append((table["aperture_sum"] - table["area"] * level - expected) / table["flux_err"])
    pulls, global_pulls = np.concatenate(pulls), np.concatenate(global_pulls)
    assert abs(np.mean(pulls)) < 0.2 and 0.85 < np.std(pulls) < 1.15
    assert np.mean(np.abs(global_pulls) > 5) > 0.5


def test_aperture_photometry_columns_units_and_magnitudes():
    image, noiseless, x, y = _simulated_field(1)
    table = photometry.aperture_photometry(image, x, y, 5.0, 10.0, 18.0, gain=4.0, read_noise=8.0, exptime=30.0)
    assert table.colnames == ["x", "y", "aperture_sum", "area", "sky", "sky_std", "sky_err", "n_sky", "flux",
                              "flux_err", "snr", "mag", "mag_err"]
    np.testing.assert_allclose(table["sky"], 100.0, atol=1.0)                 # 400 e- / 4 e-/ADU
    np.testing.assert_allclose(table["sky_std"], np.sqrt(400 + 64) / 4.0, rtol=0.1)
    np.testing.assert_allclose(table["area"], 25 * np.pi)
    np.testing.assert_allclose(table["flux"], table["aperture_sum"] - table["area"] * table["sky"])
    np.testing.assert_allclose(table["snr"], table["flux"] / table["flux_err"])
    np.testing.assert_allclose(table["mag"], -2.5 * np.log10(table["flux"] / 30.0))
    np.testing.assert_allclose(table["mag_err"], 2.5 / np.log(10) / table["snr"])
    # the error is never below the star's own photon noise, sqrt(N electrons) / gain
    assert np.all(table["flux_err"] > np.sqrt(table["flux"] * 4.0) / 4.0)
    with pytest.raises(ValueError, match="r_in"):
        photometry.aperture_photometry(image, x, y, 12.0, 10.0, 18.0, gain=4.0, read_noise=8.0)


def test_aperture_photometry_error_grows_with_read_noise_and_sky_for_a_faint_star():
    image, _, x, y = _simulated_field(2)
    k = [0]
    quiet = photometry.aperture_photometry(image, x[k], y[k], 5.0, 10.0, 18.0, gain=4.0, read_noise=1.0)
    noisy = photometry.aperture_photometry(image, x[k], y[k], 5.0, 10.0, 18.0, gain=4.0, read_noise=30.0)
    assert noisy["flux_err"][0] > quiet["flux_err"][0]
    # all noise terms, by hand, in electrons
    row = quiet[0]
    n, n_sky = row["area"], row["n_sky"]
    var = row["flux"] * 4.0 + n * (1 + n / n_sky) * (row["sky"] * 4.0 + 1.0)
    assert row["flux_err"] == pytest.approx(np.sqrt(var) / 4.0)


def _pixel_integrated_gaussian(x0, y0, total, sigma, shape):
    """A Gaussian star integrated over each pixel (not sampled at the centres), so that its light within a
    circle is close to the continuous 1 - exp(-r^2 / 2 sigma^2)."""
    from scipy.special import erf

    ny, nx = shape
    edges_x, edges_y = np.arange(nx + 1) - 0.5, np.arange(ny + 1) - 0.5
    fx = np.diff(0.5 * (1 + erf((edges_x - x0) / (np.sqrt(2) * sigma))))
    fy = np.diff(0.5 * (1 + erf((edges_y - y0) / (np.sqrt(2) * sigma))))
    return total * fy[:, None] * fx[None, :]


def test_curve_of_growth_follows_the_enclosed_light_of_a_gaussian():
    sigma = 3.0
    image = 40.0 + _pixel_integrated_gaussian(60.3, 54.8, 50000.0, sigma, (120, 120))
    radii = np.array([2.0, 4.0, 6.0, 9.0, 15.0])
    growth = photometry.curve_of_growth(image, 60.3, 54.8, radii, 25.0, 40.0)
    # within 1 %: a pixel cut by the circle counts by its area, as if its light were spread evenly over it
    np.testing.assert_allclose(growth / 50000.0, 1 - np.exp(-radii ** 2 / (2 * sigma ** 2)), atol=0.01)
    both = photometry.curve_of_growth(image, [60.3, 60.3], [54.8, 54.8], radii, 25.0, 40.0, normalise=True)
    assert both.shape == (2, 5) and both[0, -1] == 1.0
    with pytest.raises(ValueError, match="r_in"):
        photometry.curve_of_growth(image, 60.3, 54.8, [30.0], 25.0, 40.0)


def test_aperture_correction_is_the_median_over_stars_and_shrugs_off_one_blend():
    sigma = 2.0
    positions = [(30.2, 30.7), (90.6, 30.1), (30.4, 90.5), (90.1, 90.9), (60.5, 60.2)]
    image = np.full((120, 120), 10.0)
    for x0, y0 in positions:
        image += _pixel_integrated_gaussian(x0, y0, 40000.0, sigma, image.shape)
    x, y = np.array(positions).T
    clean, error = photometry.aperture_correction(image, x, y, 3.0, 10.0, 15.0, 25.0)
    # a Gaussian holds 1 - exp(-r^2 / 2 sigma^2) within r (the pixels make r = 3 px hold a little less)
    assert clean == pytest.approx(2.5 * np.log10(1 - np.exp(-9 / (2 * sigma ** 2))), abs=0.03)
    assert error < 0.002
    image += _pixel_integrated_gaussian(60.5 + 5.0, 60.2, 30000.0, sigma, image.shape)   # a neighbour
    growth = photometry.curve_of_growth(image, x, y, [3.0, 10.0], 15.0, 25.0)
    alone = -2.5 * np.log10(growth[:, 1] / growth[:, 0])
    assert alone[4] < clean - 0.3                                  # the blended star alone is far off
    blended, _ = photometry.aperture_correction(image, x, y, 3.0, 10.0, 15.0, 25.0)
    assert blended == pytest.approx(clean, abs=0.002)              # the median is not


def test_effective_gain_of_an_average_and_a_median():
    assert photometry.effective_gain(1.5, 10.0, 3) == pytest.approx((4.5, 10 * np.sqrt(3)))
    g, rn = photometry.effective_gain(1.5, 10.0, 3, method="median")
    assert g == pytest.approx(1.5 / 0.4487, rel=1e-3) and rn == pytest.approx(10 / np.sqrt(0.4487), rel=1e-3)
    # check the variance of the median against a simulation, for odd and even numbers of frames
    rng = np.random.default_rng(0)
    for n in (3, 4, 5):
        simulated = np.var(np.median(rng.normal(size=(200000, n)), axis=1))
        g, _ = photometry.effective_gain(1.0, 1.0, n, method="median")
        assert 1 / g == pytest.approx(simulated, rel=0.02)
    with pytest.raises(ValueError, match="method"):
        photometry.effective_gain(1.5, 10.0, 3, method="sum")


def test_sums_agree_with_the_source_extractor_catalogue_of_a_real_frame(realdata):
    """The sep test image (ESO NTT) and its Source Extractor catalogue: FLUX_APER is a 10 px DIAMETER
    aperture (r = 5), on a background-subtracted image; positions are 1-based."""
    image, _ = io.read_frame(realdata / "sep_eso_field" / "image.fits")
    catalogue = np.loadtxt(realdata / "sep_eso_field" / "image.cat", comments="#")
    x, y = catalogue[:, 1] - 1.0, catalogue[:, 2] - 1.0
    flux_aper, flux_err, flags = catalogue[:, 12], catalogue[:, 13], catalogue[:, 20].astype(int)
    clean = flags == 0
    assert clean.sum() == 53
    sky, _, _ = photometry.sky_level(image, x, y, 15.0, 30.0)          # a local background for each object
    total, _ = photometry.aperture_sum(image, x, y, 5.0)
    ours = total - np.pi * 25.0 * sky
    ratio = ours[clean] / flux_aper[clean]
    assert np.isfinite(ratio).all()
    assert abs(np.median(ratio) - 1) < 0.02                                # median: within 2 %
    well_measured = clean & (flux_aper > 10 * flux_err)
    good_ratio = ours[well_measured] / flux_aper[well_measured]
    assert well_measured.sum() >= 25
    assert abs(np.median(good_ratio) - 1) < 0.01
    assert 1.4826 * np.median(np.abs(good_ratio - np.median(good_ratio))) < 0.04       # scatter: a few %
    # the differences are small against the catalogue's own errors
    assert np.median(np.abs(ours - flux_aper)[clean] / flux_err[clean]) < 0.5
