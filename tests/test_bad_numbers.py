"""Numbers a student can get wrong: each gets a clear error (or a handled result), never a raw Python error,
a flood of "stars" or an all-NaN answer with no word (the bad-input items of issue 10)."""
import warnings

import numpy as np
import pytest

from helpers import camera, color, detect, photometry, reduce


@pytest.fixture(scope="module")
def starry():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:64, 0:64]
    return 100 + 500 * np.exp(-((xx - 30.3) ** 2 + (yy - 20.6) ** 2) / 4.0) + rng.normal(0, 3, (64, 64))


@pytest.mark.parametrize("threshold, error, words", [(0, ValueError, "more than 0"), (-3, ValueError, "more than 0"),
                                                     (np.nan, ValueError, "finite"), ("5", TypeError, "write 5"),
                                                     (None, TypeError, "must be a number")])
def test_find_stars_refuses_a_threshold_that_is_not_a_positive_number(starry, threshold, error, words):
    with pytest.raises(error, match=words):
        detect.find_stars(starry, threshold=threshold)


@pytest.mark.parametrize("fwhm", [0, -2.0, np.nan])
def test_find_stars_refuses_a_bad_fwhm(starry, fwhm):
    with pytest.raises(ValueError, match="fwhm"):
        detect.find_stars(starry, fwhm=fwhm)


def test_a_constant_frame_is_called_constant_not_told_to_lower_the_threshold():
    stars = detect.find_stars(np.full((50, 50), 100.0))
    assert len(stars) == 0 and "constant" in stars.meta["message"] and "lower" not in stars.meta["message"]


def test_read_noise_of_a_frame_with_itself_is_refused():
    bias = np.random.default_rng(1).normal(100, 5, (40, 40))
    with pytest.raises(ValueError, match="identical"):
        camera.read_noise(bias, bias)


def test_a_master_bias_of_frames_without_data_is_refused():
    with pytest.raises(ValueError, match="every pixel"):
        reduce.master_bias(np.full((3, 10, 10), np.nan))


def test_two_frames_say_that_a_cosmic_ray_stays():
    stack = np.zeros((2, 4, 4))
    stack[1, 2, 2] = 5000.0
    for method in ("median", "sigma_clip"):
        with pytest.warns(reduce.CombineWarning, match="cosmic ray"):
            combined = reduce.combine(stack, method)
        assert combined[2, 2] == 2500.0            # what the warning says: the mean, cosmic ray at half height
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reduce.combine(stack, "mean")             # a mean promises nothing about cosmic rays: no warning
        reduce.combine(np.zeros((3, 4, 4)), "median")


def test_an_overscan_with_a_nan_pixel_still_works_and_an_empty_one_is_refused():
    frame = np.full((4, 6), 150.0)
    frame[:, 0] = 100.0
    frame[:, 1] = 102.0
    frame[2, 0] = np.nan                          # one dead pixel in the strip
    result = reduce.subtract_overscan(frame, "[1:2,1:4]")
    assert np.all(np.isfinite(result[:, 2:]))
    frame[2, 1] = np.nan                          # the whole strip of that row is dead
    with pytest.raises(ValueError, match="all NaN"):
        reduce.subtract_overscan(frame, "[1:2,1:4]")


def test_a_nan_exposure_time_is_refused_and_an_unnormalised_flat_is_warned_about():
    raw = np.full((4, 4), 500.0)
    with pytest.raises(ValueError, match="not a number"):
        reduce.calibrate(raw, bias=100.0, dark=np.ones((4, 4)), exptime=np.nan, dark_exptime=60.0)
    with pytest.warns(reduce.FlatFieldWarning, match="median is 2.1e\\+04"):
        reduce.calibrate(raw, bias=100.0, flat=np.full((4, 4), 21000.0))


def test_rgb_composite_refuses_a_nan_minimum():
    band = np.ones((5, 5))
    with pytest.raises(ValueError, match="finite"):
        color.rgb_composite(band, band, band, minimum=np.nan)


def test_photometry_refuses_a_huge_radius_and_a_missing_gain(starry):
    with pytest.raises(ValueError, match="larger than the whole image"):
        photometry.aperture_sum(starry, 30.0, 20.0, 1e6)
    with pytest.raises(TypeError, match="gain"):
        photometry.aperture_photometry(starry, 30.0, 20.0, 4, 8, 12, gain=None, read_noise=5.0)
    with pytest.raises(TypeError, match="write 4"):
        photometry.aperture_photometry(starry, 30.0, 20.0, "4", 8, 12, gain=1.5, read_noise=5.0)
