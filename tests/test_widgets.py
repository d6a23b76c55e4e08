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
    slider, report, picture, timing = viewer.children
    start = slider.value
    assert start == pytest.approx(plot.limits(frame))
    assert report.value == widgets.stretch_report(frame, *start)
    shown = picture.value
    slider.value = (start[0] + 20, start[1] - 20)
    assert report.value == widgets.stretch_report(frame, *slider.value)
    assert viewer.image.get_clim() == pytest.approx(slider.value)
    assert picture.value != shown and picture.value[:2] == b"\xff\xd8"          # a new JPEG
    assert 0.0 < float(timing.value) < 5000.0 and timing.layout.display == "none"   # ms, for the browser test


def _two_star_field(dx=0.0, dy=0.0, seed=3):
    yy, xx = np.mgrid[0:96, 0:96]
    image = np.random.default_rng(seed).normal(100.0, 3.0, (96, 96))
    for x, y, f in ((30.2, 40.7, 30000.0), (60.6, 55.1, 15000.0), (45.0, 20.0, 1200.0)):
        image += f * np.exp(-((xx - x - dx) ** 2 + (yy - y - dy) ** 2) / (2 * 1.8 ** 2)) / (2 * np.pi * 1.8 ** 2)
    return image


def test_threshold_slider_finds_fewer_stars_as_it_rises_and_reports_against_the_truth():
    image = _two_star_field()
    viewer = widgets.threshold_viewer(image, [30.2, 60.6, 45.0], [40.7, 55.1, 20.0], threshold=5.0)
    slider, report, _, _ = viewer.children
    assert report.value.startswith("threshold 5.0 sigma: 3 detections")
    slider.value = 40.0
    x, _ = viewer.circles.get_data()
    assert len(x) < 3 and report.value.startswith(f"threshold 40.0 sigma: {len(x)} detections")


def test_shift_sliders_show_the_smallest_residual_at_the_true_offset():
    reference, moved = _two_star_field(), _two_star_field(dx=0.6, dy=-0.4, seed=4)
    viewer = widgets.shift_viewer(reference, moved)
    slider_x, slider_y, report, _, _ = viewer.children
    at_zero = float(report.value.split("difference ")[1].split()[0])
    slider_x.value, slider_y.value = -0.6, 0.4
    at_truth = float(report.value.split("difference ")[1].split()[0])
    assert report.value == widgets.shift_report(reference, moved, -0.6, 0.4)
    assert at_truth < 0.5 * at_zero


# --------------------------------------------------------------------------------------------------
# Chapter 05: the PSF viewer
# --------------------------------------------------------------------------------------------------
def _three_moffat_stars(seed=5):
    """Three Moffat stars of different widths on a 240 ADU sky, with CCD noise (gain 1.5, read noise 10 e-)."""
    from helpers import psf

    yy, xx = np.mgrid[0:120, 0:160]
    stars = [(40.3, 30.6, 2.4), (110.8, 44.2, 3.6), (70.4, 90.7, 4.8)]          # x, y, alpha
    expected = 240.0 + sum(psf.moffat_2d(xx, yy, 8000.0, x, y, alpha, 3.0) for x, y, alpha in stars)
    rng = np.random.default_rng(seed)
    image = (rng.poisson(expected * 1.5) + rng.normal(0.0, 10.0, expected.shape)) / 1.5
    x, y, alpha = (np.array(column) for column in zip(*stars))
    return image, x + 0.4, y - 0.3, alpha                 # rough positions, as from a region file


def test_psf_report_gives_the_fit_rounded():
    from helpers import psf

    image, x, y, _ = _three_moffat_stars()
    fit = psf.fit_star(image, x[0], y[0], "moffat", 21, 1.5, 10.0)
    report = widgets.psf_report(fit)
    assert report.startswith("moffat, 21 x 21 px box: ")
    for text in (f"x = {fit.x:.3f} ± {fit.x_err:.3f}", f"y = {fit.y:.3f} ± {fit.y_err:.3f}",
                 f"FWHM = {fit.fwhm:.3f} ± {fit.fwhm_err:.3f} px", f"beta = {fit.beta:.2f}",
                 f"chi2/dof = {fit.reduced_chi2:.2f}"):
        assert text in report
    assert "left out" not in report and "NOT" not in report
    gaussian = widgets.psf_report(psf.fit_star(image, x[0], y[0], "gaussian", 15, 1.5, 10.0))
    assert gaussian.startswith("gaussian, 15 x 15 px box") and "beta" not in gaussian
    hit = image.copy()
    hit[31, 42] += 5000.0                                   # a cosmic ray next to star 0
    rejected = widgets.psf_report(psf.fit_star(hit, x[0], y[0], "moffat", 21, 1.5, 10.0, reject=5.0))
    assert "(1 pixel left out)" in rejected
    sky = np.random.default_rng(1).normal(240.0, 10.0, (40, 40))
    assert "NOT a good fit" in widgets.psf_report(psf.fit_star(sky, 20, 20, "moffat", 21, 1.5, 10.0))


def test_psf_viewer_sliders_refit_the_chosen_star_in_the_same_figure():
    import matplotlib.pyplot as plt

    from helpers import psf

    image, x, y, alpha = _three_moffat_stars()
    viewer = widgets.psf_viewer(image, x, y, 1.5, 10.0, reject=5.0)
    star, size, report, _, _ = viewer.children
    figures = plt.get_fignums()
    assert (star.value, size.value) == (0, 21)
    assert report.value == widgets.psf_report(psf.fit_star(image, x[0], y[0], "moffat", 21, 1.5, 10.0, reject=5.0))
    first = report.value
    star.value = 2
    expected = psf.fit_star(image, x[2], y[2], "moffat", 21, 1.5, 10.0, reject=5.0)
    assert report.value != first and report.value == widgets.psf_report(expected)
    # the viewer fits the star it names: the widest one, near its true position and width
    assert viewer.fit.fwhm == pytest.approx(psf.moffat_fwhm(alpha[2], 3.0), rel=0.02)
    assert (viewer.fit.x, viewer.fit.y) == (pytest.approx(70.4, abs=0.05), pytest.approx(90.7, abs=0.05))
    # data and model as fractions of the fitted peak, positions from the box's middle pixel
    data_image, model_image, residual_image = viewer.panels["images"]
    np.testing.assert_allclose(data_image.get_array(), (expected.data - expected.background) / expected.amplitude)
    np.testing.assert_allclose(residual_image.get_array(), expected.residuals / expected.noise)
    middle_x, middle_y = expected.x0 + 10, expected.y0 + 10
    left, right, bottom, top = expected.extent
    assert data_image.get_extent() == pytest.approx([left - middle_x, right - middle_x, bottom - middle_y,
                                                     top - middle_y])
    assert data_image.get_extent() == pytest.approx([-10.5, 10.5, -10.5, 10.5])
    assert data_image.get_clim() == pytest.approx((1e-3, 1.0))
    centre_x, centre_y = viewer.panels["centre"].get_data()
    assert (centre_x[0] + middle_x, centre_y[0] + middle_y) == (pytest.approx(expected.x), pytest.approx(expected.y))
    picture = viewer.picture.widget.value
    size.value = 15
    assert report.value.startswith("moffat, 15 x 15 px box")
    assert model_image.get_array().shape == (15, 15) == viewer.fit.model.shape
    assert data_image.get_extent() == pytest.approx([-7.5, 7.5, -7.5, 7.5])     # drawn to scale, in
    assert viewer.panels["axes"][0].get_xlim() == pytest.approx((-20.5, 20.5))  # axes as wide as the largest box
    assert viewer.picture.widget.value != picture and viewer.picture.widget.value[:2] == b"\xff\xd8"   # a new JPEG
    assert plt.get_fignums() == figures                     # updated in place: no new figure per move
    plt.close(viewer.figure)


def test_psf_viewer_refuses_bad_settings():
    image, x, y, _ = _three_moffat_stars()
    with pytest.raises(ValueError, match="odd"):
        widgets.psf_viewer(image, x, y, 1.5, 10.0, size=20)
    with pytest.raises(ValueError, match="index"):
        widgets.psf_viewer(image, x, y, 1.5, 10.0, star=3)


def _one_star(x0=40.3, y0=39.6, flux=30000.0, sky=200.0, seed=6):
    yy, xx = np.mgrid[0:90, 0:90]
    image = np.random.default_rng(seed).normal(sky, 5.0, (90, 90))
    return image + flux / (2 * np.pi * 1.8 ** 2) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 1.8 ** 2))


def test_aperture_report_gives_the_numbers_of_aperture_photometry():
    from helpers import photometry

    image = _one_star()
    row = photometry.aperture_photometry(image, 40.3, 39.6, 6.0, 15.0, 25.0, gain=2.0, read_noise=5.0)[0]
    report = widgets.aperture_report(image, 40.3, 39.6, 6.0, 15.0, 25.0, gain=2.0, read_noise=5.0)
    assert f"flux {row['flux']:.0f} ± {row['flux_err']:.0f} ADU" in report
    assert f"SNR {row['snr']:.1f}" in report and f"sky {row['sky']:.2f}" in report
    assert "(113.1 pixels)" in report                             # pi 6^2, partial pixels included
    assert "must lie inside" in widgets.aperture_report(image, 40.3, 39.6, 16.0, 15.0, 25.0, 2.0, 5.0)


def test_aperture_sliders_move_the_circles_in_place_and_remeasure():
    import matplotlib.pyplot as plt

    image = _one_star()
    viewer = widgets.aperture_viewer(image, 40.3, 39.6, r=3.0, r_in=15.0, r_out=25.0, gain=2.0, read_noise=5.0)
    aperture, annulus, report, _, _ = viewer.children
    circles, n_axes, figures = list(viewer.circles), len(viewer.figure.axes), plt.get_fignums()
    assert [c.get_radius() for c in circles] == [3.0, 15.0, 25.0]
    assert report.value == widgets.aperture_report(image, 40.3, 39.6, 3.0, 15.0, 25.0, 2.0, 5.0)
    small_flux = float(report.value.split("flux ")[1].split()[0])
    aperture.value = 8.0
    annulus.value = (12.0, 30.0)
    assert [c.get_radius() for c in viewer.circles] == [8.0, 12.0, 30.0]
    assert all(a is b for a, b in zip(viewer.circles, circles)) and len(viewer.figure.axes) == n_axes
    assert plt.get_fignums() == figures                           # updated in place: no new figure per move
    assert report.value == widgets.aperture_report(image, 40.3, 39.6, 8.0, 12.0, 30.0, 2.0, 5.0)
    assert float(report.value.split("flux ")[1].split()[0]) > small_flux      # a bigger aperture holds more light
    aperture.value = 14.0                                          # beyond the annulus: said, not an error
    assert "must lie inside" in report.value
    plt.close(viewer.figure)


# --------------------------------------------------------------------------------------------------
# Chapter 07: the colour composite's sliders
# --------------------------------------------------------------------------------------------------
from helpers import color  # noqa: E402


def _three_bands(size=64, seed=5):
    """Red, green and blue frames: sky 100 ADU with noise 5, a bright red source and a faint blue one."""
    yy, xx = np.mgrid[0:size, 0:size]
    rng = np.random.default_rng(seed)
    red_source = 50000.0 * np.exp(-((xx - 20.3) ** 2 + (yy - 40.1) ** 2) / (2 * 3.0 ** 2))
    blue_source = 800.0 * np.exp(-((xx - 45.2) ** 2 + (yy - 18.7) ** 2) / (2 * 3.0 ** 2))
    ratios = {"r": (3.0, 1.0), "g": (2.0, 2.0), "b": (1.0, 3.0)}      # (red source, blue source) per band
    return [100.0 + ratios[band][0] * red_source + ratios[band][1] * blue_source + rng.normal(0, 5.0, (size, size))
            for band in "rgb"]


def test_binned_averages_blocks_and_drops_the_ragged_edge():
    image = np.arange(30.0).reshape(5, 6)
    small = widgets.binned(image, 2)
    assert small.shape == (2, 3)
    np.testing.assert_allclose(small, [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])
    assert widgets.binned(image, 1).shape == (5, 6)
    image[0, 0] = np.nan
    assert np.isnan(widgets.binned(image, 2)[0, 0]) and np.isfinite(widgets.binned(image, 2)[0, 1])
    with pytest.raises(ValueError, match="factor"):
        widgets.binned(image, 0)


def test_composite_report_counts_what_each_method_burns_to_white():
    r, g, b = _three_bands()
    limits = [(100.0, 2000.0)] * 3
    for keep in (True, False):
        rgb = color.composite_from_limits(r, g, b, limits, 20.0, keep_colours=keep)
        full = 100 * np.mean((rgb >= 1.0).any(axis=2))
        white = 100 * np.mean((rgb >= 1.0).all(axis=2))
        report = widgets.composite_report(r, g, b, limits, 20.0, keep_colours=keep)
        assert report == (f"{'Lupton' if keep else 'per band'}: red 100 to 2000, green 100 to 2000, blue 100 to 2000 "
                          f"ADU, softening 20 ADU: {full:.2f} % of pixels at full level, {white:.2f} % white")
        if keep:
            assert full > 0.5 and white == 0.0        # the red core is scaled down, still red
        else:
            assert white > 0.5                         # the per-band stretch burns it to white
    # bin=2 reports on the binned frames, as the viewer shows them
    binned = [widgets.binned(band, 2) for band in (r, g, b)]
    assert widgets.composite_report(r, g, b, limits, 20.0, bin=2) == widgets.composite_report(*binned, limits, 20.0)


def test_composite_sliders_change_the_picture_and_the_report():
    r, g, b = _three_bands()
    limits = [(100.0, 3000.0), (100.0, 3000.0), (100.0, 3000.0)]
    viewer = widgets.composite_viewer(r, g, b, limits, 30.0)
    method, slider_r, slider_g, slider_b, softening, report, picture, _ = viewer.children
    assert viewer.limits == [slider_r, slider_g, slider_b] and viewer.softening is softening
    assert report.value == widgets.composite_report(r, g, b, limits, 30.0)
    before = np.array(viewer.image.get_array())
    np.testing.assert_array_equal(before, color.composite_from_limits(r, g, b, limits, 30.0))

    softening.value = 300.0
    assert report.value == widgets.composite_report(r, g, b, limits, 300.0)
    after = np.array(viewer.image.get_array())
    assert np.abs(after - before).max() > 0.05        # the picture changed in place
    slider_b.value = (100.0, 1500.0)                   # more blue
    new_limits = [limits[0], limits[1], (100.0, 1500.0)]
    assert report.value == widgets.composite_report(r, g, b, new_limits, 300.0)
    bluer = np.array(viewer.image.get_array())
    assert bluer[..., 2].sum() > after[..., 2].sum()
    method.value = False                               # the classic per-band stretch
    assert report.value.startswith("per band:")
    np.testing.assert_array_equal(viewer.composite(),
                                  color.composite_from_limits(r, g, b, new_limits, 300.0, keep_colours=False))


def _moved_viewers():
    """One viewer of each kind, each after a slider move, with the figure it draws on."""
    rng = np.random.default_rng(5)
    frame = rng.normal(200.0, 10.0, (300, 260))
    frame[40:44, 50:60] = np.nan                                  # NaN pixels show as the background
    stretch = widgets.stretch_viewer(frame)
    stretch.children[0].value = (190.0, 230.0)
    shift = widgets.shift_viewer(frame[:, :-3], frame[:, 3:])
    shift.children[0].value = 0.5
    image, x, y, _ = _three_moffat_stars()
    psf_view = widgets.psf_viewer(image, x, y, 1.5, 10.0, reject=5.0)
    psf_view.children[0].value = 1
    psf_view.children[1].value = 13                                # a smaller box inside the same axes
    threshold = widgets.threshold_viewer(image, threshold=5.0)
    threshold.children[0].value = 20.0
    aperture = widgets.aperture_viewer(image, x[0], y[0], r=3.0, r_in=10.0, r_out=15.0, gain=1.5, read_noise=10.0)
    aperture.children[1].value = (12.0, 20.0)
    r, g, b = _three_bands()
    composite = widgets.composite_viewer(r, g, b, [(100.0, 3000.0)] * 3, 30.0)
    composite.softening.value = 5.0
    return {"stretch": (stretch, stretch.image.figure), "shift": (shift, shift.image.figure),
            "psf": (psf_view, psf_view.figure), "threshold": (threshold, threshold.circles.figure),
            "aperture": (aperture, aperture.figure), "composite": (composite, composite.image.figure)}


@pytest.mark.parametrize("kind", ["stretch", "shift", "psf", "threshold", "aperture", "composite"])
def test_quick_redraw_gives_exactly_the_pixels_of_a_full_draw(kind):
    """A move redraws only what changes, painting the images itself (widgets._Picture); the picture must
    be the one matplotlib draws from scratch, pixel for pixel, and the JPEG sent must show it."""
    from io import BytesIO

    from PIL import Image

    viewer, fig = _moved_viewers()[kind]
    canvas = fig.canvas
    quick = np.asarray(canvas.buffer_rgba()).copy()
    canvas.draw()
    np.testing.assert_array_equal(quick, np.asarray(canvas.buffer_rgba()))
    sent = np.asarray(Image.open(BytesIO(viewer.picture.widget.value)).convert("RGB"), dtype=float)
    assert sent.shape == quick[..., :3].shape
    # JPEG at quality 90 loses a little: on a field of pure noise (the worst case) 3.5 levels of 255 on average
    assert np.abs(sent - quick[..., :3]).mean() < 5.0


def test_composite_viewer_binned_view_and_full_resolution_result():
    r, g, b = _three_bands(size=64)
    limits = [(100.0, 3000.0)] * 3
    viewer = widgets.composite_viewer(r, g, b, limits, 30.0, bin=2)
    assert viewer.image.get_array().shape == (32, 32, 3)
    assert viewer.children[5].value == widgets.composite_report(r, g, b, limits, 30.0, bin=2)
    assert viewer.composite().shape == (64, 64, 3)     # what one saves is full resolution
    assert viewer.image.get_extent() == [-0.5, 63.5, -0.5, 63.5]   # axes in the frame's pixels


def test_composite_viewer_explains_impossible_limits():
    r, g, b = _three_bands()
    viewer = widgets.composite_viewer(r, g, b, [(100.0, 3000.0)] * 3, 30.0)
    shown = np.array(viewer.image.get_array())
    viewer.limits[1].value = (500.0, 500.0)            # both handles on one value
    assert viewer.children[5].value.startswith("not drawn:") and "band g" in viewer.children[5].value
    np.testing.assert_array_equal(viewer.image.get_array(), shown)


def test_update_time_measures_the_callback():
    import time

    import ipywidgets

    slider = ipywidgets.FloatSlider(value=0.0, min=0.0, max=10.0)
    slider.observe(lambda change: time.sleep(0.02), names="value")
    assert 0.02 <= widgets.update_time(slider, [1.0, 2.0, 3.0]) < 1.0


def test_a_picture_whose_image_is_outside_the_axes_is_drawn_without_it():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 3))
    ax = fig.subplots()
    im = ax.imshow(np.ones((4, 4)), extent=(0, 4, 0, 4))
    ax.set_xlim(10, 20)                                          # the image is off to the left
    picture = widgets._Picture(fig, images=[im])
    quick = np.asarray(fig.canvas.buffer_rgba()).copy()
    fig.canvas.draw()
    np.testing.assert_array_equal(quick, np.asarray(fig.canvas.buffer_rgba()))
    assert picture.widget.value[:2] == b"\xff\xd8"
