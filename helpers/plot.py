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
import matplotlib as mpl
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
        _, ax = plt.subplots(figsize=figure_size(6, 5.5))
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
    fig, axes = plt.subplots(nrows, ncols, figsize=figure_size(size * ncols, size * nrows),
                             squeeze=False)
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


#: The Okabe-Ito colours that stay visible on a white background through a washed-out projector (their
#: contrast with white is at least 2:1; the yellow is left out), darkest first, then black.
PROJECTOR_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

#: The projector style's fonts and lines. Sizes are in points: on the screen a point is ``dpi / 72`` pixels.
PROJECTOR = {
    "font.size": 20, "axes.titlesize": 22, "axes.labelsize": 20, "xtick.labelsize": 18, "ytick.labelsize": 18,
    "legend.fontsize": 18, "legend.title_fontsize": 18, "figure.titlesize": 22,
    "lines.linewidth": 3.5, "lines.markersize": 10, "lines.markeredgewidth": 2.0, "patch.linewidth": 2.0,
    "axes.linewidth": 1.8, "grid.linewidth": 1.2, "errorbar.capsize": 4,
    "xtick.major.width": 1.8, "ytick.major.width": 1.8, "xtick.major.size": 7, "ytick.major.size": 7,
    "xtick.minor.width": 1.2, "ytick.minor.width": 1.2,
    "axes.prop_cycle": plt.cycler(color=PROJECTOR_COLOURS),
    "figure.figsize": (10.0, 6.8),
}

#: The projectors the style knows: the area (pixels) a figure has in JupyterLab at 100 % zoom with the file
#: browser closed (the output area's width, and the height below the menu, tab and tool bars less a line of
#: text; measured in Chromium by tests/test_projector_screens.py), and the dots per inch that make a
#: figure's inches the same fraction of either screen (80 x 1080 / 768 = 112).
SCREENS = {
    "1024x768": {"area": (840, 600), "dpi": 80},
    "1920x1080": {"area": (1740, 910), "dpi": 112},
}

#: Height (pixels) left free under a slider's figure for the slider and its report line.
SLIDER_ROOM = 80

#: In a notebook the projector style shows a figure that is small for the screen up to this much larger
#: than the style's dots per inch (see :func:`display_dpi`).
MAX_ENLARGE = 1.25

#: The area (pixels) figures must fit while the projector style is on (None when it is off; see
#: :func:`figure_size`).
_SCREEN = {"area": None}

#: What was in force before the projector style was switched on (rcParams, screen area, the notebook's way
#: of showing figures); empty when it is off.
_SAVED = {}


def figure_size(width, height):
    """A figure size in inches for the current style: ``(width, height)`` normally; with the projector style
    made small enough to fit the projector's screen.

    The sliders' figures (:mod:`helpers.widgets`) and :func:`show` and :func:`show_row` ask for their size
    here, so that they follow :func:`projector_style`. While the projector style is on, the size is shrunk
    (never enlarged) until the figure, at the style's dots per inch, fits the screen's area with
    :data:`SLIDER_ROOM` pixels to spare below it.

    Examples
    --------
    >>> from helpers import plot
    >>> plot.figure_size(6.5, 6.0)
    (6.5, 6.0)
    >>> plot.projector_style(screen="1024x768")
    >>> [round(v, 2) for v in plot.figure_size(13, 4.3)]    # 13 in x 80 dpi = 1040 px is too wide for 840
    [10.5, 3.47]
    >>> plot.projector_style(False)
    """
    scale = 1.0
    area = _SCREEN["area"]
    if area is not None:
        dpi = float(mpl.rcParams["figure.dpi"])
        room_w, room_h = area[0] / dpi, (area[1] - SLIDER_ROOM) / dpi
        scale = min(scale, room_w / width, room_h / height)
    return (width * scale, height * scale)


def display_dpi(fig):
    """The dots per inch at which a notebook shows ``fig`` while the projector style is on.

    A figure whose size was fixed in inches (``plt.subplots(figsize=(13, 8))``) may not fit the screen at the
    style's dots per inch: it is shown at fewer, just enough to fit the screen's area (its tight bounding
    box, as JupyterLab shows it), so nobody has to scroll; a small one is shown up to
    :data:`MAX_ENLARGE` times larger. Without the projector style: the figure's own dpi.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from helpers import plot
    >>> plot.projector_style(screen="1024x768")
    >>> fig = plt.figure(figsize=(13, 8.4))
    >>> dpi = plot.display_dpi(fig)
    >>> dpi < 80, round((8.4 + 0.2) * dpi) <= 600
    (True, True)
    >>> plt.close(fig)
    >>> plot.projector_style(False)
    """
    area = _SCREEN["area"]
    if area is None:
        return float(fig.dpi)
    width, height = fig.get_size_inches()
    try:
        fig.draw_without_rendering()        # tick labels exist only after a draw; this one paints no pixels
        box = fig.get_tightbbox()
        width, height = box.width, box.height
    except (AttributeError, TypeError, ValueError):
        pass
    pad = 2 * float(mpl.rcParams["savefig.pad_inches"])
    fit = 0.98 * min(area[0] / (width + pad), area[1] / (height + pad))     # 2 % to spare for rounding
    return float(min(MAX_ENLARGE * float(mpl.rcParams["figure.dpi"]), fit))


def _shown_fitted(fig, original):
    """Show a figure in the notebook as IPython would, at :func:`display_dpi`."""
    return original(fig, dpi=display_dpi(fig))


def _fit_notebook_figures(on):
    """Make IPython's inline figures use :func:`display_dpi` (on) or its own way again (off)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from functools import partial
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    if on:
        if Figure not in png.type_printers:
            # pyplot loads its backend only for the first figure, and the inline backend then puts in its own
            # formatter: load it now (no pyplot figure can be open yet, so the switch closes none)
            plt.switch_backend(mpl.get_backend())
        original = png.type_printers.get(Figure)
        if original is not None:
            _SAVED["png"] = (png, original)
            png.for_type(Figure, partial(_shown_fitted, original=original))
    elif "png" in _SAVED:
        png, original = _SAVED.pop("png")
        png.for_type(Figure, original)


def projector_style(on=True, screen="1024x768"):
    """Large fonts, thick lines and colour-blind-safe colours, sized for a classroom projector.

    Off by default. ``projector_style()`` switches it on for the rest of the session (every figure drawn
    afterwards), ``projector_style(False)`` switches it off and puts back exactly the settings that were in
    force before it was switched on (the notebook's own, not matplotlib's defaults).

    Parameters
    ----------
    on : bool
        True to switch on (or to change the screen while on), False to switch off. Switching off when it is
        already off does nothing.
    screen : {"1024x768", "1920x1080"}
        The projector's resolution. It sets the dots per inch (80 or 112), so that a figure takes the same
        fraction of either screen, and the area that figures must fit (:data:`SCREENS`). A default figure
        (10 x 6.8 in) is 800 x 544 pixels on 1024x768 and 1120 x 762 on 1920x1080; text is 20 points (tick
        labels 18), that is 22 or 31 pixels high (20 or 28). In a notebook every figure is shown at
        :func:`display_dpi`, so that it fits the screen; the sliders' figures take their size from
        :func:`figure_size`.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> from helpers import plot
    >>> before = mpl.rcParams["font.size"]
    >>> plot.projector_style()
    >>> mpl.rcParams["font.size"], mpl.rcParams["figure.dpi"]
    (20.0, 80.0)
    >>> plot.projector_style(False)
    >>> mpl.rcParams["font.size"] == before
    True
    """
    if not on:
        if _SAVED:
            mpl.rcParams.update(_SAVED["rc"])
            _SCREEN.update(_SAVED["screen"])
            _fit_notebook_figures(False)
            _SAVED.clear()
        return
    if screen not in SCREENS:
        raise ValueError(f"unknown screen {screen!r}: use one of {', '.join(SCREENS)}")
    settings = dict(PROJECTOR, **{"figure.dpi": SCREENS[screen]["dpi"]})
    if not _SAVED:                          # switched on twice: keep what was there the first time
        _SAVED["rc"] = {key: mpl.rcParams[key] for key in settings}
        _SAVED["screen"] = dict(_SCREEN)
        _fit_notebook_figures(True)
    mpl.rcParams.update(settings)
    _SCREEN["area"] = SCREENS[screen]["area"]
