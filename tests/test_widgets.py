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


def _two_star_field(dx=0.0, dy=0.0, seed=3):
    yy, xx = np.mgrid[0:96, 0:96]
    image = np.random.default_rng(seed).normal(100.0, 3.0, (96, 96))
    for x, y, f in ((30.2, 40.7, 30000.0), (60.6, 55.1, 15000.0), (45.0, 20.0, 1200.0)):
        image += f * np.exp(-((xx - x - dx) ** 2 + (yy - y - dy) ** 2) / (2 * 1.8 ** 2)) / (2 * np.pi * 1.8 ** 2)
    return image


def test_threshold_slider_finds_fewer_stars_as_it_rises_and_reports_against_the_truth():
    image = _two_star_field()
    viewer = widgets.threshold_viewer(image, [30.2, 60.6, 45.0], [40.7, 55.1, 20.0], threshold=5.0)
    slider, report, _ = viewer.children
    assert report.value.startswith("threshold 5.0 sigma: 3 detections")
    slider.value = 40.0
    x, _ = viewer.circles.get_data()
    assert len(x) < 3 and report.value.startswith(f"threshold 40.0 sigma: {len(x)} detections")


def test_shift_sliders_show_the_smallest_residual_at_the_true_offset():
    reference, moved = _two_star_field(), _two_star_field(dx=0.6, dy=-0.4, seed=4)
    viewer = widgets.shift_viewer(reference, moved)
    slider_x, slider_y, report, _ = viewer.children
    at_zero = float(report.value.split("difference ")[1].split()[0])
    slider_x.value, slider_y.value = -0.6, 0.4
    at_truth = float(report.value.split("difference ")[1].split()[0])
    assert report.value == widgets.shift_report(reference, moved, -0.6, 0.4)
    assert at_truth < 0.5 * at_zero
