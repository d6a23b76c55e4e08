"""Measuring the camera from its own frames: read noise, dark current, and how flat a calibrated sky is.

Pixels that are NaN (dead pixels stored as BLANK, the NaN edges of an aligned frame) are left out of every
measurement here, quietly.

Examples
--------
>>> import numpy as np
>>> from helpers import camera
>>> rng = np.random.default_rng(1)
>>> a, b = rng.normal(1000, 6.0, (2, 256, 256))        # two bias frames, 6 ADU of read noise
>>> round(camera.read_noise(a, b, gain=1.5), 1)          # in electrons
9.0
"""
from __future__ import annotations

import math

import numpy as np
from astropy.stats import sigma_clipped_stats

#: Header keywords that may hold the gain (e-/ADU), in the order they are tried. EGAIN comes first: it is always
#: e-/ADU, while some capture programs (N.I.N.A., SGP) write the camera's own gain *setting* as GAIN (e.g. 120 on
#: a ZWO camera). ESO's CONAD is "conversion from ADUs to electrons" (its DET OUT1 GAIN is the inverse, ADU/e-).
GAIN_KEYWORDS = ("EGAIN", "GAIN", "CCDGAIN", "HIERARCH ESO DET OUT1 CONAD")
#: Header keywords that may hold the read noise (e-), in the order they are tried.
READ_NOISE_KEYWORDS = ("RDNOISE", "READNOIS", "RON", "READNOISE", "HIERARCH ESO DET OUT1 RON")
# Capture programs whose GAIN keyword is the camera's gain setting, not e-/ADU.
_GAIN_IS_A_SETTING = ("N.I.N.A", "NINA", "SEQUENCE GENERATOR", "SGPRO")


def _clipped_stats(values, sigma, maxiters):
    """sigma_clipped_stats of the finite values only: (mean, median, std), NaN when there are none."""
    values = np.asarray(values, float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan, math.nan
    return sigma_clipped_stats(finite, sigma=sigma, maxiters=maxiters)


def _positive(header, keywords, skip=()):
    """(value, keyword) of the first keyword holding a positive number, else (None, '')."""
    for keyword in keywords:
        if keyword in skip:
            continue
        try:
            value = float(header.get(keyword))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value, keyword
    return None, ""


def header_gain(header):
    """The gain (e-/ADU) a header gives, and the keyword it came from; ``(None, '')`` when none gives one.

    The keywords of :data:`GAIN_KEYWORDS` are tried in turn; a value that is not a positive number is
    passed over, and so is GAIN in a file from a capture program that writes the camera's gain setting
    there (SWCREATE or CREATOR naming N.I.N.A. or Sequence Generator Pro). No gain is ever guessed.

    Examples
    --------
    >>> header_gain({"GAIN": 1.5}), header_gain({"EGAIN": "2.3", "GAIN": 120}), header_gain({"GAIN": 0})
    ((1.5, 'GAIN'), (2.3, 'EGAIN'), (None, ''))
    >>> header_gain({"GAIN": 120, "SWCREATE": "N.I.N.A. 3.0"}), header_gain({})
    ((None, ''), (None, ''))
    """
    software = " ".join(str(header.get(k, "")) for k in ("SWCREATE", "CREATOR", "PROGRAM")).upper()
    skip = ("GAIN",) if any(name in software for name in _GAIN_IS_A_SETTING) else ()
    return _positive(header, GAIN_KEYWORDS, skip)


def header_read_noise(header):
    """The read noise (e-) a header gives (:data:`READ_NOISE_KEYWORDS`) and its keyword, or ``(None, '')``.

    Examples
    --------
    >>> header_read_noise({"RDNOISE": 5.0}), header_read_noise({"HIERARCH ESO DET OUT1 RON": 3.6})
    ((5.0, 'RDNOISE'), (3.6, 'HIERARCH ESO DET OUT1 RON'))
    """
    return _positive(header, READ_NOISE_KEYWORDS)


def read_noise(bias_a, bias_b, gain=1.0):
    """Read noise from two bias frames: the spread of their difference, divided by sqrt(2), times the gain.

    Subtracting two frames removes everything they share (the bias level and its column structure), and the
    difference of two independent noises has sqrt(2) times their spread. Sigma clipping ignores cosmic rays;
    NaN pixels (dead pixels stored as BLANK) are left out.

    Parameters
    ----------
    bias_a, bias_b : 2-D arrays in ADU
    gain : float
        e-/ADU; the result is in electrons (pass 1.0 to get ADU).
    """
    difference = np.asarray(bias_a, float) - np.asarray(bias_b, float)
    if not np.any(np.nan_to_num(difference) != 0):
        raise ValueError("the two bias frames are identical (their difference is 0 everywhere): the read noise "
                         "needs two different exposures, e.g. biases[0] and biases[1]")
    _, _, spread = _clipped_stats(difference, sigma=4.0, maxiters=10)
    return float(spread / np.sqrt(2.0) * gain)


def dark_current(master_dark, dark_exptime, gain=1.0):
    """Typical dark current in e-/s per pixel from a bias-subtracted master dark (hot pixels clipped, NaN left out).

    Parameters
    ----------
    master_dark : 2-D array
        Bias-subtracted dark in ADU for an exposure of ``dark_exptime`` seconds.
    dark_exptime : float
        Seconds.
    gain : float
        e-/ADU (pass 1.0 to get ADU/s).
    """
    mean, _, _ = _clipped_stats(master_dark, sigma=3.0, maxiters=10)
    return float(mean * gain / dark_exptime)


def hot_pixels(master_dark, dark_exptime, gain=1.0, threshold=3.0):
    """Mask of pixels whose dark current exceeds ``threshold`` e-/s (with ``gain``, else ADU/s)."""
    return np.asarray(master_dark) * gain / dark_exptime > threshold


def box_levels(image, n_boxes=8):
    """Sky level (sigma-clipped median) in each of ``n_boxes`` x ``n_boxes`` boxes covering the frame.

    Returns a ``(n_boxes, n_boxes)`` array; row 0 is the bottom of the frame. Stars are clipped away; a box
    without a finite pixel gets NaN.
    """
    ny, nx = np.shape(image)
    levels = np.empty((n_boxes, n_boxes))
    for row in range(n_boxes):
        for col in range(n_boxes):
            box = image[row * ny // n_boxes:(row + 1) * ny // n_boxes, col * nx // n_boxes:(col + 1) * nx // n_boxes]
            levels[row, col] = _clipped_stats(box, sigma=2.5, maxiters=10)[1]
    return levels


def _away_from(levels, shape, avoid):
    """The finite box levels whose box centre lies more than ``radius`` from ``x, y`` (all if avoid is None)."""
    if avoid is None:
        return levels[np.isfinite(levels)]
    n_boxes = levels.shape[0]
    ny, nx = shape
    centre_y = (np.arange(n_boxes) + 0.5) * ny / n_boxes
    centre_x = (np.arange(n_boxes) + 0.5) * nx / n_boxes
    x, y, radius = avoid
    far = np.hypot(centre_x[None, :] - x, centre_y[:, None] - y) > radius
    return levels[far & np.isfinite(levels)]


def sky_level(image, n_boxes=8, avoid=None):
    """The sky level: the median of the box levels of :func:`box_levels` (see :func:`sky_flatness` for avoid).

    NaN pixels are left out of each box, and a box without any finite pixel is left out of the median.
    """
    return float(np.median(_away_from(box_levels(image, n_boxes), np.shape(image), avoid)))


def sky_flatness(image, n_boxes=8, avoid=None):
    """How flat the sky is across the frame: the rms of the box sky levels divided by their mean.

    A flat-fielded frame of a uniform sky gives a small number (noise and faint stars only); vignetting or
    dust shadows that were not divided out give a large one.

    Parameters
    ----------
    image : 2-D array
    n_boxes : int
        The frame is cut into ``n_boxes`` x ``n_boxes`` boxes (see :func:`box_levels`).
    avoid : tuple (x, y, radius), optional
        Leave out boxes whose centre lies within ``radius`` pixels of ``x, y``: the core of a star cluster,
        where thousands of faint stars add light that is not sky.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[0:256, 0:256]
    >>> vignetted = 100 * (1 - 0.15 * ((x - 128) ** 2 + (y - 128) ** 2) / 128 ** 2)
    >>> round(sky_flatness(vignetted), 3) > 0.05, round(sky_flatness(np.full((256, 256), 100.0)), 3)
    (True, 0.0)
    """
    levels = _away_from(box_levels(image, n_boxes), np.shape(image), avoid)
    return float(np.std(levels) / np.mean(levels))


def gain_from_pairs(flat_a, flat_b, bias_a, bias_b):
    """Gain (e-/ADU) and read noise (e-) from two flats and two bias frames: the photon-transfer method.

    Light arrives in whole electrons, so a pixel that collected ``N`` electrons scatters by ``sqrt(N)``:
    its variance in electrons equals its signal in electrons. In ADU, with ``N = gain * S``::

        variance_ADU = S / gain + read_noise_ADU ** 2      so      gain = S / (variance_ADU - read_noise_ADU ** 2)

    Two flats of the same exposure are subtracted (their shared pattern, the flat field itself,
    cancels; the noise of the difference is sqrt(2) times that of one flat), and two bias frames give
    the read noise the same way (:func:`read_noise`). The second flat is scaled to the first one's level
    first, since twilight fades between exposures (which scales its noise too, and is allowed for).

    Parameters
    ----------
    flat_a, flat_b : 2-D arrays (ADU)
        Two raw flats of one filter and exposure time, well exposed but far from saturation.
    bias_a, bias_b : 2-D arrays (ADU)
        Two bias frames (or two darks as short as the flats, whose dark current is negligible).
        NaN pixels (dead pixels stored as BLANK) are left out.

    Returns
    -------
    gain : float
        e-/ADU.
    read_noise : float
        e-.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> gain, rn_adu, level = 2.0, 5.0, 300.0                   # e-/ADU, ADU, ADU
    >>> def frame(electrons):
    ...     return level + rng.poisson(electrons, (256, 256)) / gain + rng.normal(0, rn_adu, (256, 256))
    >>> g, rn = gain_from_pairs(frame(20000), frame(20000), frame(0), frame(0))
    >>> round(g, 1), round(rn, 0)
    (2.0, 10.0)
    """
    flat_a, flat_b, bias_a, bias_b = (np.asarray(f, dtype=float) for f in (flat_a, flat_b, bias_a, bias_b))
    bias_level = np.nanmedian(bias_a + bias_b) / 2
    signal_a, signal_b = np.nanmedian(flat_a) - bias_level, np.nanmedian(flat_b) - bias_level
    if not (signal_a > 0 and signal_b > 0):
        raise ValueError(f"the flats are not above the bias level ({signal_a:.1f} and {signal_b:.1f} ADU of "
                         "signal): give two exposed flats and two bias frames, in that order")
    k = signal_a / signal_b                   # flat_b scaled to flat_a's level: its noise grows by k too
    flat_difference = flat_a - bias_level - (flat_b - bias_level) * k
    bias_difference = bias_a - bias_b
    _, _, spread_flats = sigma_clipped_stats(flat_difference[np.isfinite(flat_difference)], sigma=4.0, maxiters=10)
    _, _, spread_bias = sigma_clipped_stats(bias_difference[np.isfinite(bias_difference)], sigma=4.0, maxiters=10)
    read_variance = spread_bias ** 2 / 2      # of one frame, ADU^2
    # variance of the difference = S_a / gain + k^2 S_b / gain + (1 + k^2) read_variance, with k S_b = S_a
    photon_variance = spread_flats ** 2 - (1 + k ** 2) * read_variance
    if not photon_variance > 0:
        raise ValueError("the flats scatter no more than the bias frames: no photon noise to measure "
                         "(are the flats exposed?)")
    gain = signal_a * (1 + k) / photon_variance
    return float(gain), float(spread_bias / np.sqrt(2.0) * gain)
