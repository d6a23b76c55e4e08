"""Showing frames: sensible display limits, x/y axes the right way up, overlays, and a projector style.

Every picture uses ``origin="lower"``: row 0 (y = 0) is at the bottom, as in DS9, so a star at
``x, y`` is drawn at ``x`` to the right and ``y`` up.

Examples
--------
>>> import numpy as np
>>> from helpers import plot
>>> image = np.random.default_rng(0).normal(100, 5, (64, 64))
>>> ax, im = plot.show(image, title="noise")
>>> [round(v) for v in im.get_clim()]
[85, 113]
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from astropy.visualization import ZScaleInterval

#: Colour-blind-safe colours (Okabe and Ito 2008) used for overlays.
COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]


def limits(image, method="zscale", percentiles=(1.0, 99.5)):
    """Display limits (vmin, vmax) for an image.

    Parameters
    ----------
    image : array
        The frame. NaN pixels are ignored.
    method : {"zscale", "percentile", "minmax"}
        "zscale" is IRAF's and DS9's default (astropy's ``ZScaleInterval``): it shows the sky noise and the
        faint stars. "percentile" clips the given percentiles.

    Examples
    --------
    >>> import numpy as np
    >>> limits(np.arange(100.0).reshape(10, 10), "minmax")
    (0.0, 99.0)
    """
    finite = np.asarray(image, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise ValueError("the image has no finite pixels to set display limits from")
    if method == "zscale":
        vmin, vmax = ZScaleInterval().get_limits(finite)
    elif method == "percentile":
        vmin, vmax = np.percentile(finite, percentiles)
    elif method == "minmax":
        vmin, vmax = finite.min(), finite.max()
    else:
        raise ValueError(f"unknown method {method!r}: use 'zscale', 'percentile' or 'minmax'")
    return float(vmin), float(vmax)


def show(image, ax=None, vmin=None, vmax=None, title=None, cmap="gray", colorbar=True, label="ADU", x0=0, y0=0):
    """Show a frame with x across and y up, and zscale limits unless vmin/vmax are given.

    For a cut-out ``frame[y0:y1, x0:x1]`` pass its corner ``x0, y0`` so that the axes show the
    positions in the full frame.

    Returns
    -------
    ax, im : the matplotlib Axes and the AxesImage (change its limits later with ``im.set_clim``).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5))
    if vmin is None or vmax is None:
        auto_min, auto_max = limits(image)
        vmin = auto_min if vmin is None else vmin
        vmax = auto_max if vmax is None else vmax
    ny, nx = np.shape(image)
    extent = (x0 - 0.5, x0 + nx - 0.5, y0 - 0.5, y0 + ny - 0.5)   # pixel centres at whole numbers
    im = ax.imshow(image, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", extent=extent)
    ax.set_xlabel("x (column)")
    ax.set_ylabel("y (row)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    return ax, im


def show_row(images, titles=None, size=4.5, ncols=None, **kwargs):
    """Show several frames side by side (``ncols`` per row), each with its own limits.

    Returns the list of (ax, im).
    """
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    titles = titles or [None] * len(images)
    shown = [show(image, ax=ax, title=title, **kwargs) for image, ax, title in zip(images, axes.flat, titles)]
    for ax in axes.flat[len(images):]:
        ax.set_visible(False)
    fig.tight_layout()
    return shown


def mark(ax, x, y, radius=6.0, color=COLOURS[0], label=None, linewidth=1.2):
    """Draw open circles at positions x, y (0-based pixels) on an Axes made by :func:`show`."""
    from matplotlib.collections import EllipseCollection

    x, y = np.atleast_1d(x), np.atleast_1d(y)
    circles = EllipseCollection(np.full(x.size, 2.0 * radius), np.full(x.size, 2.0 * radius), np.zeros(x.size),
                                units="xy", offsets=np.column_stack([x, y]), offset_transform=ax.transData,
                                facecolors="none", edgecolors=color, linewidths=linewidth, label=label)
    ax.add_collection(circles)
    return circles


PROJECTOR = {
    "font.size": 18, "axes.titlesize": 20, "axes.labelsize": 18, "xtick.labelsize": 15, "ytick.labelsize": 15,
    "legend.fontsize": 15, "lines.linewidth": 3.0, "lines.markersize": 9, "axes.linewidth": 1.6,
    "figure.figsize": (10, 7.5), "figure.dpi": 80, "image.cmap": "gray",
    "axes.prop_cycle": plt.cycler(color=COLOURS),
}


#: How much larger than normal figures are drawn while the projector style is on (see :func:`figure_size`).
_SIZE_SCALE = {"value": 1.0}


def figure_size(width, height):
    """A figure size in inches for the current style: ``(width, height)`` normally, larger with the projector style.

    The sliders' figures (:mod:`helpers.widgets`) ask for their size here, so that they follow
    :func:`projector_style` like every other figure.

    Examples
    --------
    >>> from helpers import plot
    >>> plot.figure_size(6.5, 6.0)
    (6.5, 6.0)
    """
    scale = _SIZE_SCALE["value"]
    return (width * scale, height * scale)


def projector_style(on=True):
    """Large fonts, thick lines and colour-blind-safe colours for a classroom projector.

    ``projector_style()`` switches it on for the rest of the session, ``projector_style(False)`` restores
    matplotlib's defaults.
    """
    import matplotlib as mpl

    if on:
        mpl.rcParams.update(PROJECTOR)
    else:
        mpl.rcParams.update({k: mpl.rcParamsDefault[k] for k in PROJECTOR})
