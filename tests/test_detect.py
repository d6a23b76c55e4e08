"""helpers.detect: background, star finding and centroids, checked against analytic stars and the truth."""
import time
import warnings

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from helpers import align, data, detect

YY, XX = np.mgrid[0:60, 0:90]          # a non-square frame: a swapped x/y cannot go unnoticed


def gaussian(x0, y0, amplitude=2000.0, sigma=1.7):
    return amplitude * np.exp(-((XX - x0) ** 2 + (YY - y0) ** 2) / (2 * sigma ** 2))


def noisy(image, seed=0, level=100.0, noise=2.0):
    return level + image + np.random.default_rng(seed).normal(0.0, noise, image.shape)


@pytest.fixture(scope="module")
def default_v():
    """The default set's first V frame (calibrated), its truth, and its stars found at the defaults."""
    folder = data.ensure()
    truth = data.truth(folder)
    image = truth.calibrated("m13-v-60s-1")
    level_noise = detect.background(image)
    stars = detect.find_stars(image, background=level_noise)
    return image, truth, level_noise, stars


def matched_errors(stars, truth_x, truth_y, tol=1.5):
    """Index of the truth star each detection matches (-1: none) and the distances of the matches."""
    i_star, i_truth = align.match(np.column_stack([stars["x"], stars["y"]]),
                                  np.column_stack([truth_x, truth_y]), tol)
    error = np.full(len(truth_x), np.nan)
    error[i_truth] = np.hypot(stars["x"][i_star] - truth_x[i_truth], stars["y"][i_star] - truth_y[i_truth])
    return i_star, i_truth, error


# ---------------------------------------------------------------------------------------- background
def test_background_of_pure_noise():
    sky = np.random.default_rng(1).normal(500.0, 12.0, (300, 300))
    level, noise = detect.background(sky)
    assert level == pytest.approx(500.0, abs=0.2)
    assert noise == pytest.approx(12.0, rel=0.03)


def test_background_is_robust_to_the_crowded_cluster(default_v):
    image, truth, (level, noise), _ = default_v
    gain, exptime = truth.camera["gain"], 60.0
    sky = truth.bands["V"]["sky"] * exptime / gain                        # ADU, flat divided out
    expected_noise = np.sqrt(truth.bands["V"]["sky"] * exptime + truth.camera["dark_current"] * exptime
                             + truth.camera["read_noise"] ** 2) / gain
    assert level == pytest.approx(sky, rel=0.02)
    assert 0.9 < noise / expected_noise < 1.2          # faint unresolved stars add a little
    # the classic's statistics are pulled far up by the stars
    assert np.std(image) > 10 * noise
    assert detect.classic_threshold(image, k=2) > level + 50 * noise


def test_background_ignores_nan():
    sky = np.random.default_rng(2).normal(100.0, 5.0, (200, 200))
    with_nan = sky.copy()
    with_nan[:, :30] = np.nan
    assert detect.background(with_nan) == pytest.approx(detect.background(sky[:, 30:]))
    with pytest.raises(ValueError, match="no finite pixel"):
        detect.background(np.full((10, 10), np.nan))


# ---------------------------------------------------------------------------------------- analytic stars
def test_single_star_at_a_known_subpixel_position():
    image = noisy(gaussian(61.37, 22.81))
    stars = detect.find_stars(image)
    assert len(stars) == 1
    assert stars["x"][0] == pytest.approx(61.37, abs=0.01)       # x is the column ...
    assert stars["y"][0] == pytest.approx(22.81, abs=0.01)       # ... and y the row
    brightest_pixel = 2000 * np.exp(-(0.37 ** 2 + 0.19 ** 2) / (2 * 1.7 ** 2))       # at x=61, y=23
    assert stars["peak"][0] == pytest.approx(brightest_pixel, rel=0.02)
    assert stars.meta["fwhm"] == pytest.approx(2.3548 * 1.7, rel=0.15)


def test_plain_centroid_is_center_of_mass_with_rows_first():
    """refine=False gives scipy's center_of_mass of the thresholded group, which is (row, col)."""
    image = noisy(gaussian(30.6, 41.2, amplitude=300.0), seed=4)
    level, noise = detect.background(image)
    stars = detect.find_stars(image, refine=False, background=(level, noise))
    labels, n = ndimage.label(image - level > 5 * noise, np.ones((3, 3)))
    row, col = ndimage.center_of_mass(image - level, labels, 1)
    assert n == 1 and len(stars) == 1
    assert (stars["x"][0], stars["y"][0]) == pytest.approx((col, row), abs=1e-9)
    assert abs(row - 41.2) < 0.2 and abs(col - 30.6) < 0.2


def test_windowed_centroid_is_unbiased_for_many_subpixel_positions():
    for x0, y0 in np.random.default_rng(5).uniform(20, 40, (25, 2)):
        x, y = detect.windowed_centroid(gaussian(x0, y0), [round(x0)], [round(y0)], fwhm=4.0)
        assert (x[0], y[0]) == pytest.approx((x0, y0), abs=1e-3)


def test_touching_stars_are_split():
    image = noisy(gaussian(40.0, 30.0) + gaussian(44.6, 31.5, amplitude=1200.0), seed=6)
    stars = detect.find_stars(image)
    assert len(stars) == 2
    assert stars["group"][0] == stars["group"][1]                # one group, two stars
    assert (stars["x"][0], stars["y"][0]) == pytest.approx((40.0, 30.0), abs=0.15)
    assert (stars["x"][1], stars["y"][1]) == pytest.approx((44.6, 31.5), abs=0.15)
    assert stars["flux"][0] > stars["flux"][1]                   # brightest first


def test_cosmic_ray_is_not_a_star():
    image = noisy(gaussian(30.0, 30.0), seed=7)
    image[10, 60:66] += 900.0                                    # a 6-pixel track, not blurred
    assert len(detect.find_stars(image)) == 1
    assert len(detect.find_stars(image, cosmic=None)) > 1       # without the cleaning it counts as stars


def test_saturated_and_edge_flags():
    image = gaussian(30.0, 30.0, amplitude=9000.0) + gaussian(1.5, 45.0) + gaussian(70.0, 20.0)
    image = noisy(np.minimum(image, 5000.0), seed=8)             # a flat top at 5000
    stars = detect.find_stars(image, saturation=5000.0)
    assert len(stars) == 3                                       # the flat top is one star
    by_x = {round(float(x)): row for x, row in zip(stars["x"], stars)}
    assert by_x[30]["saturated"] and not by_x[30]["edge"]
    assert by_x[2]["edge"] and not by_x[2]["saturated"]
    assert not by_x[70]["edge"] and not by_x[70]["saturated"]


def test_flux_and_columns():
    image = noisy(gaussian(45.0, 30.0), seed=9)
    stars = detect.find_stars(image)
    assert stars.colnames == list(detect.COLUMNS)
    total = 2000.0 * 2 * np.pi * 1.7 ** 2
    assert 0.85 * total < stars["flux"][0] < total               # the wings below the threshold are missing
    assert stars["npix"][0] >= 5 and stars["id"][0] == 1
    # printed rounded (the same on every machine), the numbers themselves untouched
    assert stars["x"].info.format == ".2f" and "45.00" in "\n".join(stars.pformat())
    assert detect.find_stars(image, threshold=1e6)["flux"].info.format == ".1f"


# ---------------------------------------------------------------------------------------- finding nothing
def test_nothing_found_is_an_empty_table_with_a_message():
    image = noisy(gaussian(45.0, 30.0), seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = detect.find_stars(image, threshold=50000.0)
    assert len(empty) == 0 and empty.colnames == list(detect.COLUMNS)
    assert "no pixel is 50000 sigma above the background" in empty.meta["message"]
    assert "lower the threshold" in empty.meta["message"]


def test_only_tiny_groups_message():
    image = np.random.default_rng(11).normal(100.0, 2.0, (50, 50))
    image[10, 10] = image[30, 40] = 400.0                         # hot pixels
    empty = detect.find_stars(image, cosmic=None)
    assert len(empty) == 0
    assert "min_pixels=5" in empty.meta["message"]


# ---------------------------------------------------------------------------------------- the truth
def test_accuracy_against_the_truth(default_v):
    image, truth, level_noise, stars = default_v
    truth_x, truth_y = truth.positions("m13-v-60s-1")
    snr = np.asarray(truth.stars["snr_v"])
    ny, nx = image.shape
    bright = (snr > 50) & (truth_x >= 0) & (truth_x <= nx - 1) & (truth_y >= 0) & (truth_y <= ny - 1)
    i_star, i_truth, error = matched_errors(stars, truth_x, truth_y)
    completeness = np.isfinite(error[bright]).mean()
    false_fraction = 1 - len(i_star) / len(stars)
    centroid_error = np.nanmedian(error[bright])
    assert completeness >= 0.95
    assert false_fraction <= 0.02
    assert centroid_error <= 0.05
    # the plain centroid of the thresholded pixels is biased: the window refinement does better
    plain = detect.find_stars(image, background=level_noise, refine=False)
    assert np.nanmedian(matched_errors(plain, truth_x, truth_y)[2][bright]) > 2 * centroid_error
    # the slider's helper gives the same numbers
    summary = detect.detection_summary(image, 5.0, truth_x, truth_y, snr, background=level_noise)
    assert summary["count"] == len(stars) and summary["matched"] == len(i_star)
    assert summary["completeness"] == pytest.approx(completeness)
    assert summary["false_fraction"] == pytest.approx(false_fraction)
    assert summary["centroid_error"] == pytest.approx(centroid_error)
    assert np.array_equal(summary["found"], np.isfinite(error))
    assert np.array_equal(summary["counted"], bright)
    print(f"\ncompleteness {completeness:.3f}, median centroid error {centroid_error:.4f} px, "
          f"false {false_fraction:.4f}")


def test_rows_and_columns_against_the_truth(default_v):
    """Swapping x and y (the classic's mistake) loses almost every star."""
    _, truth, _, stars = default_v
    truth_x, truth_y = truth.positions("m13-v-60s-1")
    swapped = stars.copy()
    swapped["x"], swapped["y"] = stars["y"], stars["x"]
    assert len(matched_errors(swapped, truth_x, truth_y)[0]) < 0.1 * len(stars)


def test_a_higher_threshold_finds_fewer_stars(default_v):
    image, truth, level_noise, _ = default_v
    truth_x, truth_y = truth.positions("m13-v-60s-1")
    snr = np.asarray(truth.stars["snr_v"])
    started = time.perf_counter()
    low = detect.detection_summary(image, 3.0, truth_x, truth_y, snr, background=level_noise)
    seconds = time.perf_counter() - started
    high = detect.detection_summary(image, 30.0, truth_x, truth_y, snr, background=level_noise)
    assert low["count"] > high["count"] > 0
    assert low["completeness"] >= high["completeness"]
    assert seconds < 2.0                                         # a slider update; about 0.1 s on a laptop


# ---------------------------------------------------------------------------------------- the cluster centre
def king_cluster(seed, centre=(300.0, 170.0), shape=(300, 400), n_cluster=20000, n_field=2000):
    """Positions of a King-like cluster (core radius 30 px) plus field stars, as seen in a frame of
    ``shape``: the frame cuts the cluster's outskirts unevenly, because the centre is off the middle."""
    from helpers import observatory

    rng = np.random.default_rng(seed)
    radius = observatory.king_radii(rng, n_cluster, 30.0, 800.0, r_max=400.0)
    angle = rng.uniform(0, 2 * np.pi, n_cluster)
    ny, nx = shape
    x = np.concatenate([centre[0] + radius * np.cos(angle), rng.uniform(0, nx, n_field)])
    y = np.concatenate([centre[1] + radius * np.sin(angle), rng.uniform(0, ny, n_field)])
    seen = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    return x[seen], y[seen]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_centre_of_a_king_cluster_cut_by_the_frame(seed):
    x, y = king_cluster(seed)
    centre_x, centre_y = detect.cluster_centre(x, y)
    assert (centre_x, centre_y) == pytest.approx((300.0, 170.0), abs=1.5)
    # the easy answers are far off: the test would catch a method that gave them
    assert np.hypot(x.mean() - 300.0, y.mean() - 170.0) > 15                  # the plain mean
    assert np.hypot(np.median(x) - 300.0, np.median(y) - 170.0) > 5           # the median
    assert np.hypot(399 / 2 - 300.0, 299 / 2 - 170.0) > 100                   # the middle of the frame


def test_cluster_centre_keeps_x_and_y_apart():
    x, y = king_cluster(3, centre=(120.0, 220.0))
    assert detect.cluster_centre(x, y) == pytest.approx((120.0, 220.0), abs=1.5)
    assert detect.cluster_centre(y, x) == pytest.approx((220.0, 120.0), abs=1.5)


def test_cluster_centre_weights_and_radius():
    x, y = king_cluster(4)
    ones = np.ones_like(x)
    assert detect.cluster_centre(x, y, flux=ones) == pytest.approx(detect.cluster_centre(x, y))
    # light weighting: one very bright star 20 px to the right of the centre pulls the centre of light
    bright_x, bright_y = np.append(x, 320.0), np.append(y, 170.0)
    flux = np.append(ones, 0.5 * len(x))
    assert detect.cluster_centre(bright_x, bright_y, flux=flux, radius=60.0)[0] > 303.0
    assert detect.cluster_centre(bright_x, bright_y, radius=60.0)[0] == pytest.approx(300.0, abs=1.5)


def test_cluster_centre_bad_input():
    with pytest.raises(ValueError, match="same, non-zero length"):
        detect.cluster_centre([], [])
    with pytest.raises(ValueError, match="shrink"):
        detect.cluster_centre([1.0, 2.0], [1.0, 2.0], shrink=1.5)
    with pytest.raises(ValueError, match="no star"):
        detect.cluster_centre([1.0, 2.0], [1.0, 2.0], flux=[0.0, 0.0])


def test_cluster_centre_of_the_default_cluster(default_v):
    """The cluster of the default set is about 40 px from the middle of the frame; the stars find it."""
    image, truth, _, stars = default_v
    true_x, true_y = truth.cluster["centre_x"], truth.cluster["centre_y"]     # frame 1 is the reference
    centre_x, centre_y = detect.cluster_centre(stars["x"], stars["y"])
    ny, nx = image.shape
    frame_miss = np.hypot((nx - 1) / 2 - true_x, (ny - 1) / 2 - true_y)
    miss = np.hypot(centre_x - true_x, centre_y - true_y)
    assert frame_miss > 35
    assert miss < 12                    # ~900 stars in a King profile: a few pixels of sampling noise
    print(f"\ncluster centre off by {miss:.1f} px (middle of the frame: {frame_miss:.1f} px)")


def test_a_sky_gradient_needs_a_background_map():
    """A sky that brightens across the frame (scattered moonlight): one global level finds false "stars" on
    the bright side and misses the faint stars on the dark side; the mesh background finds the true ones."""
    rng = np.random.default_rng(21)
    ny, nx = 300, 300
    yy, xx = np.mgrid[0:ny, 0:nx]
    true_x, true_y = rng.uniform(10, nx - 10, 60), rng.uniform(10, ny - 10, 60)
    image = 200.0 + 0.6 * xx + rng.normal(0, 5.0, (ny, nx))                     # 180 ADU across the frame
    for x0, y0 in zip(true_x, true_y):
        image += 300.0 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 1.5 ** 2))   # faint stars: peak 60 sigma
    level, noise = detect.background_map(image, box=32)
    assert noise == pytest.approx(5.0, rel=0.1)
    assert np.max(np.abs(level - (200.0 + 0.6 * xx))) < 3.0
    truth = np.column_stack([true_x, true_y])
    for background, should_be_right in ((None, False), ((level, noise), True)):
        found = detect.find_stars(image, threshold=5.0, background=background)
        i_found, _ = align.match(np.column_stack([found["x"], found["y"]]), truth, 1.0)
        right = len(i_found) >= 0.95 * len(truth) and len(found) - len(i_found) <= 2
        assert right == should_be_right, (len(found), len(i_found))


def test_a_star_whose_centroid_could_not_be_refined_says_so():
    """A faint star in a bright one's wing keeps a whole-pixel position: the table must say it is not refined."""
    yy, xx = np.mgrid[0:80, 0:80]
    rng = np.random.default_rng(8)

    def star(x0, y0, flux, sigma):
        return flux / (2 * np.pi * sigma ** 2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma ** 2))
    image = 100 + star(40.3, 40.6, 2e6, 2.0) + star(46.4, 41.2, 1e5, 2.0) + star(15.35, 60.7, 3e4, 2.0)
    image = image + rng.normal(0, 5, image.shape)
    stars = detect.find_stars(image)
    assert stars.meta["n_unrefined"] == int((~stars["refined"]).sum()) == 1
    lost = stars[~stars["refined"]][0]                     # the neighbour: its window ran into the bright star
    assert np.hypot(lost["x"] - 46.4, lost["y"] - 41.2) < 2.0
    lone = stars[np.hypot(stars["x"] - 15.35, stars["y"] - 60.7) < 1]
    assert len(lone) == 1 and lone["refined"][0]                              # an isolated star: refined
    for row in stars[~stars["refined"]]:                                      # not refined: whole pixels
        assert float(row["x"]).is_integer() and float(row["y"]).is_integer()
    plain = detect.find_stars(image, refine=False)
    assert not plain["refined"].any()


# ---------------------------------------------------------------------------------------- faint stars, galaxies
def faint_field(seed, n=80, shape=(300, 300), flux=600.0, sigma=1.7, noise=5.0):
    """``n`` stars of one flux scattered on a flat sky (Gaussian, ``sigma`` px): the image and the true positions."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    true_x, true_y = rng.uniform(8, nx - 8, n), rng.uniform(8, ny - 8, n)
    image = np.full(shape, 100.0)
    for x0, y0 in zip(true_x, true_y):
        image += flux / (2 * np.pi * sigma ** 2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma ** 2))
    return image + rng.normal(0.0, noise, shape), np.column_stack([true_x, true_y])


def test_smoothing_first_finds_the_faint_stars_that_single_pixels_hide():
    """Stars whose brightest pixel is only 2.8 sigma: thresholding pixels finds none; thresholding the image smoothed by
    the star's own shape (the matched filter) finds nearly all, and pure noise still gives (almost) nothing."""
    image, truth = faint_field(5, flux=250.0)            # peak 250 / (2 pi 1.7^2) = 13.8 ADU = 2.8 sigma
    plain = detect.find_stars(image, threshold=5.0, fwhm=4.0)
    smoothed = detect.find_stars(image, threshold=5.0, fwhm=4.0, smooth=True)
    found = {}
    for name, stars in (("plain", plain), ("smoothed", smoothed)):
        xy = np.column_stack([stars["x"], stars["y"]])
        found[name] = len(align.match(xy, truth, 1.0)[1]) / len(truth)
        assert len(stars) - len(align.match(xy, truth, 2.0)[0]) <= 2, name       # no flood of false detections
    assert found["plain"] < 0.1 and found["smoothed"] > 0.85, found
    assert smoothed["refined"].all()
    assert smoothed.meta["smooth"] == 4.0 and smoothed.meta["smoothed_noise"] < 0.3 * smoothed.meta["noise"]
    noise = np.random.default_rng(6).normal(100.0, 5.0, (300, 300))
    assert len(detect.find_stars(noise, threshold=5.0, fwhm=4.0, smooth=True)) <= 1
    assert len(detect.find_stars(noise, threshold=4.0, fwhm=4.0, smooth=True)) <= 3


def test_smoothing_keeps_two_faint_stars_of_one_group_apart():
    """Smoothing joins two faint stars 7 px apart into one group; both are still found (the light dips between)."""
    image = noisy(gaussian(30.2, 30.4, 12.0) + gaussian(37.1, 30.7, 9.0), seed=3)
    stars = detect.find_stars(image, threshold=4.0, fwhm=4.0, smooth=True)
    truth = np.array([[30.2, 30.4], [37.1, 30.7]])
    i_stars, _ = align.match(np.column_stack([stars["x"], stars["y"]]), truth, 1.0)
    assert len(i_stars) == 2 and len(stars) == 2, stars
    one_star = detect.find_stars(noisy(gaussian(30.2, 30.4, 12.0), seed=3), threshold=4.0, fwhm=4.0, smooth=True)
    assert len(one_star) == 1                                   # a lone star's noisy wing is not a second star


def galaxy_and_stars(seed=3):
    """A bright inclined disc galaxy with a bulge, a star on its disc and four stars around it (Poisson noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:200, 0:200]

    def star(x0, y0, flux, fwhm=3.0):
        s = fwhm / 2.3548
        return flux / (2 * np.pi * s * s) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s * s))
    dx, dy = xx - 100.3, yy - 90.7
    angle = np.radians(30)
    r = np.hypot(dx * np.cos(angle) + dy * np.sin(angle), (-dx * np.sin(angle) + dy * np.cos(angle)) / 0.6)
    galaxy = 2000 * np.exp(-r / 9.0) + 3000 * np.exp(-3 * (r / 2.0) ** 0.5)
    stars = [(30.2, 40.7, 20000), (160.5, 150.1, 8000), (40.6, 170.3, 3000), (170.2, 30.9, 50000),
             (125.4, 95.2, 6000)]
    image = 300.0 + galaxy + sum(star(x, y, f) for x, y, f in stars)
    return rng.poisson(image).astype(float) + rng.normal(0, 5, image.shape), np.array([s[:2] for s in stars])


@pytest.mark.parametrize("smooth", [None, True])
def test_a_galaxy_is_one_extended_object_not_dozens_of_stars(smooth):
    image, star_xy = galaxy_and_stars()
    found = detect.find_stars(image, smooth=smooth)
    extended = found[found["extended"]]
    assert len(extended) == 1, found                            # the galaxy: one object, flagged
    assert np.hypot(extended["x"][0] - 100.3, extended["y"][0] - 90.7) < 0.3      # at its bright centre
    assert extended["refined"][0]
    assert extended["flux"][0] > 4e5                            # its slopes joined to it (about 6e5 in all)
    points = found[~found["extended"]]
    i_points, i_true = align.match(np.column_stack([points["x"], points["y"]]), star_xy, 0.3)
    assert len(i_true) == len(star_xy)                          # every star, the one on the disc too, to 0.3 px
    assert len(points) - len(i_points) <= 1                     # at most one noise bump on the galaxy's outskirts
    assert points["width"][i_points] == pytest.approx(found.meta["fwhm"], rel=0.25)


def test_a_broad_star_is_extended_and_centred_with_a_window_of_its_own_width():
    """A star three times wider than the others (out of focus, or a small galaxy): flagged extended, and centred with a
    window of its own width; a window as narrow as the other stars wanders on its flat top (3.6 px off before)."""
    yy, xx = np.mgrid[0:120, 0:120]

    def star(x0, y0, flux, sigma):
        return flux / (2 * np.pi * sigma ** 2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma ** 2))
    image = 100 + star(30.3, 30.6, 20000, 1.5) + star(90.2, 30.4, 15000, 1.5) + star(30.7, 90.2, 18000, 1.5)
    for seed, flux in enumerate([8000, 30000]):
        noisy_image = image + star(85.37, 88.71, flux, 4.5) + np.random.default_rng(seed + 4).normal(0, 3, image.shape)
        found = detect.find_stars(noisy_image)
        broad = found[np.hypot(found["x"] - 85.37, found["y"] - 88.71) < 5]
        assert len(broad) == 1 and broad["extended"][0] and broad["refined"][0]
        assert np.hypot(broad["x"][0] - 85.37, broad["y"][0] - 88.71) < 0.3
        assert broad["width"][0] > 2 * found.meta["fwhm"]
        assert not found["extended"][found["id"] != broad["id"][0]].any()


def eso_field(realdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # the frame's non-standard ESO-LOG cards
        from astropy.io import fits
        image = fits.getdata(realdata / "sep_eso_field" / "image.fits").astype(float)
    catalogue = np.loadtxt(realdata / "sep_eso_field" / "image.cat", comments="#")
    return image, catalogue


def test_the_eso_deep_field_against_source_extractor(realdata):
    """A real deep field (ESO NTT, 256x256): most of its objects are faint galaxies. Source Extractor's catalogue
    (detection on a filtered image at 1.5 sigma) is the reference, its windowed positions (XWIN_IMAGE, the kind of
    centroid find_stars gives) and its isophotal ones (X_IMAGE). Pixels above 5 sigma find 40 % of its 53 clean
    objects within 1 px; smoothing first (chapter 02) finds 87 % at 4 sigma of the smoothed image and 92 % at
    3 sigma (81 and 89 % of the isophotal positions: a faint galaxy's brightest knot is not its light's centre),
    with at most 5 detections in the negative image (the rate of false alarms from the noise)."""
    image, catalogue = eso_field(realdata)
    clean = catalogue[:, -1] == 0
    windowed, isophotal = catalogue[clean][:, 3:5] - 1.0, catalogue[clean][:, 1:3] - 1.0   # 1-based -> 0-based
    negative = 2 * np.median(image) - image                     # the same noise, no objects
    share = {}
    for name, options in (("plain 5", dict(threshold=5.0)), ("smoothed 4", dict(threshold=4.0, smooth=True)),
                          ("smoothed 3", dict(threshold=3.0, smooth=True))):
        stars = detect.find_stars(image, **options)
        xy = np.column_stack([stars["x"], stars["y"]])
        share[name] = [len(align.match(reference, xy, 1.0)[0]) / clean.sum() for reference in (windowed, isophotal)]
        assert len(detect.find_stars(negative, fwhm=stars.meta["fwhm"], **options)) <= 5
        if name == "smoothed 3":
            # every clean object is detected (a detection within 2.5 px), except single-pixel spikes, sharper than
            # any star (A_IMAGE < 0.8 px against 1.0-1.4 for the stars): cosmic rays, which find_stars cleans away
            distance = cKDTree(xy).query(isophotal)[0]
            spike = catalogue[clean][:, 11] < 0.8
            assert np.all(distance[~spike] < 2.5), distance[~spike]
    assert share["plain 5"][0] < 0.45, share
    assert share["smoothed 4"][0] >= 0.85 and share["smoothed 4"][1] >= 0.8, share
    assert share["smoothed 3"][0] >= 0.9 and share["smoothed 3"][1] >= 0.87, share


def test_a_saturated_star_whose_window_ran_off_sits_in_the_middle_of_its_flat_top(default_v):
    """In the cluster's core a saturated star's window runs off (its neighbours' light): it used to keep its brightest
    pixel, 1.24 px from the truth; the middle of its round plateau is its centre."""
    _, truth, _, stars = default_v
    true_x, true_y = truth.positions("m13-v-60s-1")
    saturated = stars[~stars["refined"] & (stars["peak"] > 0.9 * stars["peak"].max())]
    assert len(saturated) >= 1
    for star in saturated:
        assert np.hypot(true_x - star["x"], true_y - star["y"]).min() < 0.2


def test_two_touching_saturated_stars_are_not_moved_to_the_middle_of_their_long_plateau():
    yy, xx = np.mgrid[0:80, 0:80]

    def moffat(x0, y0, flux, fwhm=4.0, beta=3.0):
        alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
        return flux * (beta - 1) / (np.pi * alpha ** 2) * (1 + ((xx - x0) ** 2 + (yy - y0) ** 2) / alpha ** 2) ** -beta
    image = np.minimum(200 + moffat(40.3, 40.7, 3e6) + moffat(45.3, 42.8, 1e6), 30000.0)
    found = detect.find_stars(image + np.random.default_rng(2).normal(0, 5, image.shape))
    assert np.hypot(found["x"] - 40.3, found["y"] - 40.7).min() < 0.5       # at its brightest pixel, not 1.4 px off
