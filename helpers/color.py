"""Colour composites: stretch three aligned frames and lay them on top of each other as red, green, blue.

A colour picture shows three numbers per pixel, the red, green and blue levels, each between 0 (dark) and
1 (full). We make them from three frames of the same field taken through three filters (R, V and B for
the galaxy of chapter 07), aligned first (:mod:`helpers.align`).

What "colour" means. A pixel's colour is the *ratio* of its three levels (r : g : b); its brightness is
their sum. A source that is twice as bright but has the same spectrum has the same ratios, so it should
look the same colour, only brighter. The question of this module is which stretches keep that true.

- A **linear** stretch of each band, ``(x - vmin) / (vmax - vmin)`` with ``vmin`` at each band's sky,
  keeps the ratios of the faint parts (up to a constant white balance), but every band is cut at 1: the
  bright core of a red galaxy reaches 1 in all three bands and turns white.
- A **log** or **asinh** stretch of each band separately (the classic handbook's ``img_scale.asinh``,
  here :func:`stack_bands`) squeezes the bright values of each band on its own: a pixel whose red is 3
  times its blue ends up with a ratio nearer 1, the more so the brighter it is. Faint and bright parts of
  the same source get different colours, and everything bright drifts towards white.
- **Lupton et al. (2004)** (:func:`rgb_composite`) stretch the *intensity* ``I = (r + g + b) / 3`` with
  asinh and multiply all three bands by the same factor ``F(I) / I``. The ratios of a pixel are kept at
  every brightness; a pixel that would exceed 1 is scaled down as a whole (all three bands divided by the
  largest), so it keeps its colour there too. asinh is linear for faint values (the noise looks like
  noise) and logarithmic for bright ones (the core fits in), which is why it is used for the stretch.

The composites are float arrays of shape ``(ny, nx, 3)`` in [0, 1]: ``rgb[y, x] = (red, green, blue)``.
Like every picture in the handbook, show them with ``origin="lower"`` (row 0 at the bottom);
:func:`save_png` writes the PNG the same way up. NaN pixels (the empty edges of a shifted frame) are black.

Examples
--------
>>> import numpy as np
>>> from helpers import color
>>> r = np.array([[3.0, 30.0]])               # a faint and a bright pixel of one source: 3 : 2 : 1
>>> g = r * 2 / 3
>>> b = r / 3
>>> rgb = color.rgb_composite(r, g, b, stretch=5, Q=8)
>>> print(np.round(rgb[0, :, 1] / rgb[0, :, 0], 3))        # green / red: kept where not black
[0.667 0.667]
>>> classic = color.stack_bands(r, g, b, limits=[(0, 30)] * 3, softening=1.0)
>>> print(np.round(classic[0, :, 1] / classic[0, :, 0], 3))  # per band: paler, more so when bright
[0.794 0.901]
"""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from astropy.stats import sigma_clipped_stats

from .io import check_can_write

__all__ = ["linear_stretch", "log_stretch", "asinh_stretch", "band_limits", "stack_bands",
           "lupton_stretch", "rgb_composite", "composite_from_limits", "to_uint8", "save_png"]


# --------------------------------------------------------------------------------------------------
# One band: map the values between vmin and vmax onto [0, 1]
# --------------------------------------------------------------------------------------------------
def _check_limits(vmin, vmax):
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmax <= vmin:
        raise ValueError(f"vmax must be a number larger than vmin (got vmin={vmin}, vmax={vmax}); "
                         "band_limits(image) gives a sensible pair")


def _unit_range(values):
    """Cut values to [0, 1]; NaN becomes 0 (black). Changes ``values`` in place (a new array of ours)."""
    values = np.asarray(values)                 # (a 0-d array when one number was given)
    np.clip(values, 0.0, 1.0, out=values)
    return np.nan_to_num(values, nan=0.0, copy=False)


def linear_stretch(image, vmin, vmax):
    """Map ``vmin`` to 0 and ``vmax`` to 1 along a straight line; values outside are cut to 0 or 1.

    ``y = (x - vmin) / (vmax - vmin)``, cut to [0, 1]. NaN becomes 0.

    Parameters
    ----------
    image : array_like
        Values (any shape).
    vmin, vmax : float
        The values shown as black (0) and white (1); ``vmax > vmin``.

    Returns
    -------
    ndarray
        float64 array of the same shape, in [0, 1].

    Examples
    --------
    >>> from helpers.color import linear_stretch
    >>> print(linear_stretch([50.0, 100.0, 150.0, 200.0, 400.0], vmin=100, vmax=300))
    [0.   0.   0.25 0.5  1.  ]
    """
    _check_limits(vmin, vmax)
    x = np.asarray(image, dtype=float)
    return _unit_range((x - vmin) / (vmax - vmin))


def log_stretch(image, vmin, vmax, a=1000.0):
    """Logarithmic stretch: faint values are spread out, bright ones squeezed together.

    ``y = log(a t + 1) / log(a + 1)`` with ``t`` the linear stretch (:func:`linear_stretch`), the same
    formula as astropy's ``LogStretch``. ``a`` sets how strong it is: the values near ``vmin`` are
    multiplied by about ``a / log(a)`` while ``vmax`` still maps to 1. NaN becomes 0.

    Parameters
    ----------
    image : array_like
        Values (any shape).
    vmin, vmax : float
        The values shown as 0 and 1; ``vmax > vmin``.
    a : float
        Strength (> 0); small ``a`` is nearly linear.

    Returns
    -------
    ndarray
        float64 array of the same shape, in [0, 1].

    Examples
    --------
    >>> from helpers.color import log_stretch
    >>> print(log_stretch([0.0, 1.0, 10.0, 100.0], vmin=0, vmax=100, a=1000))
    [0.         0.34708068 0.66801047 1.        ]
    """
    if not a > 0:
        raise ValueError(f"a must be positive (got {a}); 1000 is astropy's default")
    t = linear_stretch(image, vmin, vmax)
    return np.log(a * t + 1.0) / np.log(a + 1.0)


def asinh_stretch(image, vmin, vmax, softening):
    """asinh stretch of one band, as the classic handbook's ``img_scale.asinh``.

    Values below ``vmin`` become 0; above it::

        y = asinh((x - vmin) / softening) / asinh((vmax - vmin) / softening)

    cut to [0, 1], so ``vmin`` maps to 0 and ``vmax`` to 1. NaN becomes 0.

    ``softening`` (in the units of the image, e.g. ADU) is where the curve bends, because
    ``asinh(z)`` is about ``z`` for ``|z| < 1`` and about ``log(2 z)`` for ``z >> 1``:

    - **large softening** (much more than ``vmax - vmin``): every value is in the straight part, and
      ``y`` tends to the linear stretch ``(x - vmin) / (vmax - vmin)`` (:func:`linear_stretch`);
    - **small softening** (much less than the values of interest): ``y`` tends to
      ``1 + log((x - vmin) / (vmax - vmin)) / log(2 (vmax - vmin) / softening)``, which is linear in
      ``log(x - vmin)``: a log stretch, squeezing more and more as ``softening`` goes to 0.

    The classic used ``softening = 2`` (``non_linear=2.0``), very log-like for frames in the thousands
    of ADU.

    Parameters
    ----------
    image : array_like
        Values (any shape).
    vmin, vmax : float
        The values shown as 0 and 1; ``vmax > vmin``.
    softening : float
        Where the stretch turns from linear to logarithmic (> 0, units of the image).

    Returns
    -------
    ndarray
        float64 array of the same shape, in [0, 1].

    Examples
    --------
    >>> from helpers.color import asinh_stretch
    >>> x = [0.0, 10.0, 100.0, 1000.0]
    >>> print(np.round(asinh_stretch(x, vmin=0, vmax=1000, softening=10), 3))
    [0.    0.166 0.566 1.   ]
    >>> print(np.round(asinh_stretch(x, vmin=0, vmax=1000, softening=1e6), 3))   # linear
    [0.   0.01 0.1  1.  ]
    """
    _check_limits(vmin, vmax)
    if not softening > 0:
        raise ValueError(f"softening must be positive (got {softening}): small is log-like, "
                         "large is linear")
    x = np.asarray(image, dtype=float)
    above = np.maximum(x - vmin, 0.0)           # clip below vmin (NaN stays NaN)
    y = np.arcsinh(above / softening)
    y /= np.arcsinh((vmax - vmin) / softening)
    return _unit_range(y)


def band_limits(image, k_low=0.75, k_high=5.0, robust=False):
    """Display limits of one band as the classic handbook chose them: ``mean + k * std``.

    ``vmin = mean + k_low * std`` and ``vmax = mean + k_high * std`` of the image (NaN pixels ignored).

    The plain mean and standard deviation are pulled up by the stars and the galaxy themselves: on a
    galaxy frame ``std`` is mostly the galaxy, not the sky noise, so ``mean + 0.75 std`` lies well above
    the sky and the faint outskirts are cut to black. With ``robust=True`` the mean and std are
    sigma-clipped (astropy ``sigma_clipped_stats``, 3 sigma): they describe the sky alone, so ``k`` counts
    sky-noise sigmas. ``k_low`` of about 1 then shows the faint outskirts, but ``k_high`` must be much
    larger (tens to hundreds, look at the picture) for the bright parts to fit.

    Parameters
    ----------
    image : array_like
        A 2-D frame.
    k_low, k_high : float
        Multiples of the standard deviation above the mean; ``k_high > k_low``.
    robust : bool
        Use sigma-clipped statistics (the sky) instead of the plain mean and std.

    Returns
    -------
    vmin, vmax : float

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.color import band_limits
    >>> sky = np.random.default_rng(1).normal(100.0, 10.0, (200, 200))
    >>> sky[100, 100] = 1e6                        # one bright star
    >>> print([round(v) for v in band_limits(sky)])              # the star pulls both up
    [3874, 25122]
    >>> print([round(v) for v in band_limits(sky, robust=True)]) # the sky: mean 100, sigma 10
    [107, 149]
    """
    if not k_high > k_low:
        raise ValueError(f"k_high must be larger than k_low (got {k_low}, {k_high})")
    values = np.asarray(image, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the image has no finite pixels to take limits from")
    if robust:
        mean, _, std = sigma_clipped_stats(values, sigma=3.0, maxiters=5)
    else:
        mean, std = values.mean(), values.std()
    return float(mean + k_low * std), float(mean + k_high * std)


# --------------------------------------------------------------------------------------------------
# Three bands
# --------------------------------------------------------------------------------------------------
def _three(r, g, b):
    """The three frames as one float64 array of shape (3, ny, nx).

    Pixels where any band is NaN or infinite are set to 0 in all three (they will be black)."""
    bands = [np.asarray(band, dtype=float) for band in (r, g, b)]
    shapes = [band.shape for band in bands]
    if bands[0].ndim != 2 or len(set(shapes)) != 1:
        raise ValueError(f"r, g and b must be 2-D frames of the same shape; got {shapes[0]}, {shapes[1]} "
                         f"and {shapes[2]} (align them with helpers.align and trim them to the same size)")
    bands = np.stack(bands)
    usable = np.isfinite(bands).all(axis=0)
    if not usable.all():
        bands[:, ~usable] = 0.0
    return bands


def _per_band(value, name):
    """A scalar or three values, as an array of 3."""
    values = np.asarray(value, dtype=float)
    if values.ndim == 0:
        values = np.full(3, float(values))
    if values.shape != (3,):
        raise ValueError(f"{name} must be one number or three (red, green, blue); got {value!r}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite numbers, got {value!r}: a NaN would make every pixel NaN")
    return values


def _limit_pairs(limits):
    """limits as two arrays of 3: the lower and upper limits of red, green and blue."""
    pairs = np.asarray(limits, dtype=float)
    if pairs.shape != (3, 2):
        raise ValueError(f"limits must be three (vmin, vmax) pairs, for red, green and blue; got {limits!r}")
    for (low, high), band in zip(pairs, "rgb"):
        if not high > low:
            raise ValueError(f"the limits of band {band} must have vmax > vmin; got ({low}, {high})")
    return pairs[:, 0], pairs[:, 1]


def stack_bands(r, g, b, limits, softening):
    """The classic handbook's composite: each band stretched on its own by :func:`asinh_stretch`.

    ``rgb[..., 0] = asinh_stretch(r, *limits[0], softening)`` and so on for green and blue. Each band has
    its own limits (e.g. from :func:`band_limits`), which is a white balance, and is then stretched on
    its own. Because the stretch is not a straight line through 0, the ratios r : g : b of a pixel
    change, differently at different brightness: bright parts turn paler (towards white), and faint
    and bright parts of one source get different colours. :func:`rgb_composite` keeps the colours.

    Parameters
    ----------
    r, g, b : array_like
        Aligned 2-D frames of the same shape shown as red, green and blue.
    limits : sequence of three (vmin, vmax) pairs
        The limits of red, green and blue, in the units of each frame.
    softening : float or sequence of three floats
        The asinh softening of each band (see :func:`asinh_stretch`).

    Returns
    -------
    ndarray, shape (ny, nx, 3)
        float64 in [0, 1]; pixels where any band is NaN are black.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.color import stack_bands
    >>> r, g, b = np.full((2, 2), 30.0), np.full((2, 2), 20.0), np.full((2, 2), 10.0)
    >>> rgb = stack_bands(r, g, b, limits=[(0, 100), (0, 100), (0, 100)], softening=5.0)
    >>> rgb.shape
    (2, 2, 3)
    >>> print(np.round(rgb[0, 0], 3))         # 3 : 2 : 1 has become 1.7 : 1.5 : 1
    [0.675 0.568 0.391]
    """
    bands = _three(r, g, b)
    lows, highs = _limit_pairs(limits)
    softenings = _per_band(softening, "softening")
    return np.dstack([asinh_stretch(band, low, high, soft)
                      for band, low, high, soft in zip(bands, lows, highs, softenings)])


def _keep_colours(bands, intensity, brightness):
    """Lupton et al.'s step: multiply all three bands by the same factor F(I) / I, then fit into [0, 1].

    bands : (3, ny, nx); intensity I and the stretched intensity F(I) : (ny, nx).
    Returns (ny, nx, 3)."""
    factor = np.zeros_like(intensity)                        # 0 (black) where I <= 0
    np.divide(brightness, intensity, out=factor, where=intensity > 0)
    rgb = bands * factor
    np.maximum(rgb, 0.0, out=rgb)                            # one band may be below its minimum
    peak = rgb.max(axis=0)
    rgb /= np.maximum(peak, 1.0)                             # too bright: divide all three by the largest
    return np.dstack(rgb)


def lupton_stretch(intensity, stretch=5.0, Q=8.0):
    """The stretched intensity ``F(I)`` of Lupton et al. (2004), normalised as astropy does.

    ``F(I) = asinh(Q I / stretch) * 0.1 / asinh(0.1 Q)``

    - ``stretch`` is the range of intensity shown nearly linearly: for ``I`` much less than
      ``stretch / Q``, ``F`` is a straight line, beyond it a logarithm.
    - ``Q`` is how strongly the bright end is squeezed; ``Q -> 0`` gives the linear ``F = I / stretch``.
    - The constant ``0.1 / asinh(0.1 Q)`` is astropy's choice (``make_lupton_rgb``): ``I = 0.1 stretch``
      is shown at level 0.1 whatever ``Q``. The paper divides by ``Q`` instead (``F = asinh(Q I /
      stretch) / Q``), which only makes the whole picture ``0.1 Q / asinh(0.1 Q)`` times darker (1.09
      for ``Q = 8``); we follow astropy so that the two agree.

    Parameters
    ----------
    intensity : array_like
        Intensity ``I`` (any shape), with the black level already subtracted.
    stretch : float
        Linear range (> 0), in the units of the frames.
    Q : float
        Softening (>= 0).

    Returns
    -------
    ndarray
        ``F(I)``; not cut to [0, 1] (:func:`rgb_composite` does that for the whole pixel).

    Examples
    --------
    >>> from helpers.color import lupton_stretch
    >>> print(np.round(lupton_stretch([0.0, 0.5, 5.0, 50.0], stretch=5, Q=8), 3))
    [0.    0.1   0.379 0.693]
    """
    if not stretch > 0:
        raise ValueError(f"stretch must be positive (got {stretch})")
    if not Q >= 0:
        raise ValueError(f"Q must be zero or positive (got {Q}); Q = 0 is a linear stretch")
    intensity = np.asarray(intensity, dtype=float)
    if Q == 0:
        return intensity / stretch
    return np.arcsinh(Q * intensity / stretch) * (0.1 / np.arcsinh(0.1 * Q))


def rgb_composite(r, g, b, minimum=0.0, stretch=5.0, Q=8.0):
    """Colour composite that keeps colours (Lupton et al. 2004), written out step by step.

    1. Subtract the black level ``minimum`` from each band (one value, or one per band: the sky).
    2. Intensity ``I = (r + g + b) / 3``.
    3. Stretch the intensity: ``F(I)`` of :func:`lupton_stretch` (asinh).
    4. Multiply all three bands by the same factor ``F(I) / I``: the pixel becomes as bright as ``F``
       says, its ratios r : g : b (its colour) stay. Where ``I <= 0`` the pixel is black. (For small
       positive ``I`` the factor tends to the finite slope of ``F`` at 0, no division by zero.)
    5. Cut bands below 0 to 0 (one band can be below its minimum when the others are not).
    6. Where the largest band exceeds 1, divide all three by it: the colour is kept, not turned white.

    The same steps and parameters as astropy's ``make_lupton_rgb(r, g, b, minimum=..., stretch=...,
    Q=...)``; with :func:`to_uint8` the 8-bit levels agree (the tests allow one level for rounding).

    Parameters
    ----------
    r, g, b : array_like
        Aligned 2-D frames of the same shape shown as red, green and blue. Scale them first if one band
        should weigh more (a white balance).
    minimum : float or sequence of three floats
        Black level, subtracted from each band (usually each band's sky).
    stretch : float
        Intensity range shown nearly linearly (units of the frames).
    Q : float
        asinh softening: 0 is linear, larger squeezes the bright parts more.

    Returns
    -------
    ndarray, shape (ny, nx, 3)
        float64 in [0, 1]; pixels where any band is NaN are black.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.color import rgb_composite
    >>> r = np.array([[0.0, 1.0, 10.0, 1000.0]])
    >>> rgb = rgb_composite(r, r / 2, r / 4, stretch=5, Q=8)
    >>> print(np.round(rgb[0], 3))        # always 4 : 2 : 1; the brightest pixel scaled to fit
    [[0.    0.    0.   ]
     [0.195 0.098 0.049]
     [0.685 0.343 0.171]
     [1.    0.5   0.25 ]]
    """
    bands = _three(r, g, b) - _per_band(minimum, "minimum")[:, None, None]
    intensity = (bands[0] + bands[1] + bands[2]) / 3.0
    return _keep_colours(bands, intensity, lupton_stretch(intensity, stretch, Q))


def composite_from_limits(r, g, b, limits, softening, keep_colours=True):
    """One redraw of chapter 07's sliders: a composite from each band's limits and the softening.

    With ``keep_colours=False`` this is the classic per-band stretch, :func:`stack_bands`.

    With ``keep_colours=True`` (default) the same limits are used the Lupton way:

    1. each band becomes ``t = (x - vmin) / (vmax - vmin)`` (a straight line: a white balance that
       makes each band's ``vmax`` equal to 1; not cut);
    2. intensity ``I = (t_r + t_g + t_b) / 3``, stretched by :func:`asinh_stretch` ``(I, 0, 1, s)``
       where ``s`` is the softening measured in units of each band's range ``vmax - vmin``, averaged
       over the three bands;
    3. as in :func:`rgb_composite`, all three bands multiplied by the same factor and fitted into [0, 1].

    A grey pixel (the same ``t`` in all bands) gets the same level both ways when the softening is the
    same fraction of each band's range; a coloured one keeps its colour only with ``keep_colours=True``.

    One redraw of 1024 x 1024 x 3 takes about 60-90 ms (both ways, on a 2-core machine); showing the
    result (``imshow(...).set_data`` and drawing) costs about as much again.

    Parameters
    ----------
    r, g, b : array_like
        Aligned 2-D frames of the same shape shown as red, green and blue.
    limits : sequence of three (vmin, vmax) pairs
        Each band's black and white levels (e.g. :func:`band_limits`).
    softening : float or sequence of three floats
        asinh softening in the units of the frames (see :func:`asinh_stretch`).
    keep_colours : bool
        Lupton's colour-keeping composite (True) or the classic per-band one (False).

    Returns
    -------
    ndarray, shape (ny, nx, 3)
        float64 in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.color import composite_from_limits
    >>> r, g, b = np.full((1, 1), 30.0), np.full((1, 1), 20.0), np.full((1, 1), 10.0)
    >>> limits = [(0, 100)] * 3
    >>> print(np.round(composite_from_limits(r, g, b, limits, 5.0)[0, 0], 3))
    [0.852 0.568 0.284]
    >>> print(np.round(composite_from_limits(r, g, b, limits, 5.0, keep_colours=False)[0, 0], 3))
    [0.675 0.568 0.391]
    """
    if not keep_colours:
        return stack_bands(r, g, b, limits, softening)
    lows, highs = _limit_pairs(limits)
    softenings = _per_band(softening, "softening")
    if np.any(softenings <= 0):
        raise ValueError(f"softening must be positive (got {softening}): small is log-like, large is linear")
    ranges = highs - lows
    scaled = (_three(r, g, b) - lows[:, None, None]) / ranges[:, None, None]
    intensity = (scaled[0] + scaled[1] + scaled[2]) / 3.0
    relative_softening = float(np.mean(softenings / ranges))
    return _keep_colours(scaled, intensity, asinh_stretch(intensity, 0.0, 1.0, relative_softening))


# --------------------------------------------------------------------------------------------------
# 8-bit and PNG
# --------------------------------------------------------------------------------------------------
def to_uint8(rgb):
    """The composite as 8-bit levels 0..255, as astropy's ``make_lupton_rgb`` makes them.

    ``level = floor(255 * value)`` (truncation, like astropy): level ``k`` covers values from ``k / 255``
    up to ``(k + 1) / 255``, and only 1.0 gives 255.

    Parameters
    ----------
    rgb : array_like
        Values in [0, 1], e.g. from :func:`rgb_composite` (any shape).

    Returns
    -------
    ndarray of uint8

    Examples
    --------
    >>> from helpers.color import to_uint8
    >>> print(to_uint8([0.0, 0.5, 0.999, 1.0]))
    [  0 127 254 255]
    """
    rgb = np.asarray(rgb, dtype=float)
    if not (np.all(rgb >= 0.0) and np.all(rgb <= 1.0)):   # also False for NaN
        raise ValueError("to_uint8 needs values in [0, 1] (no NaN): pass a composite from rgb_composite, "
                         "stack_bands or composite_from_limits")
    return (rgb * 255.0).astype(np.uint8)


def save_png(rgb, path, overwrite=False):
    """Write a composite to a PNG file, the right way up.

    The composite is an array whose row 0 is the bottom of the picture (shown with ``origin="lower"``);
    a PNG file starts at the top. ``plt.imsave(..., origin="lower")`` turns it over, so the file looks
    as the picture on the screen. Float composites are converted with :func:`to_uint8`.

    Parameters
    ----------
    rgb : array_like, shape (ny, nx, 3)
        float values in [0, 1], or uint8 levels.
    path : str or Path
        File name ending in ``.png``; missing folders are created.
    overwrite : bool
        Replace an existing file. Without it an existing file is an error.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from helpers.color import save_png
    >>> folder = Path(tempfile.mkdtemp())
    >>> rgb = np.zeros((4, 6, 3))
    >>> rgb[0, :, 0] = 1.0                       # bottom row red
    >>> save_png(rgb, folder / "out" / "test.png").name
    'test.png'
    >>> save_png(rgb, folder / "out" / "test.png")
    Traceback (most recent call last):
    ...
    FileExistsError: ... already exists and was not changed. Write to another name, or pass overwrite=True to replace it.
    >>> import shutil; shutil.rmtree(folder)
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_png writes PNG files: give a file name ending in .png (got {path.name!r})")
    check_can_write(path, overwrite)   # never beside raw frames, never over a read-only file
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a composite has shape (ny, nx, 3); got {rgb.shape}")
    levels = rgb if rgb.dtype == np.uint8 else to_uint8(rgb)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, levels, origin="lower")
    return path
