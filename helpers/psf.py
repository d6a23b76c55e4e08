"""PSF fitting: a star's centre, width and FWHM, with honest error bars.

Chapter 05 in code, one step per function:

1. :func:`noise_model` gives every pixel its 1-sigma error from the CCD equation (photons counted in
   electrons, read noise, gain). The classic handbook's ``sqrt(ADU)`` is wrong, see its docstring.
2. :func:`strip` and :func:`fit_gaussian_1d`: the classic's first step, a Gaussian plus a constant fitted
   to a line of pixels through the star, now weighted by the noise model.
3. :func:`cutout`, :func:`fit_gaussian_2d` and :func:`fit_moffat_2d`: the same idea on a small square
   around the star, with ``scipy.optimize.least_squares``.
4. :func:`fwhm_map` fits many stars (the FWHM across the field); :func:`fit_star` is the plain function
   behind the chapter's star slider.

Every fit returns a :class:`PSFFit`: centre, width, FWHM, amplitude, background and total flux, each with
its 1-sigma uncertainty, chi-square and degrees of freedom, and the data, model and residuals for plots.

Conventions
-----------
- Images are indexed ``image[row, col]`` = ``image[y, x]``. Positions are named ``x`` (column) and ``y``
  (row), 0-based, in the coordinates of the FULL frame you pass (not of the cut-out). The centre of pixel
  ``image[3, 7]`` is at x = 7, y = 3.
- The models are evaluated at pixel centres, as the handbook's synthetic stars are drawn. A real star is
  integrated over each pixel, which widens it a little: for a Gaussian, sigma^2 grows by 1/12 pixel^2
  (+1.6 % in FWHM at FWHM = 3.8 px, less for wider stars).
- Values are in ADU and must still contain the sky (do not subtract it), unless you tell the noise model
  how much was subtracted (the ``background`` argument).

Error bars
----------
Each fit minimises ``chi2 = sum(((data - model) / noise) ** 2)``. Near the minimum the model is almost
linear in its parameters, and the covariance of the parameters is ``inv(J.T @ J)``, where ``J`` is the
Jacobian of the weighted residuals ``(data - model) / noise`` (``least_squares`` returns it). This
covariance is right when ``noise`` is right; the check is ``chi2 / dof``, which should be close to 1.
We do NOT rescale the covariance by ``chi2 / dof`` by default (``scipy.optimize.curve_fit`` does, unless
``absolute_sigma=True``): rescaling would hide a wrong noise model instead of showing it. Pass
``scale_errors=True`` when you know the noise model is only right up to a factor.

The noise of a pixel depends on its EXPECTED value, which we do not know; the measured value is a noisy
stand-in. A pixel that fluctuated low then gets a smaller error bar and pulls the fit down (the background
came out low by 0.6 of its error bar in our tests). So every fit runs twice: weighted by the data first,
then by the first fit's model. With that, 200 simulated stars give ``(fit - truth) / error`` with a standard
deviation of 0.9 to 1.0 for every parameter and ``chi2/dof`` = 1.00.

Outliers (a cosmic ray on the star, a faint neighbour) are not noise: ``chi2/dof`` far above 1 and a spike
in ``fit.residuals`` show them, and ``reject=5`` leaves them out.

Examples
--------
>>> import numpy as np
>>> from helpers import psf
>>> yy, xx = np.mgrid[0:40, 0:50]
>>> image = psf.moffat_2d(xx, yy, amplitude=3000.0, x_centre=24.3, y_centre=17.8, alpha=3.0, beta=3.0,
...                       background=200.0)
>>> fit = psf.fit_moffat_2d(image, 24, 18, size=21, gain=1.5, read_noise=10.0)
>>> print(f"x = {fit.x:.2f}, y = {fit.y:.2f}, FWHM = {fit.fwhm:.3f}, beta = {fit.beta:.2f}")
x = 24.30, y = 17.80, FWHM = 3.059, beta = 3.00
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table
from scipy.optimize import least_squares

from ._plateau import LEAST, WITHIN, flat_top

__all__ = ["noise_model", "gaussian_1d", "gaussian_2d", "moffat_2d", "gaussian_fwhm", "moffat_fwhm",
           "strip", "cutout", "fit_gaussian_1d", "fit_gaussian_2d", "fit_moffat_2d", "fit_star", "fwhm_map",
           "PSFFit", "FWHM_PER_SIGMA", "MODELS", "MAP_COLUMNS"]

#: FWHM of a Gaussian in units of its sigma: 2 sqrt(2 ln 2) = 2.3548.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: The 2-D profiles :func:`fit_star` and :func:`fwhm_map` know.
MODELS = ("moffat", "gaussian")

#: A fit whose amplitude is less than this many times its error has found no star (``success`` is False).
MIN_SIGNIFICANCE = 5.0

_BETA_RANGE = (1.05, 30.0)   # Moffat beta: 1 would hold infinite flux; 30 is already almost a Gaussian


# --------------------------------------------------------------------------------------------------
# The noise of a pixel
# --------------------------------------------------------------------------------------------------
def noise_model(data_adu, gain, read_noise, background=None):
    """1-sigma noise of each pixel in ADU, from the CCD equation.

    A CCD counts electrons. The electrons from the star and the sky follow Poisson statistics (variance =
    number of electrons); the read-out adds ``read_noise`` electrons rms; the electronics then divide by
    the ``gain`` (electrons per ADU). So, in ADU::

        variance = (signal_e + sky_e + read_noise**2) / gain**2,   signal_e + sky_e = data_adu * gain

    Why not ``sqrt(ADU)``, as the classic handbook does?

    - Units: Poisson statistics apply to counted events (electrons), not to ADU. ``sqrt(N_e) / gain =
      sqrt(ADU / gain)``, so ``sqrt(ADU)`` is ``sqrt(gain)`` times too large where photons dominate
      (x1.22 for a gain of 1.5 e-/ADU, x2 for a gain of 4).
    - It forgets the read noise, which dominates in faint pixels: there ``sqrt(ADU)`` is far too small,
      and those pixels get far too much weight in a fit.
    - On background-subtracted data the wings of a star are near zero or negative: ``sqrt`` gives almost
      zero or NaN there.

    The fits below call it twice: on the data, then on the first fit's model, because the noise belongs to
    a pixel's expected value, not to the value it happened to take (see the module's notes).

    Parameters
    ----------
    data_adu : float or array
        Pixel values in ADU, bias (and dark) removed but the sky still in. A calibrated frame is fine:
        the flat field changes the answer by a few per cent only.
    gain : float
        Electrons per ADU (FITS header ``GAIN``).
    read_noise : float
        Read noise in electrons (FITS header ``RDNOISE``).
    background : float or array, optional
        The sky level (ADU) already subtracted from ``data_adu``, if it was; it is added back, because its
        photons still made noise.

    Returns
    -------
    ndarray
        The noise (ADU), same shape as ``data_adu``. Negative values (pixels that the read noise pushed
        below zero) count as no light, leaving the read noise alone; NaN stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.array([0.0, 100.0, 10000.0])
    >>> np.round(noise_model(data, gain=1.5, read_noise=10.0), 2)
    array([ 6.67, 10.54, 81.92])
    >>> np.round(np.sqrt(data), 2)          # the classic's error bars: wrong both ends
    array([  0.,  10., 100.])
    """
    if not gain > 0:
        raise ValueError(f"gain must be positive (electrons per ADU, header GAIN), got {gain}")
    if not read_noise >= 0:
        raise ValueError(f"read_noise must be zero or positive (electrons, header RDNOISE), got {read_noise}")
    data_adu = np.asarray(data_adu, dtype=float)
    if background is not None:
        data_adu = data_adu + np.asarray(background, dtype=float)
    electrons = np.fmax(data_adu, 0.0) * gain          # fmax keeps NaN as NaN
    electrons = np.where(np.isnan(data_adu), np.nan, electrons)
    return np.sqrt(electrons + read_noise ** 2) / gain


# --------------------------------------------------------------------------------------------------
# The profiles
# --------------------------------------------------------------------------------------------------
def gaussian_1d(positions, amplitude, centre, sigma, background=0.0):
    """A Gaussian on a constant: ``amplitude * exp(-(p - centre)^2 / (2 sigma^2)) + background``.

    Examples
    --------
    >>> float(gaussian_1d(5.0, amplitude=100.0, centre=5.0, sigma=2.0, background=10.0))
    110.0
    """
    positions = np.asarray(positions, dtype=float)
    return amplitude * np.exp(-0.5 * ((positions - centre) / sigma) ** 2) + background


def gaussian_2d(x, y, amplitude, x_centre, y_centre, sigma, background=0.0, sigma_y=None, theta=0.0):
    """A 2-D Gaussian on a constant, evaluated at positions ``x`` (columns) and ``y`` (rows).

    Circular by default. Give ``sigma_y`` for an elliptical star: ``sigma`` is then the width along an
    axis turned by ``theta`` (radians, counter-clockwise from the x axis) and ``sigma_y`` the width across.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:5, 0:7]                  # 5 rows (y), 7 columns (x)
    >>> image = gaussian_2d(xx, yy, 1.0, x_centre=4.0, y_centre=1.0, sigma=1.0)
    >>> [int(i) for i in np.unravel_index(np.argmax(image), image.shape)]    # [row, col] = [y, x]
    [1, 4]
    """
    dx = np.asarray(x, dtype=float) - x_centre
    dy = np.asarray(y, dtype=float) - y_centre
    if sigma_y is None:
        r2 = (dx ** 2 + dy ** 2) / sigma ** 2
    else:
        along = dx * np.cos(theta) + dy * np.sin(theta)
        across = -dx * np.sin(theta) + dy * np.cos(theta)
        r2 = (along / sigma) ** 2 + (across / sigma_y) ** 2
    return amplitude * np.exp(-0.5 * r2) + background


def moffat_2d(x, y, amplitude, x_centre, y_centre, alpha, beta, background=0.0):
    """A Moffat (1969) profile on a constant: ``amplitude * (1 + r^2 / alpha^2)^(-beta) + background``.

    Real stars have a sharper core and brighter wings than a Gaussian; the Moffat profile has both, and
    ``beta`` sets how bright the wings are (a Gaussian is the limit of a large ``beta``; seeing gives
    about 2.5 to 4.5).

    Examples
    --------
    >>> a = moffat_2d(0.0, 0.0, 100.0, 0.0, 0.0, alpha=2.0, beta=3.0)
    >>> b = moffat_2d(moffat_fwhm(2.0, 3.0) / 2, 0.0, 100.0, 0.0, 0.0, alpha=2.0, beta=3.0)
    >>> round(float(a), 6), round(float(b), 6)              # half the peak at r = FWHM / 2
    (100.0, 50.0)
    """
    r2 = (np.asarray(x, dtype=float) - x_centre) ** 2 + (np.asarray(y, dtype=float) - y_centre) ** 2
    return amplitude * (1.0 + r2 / alpha ** 2) ** (-beta) + background


def gaussian_fwhm(sigma):
    """FWHM of a Gaussian: ``2 sqrt(2 ln 2) sigma = 2.3548 sigma``.

    Examples
    --------
    >>> round(float(gaussian_fwhm(1.0)), 4)
    2.3548
    """
    return FWHM_PER_SIGMA * np.asarray(sigma, dtype=float)


def moffat_fwhm(alpha, beta):
    """FWHM of a Moffat profile: ``2 alpha sqrt(2^(1/beta) - 1)``.

    Solve ``(1 + r^2/alpha^2)^(-beta) = 1/2`` for r: ``r = alpha sqrt(2^(1/beta) - 1)``, half the FWHM.

    Examples
    --------
    >>> round(float(moffat_fwhm(3.0, 3.0)), 4)
    3.0589
    """
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    return 2.0 * alpha * np.sqrt(2.0 ** (1.0 / beta) - 1.0)


def _gaussian_flux(p):
    """Total flux (ADU) under a 2-D Gaussian: 2 pi amplitude sigma_1 sigma_2."""
    return 2.0 * np.pi * p["amplitude"] * p["sigma"] * p.get("sigma_y", p["sigma"])


def _moffat_flux(p):
    """Total flux (ADU) under a Moffat profile: pi amplitude alpha^2 / (beta - 1)."""
    return np.pi * p["amplitude"] * p["alpha"] ** 2 / (p["beta"] - 1.0)


# --------------------------------------------------------------------------------------------------
# Getting the pixels
# --------------------------------------------------------------------------------------------------
def _nearest_pixel(image, x, y):
    ny, nx = np.shape(image)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"the position x={x}, y={y} is not a number")
    col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    if not (0 <= col < nx and 0 <= row < ny):
        raise ValueError(f"x={x:.2f}, y={y:.2f} is outside the image ({nx} x {ny} pixels, x from 0 to {nx - 1}, "
                         f"y from 0 to {ny - 1}); positions are 0-based (subtract 1 from DS9/FITS positions)")
    return col, row


def cutout(image, x, y, half_size):
    """The square of pixels around (x, y), and the full-frame position of its corner.

    The square is centred on the pixel nearest to (x, y) and is ``2 * half_size + 1`` pixels wide. Near the
    edge of the image it is clipped (smaller, not padded); ``x0, y0`` always give where it lies, so
    ``cut[j, i]`` is the pixel at x = x0 + i, y = y0 + j of the full frame.

    Parameters
    ----------
    image : 2-D array
    x, y : float
        Position (0-based pixels, x = column, y = row).
    half_size : int
        Half the width of the square, in pixels.

    Returns
    -------
    cut : 2-D ndarray
        A copy of the pixels (changing it leaves ``image`` alone).
    x0, y0 : int
        Column and row of ``cut[0, 0]`` in ``image``.

    Raises
    ------
    ValueError
        If (x, y) is outside the image, or ``half_size`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(100.0).reshape(10, 10)
    >>> cut, x0, y0 = cutout(image, x=6.2, y=2.7, half_size=1)
    >>> x0, y0
    (5, 2)
    >>> cut
    array([[25., 26., 27.],
           [35., 36., 37.],
           [45., 46., 47.]])
    >>> cut, x0, y0 = cutout(image, x=0.0, y=9.0, half_size=2)      # clipped at the corner
    >>> cut.shape, x0, y0
    ((3, 3), 0, 7)
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"cutout needs a 2-D image, got {image.ndim} dimension(s)")
    half_size = int(half_size)
    if half_size < 0:
        raise ValueError(f"half_size must be 0 or more pixels, got {half_size}")
    col, row = _nearest_pixel(image, x, y)
    x0, y0 = max(col - half_size, 0), max(row - half_size, 0)
    cut = image[y0:row + half_size + 1, x0:col + half_size + 1].copy()
    return cut, x0, y0


def strip(image, x, y, half_length=10, axis="x"):
    """A line of pixels through (x, y): the data for the classic 1-D fit.

    ``axis="x"`` takes the row nearest to ``y`` (the pixels run along x), ``axis="y"`` the column nearest
    to ``x``. The classic handbook writes ``vimg[xc, yc-10:yc+10]``: numpy's first index is the ROW, so
    with a DS9 x in that place it cuts through the wrong pixels.

    Parameters
    ----------
    image : 2-D array
    x, y : float
        Position (0-based, x = column, y = row).
    half_length : int
        Pixels on each side of the central pixel (clipped at the image edge).
    axis : {"x", "y"}
        Direction of the strip.

    Returns
    -------
    positions : ndarray
        The full-frame x (or y) coordinate of each pixel of the strip.
    values : ndarray
        The pixel values (a copy).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(50.0).reshape(5, 10)      # value = 10 * y + x
    >>> strip(image, x=4.2, y=2.9, half_length=2)
    (array([2., 3., 4., 5., 6.]), array([32., 33., 34., 35., 36.]))
    >>> strip(image, x=4.2, y=2.9, half_length=1, axis="y")
    (array([2., 3., 4.]), array([24., 34., 44.]))
    """
    image = np.asarray(image)
    col, row = _nearest_pixel(image, x, y)
    half_length = int(half_length)
    if axis == "x":
        start, stop = max(col - half_length, 0), min(col + half_length + 1, image.shape[1])
        values = image[row, start:stop]
    elif axis == "y":
        start, stop = max(row - half_length, 0), min(row + half_length + 1, image.shape[0])
        values = image[start:stop, col]
    else:
        raise ValueError(f"axis must be 'x' (along a row) or 'y' (along a column), got {axis!r}")
    return np.arange(start, stop, dtype=float), np.array(values, dtype=float)


# --------------------------------------------------------------------------------------------------
# The result of a fit
# --------------------------------------------------------------------------------------------------
@dataclass(repr=False)
class PSFFit:
    """What every fit returns: best values, 1-sigma errors, fit quality and the pixels for plots.

    Parameters that a profile does not have are NaN (``sigma`` of a Moffat fit, ``alpha`` and ``beta``
    of a Gaussian, ``y`` of a 1-D fit). ``params``, ``errors`` and ``covariance`` hold every fitted
    parameter by name (an elliptical Gaussian adds ``sigma_y`` and ``theta``).

    Attributes
    ----------
    profile : str
        "gaussian" or "moffat".
    x, y : float
        Centre (full-frame, 0-based pixels; for a 1-D fit ``x`` is the centre along the strip).
    sigma, alpha, beta : float
        Width parameters (Gaussian sigma; Moffat alpha and beta), pixels.
    fwhm : float
        Full width at half maximum, pixels (geometric mean of the two axes for an elliptical Gaussian).
    amplitude, background : float
        Peak height above the background, and the background (ADU).
    flux : float
        Total flux of the profile (2-D fits; ADU), integrated to infinity.
    x_err, y_err, sigma_err, alpha_err, beta_err, fwhm_err, amplitude_err, background_err, flux_err : float
        1-sigma uncertainties.
    chi2, dof : float, int
        Chi-square of the fit and degrees of freedom (pixels used minus parameters).
    success : bool
        The optimiser converged, no parameter stopped at a limit, the errors are finite and the amplitude is
        at least ``MIN_SIGNIFICANCE`` (5) times its error.
    message : str
        Why not, when ``success`` is False.
    data, model, residuals, noise : ndarray
        The pixels fitted (strip or cut-out), the best model, ``data - model``, and the noise used (ADU).
    mask : ndarray of bool
        The pixels used in the fit (finite and not saturated).
    positions : ndarray or None
        1-D fits: the coordinate of each value.
    x0, y0 : int
        2-D fits: full-frame column and row of ``data[0, 0]``.
    seconds : float
        Time the fit took.
    """

    profile: str
    x: float
    y: float
    fwhm: float
    amplitude: float
    background: float
    flux: float
    x_err: float
    y_err: float
    fwhm_err: float
    amplitude_err: float
    background_err: float
    flux_err: float
    chi2: float
    dof: int
    success: bool
    message: str
    sigma: float = np.nan
    sigma_err: float = np.nan
    alpha: float = np.nan
    alpha_err: float = np.nan
    beta: float = np.nan
    beta_err: float = np.nan
    params: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    covariance: np.ndarray = None
    data: np.ndarray = None
    model: np.ndarray = None
    residuals: np.ndarray = None
    noise: np.ndarray = None
    mask: np.ndarray = None
    positions: np.ndarray = None
    x0: int = 0
    y0: int = 0
    seconds: float = np.nan

    @property
    def reduced_chi2(self):
        """``chi2 / dof``: about 1 when the model and the noise model are right."""
        return self.chi2 / self.dof if self.dof > 0 else np.nan

    @property
    def normalized_residuals(self):
        """``(data - model) / noise``: pure noise of standard deviation 1 when the fit is right."""
        return self.residuals / self.noise

    @property
    def extent(self):
        """``(left, right, bottom, top)`` of the cut-out in full-frame pixels, for ``imshow(extent=...)``
        (with ``origin="lower"``)."""
        ny, nx = np.shape(self.data)
        return (self.x0 - 0.5, self.x0 + nx - 0.5, self.y0 - 0.5, self.y0 + ny - 0.5)

    def as_dict(self):
        """The numbers of the fit (no arrays), e.g. for a table row."""
        names = ("profile", "x", "y", "x_err", "y_err", "fwhm", "fwhm_err", "sigma", "sigma_err", "alpha",
                 "alpha_err", "beta", "beta_err", "amplitude", "amplitude_err", "background",
                 "background_err", "flux", "flux_err", "chi2", "dof", "success", "message")
        values = {name: getattr(self, name) for name in names}
        values["reduced_chi2"] = self.reduced_chi2
        return values

    def summary(self, decimals=3):
        """The fitted values with their errors, one per line.

        Examples
        --------
        >>> import numpy as np
        >>> positions = np.arange(30.0, 51.0)
        >>> expected = gaussian_1d(positions, amplitude=900.0, centre=40.3, sigma=1.6, background=200.0)
        >>> rng = np.random.default_rng(4)
        >>> values = (rng.poisson(expected * 1.5) + rng.normal(0, 10, positions.size)) / 1.5   # gain 1.5
        >>> print(fit_gaussian_1d(values, positions, gain=1.5, read_noise=10.0).summary(decimals=2))
        gaussian fit (1-D), chi2/dof = 0.88 (dof 17)
          x          =     40.33 +/- 0.03
          fwhm       =      3.74 +/- 0.07
          sigma      =      1.59 +/- 0.03
          amplitude  =    906.41 +/- 18.97
          background =    205.52 +/- 3.87
        """
        lines = [f"{self.profile} fit ({'1-D' if self.positions is not None else '2-D'}), "
                 f"chi2/dof = {self.reduced_chi2:.2f} (dof {self.dof})"]
        if not self.success:
            lines.append(f"  NOT a good fit: {self.message}")
        names = ["x", "y", "fwhm", "sigma", "alpha", "beta", "amplitude", "background", "flux"]
        for name in names:
            value, error = getattr(self, name), getattr(self, name + "_err")
            if np.isfinite(value):
                lines.append(f"  {name:<10} = {value:9.{decimals}f} +/- {error:.{decimals}f}")
        return "\n".join(lines)

    def __repr__(self):
        centre = f"x={self.x:.3f}" if self.positions is not None else f"x={self.x:.3f}, y={self.y:.3f}"
        return (f"PSFFit({self.profile}: {centre}, fwhm={self.fwhm:.3f}+/-{self.fwhm_err:.3f}, "
                f"chi2/dof={self.reduced_chi2:.2f}, success={self.success})")


# --------------------------------------------------------------------------------------------------
# The fitting engine (shared by every fit)
# --------------------------------------------------------------------------------------------------
def _check_noise_inputs(gain, read_noise, noise):
    if noise is None and (gain is None or read_noise is None):
        raise ValueError("give gain= (electrons per ADU, header GAIN) and read_noise= (electrons, header "
                         "RDNOISE) so the fit can weight each pixel by its noise, or give noise= directly")


def _given_noise(noise, data):
    """The noise the user gave, checked: positive and finite wherever there are data."""
    noise = np.array(np.broadcast_to(np.asarray(noise, dtype=float), np.shape(data)))
    bad = np.isfinite(data) & ~(np.isfinite(noise) & (noise > 0))
    if bad.any():
        raise ValueError(f"noise must be positive and finite wherever the data are, but {bad.sum()} value(s) are "
                         "not (np.sqrt of background-subtracted ADU is NaN where the wings dip below zero: one "
                         "more reason to use noise_model(data, gain, read_noise))")
    return noise


@dataclass
class _Solution:
    """What one least-squares run gives: best values, errors, covariance and the quality of the fit."""

    params: dict
    errors: dict
    covariance: np.ndarray
    chi2: float
    dof: int
    success: bool
    message: str


def _covariance(jacobian):
    """``inv(J.T @ J)``, or NaN if the parameters are degenerate (the data cannot tell them apart)."""
    try:
        return np.linalg.inv(jacobian.T @ jacobian)
    except np.linalg.LinAlgError:
        n = jacobian.shape[1]
        return np.full((n, n), np.nan)


def _propagate(function, params, covariance):
    """Value and 1-sigma error of ``function(params)`` (first order: gradient @ covariance @ gradient)."""
    names = list(params)
    gradient = np.empty(len(names))
    for i, name in enumerate(names):
        step = 1e-6 * max(abs(params[name]), 1.0)
        up, down = dict(params), dict(params)
        up[name] += step
        down[name] -= step
        gradient[i] = (function(up) - function(down)) / (2 * step)
    variance = gradient @ covariance @ gradient
    return float(function(params)), float(np.sqrt(variance)) if variance >= 0 else np.nan


def _least_squares(function, coordinates, data, noise, start, lower, upper, scale_errors):
    """Minimise ``chi2 = sum(((data - function(*coordinates, *params)) / noise) ** 2)``.

    ``start``, ``lower`` and ``upper`` are dicts over the parameter names, in the function's order.
    """
    names = list(start)
    lo = np.array([lower[n] for n in names], dtype=float)
    hi = np.array([upper[n] for n in names], dtype=float)
    p0 = np.clip([start[n] for n in names], lo, hi)   # the start must lie within the limits
    dof = data.size - len(names)
    if dof < 1:
        raise ValueError(f"{data.size} usable values cannot constrain {len(names)} parameters: use a larger box")

    def weighted_residuals(p):
        return (data - function(*coordinates, *p)) / noise

    result = least_squares(weighted_residuals, p0, bounds=(lo, hi), x_scale="jac")
    chi2 = float(np.sum(result.fun ** 2))
    covariance = _covariance(result.jac)
    if scale_errors:
        covariance = covariance * chi2 / dof
    params = dict(zip(names, (float(v) for v in result.x)))
    errors = dict(zip(names, (float(v) for v in np.sqrt(np.abs(np.diag(covariance))))))
    at_limit = [n for n, value, low, high in zip(names, result.x, lo, hi)
                if np.isclose(value, low, rtol=1e-3, atol=0.0) or np.isclose(value, high, rtol=1e-3, atol=0.0)]
    problems = []
    if not result.success:
        problems.append(result.message)
    if at_limit:
        problems.append("stopped at the limit of " + ", ".join(at_limit)
                        + " (a neighbour in the box? no star there? a box too small?)")
    if not np.all(np.isfinite(covariance)):
        problems.append("the errors could not be computed (degenerate parameters)")
    return _Solution(params, errors, covariance, chi2, dof, not problems, "; ".join(problems) or "ok")


def _weighted_fit(function, coordinates, data, noise_of, start, lower, upper, scale_errors, from_model):
    """Least squares weighted by ``noise_of(values)``; with ``from_model``, in two passes.

    The noise of a pixel is set by its EXPECTED value, not by the value we happened to measure. Weighting by
    the data gives a pixel that fluctuated low a smaller error, so it pulls harder: the background and the
    amplitude come out biased low (by about half their error bar). So the first pass uses the data, the
    second the first pass's model (the best guess of the expected values), starting from its answer.
    """
    solution = _least_squares(function, coordinates, data, noise_of(data), start, lower, upper, scale_errors)
    if from_model:
        expected = function(*coordinates, *solution.params.values())
        solution = _least_squares(function, coordinates, data, noise_of(expected), solution.params, lower, upper,
                                  scale_errors)
    significance = solution.params["amplitude"] / solution.errors["amplitude"]
    if not significance >= MIN_SIGNIFICANCE:
        solution.success = False
        problems = [f"no significant star: its amplitude is only {significance:.1f} times its error"]
        solution.message = "; ".join(problems + ([] if solution.message == "ok" else [solution.message]))
    return solution


def _start_values(data):
    """Rough background, amplitude and FWHM to start from: a low percentile, the maximum, and the number of
    pixels above half the maximum (pi (FWHM/2)^2 of them in 2-D, FWHM of them in 1-D)."""
    values = data[np.isfinite(data)]
    background = float(np.percentile(values, 25))
    amplitude = float(values.max() - background)
    n_above_half = np.count_nonzero(values > background + 0.5 * amplitude)
    fwhm = 2.0 * np.sqrt(n_above_half / np.pi) if data.ndim == 2 else float(n_above_half)
    return background, max(amplitude, 1e-6), max(fwhm, 1.0)


def _noise_function(gain, read_noise, background, noise, data):
    """A function giving the noise of given values, and whether it follows the values (the noise model) or
    is fixed (``noise`` given by the user)."""
    if noise is not None:
        fixed = _given_noise(noise, data)
        return (lambda values: fixed), False
    return (lambda values: noise_model(values, gain, read_noise, background)), True


# --------------------------------------------------------------------------------------------------
# 1-D fit
# --------------------------------------------------------------------------------------------------
def fit_gaussian_1d(values, positions=None, gain=None, read_noise=None, background=None, noise=None,
                    scale_errors=False):
    """Fit a Gaussian plus a constant to a line of pixels (the classic handbook's first step).

    Each value is weighted by its noise from the CCD equation (:func:`noise_model`), so the error bars on
    the centre, sigma and FWHM are honest. Compare with the classic's ``sqrt(ADU)`` by passing
    ``noise=np.sqrt(values)``: with a gain g the errors come out up to ``sqrt(g)`` times too large where
    photons dominate (x1.15 with g = 1.5 and 10 e- read noise on a bright star, x1.95 with g = 4), and
    ``chi2/dof`` falls well below 1 (about 0.9 and 0.3).

    Parameters
    ----------
    values : 1-D array
        Pixel values (ADU), sky included; e.g. from :func:`strip`. NaN values are left out.
    positions : 1-D array, optional
        Coordinate of each value (default 0, 1, 2, ...). Give the full-frame pixel coordinates (as
        :func:`strip` returns them) to get the centre in the frame.
    gain, read_noise : float
        Electrons per ADU and read noise in electrons (headers GAIN and RDNOISE), for the noise model.
    background : float, optional
        The sky level (ADU) you already subtracted from ``values``, if you did: only the noise model uses it.
        The fit always has its own constant background.
    noise : 1-D array, optional
        1-sigma error of each value (ADU), instead of the noise model.
    scale_errors : bool
        Multiply the covariance by ``chi2/dof`` (see the module's notes on error bars). Default False.

    Returns
    -------
    PSFFit
        ``x`` is the centre along the strip, ``sigma`` the width, ``fwhm = 2.3548 sigma``.

    Examples
    --------
    >>> import numpy as np
    >>> positions = np.arange(100.0, 121.0)
    >>> values = gaussian_1d(positions, amplitude=500.0, centre=110.4, sigma=1.7, background=50.0)
    >>> fit = fit_gaussian_1d(values, positions, gain=1.5, read_noise=10.0)
    >>> print(f"centre {fit.x:.3f} +/- {fit.x_err:.3f}, FWHM {fit.fwhm:.3f} +/- {fit.fwhm_err:.3f}")
    centre 110.400 +/- 0.042, FWHM 4.003 +/- 0.096
    """
    started = time.perf_counter()
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"fit_gaussian_1d needs a 1-D strip of values, got shape {values.shape}; "
                         "use strip(image, x, y) to take one, or fit_gaussian_2d for a cut-out")
    positions = np.arange(values.size, dtype=float) if positions is None else np.asarray(positions, dtype=float)
    if positions.shape != values.shape:
        raise ValueError(f"positions has {positions.size} values but values has {values.size}")
    _check_noise_inputs(gain, read_noise, noise)
    use = np.isfinite(values) & np.isfinite(positions)
    if use.sum() < 5:
        raise ValueError(f"only {use.sum()} finite values: a Gaussian plus background needs at least 5")
    p, v = positions[use], values[use]
    given = None if noise is None else _given_noise(noise, values)[use]
    subtracted = background if np.ndim(background) == 0 else np.asarray(background, dtype=float)[use]
    noise_of, from_model = _noise_function(gain, read_noise, subtracted, given, v)
    sky, amplitude, width = _start_values(v)
    step = float(np.median(np.abs(np.diff(p)))) or 1.0
    start = {"amplitude": amplitude, "x": float(p[np.argmax(v)]), "sigma": width * step / FWHM_PER_SIGMA,
             "background": sky}
    lower = {"amplitude": 0.0, "x": p.min(), "sigma": 0.05 * step, "background": -np.inf}
    upper = {"amplitude": np.inf, "x": p.max(), "sigma": float(np.ptp(p)), "background": np.inf}
    solution = _weighted_fit(gaussian_1d, (p,), v, noise_of, start, lower, upper, scale_errors, from_model)
    best, errors = solution.params, solution.errors
    model = gaussian_1d(positions, *best.values())
    return PSFFit(profile="gaussian", x=best["x"], y=np.nan, x_err=errors["x"], y_err=np.nan,
                  fwhm=FWHM_PER_SIGMA * best["sigma"], fwhm_err=FWHM_PER_SIGMA * errors["sigma"],
                  sigma=best["sigma"], sigma_err=errors["sigma"],
                  amplitude=best["amplitude"], amplitude_err=errors["amplitude"],
                  background=best["background"], background_err=errors["background"],
                  flux=np.nan, flux_err=np.nan, chi2=solution.chi2, dof=solution.dof, success=solution.success,
                  message=solution.message, params=best, errors=errors, covariance=solution.covariance,
                  data=values, model=model, residuals=values - model, mask=use,
                  noise=noise_model(model, gain, read_noise, background) if from_model else _given_noise(noise, values),
                  positions=positions, seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------------------------------
# 2-D fits
# --------------------------------------------------------------------------------------------------
def _box(image, x, y, size, saturation):
    """Cut out the box; the pixels to use; the full-frame coordinates of every pixel; the corner."""
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"a 2-D fit needs a 2-D image, got {image.ndim} dimension(s)")
    size = int(size)
    if size < 5:
        raise ValueError(f"size (the width of the box) must be at least 5 pixels, got {size}")
    data, x0, y0 = cutout(image, x, y, size // 2)
    col, row = _nearest_pixel(image, x, y)
    edge = min(col - x0, x0 + data.shape[1] - 1 - col, row - y0, y0 + data.shape[0] - 1 - row)
    if edge < 2:
        raise ValueError(f"the star at x={x:.1f}, y={y:.1f} is too close to the edge of the image (its box "
                         "needs at least 2 pixels on every side of the centre)")
    use = np.isfinite(data)
    if saturation is not None:
        use &= ~(data >= _same_box(saturation, image, x, y, size))
    yy, xx = np.mgrid[y0:y0 + data.shape[0], x0:x0 + data.shape[1]].astype(float)
    return data, use, xx, yy, x0, y0


def _same_box(array, image, x, y, size):
    """The part of ``array`` (a scalar, or an array the shape of the image) under the fit's box."""
    if array is None or np.ndim(array) == 0:
        return array
    return cutout(np.broadcast_to(np.asarray(array, dtype=float), np.shape(image)), x, y, int(size) // 2)[0]


def _fit_2d(profile, function, flux_function, fwhm_function, widths, image, x, y, size, gain, read_noise,
            background, noise, saturation, reject, scale_errors):
    """The common steps of the 2-D fits: cut out, start values, least squares, derived quantities.

    ``widths(fwhm, size)`` gives the width parameters' start values, lower and upper limits (dicts).
    """
    started = time.perf_counter()
    _check_noise_inputs(gain, read_noise, noise)
    data, use, xx, yy, x0, y0 = _box(image, x, y, size, saturation)
    noise_of, from_model = _noise_function(gain, read_noise, _same_box(background, image, x, y, size),
                                           _same_box(noise, image, x, y, size), data)
    if use.sum() < 10:
        raise ValueError(f"only {use.sum()} usable pixels around x={x:.1f}, y={y:.1f} (NaN or saturated)")
    sky, amplitude, fwhm = _start_values(np.where(use, data, np.nan))
    (x_lo, x_hi), (y_lo, y_hi) = (xx.min() - 0.5, xx.max() + 0.5), (yy.min() - 0.5, yy.max() + 0.5)
    width_start, width_lower, width_upper = widths(fwhm, size)
    start = {"amplitude": amplitude, "x": float(x), "y": float(y), **width_start, "background": sky}
    lower = {"amplitude": 0.0, "x": x_lo, "y": y_lo, **width_lower, "background": -np.inf}
    upper = {"amplitude": np.inf, "x": x_hi, "y": y_hi, **width_upper, "background": np.inf}

    def solve(use, start):
        def noise_of_used(values):   # the noise function works on the whole box; the fit sees `use` only
            whole = np.full(data.shape, np.nan)
            whole[use] = values
            return noise_of(whole)[use]
        return _weighted_fit(function, (xx[use], yy[use]), data[use], noise_of_used, start, lower, upper,
                             scale_errors, from_model)

    solution = solve(use, start)
    model = function(xx, yy, *solution.params.values())
    if reject is not None:   # leave out cosmic rays and other pixels the profile cannot explain, fit again
        usable = use
        for _ in range(5):   # a pixel wrongly left out (by a fit that the outlier spoiled) may come back
            use = usable & (np.abs(data - model) <= reject * noise_of(model if from_model else data))
            if use.sum() == solution.dof + len(solution.params):   # the same pixels as the last fit
                break
            solution = solve(use, solution.params)
            model = function(xx, yy, *solution.params.values())
    best, errors = solution.params, solution.errors
    fwhm, fwhm_err = _propagate(fwhm_function, best, solution.covariance)
    flux, flux_err = _propagate(flux_function, best, solution.covariance)
    fit = PSFFit(profile=profile, x=best["x"], y=best["y"], x_err=errors["x"], y_err=errors["y"],
                 fwhm=fwhm, fwhm_err=fwhm_err, amplitude=best["amplitude"], amplitude_err=errors["amplitude"],
                 background=best["background"], background_err=errors["background"], flux=flux,
                 flux_err=flux_err, chi2=solution.chi2, dof=solution.dof, success=solution.success,
                 message=solution.message, params=best, errors=errors, covariance=solution.covariance,
                 data=data, model=model, residuals=data - model,
                 noise=noise_of(model if from_model else data), mask=use, x0=x0, y0=y0)
    for name in ("sigma", "alpha", "beta"):
        if name in best:
            setattr(fit, name, best[name])
            setattr(fit, name + "_err", errors[name])
    flat = _flat_top(data, use, best["background"], noise_of(data)) if saturation is None else 0
    if flat:
        fit.success = False
        fit.message = (f"the star's top is flat ({flat} touching pixels within 2 % of its peak): it looks "
                       "saturated, and a profile fitted to a cut-off top is too wide and too faint. Give "
                       "saturation= (the camera's limit, in the units of the image) so those pixels are left out")
    fit.seconds = time.perf_counter() - started
    return fit


def _flat_top(data, use, sky, noise, within=WITHIN, least=LEAST, snr=50.0):
    """How many touching pixels sit within ``within`` of the star's peak, if that looks like a cut-off top.

    The rule of :mod:`helpers._plateau`: ``least`` (5) or more touching pixels within 2 % of the peak. Only
    bright stars (peak ``snr`` times the noise) are judged, so noise on a faint top is not taken for a
    plateau. Returns 0 when the top is not flat.
    """
    above = np.where(use, data - sky, -np.inf)
    if not np.max(above) > snr * np.nanmedian(noise):
        return 0
    size = int(flat_top(above, within).sum())
    return size if size >= least else 0


def _gaussian_2d_elliptical(x, y, amplitude, x_centre, y_centre, sigma, sigma_y, theta, background):
    return gaussian_2d(x, y, amplitude, x_centre, y_centre, sigma, background, sigma_y=sigma_y, theta=theta)


# Start values, lower and upper limits of the width parameters, from a rough FWHM and the box size.
def _gaussian_widths(fwhm, size):
    return {"sigma": fwhm / FWHM_PER_SIGMA}, {"sigma": 0.2}, {"sigma": float(size)}


def _elliptical_widths(fwhm, size):
    sigma = fwhm / FWHM_PER_SIGMA
    return ({"sigma": 1.1 * sigma, "sigma_y": 0.9 * sigma, "theta": 0.3},      # not round: theta must matter
            {"sigma": 0.2, "sigma_y": 0.2, "theta": -np.inf},
            {"sigma": float(size), "sigma_y": float(size), "theta": np.inf})


def _moffat_widths(fwhm, size):
    beta = 2.5
    return ({"alpha": fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0)), "beta": beta},
            {"alpha": 0.2, "beta": _BETA_RANGE[0]}, {"alpha": 2.0 * size, "beta": _BETA_RANGE[1]})


def fit_gaussian_2d(image, x, y, size=21, gain=None, read_noise=None, background=None, noise=None,
                    saturation=None, elliptical=False, reject=None, scale_errors=False):
    """Fit a 2-D Gaussian plus a constant background to the box around a star.

    A Gaussian has no wings. On a real, Moffat-like star the fit stretches to reach them: on the handbook's
    beta = 3 stars its FWHM comes out about 20 % too large (18 % in a 15 px box, 23 % in 21 px, 26 % in
    31 px: the more wing it sees, the wider), its ``chi2/dof`` is 30 to 100, and the residual image shows
    a bright core and a dark ring. The centre is still good (the star is symmetric). Chapter 05 shows it
    next to :func:`fit_moffat_2d`.

    Parameters
    ----------
    image : 2-D array
        The frame (ADU, sky included).
    x, y : float
        Rough position of the star (0-based full-frame pixels, within a pixel or two).
    size : int
        Width of the square box fitted, pixels (an odd number keeps it centred; 21 suits FWHM of 3 to
        5 pixels: make it about 5 FWHM).
    gain, read_noise : float
        Electrons per ADU and read noise in electrons, for :func:`noise_model`.
    background : float or 2-D array, optional
        Sky already subtracted from ``image`` (ADU), for the noise model only.
    noise : 2-D array, optional
        Noise of each pixel of ``image`` (ADU), instead of the noise model.
    saturation : float or 2-D array, optional
        Pixels at or above this level (ADU) are left out of the fit (a saturated core is flat, not a
        Gaussian). An array the shape of ``image`` gives each pixel its own level (see :func:`fwhm_map`).
    elliptical : bool
        Fit an elliptical Gaussian: ``params`` then holds ``sigma`` (along the axis at angle ``theta``,
        radians from the x axis), ``sigma_y`` (across) and ``theta``; ``sigma`` and ``fwhm`` of the
        result are the geometric mean of the two axes.
    reject : float, optional
        Leave out pixels more than ``reject`` noise sigmas from the model and fit again, until the pixels
        left out stop changing. Only for a profile that fits the star: a Gaussian on a real star misses its
        core and wings by more than 5 sigma, and would throw away the star itself (use the Moffat).
    scale_errors : bool
        Multiply the covariance by ``chi2/dof``. Default False.

    Returns
    -------
    PSFFit

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:30, 0:40]
    >>> image = gaussian_2d(xx, yy, 2000.0, x_centre=21.6, y_centre=12.25, sigma=1.5, background=100.0)
    >>> fit = fit_gaussian_2d(image, 22, 12, size=15, gain=1.5, read_noise=10.0)
    >>> print(f"x = {fit.x:.3f}, y = {fit.y:.3f}, sigma = {fit.sigma:.3f}, FWHM = {fit.fwhm:.3f}")
    x = 21.600, y = 12.250, sigma = 1.500, FWHM = 3.532
    """
    if not elliptical:
        return _fit_2d("gaussian", gaussian_2d, _gaussian_flux, lambda p: gaussian_fwhm(p["sigma"]), _gaussian_widths,
                       image, x, y, size, gain, read_noise, background, noise, saturation, reject, scale_errors)
    fit = _fit_2d("gaussian", _gaussian_2d_elliptical, _gaussian_flux,
                  lambda p: gaussian_fwhm(np.sqrt(p["sigma"] * p["sigma_y"])), _elliptical_widths,
                  image, x, y, size, gain, read_noise, background, noise, saturation, reject, scale_errors)
    fit.params["theta"] = float(np.mod(fit.params["theta"] + np.pi / 2, np.pi) - np.pi / 2)
    fit.sigma = float(np.sqrt(fit.params["sigma"] * fit.params["sigma_y"]))
    fit.sigma_err = fit.fwhm_err / FWHM_PER_SIGMA
    return fit


def fit_moffat_2d(image, x, y, size=21, gain=None, read_noise=None, background=None, noise=None,
                  saturation=None, reject=None, scale_errors=False):
    """Fit a circular Moffat profile (free ``beta``) plus a constant background to the box around a star.

    ``amplitude * (1 + r^2 / alpha^2)^(-beta) + background`` with r the distance from (x, y). The FWHM is
    ``2 alpha sqrt(2^(1/beta) - 1)``; its error comes from the covariance of alpha and beta (they are
    strongly correlated: the FWHM is much better known than either).

    Parameters
    ----------
    image : 2-D array
        The frame (ADU, sky included).
    x, y : float
        Rough position of the star (0-based full-frame pixels, within a pixel or two).
    size : int
        Width of the square box fitted, pixels (about 5 FWHM or more: the wings fix beta).
    gain, read_noise : float
        Electrons per ADU and read noise in electrons, for :func:`noise_model`.
    background : float or 2-D array, optional
        Sky already subtracted from ``image`` (ADU), for the noise model only.
    noise : 2-D array, optional
        Noise of each pixel of ``image`` (ADU), instead of the noise model.
    saturation : float or 2-D array, optional
        Pixels at or above this level (ADU) are left out of the fit; an array the shape of ``image`` gives
        each pixel its own level (see :func:`fwhm_map`).
    reject : float, optional
        Leave out pixels more than ``reject`` noise sigmas from the model (a cosmic ray, a faint neighbour)
        and fit again, until the pixels left out stop changing. A ``chi2/dof`` far above 1 and a spike in
        the residual image are the signs that you need it; 5 is a safe value.
    scale_errors : bool
        Multiply the covariance by ``chi2/dof``. Default False.

    Returns
    -------
    PSFFit

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:30, 0:30]
    >>> image = moffat_2d(xx, yy, 5000.0, x_centre=14.7, y_centre=15.2, alpha=2.5, beta=2.5, background=80.0)
    >>> fit = fit_moffat_2d(image, 15, 15, gain=1.5, read_noise=10.0)
    >>> print(f"alpha = {fit.alpha:.3f}, beta = {fit.beta:.3f}, FWHM = {fit.fwhm:.3f} +/- {fit.fwhm_err:.3f}")
    alpha = 2.500, beta = 2.500, FWHM = 2.826 +/- 0.017
    """
    return _fit_2d("moffat", moffat_2d, _moffat_flux, lambda p: moffat_fwhm(p["alpha"], p["beta"]), _moffat_widths,
                   image, x, y, size, gain, read_noise, background, noise, saturation, reject, scale_errors)


# --------------------------------------------------------------------------------------------------
# One star for a slider, many stars for a map
# --------------------------------------------------------------------------------------------------
def fit_star(image, x, y, model="moffat", size=21, gain=None, read_noise=None, **options):
    """Fit one star with the chosen profile: the plain function behind chapter 05's star slider.

    The result holds everything a plot needs: ``fit.data``, ``fit.model`` and ``fit.residuals`` (the
    cut-out, the best model and their difference) with ``fit.extent`` for ``imshow``, and the numbers.
    One fit of a 21 x 21 box takes 10 to 30 ms.

    Parameters
    ----------
    image : 2-D array
    x, y : float
        Rough position (0-based full-frame pixels).
    model : {"moffat", "gaussian"}
    size : int
        Box width in pixels.
    gain, read_noise : float
        For the noise model.
    **options
        Passed to :func:`fit_moffat_2d` or :func:`fit_gaussian_2d` (``saturation``, ``noise``, ...).

    Returns
    -------
    PSFFit

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:40, 0:40]
    >>> image = moffat_2d(xx, yy, 3000.0, 20.2, 19.9, alpha=3.0, beta=3.0, background=150.0)
    >>> fit = fit_star(image, 20, 20, model="gaussian", size=15, gain=1.5, read_noise=10.0)
    >>> fit.data.shape == fit.model.shape == fit.residuals.shape == (15, 15)
    True
    >>> bool(fit.fwhm > moffat_fwhm(3.0, 3.0))        # a Gaussian fitted to a Moffat star is too wide
    True
    """
    fitters = {"moffat": fit_moffat_2d, "gaussian": fit_gaussian_2d}
    if model not in fitters:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return fitters[model](image, x, y, size=size, gain=gain, read_noise=read_noise, **options)


#: The columns of :func:`fwhm_map`'s table.
MAP_COLUMNS = ("star", "x", "y", "x_err", "y_err", "fwhm", "fwhm_err", "beta", "beta_err", "amplitude",
               "background", "flux", "flux_err", "reduced_chi2", "x_start", "y_start", "ok", "flag")


def _map_row(index, x, y, fit=None, flag=""):
    row = {"star": index, "x": x, "y": y, "x_start": x, "y_start": y, "ok": False, "flag": flag}
    for name in MAP_COLUMNS:
        row.setdefault(name, np.nan)
    if fit is not None:
        for name in ("x", "y", "x_err", "y_err", "fwhm", "fwhm_err", "beta", "beta_err", "amplitude",
                     "background", "flux", "flux_err", "reduced_chi2"):
            row[name] = getattr(fit, name)
        row["ok"] = bool(fit.success)
        row["flag"] = "" if fit.success else "failed: " + fit.message
    return row


def _flag_for(error):
    """A short flag for a star that could not be fitted."""
    message = str(error)
    if "edge" in message:
        return "edge"
    if "usable pixels" in message or "outside" in message or "not a number" in message:
        return "no data"
    return "failed: " + message


def fwhm_map(image, x, y, model="moffat", size=21, gain=None, read_noise=None, saturation=None, **options):
    """Fit many stars and tabulate their FWHM: how the PSF changes across the field.

    Give it isolated stars (the ``ds9.reg`` ones, or stars with no bright neighbour within a box width): a
    neighbour inside the box spoils the fit, with ``chi2/dof`` in the hundreds and beta at its limit.
    Pass ``reject=5`` to leave out cosmic rays. A star that cannot be fitted does not stop the others: it
    gets ``ok = False`` and a ``flag`` saying why: ``"saturated"`` (a pixel of its box at or above ``saturation``; it is skipped, as its core is
    flat), ``"edge"`` (too close to the image edge), ``"no data"`` (NaN pixels or outside the image), or
    ``"failed: ..."`` (the fit did not converge or a parameter stopped at a limit).

    Parameters
    ----------
    image : 2-D array
        The frame (ADU, sky included).
    x, y : array_like
        Rough star positions (0-based full-frame pixels).
    model : {"moffat", "gaussian"}
    size : int
        Box width in pixels.
    gain, read_noise : float
        For the noise model.
    saturation : float or 2-D array, optional
        The level (ADU, in this image) at which pixels saturate. A camera saturates in the RAW frame (65535
        for 16 bits); after calibration that level has become ``(65535 - bias - dark) / flat``, different in
        every pixel (higher than 65535 where the flat is below 1), so pass that array for a calibrated frame.
    **options
        Passed to the fit (``reject``, ``noise``, ``background``, ``scale_errors``).

    Returns
    -------
    astropy.table.Table
        One row per star, in the order given: ``star`` (index), ``x``, ``y`` (fitted centre; the start
        position when no fit), ``x_err``, ``y_err``, ``fwhm``, ``fwhm_err``, ``beta``, ``beta_err`` (NaN for
        a Gaussian), ``amplitude``, ``background``, ``flux``, ``flux_err``, ``reduced_chi2``, ``x_start``,
        ``y_start``, ``ok`` and ``flag``. ``meta["seconds"]`` is the time taken.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:60, 0:80]
    >>> image = 100.0 + moffat_2d(xx, yy, 4000.0, 20.3, 30.6, alpha=2.0, beta=3.0)
    >>> image += moffat_2d(xx, yy, 4000.0, 60.8, 25.1, alpha=3.0, beta=3.0)
    >>> table = fwhm_map(image, [20, 61, 79], [31, 25, 59], gain=1.5, read_noise=10.0)
    >>> np.round(table["fwhm"], 3).tolist(), table["flag"].tolist()
    ([2.039, 3.059, nan], ['', '', 'edge'])
    """
    started = time.perf_counter()
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    _check_noise_inputs(gain, read_noise, options.get("noise"))
    image = np.asarray(image, dtype=float)
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    half = int(size) // 2
    rows = []
    for index, (xs, ys) in enumerate(zip(x, y)):
        try:
            box = cutout(image, xs, ys, half)[0]
        except ValueError:
            rows.append(_map_row(index, xs, ys, flag="no data"))
            continue
        if saturation is not None and np.any(box >= _same_box(saturation, image, xs, ys, size)):
            rows.append(_map_row(index, xs, ys, flag="saturated"))
            continue
        try:
            fit = fit_star(image, xs, ys, model, size, gain, read_noise, **options)
        except (ValueError, RuntimeError, FloatingPointError) as error:
            rows.append(_map_row(index, xs, ys, flag=_flag_for(error)))
            continue
        rows.append(_map_row(index, xs, ys, fit=fit))
    table = Table(rows=[[row[name] for name in MAP_COLUMNS] for row in rows] or None, names=MAP_COLUMNS,
                  dtype=[int] + [float] * 15 + [bool, str])
    for name in ("x", "y", "x_start", "y_start", "fwhm", "fwhm_err", "beta", "beta_err", "x_err", "y_err",
                 "reduced_chi2"):
        table[name].info.format = ".3f"
    for name in ("amplitude", "background", "flux", "flux_err"):
        table[name].info.format = ".1f"
    table.meta["model"] = model
    table.meta["seconds"] = time.perf_counter() - started
    return table
