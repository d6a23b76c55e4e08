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
import ipywidgets as ipw
from IPython.display import display

from . import plot


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
    (``im.set_clim``) and redraws it, which is fast even for a 1024 x 1024 frame.

    Parameters
    ----------
    image : 2-D array
    title : str
    vmin, vmax : float, optional
        Starting limits; zscale limits by default.

    Returns
    -------
    ipywidgets.VBox
        The slider, the report line and the picture (``.children``); ``.image`` is the matplotlib image
        whose limits the slider sets.
    """
    start = plot.limits(image) if vmin is None or vmax is None else (vmin, vmax)
    # The slider spans the faintest 0.1 % to the brightest 0.5 % of the pixels: wide enough to reach into the
    # stars, narrow enough that the sky's few tens of ADU are not squeezed into one end of the slider.
    low, high = plot.limits(image, "percentile", percentiles=(0.1, 99.5))
    low, high = min(low, start[0]), max(high, start[1])
    step = step or max((high - low) / 1000.0, 1e-6)
    slider = ipw.FloatRangeSlider(value=start, min=low, max=high, step=step, description="limits",
                                  continuous_update=False, readout_format=".0f",
                                  layout=ipw.Layout(width="95%"))
    report = ipw.Label(stretch_report(image, *start))
    picture = ipw.Output()
    with plt.ioff():
        fig, ax = plt.subplots(figsize=(6.5, 6))
        _, im = plot.show(image, ax=ax, vmin=start[0], vmax=start[1], title=title)
    with picture:
        display(fig)

    def update(change):
        vmin_new, vmax_new = change["new"]
        im.set_clim(vmin_new, vmax_new)
        report.value = stretch_report(image, vmin_new, vmax_new)
        with picture:
            picture.clear_output(wait=True)
            display(fig)

    slider.observe(update, names="value")
    box = ipw.VBox([slider, report, picture])
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

    Each move runs :func:`helpers.detect.detection_summary` (the background is measured once) and moves
    the circles; with the truth given, the report line also gives completeness and false detections.
    """
    from . import detect

    level_noise = detect.background(image)
    truth = (truth_x, truth_y) if truth_x is not None else (np.array([]), np.array([]))

    def summarise(value):
        return detect.detection_summary(image, value, *truth, truth_snr=truth_snr, background=level_noise)

    slider = ipw.FloatSlider(value=threshold, min=low, max=high, step=0.5, description="threshold",
                             continuous_update=False, readout_format=".1f", layout=ipw.Layout(width="95%"))
    summary = summarise(threshold)
    report = ipw.Label(detection_report(summary, threshold))
    picture = ipw.Output()
    with plt.ioff():
        fig, ax = plt.subplots(figsize=(6.5, 6))
        plot.show(image, ax=ax, colorbar=False, title="detections (circles)")
        (circles,) = ax.plot(summary["stars"]["x"], summary["stars"]["y"], "o", ms=9, mfc="none",
                             mec=plot.COLOURS[0], mew=1.2)
    with picture:
        display(fig)

    def update(change):
        result = summarise(change["new"])
        circles.set_data(result["stars"]["x"], result["stars"]["y"])
        report.value = detection_report(result, change["new"])
        with picture:
            picture.clear_output(wait=True)
            display(fig)

    slider.observe(update, names="value")
    box = ipw.VBox([slider, report, picture])
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
    linear interpolation (see :func:`helpers.align.difference_image`).
    """
    from . import align

    def make(name, value):
        return ipw.FloatSlider(value=value, min=-span, max=span, step=step, description=name,
                               continuous_update=False, readout_format="+.2f", layout=ipw.Layout(width="95%"))

    slider_x, slider_y = make("dx", dx), make("dy", dy)
    difference, rms = align.difference_image(reference, image, dx, dy)
    report = ipw.Label(_shift_line(dx, dy, rms))
    limit = np.nanpercentile(np.abs(difference), 99.5)     # the same grey scale for every trial
    picture = ipw.Output()
    with plt.ioff():
        fig, ax = plt.subplots(figsize=(6.5, 6))
        _, im = plot.show(difference, ax=ax, vmin=-limit, vmax=limit, title="reference - shifted image",
                          cmap="RdBu_r")
    with picture:
        display(fig)

    def update(_change):
        new, rms = align.difference_image(reference, image, slider_x.value, slider_y.value)
        im.set_data(new)
        report.value = _shift_line(slider_x.value, slider_y.value, rms)
        with picture:
            picture.clear_output(wait=True)
            display(fig)

    slider_x.observe(update, names="value")
    slider_y.observe(update, names="value")
    box = ipw.VBox([slider_x, slider_y, report, picture])
    box.image = im
    return box
