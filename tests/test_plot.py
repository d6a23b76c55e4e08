"""Display helpers: limits, orientation, cut-outs and the projector style."""
import matplotlib as mpl
import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from helpers import plot


def test_zscale_limits_are_astropys_and_ignore_nan():
    rng = np.random.default_rng(0)
    image = rng.normal(100, 5, (64, 64))
    image[0, :5] = np.nan
    assert plot.limits(image) == pytest.approx(ZScaleInterval().get_limits(image[np.isfinite(image)]))
    assert all(np.isfinite(plot.limits(image)))


def test_limits_refuse_an_image_without_finite_pixels():
    with pytest.raises(ValueError, match="no finite pixels"):
        plot.limits(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="unknown method"):
        plot.limits(np.ones((4, 4)), "log")


def test_show_puts_row_zero_at_the_bottom_and_pixel_centres_on_whole_numbers():
    image = np.zeros((10, 20))
    ax, im = plot.show(image, vmin=0, vmax=1)
    assert im.origin == "lower"
    assert im.get_extent() == [-0.5, 19.5, -0.5, 9.5]        # x across (20 columns), y up (10 rows)
    ax, im = plot.show(image, vmin=0, vmax=1, x0=100, y0=50)  # a cut-out keeps full-frame positions
    assert im.get_extent() == [99.5, 119.5, 49.5, 59.5]


def test_mark_draws_one_circle_per_position():
    ax, _ = plot.show(np.zeros((50, 50)), vmin=0, vmax=1)
    circles = plot.mark(ax, [10, 20, 30], [5, 15, 25], radius=3)
    assert len(circles.get_offsets()) == 3
    assert circles.get_offsets()[1].tolist() == [20, 15]


def test_projector_style_switches_on_and_off():
    default = mpl.rcParams["font.size"]
    plot.projector_style()
    try:
        assert mpl.rcParams["font.size"] >= 18 and mpl.rcParams["lines.linewidth"] >= 3
    finally:
        plot.projector_style(False)
    assert mpl.rcParams["font.size"] == default
