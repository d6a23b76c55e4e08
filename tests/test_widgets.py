"""The sliders' functions, driven without a browser."""
import numpy as np
import pytest

from helpers import plot, widgets


@pytest.fixture
def frame():
    rng = np.random.default_rng(4)
    image = rng.normal(240.0, 15.0, (128, 128))
    image[60:64, 60:64] = 30000.0          # a star
    return image


def test_clipped_fractions_count_black_and_white_pixels():
    image = np.arange(100.0).reshape(10, 10)
    assert widgets.clipped_fractions(image, 10, 89.5) == (0.1, 0.1)
    image[0, 0] = np.nan                   # NaN pixels are not counted
    assert widgets.clipped_fractions(image, 10, 1000) == (pytest.approx(9 / 99), 0.0)


def test_stretch_report_says_what_the_limits_clip(frame):
    report = widgets.stretch_report(frame, 200.0, 300.0)
    below, above = widgets.clipped_fractions(frame, 200.0, 300.0)
    assert report == f"limits 200.0 to 300.0 ADU: {100 * below:.1f} % of pixels black, {100 * above:.2f} % white"
    assert 0 < below < 0.01 and 0 < above < 0.01


def test_moving_the_stretch_slider_changes_the_picture_and_the_report(frame):
    viewer = widgets.stretch_viewer(frame, title="test")
    slider, report, picture = viewer.children
    start = slider.value
    assert start == pytest.approx(plot.limits(frame))
    assert report.value == widgets.stretch_report(frame, *start)
    slider.value = (start[0] + 20, start[1] - 20)
    assert report.value == widgets.stretch_report(frame, *slider.value)
    assert viewer.image.get_clim() == pytest.approx(slider.value)
