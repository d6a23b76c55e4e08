"""Sliders for the chapters: one small builder per slider, each calling a plain function that tests use.

The function behind each slider (for example :func:`clipped_fractions`) is ordinary Python: a test
or a notebook cell can call it with the slider's value and check the numbers without a browser.

Examples
--------
>>> import numpy as np
>>> from helpers import widgets
>>> image = np.arange(100.0).reshape(10, 10)
>>> widgets.clipped_fractions(image, 10, 89.5)
(0.1, 0.1)
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
import ipywidgets as ipw

from . import plot


class _Picture:
    """A viewer's figure, redrawn quickly after a slider move and shown as a JPEG in an ``ipywidgets.Image``.

    Redrawing a whole figure and encoding it as a PNG takes a few hundred milliseconds; a slider should
    answer in well under 150 ms. So matplotlib draws the still parts of the figure once (axes, ticks,
    labels, colour bars, a frame that does not change) and the picture of them is kept. Each
    :meth:`show` then

    1. puts that picture back (matplotlib's "blitting"),
    2. paints the pixels of the images that change (``images``) straight into the canvas, one screen pixel
       at a time from the nearest frame pixel, with the image's own colour scale (:func:`_paint`); this
       replaces matplotlib's resampling of the whole frame, the slowest part of a redraw,
    3. lets matplotlib draw the artists that change (``moving``: circles, lines) and the axes' frames on top,
    4. encodes the canvas as a JPEG (several times faster to make and smaller to send than a PNG; full
       colour resolution, so that a red pixel next to a blue one stays red) and puts it into the Image
       widget, which the browser swaps in place: no flicker.

    The canvas then holds exactly the pixels that drawing the whole figure again would give (the tests
    check this for every viewer).

    After a change to the still parts (new axis limits, a new title) call :meth:`refresh`.
    """

    def __init__(self, fig, images=(), moving=(), quality=90):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        self.fig, self.images, self.moving, self.quality = fig, list(images), list(moving), quality
        width, _ = fig.canvas.get_width_height()
        # shown at its own size (not stretched to the page's width, which blurs it), smaller on a narrow page
        self.widget = ipw.Image(format="jpeg", layout=ipw.Layout(width=f"{width}px", max_width="100%",
                                                                 height="auto"))
        self.widget.add_class("viewer-picture")
        # the kernel's time for the last move, in ms: not shown, but in the page for the browser test
        self.timing = ipw.Label("", layout=ipw.Layout(display="none"))
        self.timing.add_class("viewer-kernel-time")
        self.refresh()

    def timed(self, update):
        """``update`` (a slider's callback) that also writes its own duration into :attr:`timing`."""
        import functools
        import time

        @functools.wraps(update)
        def timed_update(change):
            start = time.perf_counter()
            update(change)
            self.timing.value = f"{1000 * (time.perf_counter() - start):.1f}"

        return timed_update

    def box(self, *controls, report):
        """The viewer: its controls, the report line and the picture, in one ``ipywidgets.VBox``
        (``.picture`` is this object)."""
        box = ipw.VBox([*controls, report, self.widget, self.timing])
        box.picture = self
        return box

    def refresh(self):
        """Draw the still parts of the figure again and show the picture."""
        axes = {id(artist.axes): artist.axes for artist in self.images + self.moving if artist.axes}
        frames = [spine for ax in axes.values() for spine in ax.spines.values()]
        changing = self.images + frames + self.moving
        visible = [artist.get_visible() for artist in changing]
        for artist in changing:
            artist.set_visible(False)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        for artist, was in zip(changing, visible):
            artist.set_visible(was)
        # drawn in matplotlib's order (by zorder), so that e.g. an axes' frame covers a band's edge
        self.on_top = sorted(frames + self.moving, key=lambda artist: artist.get_zorder())
        self.show()

    def show(self):
        """Redraw what changes and put the new picture into the widget."""
        from io import BytesIO

        from PIL import Image as PILImage

        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        pixels = np.asarray(canvas.buffer_rgba())
        for im in self.images:
            where = _screen_pixels(im)              # (the image's size or extent may have changed)
            if im.get_visible() and where is not None:
                _paint(pixels, im, where)
        renderer = canvas.get_renderer()
        for artist in self.on_top:
            artist.draw(renderer)
        jpeg = BytesIO()
        # (RGBA to RGB by PIL: ten times faster than handing it the array's RGB slice, which it must copy)
        PILImage.fromarray(pixels).convert("RGB").save(jpeg, format="jpeg", quality=self.quality, subsampling=0)
        self.widget.value = jpeg.getvalue()


def _screen_pixels(im):
    """Where an image lies on the canvas, and which frame pixel each screen pixel shows.

    Returns the canvas rows and columns (a slice each, rows counted from the top as in the canvas'
    buffer) and, for each of those rows and columns, the index of the frame's row and column whose
    centre is nearest (what ``interpolation="nearest"`` shows), found through the axes' own
    data-to-screen transform. None if no screen pixel of the axes shows the image.
    """
    ax = im.axes
    height = int(round(ax.figure.bbox.height))
    left, right, bottom, top = im.get_extent()
    ny, nx = im.get_array().shape[:2]
    # the screen pixels inside both the axes and the image
    x_lo, y_lo = ax.transData.transform((min(left, right), min(bottom, top)))
    x_hi, y_hi = ax.transData.transform((max(left, right), max(bottom, top)))
    box = ax.bbox
    x_lo, x_hi = max(x_lo, box.x0), min(x_hi, box.x1)
    y_lo, y_hi = max(y_lo, box.y0), min(y_hi, box.y1)
    columns = np.arange(int(np.ceil(x_lo - 0.5)), int(np.floor(x_hi - 0.5)) + 1)
    rows = np.arange(int(np.ceil(y_lo - 0.5)), int(np.floor(y_hi - 0.5)) + 1)     # from the bottom
    if columns.size == 0 or rows.size == 0:
        return None                                  # the image is outside the axes: nothing to paint
    inverse = ax.transData.inverted()
    data_x = inverse.transform(np.column_stack([columns + 0.5, np.full(columns.size, y_lo)]))[:, 0]
    data_y = inverse.transform(np.column_stack([np.full(rows.size, x_lo), rows + 0.5]))[:, 1]
    col = np.clip(np.floor((data_x - left) / (right - left) * nx).astype(int), 0, nx - 1)
    row = np.clip(np.floor((data_y - bottom) / (top - bottom) * ny).astype(int), 0, ny - 1)
    if im.origin == "upper":
        row = ny - 1 - row
    # the canvas buffer counts rows from the top
    return slice(height - 1 - rows[-1], height - rows[0]), slice(columns[0], columns[-1] + 1), row[::-1], col


def _paint(pixels, im, where):
    """Paint an image's pixels into the canvas ``pixels`` (RGBA, rows from the top) at ``where``.

    A scalar image is coloured with its own norm and colour map (limits, log scale, the colours for
    values under, over and NaN); an RGB image (values 0 to 1) is copied.
    """
    canvas_rows, canvas_cols, row, col = where
    array = np.asarray(im.get_array())
    # colour whichever is smaller, the frame or its screen pixels, then pick the screen's pixels
    smaller = array.shape[0] * array.shape[1] < row.size * col.size
    if array.ndim == 3:
        if not smaller:
            array = array.take(row, axis=0).take(col, axis=1)
        rgb = np.nan_to_num(array[..., :3])            # a copy, NaN as 0
        np.clip(rgb, 0.0, 1.0, out=rgb)
        rgb *= 255
        rgb = rgb.astype(np.uint8)                       # truncated, as matplotlib does
        if smaller:
            rgb = rgb.take(row, axis=0).take(col, axis=1)
    else:
        if smaller:
            rgb = im.cmap(im.norm(array), bytes=True).take(row, axis=0).take(col, axis=1)
        else:
            rgb = im.cmap(im.norm(array.take(row, axis=0).take(col, axis=1)), bytes=True)
        bad = rgb[..., 3] == 0          # NaN shown as the axes' background, as matplotlib does
        rgb = rgb[..., :3]
        if bad.any():
            face = (np.asarray(im.axes.get_facecolor()[:3]) * 255 + 0.5).astype(np.uint8)
            rgb[bad] = face
    pixels[canvas_rows, canvas_cols, :3] = rgb
    pixels[canvas_rows, canvas_cols, 3] = 255


def _new_figure(*grid, figsize=(6.5, 6)):
    """A figure (and its axes) that pyplot does not know about, of ``plot.figure_size(*figsize)``.

    A viewer shows its figure only where it puts it: pyplot never shows it again under a later cell's
    plot, and it needs no closing.
    """
    fig = Figure(figsize=plot.figure_size(*figsize))
    return fig, fig.subplots(*grid)


def clipped_fractions(image, vmin, vmax):
    """Fractions of the finite pixels shown as pure black (below vmin) and pure white (above vmax)."""
    finite = np.asarray(image)[np.isfinite(image)]
    return float(np.mean(finite < vmin)), float(np.mean(finite > vmax))


def stretch_report(image, vmin, vmax):
    """The line the stretch slider prints: the limits and how much of the frame they clip."""
    below, above = clipped_fractions(image, vmin, vmax)
    return (f"limits {vmin:.1f} to {vmax:.1f} ADU: {100 * below:.1f} % of pixels black, "
            f"{100 * above:.2f} % white")


def stretch_viewer(image, title="", vmin=None, vmax=None, step=None):
    """A frame with a range slider for its display limits (black and white points).

    The figure is drawn once; moving the slider only changes the limits of the existing image
    (``im.set_clim``) and repaints its pixels (see :class:`_Picture`), fast even for a 1024 x 1024 frame.
    The picture has no colour bar: the report line gives the limits, and a colour bar's ticks would
    have to be drawn again at every move.

    Parameters
    ----------
    image : 2-D array
    title : str
    vmin, vmax : float, optional
        Starting limits; zscale limits by default.

    Returns
    -------
    ipywidgets.VBox
        The slider, the report line and the picture (``.children``, then a hidden label with the kernel's time
        for the last move); ``.picture`` is the :class:`_Picture`, ``.image`` the matplotlib image
        whose limits the slider sets.
    """
    start = plot.limits(image) if vmin is None or vmax is None else (vmin, vmax)
    # The slider spans the faintest 0.1 % to the brightest 0.5 % of the pixels: wide enough to reach into the
    # stars, narrow enough that the sky's few tens of ADU are not squeezed into one end of the slider.
    low, high = plot.limits(image, "percentile", percentiles=(0.1, 99.5))
    low, high = min(low, start[0]), max(high, start[1])
    step = step or max((high - low) / 1000.0, 1e-6)
    slider = ipw.FloatRangeSlider(value=start, min=low, max=high, step=step, description="limits",
                                  readout_format=".0f", layout=ipw.Layout(width="95%"))
    report = ipw.Label(stretch_report(image, *start))
    fig, ax = _new_figure(figsize=(6.5, 6))
    _, im = plot.show(image, ax=ax, vmin=start[0], vmax=start[1], title=title, colorbar=False)
    fig.tight_layout()
    picture = _Picture(fig, images=[im])

    def update(change):
        vmin_new, vmax_new = change["new"]
        im.set_clim(vmin_new, vmax_new)
        report.value = stretch_report(image, vmin_new, vmax_new)
        picture.show()

    slider.observe(picture.timed(update), names="value")
    box = picture.box(slider, report=report)
    box.image = im          # for tests and for the curious: the matplotlib image the slider changes
    return box


# --------------------------------------------------------------------------------------------------
# Chapter 02: the detection threshold
# --------------------------------------------------------------------------------------------------
def detection_report(summary, threshold):
    """The line the threshold slider prints, from :func:`helpers.detect.detection_summary`'s result."""
    line = f"threshold {threshold:.1f} sigma: {summary['count']} detections"
    if summary.get("n_truth"):
        line += (f"; found {100 * summary['completeness']:.1f} % of the {summary['n_truth']} true stars with"
                 f" SNR > 50; {summary['false']} false ({100 * summary['false_fraction']:.1f} %)")
    return line


def threshold_viewer(image, truth_x=None, truth_y=None, truth_snr=None, threshold=5.0, low=2.0, high=50.0):
    """The frame with its detections circled, and a slider for the threshold (in noise units).

    Each move runs :func:`helpers.detect.detection_summary` (the background is measured once; a threshold
    tried before is not run again) and moves the circles; with the truth given, the report line also gives completeness and false detections.
    """
    from . import detect

    level_noise = detect.background(image)
    truth = (truth_x, truth_y) if truth_x is not None else (np.array([]), np.array([]))

    seen = {}        # threshold -> summary: going back to a threshold tried before costs nothing

    def summarise(value):
        if value not in seen:
            seen[value] = detect.detection_summary(image, value, *truth, truth_snr=truth_snr,
                                                   background=level_noise)
        return seen[value]

    slider = ipw.FloatSlider(value=threshold, min=low, max=high, step=0.5, description="threshold",
                             readout_format=".1f", layout=ipw.Layout(width="95%"))
    summary = summarise(threshold)
    report = ipw.Label(detection_report(summary, threshold))
    fig, ax = _new_figure(figsize=(6.5, 6))
    plot.show(image, ax=ax, colorbar=False, title="detections (circles)")
    (circles,) = ax.plot(summary["stars"]["x"], summary["stars"]["y"], "o", ms=9, mfc="none",
                         mec=plot.COLOURS[0], mew=1.2)
    fig.tight_layout()
    picture = _Picture(fig, moving=[circles])

    def update(change):
        result = summarise(change["new"])
        circles.set_data(result["stars"]["x"], result["stars"]["y"])
        report.value = detection_report(result, change["new"])
        picture.show()

    slider.observe(picture.timed(update), names="value")
    box = picture.box(slider, report=report)
    box.circles = circles
    return box


# --------------------------------------------------------------------------------------------------
# Chapter 04: shifting one frame onto another by hand
# --------------------------------------------------------------------------------------------------
def shift_report(reference, image, dx, dy):
    """The line the shift sliders print: the trial offset and the rms of the difference image."""
    from . import align

    _, rms = align.difference_image(reference, image, dx, dy)
    return _shift_line(dx, dy, rms)


def _shift_line(dx, dy, rms):
    return f"dx = {dx:+.2f} px, dy = {dy:+.2f} px: rms of the difference {rms:.2f} ADU"


def shift_viewer(reference, image, dx=0.0, dy=0.0, span=1.5, step=0.02):
    """Sliders for dx and dy, with the live difference ``reference - shift(image, dx, dy)``.

    Pass cut-outs (a few hundred pixels across) for a quick response; the difference is computed with
    a Fourier shift (see :func:`helpers.align.difference_image`).
    """
    from . import align

    def make(name, value):
        return ipw.FloatSlider(value=value, min=-span, max=span, step=step, description=name,
                               readout_format="+.2f", layout=ipw.Layout(width="95%"))

    slider_x, slider_y = make("dx", dx), make("dy", dy)
    difference, rms = align.difference_image(reference, image, dx, dy)
    report = ipw.Label(_shift_line(dx, dy, rms))
    limit = np.nanpercentile(np.abs(difference), 99.5)     # the same grey scale for every trial
    fig, ax = _new_figure(figsize=(6.5, 6))
    _, im = plot.show(difference, ax=ax, vmin=-limit, vmax=limit, title="reference - shifted image",
                      cmap="RdBu_r")
    fig.tight_layout()
    picture = _Picture(fig, images=[im])

    def update(_change):
        new, rms = align.difference_image(reference, image, slider_x.value, slider_y.value)
        im.set_data(new)
        report.value = _shift_line(slider_x.value, slider_y.value, rms)
        picture.show()

    slider_x.observe(picture.timed(update), names="value")
    slider_y.observe(picture.timed(update), names="value")
    box = picture.box(slider_x, slider_y, report=report)
    box.image = im
    return box


# --------------------------------------------------------------------------------------------------
# Chapter 05: one star's PSF fit (data, model, residual), star by star
# --------------------------------------------------------------------------------------------------
def psf_report(fit):
    """The line the PSF viewer prints for one fit (a :class:`helpers.psf.PSFFit`), rounded for printing.

    The box size, the centre, the FWHM (and beta for a Moffat fit) with their 1-sigma errors, ``chi2/dof``,
    how many pixels were left out (saturated, NaN or rejected), and a warning if the fit failed.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import psf
    >>> yy, xx = np.mgrid[0:40, 0:40]
    >>> image = psf.moffat_2d(xx, yy, 3000.0, 20.3, 19.6, alpha=3.0, beta=3.0, background=200.0)
    >>> fit = psf.fit_star(image, 20, 20, size=21, gain=1.5, read_noise=10.0)
    >>> for part in psf_report(fit).split("; "):
    ...     print(part)
    moffat, 21 x 21 px box: x = 20.300 ± 0.009, y = 19.600 ± 0.009
    FWHM = 3.059 ± 0.025 px
    beta = 3.00 ± 0.11
    chi2/dof = 0.00
    """
    ny, nx = np.shape(fit.data)
    line = (f"{fit.profile}, {nx} x {ny} px box: x = {fit.x:.3f} ± {fit.x_err:.3f}, y = {fit.y:.3f} ± "
            f"{fit.y_err:.3f}; FWHM = {fit.fwhm:.3f} ± {fit.fwhm_err:.3f} px")
    if np.isfinite(fit.beta):
        line += f"; beta = {fit.beta:.2f} ± {fit.beta_err:.2f}"
    line += f"; chi2/dof = {fit.reduced_chi2:.2f}"
    left_out = int(np.size(fit.mask) - np.count_nonzero(fit.mask))
    if left_out:
        line += f" ({left_out} pixel{'s' if left_out > 1 else ''} left out)"
    if not fit.success:
        line += f"; NOT a good fit: {fit.message}"
    return line


def _psf_pictures(fit, residual, relative=False):
    """The three pictures of a fit: data and model minus the fitted sky (as fractions of the fitted peak
    if ``relative``), and the residual."""
    rest = fit.residuals if residual == "adu" else fit.residuals / fit.noise
    scale = max(float(fit.amplitude), 1e-6) if relative else 1.0
    return (fit.data - fit.background) / scale, (fit.model - fit.background) / scale, rest


def _psf_origin(fit, relative):
    """The pixel the panels' axes count from: the box's middle pixel if ``relative``, else (0, 0)."""
    if not relative:
        return 0.0, 0.0
    ny, nx = np.shape(fit.data)
    return float(fit.x0 + nx // 2), float(fit.y0 + ny // 2)


def psf_panels(fit, axes, residual="noise", limit=None, decades=3.0, relative=False, span=None):
    """Draw one fit in three panels: data and model (minus the fitted sky, log scale) and the residual.

    Data and model share a logarithmic grey scale from the star's peak down ``decades`` factors of ten, so
    the faint wings show (negative pixels, below the sky, are black). The residual ``data - model`` is shown
    in noise sigmas (``residual="noise"``, limits ``±limit``, default 5) or in ADU (``residual="adu"``,
    default limit the largest residual): blue where the model is too bright, red where it is too faint. A
    ``+`` marks the fitted centre; an ``x`` marks each pixel the fit left out (saturated, NaN or rejected).

    Parameters
    ----------
    fit : helpers.psf.PSFFit
        A 2-D fit (``fit_gaussian_2d``, ``fit_moffat_2d`` or ``fit_star``).
    axes : sequence of three matplotlib Axes
    residual : {"noise", "adu"}
    limit : float, optional
        The residual colour scale runs from ``-limit`` to ``+limit``: give the same value to compare fits.
    decades : float
        Range of the logarithmic scale of data and model.
    relative : bool
        Show data and model as fractions of the fitted peak, and positions in pixels from the box's
        middle pixel: then another star of the same box size changes only the pixels, not the axes or the
        colour bars (the slider of :func:`psf_viewer` redraws faster).
    span : float, optional
        With ``relative``: keep the axes at ``±span / 2`` pixels whatever the box, so that a box of another
        size is drawn to scale inside the same axes (nothing but pixels changes).

    Returns
    -------
    dict
        The artists, for :func:`show_psf_fit` to update in place: ``images`` (three AxesImage), ``centre``
        and ``left_out`` (Line2D), ``axes``, ``residual``, ``limit`` and ``decades``.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from helpers import psf
    >>> yy, xx = np.mgrid[0:40, 0:40]
    >>> image = psf.moffat_2d(xx, yy, 3000.0, 20.3, 19.6, alpha=3.0, beta=3.0, background=200.0)
    >>> fig, axes = plt.subplots(1, 3)
    >>> panels = psf_panels(psf.fit_star(image, 20, 20, gain=1.5, read_noise=10.0), axes)
    >>> [im.get_array().shape for im in panels["images"]]
    [(21, 21), (21, 21), (21, 21)]
    >>> plt.close(fig)
    """
    from matplotlib.colors import LogNorm

    if residual not in ("noise", "adu"):
        raise ValueError(f"residual must be 'noise' or 'adu', got {residual!r}")
    grey = plt.get_cmap("gray").with_extremes(bad="black", under="black")
    data, model, rest = _psf_pictures(fit, residual, relative)
    images = []
    for ax, values in zip(axes[:2], (data, model)):
        images.append(ax.imshow(values, origin="lower", cmap=grey, norm=LogNorm(1.0, 10.0),
                                interpolation="nearest", extent=fit.extent))
        ax.figure.colorbar(images[-1], ax=ax, fraction=0.046, pad=0.04,
                           label="fraction of the fitted peak" if relative else "ADU above the sky")
    images.append(axes[2].imshow(rest, origin="lower", cmap="RdBu_r", interpolation="nearest", extent=fit.extent))
    axes[2].figure.colorbar(images[-1], ax=axes[2], fraction=0.046, pad=0.04,
                            label="noise sigmas" if residual == "noise" else "ADU")
    (centre,) = axes[0].plot([], [], "+", color=plot.COLOURS[0], ms=14, mew=2)
    (left_out,) = axes[2].plot([], [], "x", color="black", ms=6, mew=1.5, linestyle="none")
    for ax in axes[:3]:
        ax.set_xlabel("x from the box's middle (px)" if relative else "x (column)")
    axes[0].set_ylabel("y from the box's middle (px)" if relative else "y (row)")
    panels = {"images": images, "centre": centre, "left_out": left_out, "axes": list(axes[:3]),
              "residual": residual, "limit": limit, "decades": decades, "relative": relative,
              "span": span if relative else None}
    show_psf_fit(panels, fit)
    return panels


def show_psf_fit(panels, fit):
    """Put another fit into panels made by :func:`psf_panels`, changing the existing artists in place
    (``set_data``, ``set_extent``, ``set_clim``): no new figure, no new axes."""
    relative = panels.get("relative", False)
    data, model, rest = _psf_pictures(fit, panels["residual"], relative)
    peak = 1.0 if relative else max(float(fit.amplitude), 1e-6)
    limit = panels["limit"]
    if limit is None:
        limit = 5.0 if panels["residual"] == "noise" else float(np.nanmax(np.abs(rest)))
    clims = [(peak * 10.0 ** -panels["decades"], peak)] * 2 + [(-limit, limit)]
    x_origin, y_origin = _psf_origin(fit, relative)
    left, right, bottom, top = fit.extent
    extent = (left - x_origin, right - x_origin, bottom - y_origin, top - y_origin)
    for im, values, clim in zip(panels["images"], (data, model, rest), clims):
        im.set_data(values)
        im.set_extent(extent)
        im.set_clim(*clim)
    half = None if panels.get("span") is None else panels["span"] / 2
    for ax in panels["axes"]:
        ax.set_xlim(extent[:2] if half is None else (-half, half))
        ax.set_ylim(extent[2:] if half is None else (-half, half))
    panels["centre"].set_data([fit.x - x_origin], [fit.y - y_origin])
    rows, cols = np.nonzero(~np.asarray(fit.mask, dtype=bool))
    panels["left_out"].set_data(fit.x0 + cols - x_origin, fit.y0 + rows - y_origin)
    unit = "noise sigmas" if panels["residual"] == "noise" else "ADU"
    titles = ["data − sky (log scale)", f"{fit.profile} model − sky",
              f"residual, ±{limit:.4g} {unit}"]
    for ax, title in zip(panels["axes"], titles):
        ax.set_title(title)


def psf_viewer(image, x, y, gain, read_noise, star=0, size=21, sizes=(9, 41), model="moffat", limit=5.0,
               **options):
    """Sliders that pick a star (an index into ``x, y``) and the box size, and redraw its PSF fit.

    Each move runs :func:`helpers.psf.fit_star` on the chosen star and puts the data, the model and the
    residual (in noise sigmas) into the same figure (see :func:`show_psf_fit`); the report line is
    :func:`psf_report` of that fit. One move takes a fit (10 to 40 ms) and one redraw of three small images.

    Parameters
    ----------
    image : 2-D array
        The frame (ADU, sky included).
    x, y : array_like
        Rough positions of the stars (0-based pixels), e.g. from ``io.read_regions``.
    gain, read_noise : float
        For the noise model (headers GAIN and RDNOISE).
    star, size : int
        The starting star index and box width (odd, pixels).
    sizes : (int, int)
        Smallest and largest box width on the slider (odd numbers).
    model : {"moffat", "gaussian"}
    limit : float
        The residual colour scale, ``±limit`` noise sigmas.
    **options
        Passed to the fit (``reject=5.0``, ``saturation=...``).

    Returns
    -------
    ipywidgets.VBox
        ``.children`` are the star slider, the box-size slider, the report line and the picture (then the
        hidden timing label);
        ``.fit`` is the latest fit, ``.panels`` the artists (see :func:`psf_panels`), ``.figure`` the figure.
    """
    from . import psf

    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"x and y must hold the same number (at least one) of positions, "
                         f"got {x.size} and {y.size}")
    if not (0 <= star < x.size):
        raise ValueError(f"star must be an index from 0 to {x.size - 1}, got {star}")
    if size % 2 == 0 or sizes[0] % 2 == 0 or sizes[1] % 2 == 0 or not sizes[0] <= size <= sizes[1]:
        raise ValueError(f"box sizes must be odd (the star's pixel in the middle) and size within sizes, got "
                         f"size={size}, sizes={sizes}")

    def fit_of(index, width):
        return psf.fit_star(image, x[index], y[index], model, width, gain, read_noise, **options)

    layout, style = ipw.Layout(width="95%"), {"description_width": "initial"}
    star_slider = ipw.IntSlider(value=star, min=0, max=x.size - 1, step=1, description="star",
                                layout=layout, style=style)
    size_slider = ipw.IntSlider(value=size, min=sizes[0], max=sizes[1], step=2, description="box width (px)",
                                layout=layout, style=style)
    fit = fit_of(star, size)
    report = ipw.Label(psf_report(fit))
    fig, axes = _new_figure(1, 3, figsize=(13, 4.3))
    panels = psf_panels(fit, axes, residual="noise", limit=limit, relative=True, span=sizes[1])
    fig.tight_layout()
    picture = _Picture(fig, images=panels["images"], moving=[panels["centre"], panels["left_out"]])
    box = picture.box(star_slider, size_slider, report=report)

    def update(_change):
        box.fit = fit_of(star_slider.value, size_slider.value)
        show_psf_fit(panels, box.fit)
        report.value = psf_report(box.fit)
        picture.show()          # another star or box: the axes stay, only the pixels change

    star_slider.observe(picture.timed(update), names="value")
    size_slider.observe(picture.timed(update), names="value")
    box.fit, box.panels, box.figure = fit, panels, fig
    return box


# --------------------------------------------------------------------------------------------------
# Chapter 06: the aperture and sky annulus radii
# --------------------------------------------------------------------------------------------------
def aperture_report(image, x, y, r, r_in, r_out, gain, read_noise, exptime=1.0):
    """The line the aperture sliders print: area, sky, flux with its error, SNR and magnitude of one star.

    Runs :func:`helpers.photometry.aperture_photometry` for the star at ``x, y`` with aperture radius ``r``
    and sky annulus ``r_in .. r_out`` (pixels); gain (e-/ADU) and read noise (e-) as for that function.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:80, 0:80]
    >>> star = 20000.0 / (2 * np.pi * 1.5 ** 2) * np.exp(-((xx - 40.3) ** 2 + (yy - 39.6) ** 2) / 4.5)
    >>> image = np.random.default_rng(2).normal(200.0, 5.0, (80, 80)) + star
    >>> print(aperture_report(image, 40.3, 39.6, 5, 15, 25, gain=2.0, read_noise=5.0))
    r = 5.0 px (78.5 pixels), sky annulus 15-25 px (1254 pixels): sky 200.19 ADU/pixel; flux 19876 ± 137 ADU, SNR 144.9, magnitude -10.746 ± 0.007
    >>> print(aperture_report(image, 40.3, 39.6, 16, 15, 25, gain=2.0, read_noise=5.0))
    r = 16.0 px: the aperture must lie inside the sky annulus (r <= r_in = 15.0 px)
    """
    from . import photometry

    if not r <= r_in:
        return f"r = {r:.1f} px: the aperture must lie inside the sky annulus (r <= r_in = {r_in:.1f} px)"
    row = photometry.aperture_photometry(image, x, y, r, r_in, r_out, gain=gain, read_noise=read_noise,
                                         exptime=exptime)[0]
    return (f"r = {r:.1f} px ({row['area']:.1f} pixels), sky annulus {r_in:.0f}-{r_out:.0f} px "
            f"({row['n_sky']} pixels): sky {row['sky']:.2f} ADU/pixel; flux {row['flux']:.0f} ± "
            f"{row['flux_err']:.0f} ADU, SNR {row['snr']:.1f}, magnitude {row['mag']:.3f} ± {row['mag_err']:.3f}")


def aperture_viewer(image, x, y, r=4.0, r_in=20.0, r_out=30.0, gain=1.0, read_noise=0.0, exptime=1.0,
                    r_max=15.0, annulus_max=40.0):
    """Sliders for a star's aperture radius and sky annulus, with the circles drawn on the star.

    Left: a cut-out around the star with the aperture (solid circle) and the sky annulus (two dashed
    circles). Right: the star's radial profile (mean ADU above the sky in 1 px rings, log scale) with the
    aperture and the annulus marked. The figure is drawn once; a move changes the circles' radii and the
    marks in place and re-measures the star (:func:`aperture_report`).

    Parameters
    ----------
    image : 2-D array
        Calibrated frame (ADU, sky included).
    x, y : float
        The star's centre (0-based pixels).
    r, r_in, r_out : float
        Starting aperture radius and sky annulus (pixels).
    gain, read_noise, exptime : float
        As for :func:`helpers.photometry.aperture_photometry`.
    r_max, annulus_max : float
        Largest aperture radius and largest outer annulus radius on the sliders.

    Returns
    -------
    ipywidgets.VBox
        ``.children`` are the aperture slider, the annulus (range) slider, the report line and the
        picture (then the hidden timing label); ``.circles`` the three matplotlib circles (aperture, inner, outer), ``.figure`` the figure.
    """
    from matplotlib.patches import Circle

    from . import photometry

    half = int(np.ceil(annulus_max)) + 2
    col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    x0, y0 = max(col - half, 0), max(row - half, 0)
    cut = np.asarray(image, dtype=float)[y0:row + half + 1, x0:col + half + 1]
    sky, noise, _ = (float(v[0]) for v in photometry.sky_level(image, x, y, r_in, r_out))
    peak = float(np.nanmax(cut[row - y0 - 1:row - y0 + 2, col - x0 - 1:col - x0 + 2])) - sky
    edges = np.arange(0.0, annulus_max + 1.0, 1.0)
    profile = photometry.radial_profile(image, x, y, edges)

    layout, style = ipw.Layout(width="95%"), {"description_width": "initial"}
    aperture = ipw.FloatSlider(value=r, min=1.0, max=r_max, step=0.5, description="aperture radius (px)",
                               readout_format=".1f", layout=layout, style=style)
    annulus = ipw.FloatRangeSlider(value=(r_in, r_out), min=2.0, max=annulus_max, step=1.0,
                                   description="sky annulus (px)", readout_format=".0f", layout=layout, style=style)
    report = ipw.Label(aperture_report(image, x, y, r, r_in, r_out, gain, read_noise, exptime))
    fig, (left, right) = _new_figure(1, 2, figsize=(12, 5))
    plot.show(cut, ax=left, x0=x0, y0=y0, vmin=sky - 2 * noise, vmax=sky + max(0.3 * peak, 5 * noise),
              title="aperture (solid) and sky annulus (dashed)")
    circles = [Circle((x, y), radius, fill=False, color=colour, linewidth=2, linestyle=style_)
               for radius, colour, style_ in ((r, plot.COLOURS[0], "-"), (r_in, plot.COLOURS[1], "--"),
                                              (r_out, plot.COLOURS[1], "--"))]
    for circle in circles:
        left.add_patch(circle)
    above = np.asarray(profile["mean"]) - sky
    right.semilogy(profile["radius"], np.where(above > 0, above, np.nan), "o-", color="black", ms=4)
    mark = right.axvline(r, color=plot.COLOURS[0], linewidth=2, label="aperture radius")
    band = right.axvspan(r_in, r_out, color=plot.COLOURS[1], alpha=0.25, label="sky annulus")
    right.set(xlabel="distance from the star's centre (px)", ylabel="mean ADU above the sky", xlim=(0, annulus_max))
    # the legend above the axes, where the moving band never covers it
    right.legend(title="radial profile", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    picture = _Picture(fig, moving=[band, mark, *circles])

    def update(_change):
        radius, (inner, outer) = aperture.value, annulus.value
        for circle, value in zip(circles, (radius, inner, outer)):
            circle.set_radius(value)
        mark.set_xdata([radius, radius])
        band.set_x(inner)
        band.set_width(outer - inner)
        report.value = aperture_report(image, x, y, radius, inner, outer, gain, read_noise, exptime)
        picture.show()

    aperture.observe(picture.timed(update), names="value")
    annulus.observe(picture.timed(update), names="value")
    box = picture.box(aperture, annulus, report=report)
    box.circles, box.figure = circles, fig
    return box


# --------------------------------------------------------------------------------------------------
# Chapter 07: the colour composite's limits and softening
# --------------------------------------------------------------------------------------------------
def binned(image, factor=2):
    """The image with each ``factor x factor`` block of pixels averaged into one: a smaller copy to preview.

    Rows and columns that do not fill a whole block (at the top and right) are dropped; a block with a
    NaN pixel is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import widgets
    >>> print(widgets.binned(np.arange(16.0).reshape(4, 4)))
    [[ 2.5  4.5]
     [10.5 12.5]]
    """
    image = np.asarray(image, dtype=float)
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"factor must be a whole number >= 1 (got {factor})")
    ny, nx = image.shape[0] // factor, image.shape[1] // factor
    return image[:ny * factor, :nx * factor].reshape(ny, factor, nx, factor).mean(axis=(1, 3))


def _composite_line(rgb, limits, softening, keep_colours):
    """The report line from a composite that is already made (the viewer has it)."""
    red, green, blue = (rgb[..., band] >= 1.0 for band in range(3))   # (faster than rgb.max(axis=2))
    full = float(np.mean(red | green | blue))         # at least one band at full level
    white = float(np.mean(red & green & blue))        # all three: burnt out to white
    names = ("red", "green", "blue")
    bands = ", ".join(f"{name} {low:.0f} to {high:.0f}" for name, (low, high) in zip(names, limits))
    method = "Lupton" if keep_colours else "per band"
    return (f"{method}: {bands} ADU, softening {softening:.3g} ADU: {100 * full:.2f} % of pixels at full "
            f"level, {100 * white:.2f} % white")


def composite_report(r, g, b, limits, softening, keep_colours=True, bin=1):
    """The line the composite sliders print: limits, softening, and how much of the picture is at full level.

    Makes the composite with :func:`helpers.color.composite_from_limits` (from the frames binned
    ``bin x bin``, as :func:`composite_viewer` shows them) and counts the pixels with at least one band at
    full level (1.0) and the pixels that are white (all three at 1.0). With ``keep_colours=True`` a pixel
    that is too bright is scaled down as a whole, so it keeps its colour and is not white; the classic
    per-band stretch (``keep_colours=False``) burns bright parts to white.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import widgets
    >>> r = np.array([[0.0, 20.0, 1000.0]])                  # sky, a faint and a bright red source
    >>> g, b = r / 2, r / 4
    >>> print(widgets.composite_report(r, g, b, [(0, 100)] * 3, 10.0))
    Lupton: red 0 to 100, green 0 to 100, blue 0 to 100 ADU, softening 10 ADU: 33.33 % of pixels at full level, 0.00 % white
    >>> print(widgets.composite_report(r, g, b, [(0, 100)] * 3, 10.0, keep_colours=False))
    per band: red 0 to 100, green 0 to 100, blue 0 to 100 ADU, softening 10 ADU: 33.33 % of pixels at full level, 33.33 % white
    """
    from . import color

    bands = [binned(band, bin) if bin > 1 else band for band in (r, g, b)]
    rgb = color.composite_from_limits(*bands, limits, softening, keep_colours=keep_colours)
    return _composite_line(rgb, limits, softening, keep_colours)


def composite_viewer(r, g, b, limits, softening, keep_colours=True, bin=1, title="colour composite"):
    """Sliders for each band's limits and the softening, with the colour composite they make.

    One range slider per band (its black and white levels, in ADU), a softening slider (logarithmic, in
    ADU) and a choice between Lupton's colour-keeping composite and the classic per-band stretch. Each
    change runs :func:`helpers.color.composite_from_limits` and puts the new picture into the existing
    figure (``im.set_data``); the report line is :func:`composite_report`'s.

    Parameters
    ----------
    r, g, b : 2-D arrays
        Aligned frames of the same shape, shown as red, green and blue.
    limits : sequence of three (vmin, vmax) pairs
        Starting limits of red, green and blue (e.g. :func:`helpers.color.band_limits`).
    softening : float
        Starting softening (ADU).
    keep_colours : bool
        Start with Lupton's composite (True) or the classic per-band one (False).
    bin : int
        Show the frames binned ``bin x bin`` (:func:`binned`): 2 makes each redraw several times faster,
        and a figure on a screen has fewer pixels than a 1024 x 1024 frame anyway.
    title : str

    Returns
    -------
    ipywidgets.VBox
        The method buttons, three range sliders, the softening slider, the report line and the picture
        (``.children``). ``.image`` is the matplotlib image the sliders change, ``.limits`` the three
        range sliders, ``.softening`` and ``.method`` the other controls, and ``.composite()`` makes the
        composite of the current settings at full resolution (to save it).
    """
    from . import color

    full = [np.asarray(band, dtype=float) for band in (r, g, b)]
    shown = [binned(band, bin) for band in full] if bin > 1 else full
    ny, nx = full[0].shape
    layout = ipw.Layout(width="95%")

    def band_slider(name, band, start):
        low, high = plot.limits(band, "percentile", percentiles=(0.5, 99.9))
        low, high = min(low, start[0]), max(high, start[1] + (start[1] - start[0]))
        step = float(f"{(high - low) / 500.0:.0e}")             # about 500 steps, rounded to one digit
        return ipw.FloatRangeSlider(value=tuple(start), min=low, max=high, step=step, description=name,
                                    readout_format=".0f" if step >= 1 else ".3g", layout=layout)

    limit_sliders = [band_slider(name, band, start) for name, band, start
                     in zip(("red", "green", "blue"), shown, limits)]
    soft_slider = ipw.FloatLogSlider(value=softening, base=10, min=min(-1.0, np.log10(softening) - 1),
                                     max=max(4.0, np.log10(softening) + 1), step=0.05, description="softening",
                                     readout_format=".3g", layout=layout)
    method = ipw.ToggleButtons(options=[("Lupton: colours kept", True), ("classic: each band alone", False)],
                               value=bool(keep_colours), description="stretch")

    def settings():
        return [s.value for s in limit_sliders], soft_slider.value, method.value

    def make(bands):
        band_limits, soft, keep = settings()
        return color.composite_from_limits(*bands, band_limits, soft, keep_colours=keep)

    rgb = make(shown)
    report = ipw.Label(_composite_line(rgb, *settings()))
    fig, ax = _new_figure(figsize=(6.5, 6.5))
    im = ax.imshow(rgb, origin="lower", extent=(-0.5, nx - 0.5, -0.5, ny - 0.5), interpolation="nearest")
    ax.set_xlabel("x (column)")
    ax.set_ylabel("y (row)")
    ax.set_title(title + (f" (shown binned {bin} x {bin})" if bin > 1 else ""))
    fig.tight_layout()
    picture = _Picture(fig, images=[im])

    def update(_change):
        try:
            new = make(shown)
        except ValueError as error:            # e.g. both handles of a range slider on the same value
            report.value = f"not drawn: {error}"
            return
        im.set_data(new)
        report.value = _composite_line(new, *settings())
        picture.show()

    for control in limit_sliders + [soft_slider, method]:
        control.observe(picture.timed(update), names="value")
    box = picture.box(method, *limit_sliders, soft_slider, report=report)
    box.image = im
    box.limits = limit_sliders
    box.softening = soft_slider
    box.method = method
    box.composite = lambda: make(full)
    return box


def update_time(slider, values):
    """Median time (seconds) of one slider move: set ``slider.value`` to each of ``values`` in turn.

    Everything the slider's callback does is included (for :func:`composite_viewer`: the composite, the
    redraw, the JPEG and the report), as it happens in the kernel when a student releases the slider;
    the browser adds the time to receive and paint the picture.

    Examples
    --------
    >>> import time, ipywidgets
    >>> from helpers import widgets
    >>> slider = ipywidgets.FloatSlider(value=0.0)
    >>> slider.observe(lambda change: time.sleep(0.01), names="value")
    >>> widgets.update_time(slider, [1.0, 2.0, 3.0]) >= 0.01
    True
    """
    import time

    times = []
    for value in values:
        start = time.perf_counter()
        slider.value = value
        times.append(time.perf_counter() - start)
    return float(np.median(times))
