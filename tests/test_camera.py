"""helpers.camera: measurements that ignore dead pixels (NaN, as read_frame gives BLANK pixels)."""
import warnings

import numpy as np
import pytest

from helpers import camera


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _quietly(function, *args, **kwargs):
    """Call ``function``; any warning (e.g. astropy's 'Input data contains invalid values') fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


def test_read_noise_ignores_dead_pixels(rng):
    a, b = rng.normal(1000.0, 6.0, (2, 128, 128))
    clean = camera.read_noise(a, b, gain=1.5)
    a[10, :] = np.nan                        # a dead row, stored as BLANK
    b[:, 3] = np.nan
    noisy = _quietly(camera.read_noise, a, b, gain=1.5)
    assert np.isfinite(noisy)
    assert noisy == pytest.approx(clean, rel=0.02)
    assert noisy == pytest.approx(9.0, rel=0.03)


def test_dark_current_ignores_dead_pixels(rng):
    dark = rng.normal(30.0, 2.0, (128, 128))   # ADU in 120 s
    dark[5, 5] = dark[70, :] = np.nan
    assert _quietly(camera.dark_current, dark, 120.0, gain=2.0) == pytest.approx(0.5, rel=0.01)


def test_sky_level_ignores_dead_pixels_and_a_box_without_any(rng):
    sky = rng.normal(240.0, 5.0, (128, 128))
    sky[:, 40] = np.nan
    sky[:16, :16] = np.nan                   # one of the 8 x 8 boxes has no pixel left at all
    level = _quietly(camera.sky_level, sky)
    assert level == pytest.approx(240.0, abs=0.5)
    flatness = _quietly(camera.sky_flatness, sky)
    assert np.isfinite(flatness) and flatness < 0.01
    assert np.isnan(_quietly(camera.box_levels, sky)[0, 0])


def test_all_nan_gives_nan_not_an_error():
    assert np.isnan(_quietly(camera.dark_current, np.full((8, 8), np.nan), 60.0))


def test_header_gain_reads_the_usual_keywords_and_never_guesses():
    assert camera.header_gain({"GAIN": 1.5}) == (1.5, "GAIN")
    assert camera.header_gain({"GAIN": 120, "EGAIN": 2.3}) == (2.3, "EGAIN")      # EGAIN is always e-/ADU
    assert camera.header_gain({"GAIN": 120, "SWCREATE": "N.I.N.A. 3.1"}) == (None, "")   # a camera setting
    # ESO: CONAD is e-/ADU ("Conversion from ADUs to electrons"); DET OUT1 GAIN is its inverse
    assert camera.header_gain({"HIERARCH ESO DET OUT1 CONAD": 0.8,
                               "HIERARCH ESO DET OUT1 GAIN": 1.25}) == (0.8, "HIERARCH ESO DET OUT1 CONAD")
    assert camera.header_gain({"GAIN": "n/a"}) == (None, "")
    assert camera.header_gain({"GAIN": -1.0}) == (None, "")
    assert camera.header_gain({}) == (None, "")
