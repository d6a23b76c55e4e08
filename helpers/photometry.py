"""Photometry: from fluxes to magnitudes, and the zero point that ties them to a catalogue.

A magnitude is ``-2.5 log10(flux)`` plus a zero point: five magnitudes are a factor of 100 in flux, and a
brighter star has a smaller magnitude. Without calibration we get *instrumental* magnitudes; a few stars of
known magnitude (standard stars) give the zero point that turns them into real ones.

Examples
--------
>>> from helpers import photometry
>>> round(float(photometry.instrumental_magnitude(10000.0)), 3)
-10.0
>>> round(float(photometry.instrumental_magnitude(100.0) - photometry.instrumental_magnitude(10000.0)), 3)
5.0
"""
from __future__ import annotations

import numpy as np


def instrumental_magnitude(flux, exptime=1.0):
    """``-2.5 log10(flux / exptime)``; NaN where the flux is not positive (no warning).

    Parameters
    ----------
    flux : float or array
        Background-subtracted flux (ADU or electrons).
    exptime : float
        Seconds; pass it to get magnitudes per second, comparable between exposures.
    """
    flux = np.asarray(flux, dtype=float) / exptime
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, -2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.nan)


def zero_point(instrumental, catalogue):
    """The zero point ``catalogue - instrumental``: a robust (median) value and its uncertainty.

    Parameters
    ----------
    instrumental, catalogue : arrays
        Magnitudes of the same stars; NaN entries are ignored.

    Returns
    -------
    zp : float
        Median of ``catalogue - instrumental``.
    error : float
        Uncertainty of that median: 1.2533 * (robust standard deviation) / sqrt(n).

    Examples
    --------
    >>> zp, err = zero_point([-10.0, -9.0, -8.0], [14.1, 15.1, 16.1])
    >>> round(zp, 2), round(err, 3)
    (24.1, 0.0)
    """
    difference = np.asarray(catalogue, float) - np.asarray(instrumental, float)
    difference = difference[np.isfinite(difference)]
    if difference.size == 0:
        raise ValueError("no star has both an instrumental and a catalogue magnitude")
    zp = float(np.median(difference))
    spread = 1.4826 * np.median(np.abs(difference - zp))
    return zp, float(1.2533 * spread / np.sqrt(difference.size))
