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
