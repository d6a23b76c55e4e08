"""Photometry: from pixels to fluxes, from fluxes to magnitudes, and the zero point that ties them to a catalogue.

A magnitude is ``-2.5 log10(flux)`` plus a zero point: five magnitudes are a factor of 100 in flux, and a
brighter star has a smaller magnitude. Without calibration we get *instrumental* magnitudes; a few stars of
known magnitude (standard stars) give the zero point that turns them into real ones.

Two quick ways to get a star's brightness out of an image, for chapter 03's colours:

- :func:`values_at`, the classic handbook's method: the value of the one pixel at a star's position;
- :func:`circle_sum`: the sum of the whole pixels within a few pixels of the star, minus the background.

Aperture photometry done properly (chapter 06):

- :func:`pixel_overlap`: the exact area of a circle inside a pixel (or any rectangle);
- :func:`aperture_sum`, :func:`annulus_sum`: sums over a circle or a ring, pixels cut by the edge counted
  by the part inside (exact), for one position or many;
- :func:`sky_level`: the sky per pixel in an annulus around each star, a sigma-clipped median;
- :func:`aperture_photometry`: flux, sky, flux error from the CCD equation, signal-to-noise, magnitude and
  its error, as a table;
- :func:`curve_of_growth`, :func:`aperture_correction`: how much light a radius holds, and the magnitude
  correction from a small aperture to a large one;
- :func:`radial_profile`: mean surface brightness in rings (a galaxy's profile);
- :func:`annuli_loop` (the classic's per-pixel Python loop) and :func:`annuli_vectorised` (the same numbers
  with numpy);
- :func:`effective_gain`: the gain and read noise of an average or median of several frames.

Units: images are in ADU. ``gain`` is electrons per ADU and ``read_noise`` is in electrons, as camera
headers give them (GAIN, RDNOISE); the noise is computed in electrons, where photon counting is Poisson, and
returned in ADU.

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

from ._numbers import number

__all__ = ["instrumental_magnitude", "zero_point", "calibrated_magnitude", "values_at", "circle_sum",
           "pixel_overlap", "aperture_weights", "aperture_sum", "annulus_sum", "sky_level", "aperture_photometry",
           "curve_of_growth", "aperture_correction", "radial_profile", "annuli_loop", "annuli_vectorised",
           "effective_gain", "MAGNITUDE_PER_SNR"]


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


def calibrated_magnitude(flux, catalogue, use=None, exptime=1.0):
    """Magnitudes on the catalogue's scale: instrumental magnitudes plus a zero point from known stars.

    The zero point is :func:`zero_point` of the stars selected by ``use`` (standard stars: bright, not
    saturated, with a trusted catalogue magnitude); it is then added to the instrumental magnitude of every
    star.

    Parameters
    ----------
    flux : array
        Background-subtracted fluxes of all stars.
    catalogue : array
        Catalogue magnitudes of the same stars (entries outside ``use`` are not read; NaN is fine there).
    use : array of bool or int, optional
        The stars that set the zero point (default: all with a finite magnitude and catalogue value).
    exptime : float
        Passed to :func:`instrumental_magnitude`.

    Returns
    -------
    magnitude : ndarray
        ``instrumental_magnitude(flux, exptime) + zp`` for every star (NaN where the flux is not positive).
    zp : float
        The zero point.

    Examples
    --------
    >>> import numpy as np
    >>> flux = np.array([10000.0, 1000.0, 100.0])
    >>> catalogue = np.array([15.0, 17.5, np.nan])      # the third star is not in the catalogue
    >>> mag, zp = calibrated_magnitude(flux, catalogue, use=[0, 1])
    >>> print(np.round(mag, 2), round(zp, 2))
    [15.  17.5 20. ] 25.0
    """
    instrumental = instrumental_magnitude(flux, exptime)
    catalogue = np.asarray(catalogue, dtype=float)
    if instrumental.shape != catalogue.shape:
        raise ValueError(f"flux and catalogue must describe the same stars; got {instrumental.size} fluxes "
                         f"and {catalogue.size} catalogue magnitudes")
    if use is None:
        use = np.ones(instrumental.shape, dtype=bool)
    zp, _ = zero_point(instrumental[use], catalogue[use])
    return instrumental + zp, zp


def _pixel_index(position, rounding):
    """The whole pixel a position falls in: ``floor(p + 0.5)`` (nearest) or ``floor(p)`` (the classic's int)."""
    position = np.asarray(position, dtype=float)
    if rounding == "nearest":
        return np.floor(position + 0.5)
    if rounding == "truncate":
        return np.trunc(position)
    raise ValueError(f"unknown rounding {rounding!r}: use 'nearest' or 'truncate'")


def values_at(image, x, y, background=0.0, rounding="nearest"):
    """The classic handbook's "flux": the value of the single pixel at each position, minus the background.

    The classic reads ``img[xint, yint]`` at the integer centres of the stars it found in V, in the V
    image and in the B image alike. A pixel is a poor measure of a star's brightness: it holds the
    light of one small patch of the star, and how much depends on where the star's centre falls in the
    pixel, on the width of the star (seeing, focus, filter) and, if the two images are not aligned,
    on how far the star moved. Kept for the lesson; use a sum over the star (:func:`circle_sum`, or the
    aperture photometry of chapter 06).

    Parameters
    ----------
    image : 2-D array
        Indexed ``image[y, x]``.
    x, y : float or array
        Positions (column, row; 0-based, pixel centres at whole numbers).
    background : float
        Sky level subtracted from each value.
    rounding : {"nearest", "truncate"}
        "nearest" reads the pixel that contains the position, ``image[round(y), round(x)]``;
        "truncate" reads ``image[int(y), int(x)]`` as the classic's ``astype(int)`` does, which is up to
        one pixel below and to the left of the centre.

    Returns
    -------
    ndarray (float)
        ``image[row, col] - background``; NaN for a position outside the image.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(12.0).reshape(3, 4)           # 3 rows (y), 4 columns (x)
    >>> values_at(image, x=[2.4, 2.6], y=[0.9, 0.9]).tolist()
    [6.0, 7.0]
    >>> values_at(image, 2.6, 0.9, rounding="truncate").tolist()
    2.0
    >>> values_at(image, [1.0, 9.0], [1.0, 1.0], background=1.0).tolist()
    [4.0, nan]
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"values_at needs a 2-D image, got an array of shape {image.shape}")
    col, row = _pixel_index(x, rounding), _pixel_index(y, rounding)
    col, row = np.broadcast_arrays(col, row)
    inside = (col >= 0) & (col < image.shape[1]) & (row >= 0) & (row < image.shape[0])
    values = np.full(col.shape, np.nan)
    values[inside] = image[row[inside].astype(int), col[inside].astype(int)] - background
    return values


def circle_sum(image, x, y, radius, background=0.0):
    """Sum of the whole pixels whose centres lie within ``radius`` of each position, minus the background.

    A simple aperture: each pixel counts fully or not at all, and one background level is subtracted
    from every pixel (``background`` times the number of pixels). For a star whose light falls mostly
    inside the circle the result is its flux, whatever pixel its centre falls in. Chapter 06 does it
    properly (pixels cut by the circle counted by the part inside, the sky measured in an annulus around
    each star, error bars).

    Parameters
    ----------
    image : 2-D array
        Indexed ``image[y, x]``.
    x, y : float or array
        Centres (column, row; 0-based, pixel centres at whole numbers).
    radius : float
        Radius of the circle in pixels.
    background : float
        Sky level per pixel.

    Returns
    -------
    ndarray (float)
        One sum per position; NaN where the circle runs off the image or holds a NaN pixel, or where the
        position itself is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((20, 30), 10.0)
    >>> image[5, 12] += 500.0                          # a one-pixel "star" at x = 12, y = 5
    >>> circle_sum(image, [12.3, 25.0], [5.2, 10.0], radius=2, background=10.0).tolist()
    [500.0, 0.0]
    >>> circle_sum(image, 1.0, 5.0, radius=2).tolist()   # runs off the left edge
    nan
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"circle_sum needs a 2-D image, got an array of shape {image.shape}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    col0, row0 = np.floor(x + 0.5), np.floor(y + 0.5)              # the pixel holding the centre
    reach = int(np.ceil(radius)) + 1
    total = np.zeros(x.shape)
    ny, nx = image.shape
    for dy in range(-reach, reach + 1):                            # every pixel of a box around the star
        for dx in range(-reach, reach + 1):
            col, row = col0 + dx, row0 + dy
            inside = (col - x) ** 2 + (row - y) ** 2 <= radius ** 2
            on_image = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
            values = np.full(x.shape, np.nan)
            values[on_image] = image[row[on_image].astype(int), col[on_image].astype(int)] - background
            total += np.where(inside, values, 0.0)                 # NaN off the image or in a NaN pixel
    return np.where(np.isfinite(x) & np.isfinite(y), total, np.nan)


# ==================================================================================================
# Chapter 06: aperture photometry with partial pixels, a sky annulus and error bars
# ==================================================================================================
#: 2.5 / ln(10) = 1.0857: a magnitude error is ``MAGNITUDE_PER_SNR / snr`` (a 1 % flux error is 0.011 mag).
MAGNITUDE_PER_SNR = 2.5 / np.log(10.0)

_CHUNK = 256          # stars measured together: bounds the memory of the cut-outs (stars x box pixels)


def _as_image(image, name):
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"{name} needs a 2-D image, got an array of shape {image.shape}")
    return image


def _chord_integral(x, r):
    """``integral from 0 to x of sqrt(r^2 - t^2) dt``: the area under the upper half of the circle."""
    x = np.clip(x, -r, r)
    return 0.5 * (x * np.sqrt(np.maximum(r * r - x * x, 0.0)) + r * r * np.arcsin(np.clip(x / r, -1.0, 1.0)))


def pixel_overlap(x0, x1, y0, y1, r):
    """Exact area of the circle of radius ``r`` centred on (0, 0) that lies inside the rectangle
    ``x0 <= x <= x1, y0 <= y <= y1``.

    The area is the integral over x of the length of the vertical line ``[y0, y1]`` covered by the
    circle, ``[-s(x), s(x)]`` with ``s(x) = sqrt(r^2 - x^2)``. Between the points where the circle's edge
    crosses ``y0`` or ``y1`` (or ends, at ``x = +-r``) the covered part is always of one kind (the whole
    ``[y0, y1]``, a piece cut at the top, at the bottom, or at both), so the integral splits into at most
    seven pieces, each with a closed form (:func:`_chord_integral` for the curved edge). No sampling: the
    result is exact to rounding (about 1e-12 of a pixel).

    Parameters
    ----------
    x0, x1, y0, y1 : float or arrays (broadcast together)
        The rectangle's edges, relative to the circle's centre (``x0 <= x1``, ``y0 <= y1``).
    r : float or array
        Radius, > 0.

    Returns
    -------
    ndarray
        The area, between 0 and ``(x1 - x0) * (y1 - y0)``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(pixel_overlap(-0.5, 0.5, -0.5, 0.5, 0.5)), 6)      # a disc inside one pixel
    0.785398
    >>> round(float(pixel_overlap(0.0, 5.0, 0.0, 5.0, 2.0)), 6)        # a quarter of the disc: pi
    3.141593
    >>> round(float(pixel_overlap(-3.0, 3.0, -3.0, 3.0, 2.0)) / np.pi, 6)   # the whole disc
    4.0
    >>> float(pixel_overlap(2.5, 3.5, -0.5, 0.5, 2.0))                  # a pixel wholly outside
    0.0
    """
    x0, x1, y0, y1, r = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x0, x1, y0, y1, r)))
    lo, hi = np.maximum(x0, -r), np.minimum(x1, r)              # the circle lives in -r <= x <= r
    crossing_0 = np.sqrt(np.maximum(r * r - y0 * y0, 0.0))      # where the edge meets y = y0: x = +-crossing_0
    crossing_1 = np.sqrt(np.maximum(r * r - y1 * y1, 0.0))
    cuts = np.stack([lo, hi, -crossing_0, crossing_0, -crossing_1, crossing_1], axis=-1)
    cuts = np.sort(np.clip(cuts, lo[..., None], np.maximum(hi, lo)[..., None]), axis=-1)
    a, b = cuts[..., :-1], cuts[..., 1:]                        # the pieces [a, b]
    rr, top_edge, bottom_edge = r[..., None], y1[..., None], y0[..., None]
    middle = 0.5 * (a + b)
    s = np.sqrt(np.maximum(rr * rr - middle * middle, 0.0))     # half-height of the circle inside the piece
    curve = _chord_integral(b, rr) - _chord_integral(a, rr)     # integral of s(x) over the piece
    top = np.where(s < top_edge, curve, top_edge * (b - a))     # integral of min(y1, s)
    bottom = np.where(-s > bottom_edge, -curve, bottom_edge * (b - a))   # integral of max(y0, -s)
    covered = np.minimum(top_edge, s) > np.maximum(bottom_edge, -s)
    return np.sum(np.where(covered, top - bottom, 0.0), axis=-1)


def _boxes(x, y, reach):
    """Rows and columns of the (2 reach + 1)^2 pixels around each position: arrays (n, m)."""
    offsets = np.arange(-reach, reach + 1)
    d_row, d_col = (o.ravel() for o in np.meshgrid(offsets, offsets, indexing="ij"))
    cols = np.floor(x + 0.5)[:, None] + d_col[None, :]
    rows = np.floor(y + 0.5)[:, None] + d_row[None, :]
    return rows, cols


def _gather(image, rows, cols):
    """``image[rows, cols]`` with NaN for pixels off the image."""
    ny, nx = image.shape
    on = (rows >= 0) & (rows < ny) & (cols >= 0) & (cols < nx)
    values = np.full(rows.shape, np.nan)
    values[on] = image[rows[on].astype(int), cols[on].astype(int)]
    return values


def _weights(x, y, r, rows, cols):
    """Fraction of each pixel of the boxes inside the circle (n, m): 1 inside, 0 outside, exact on the edge."""
    dx0, dx1 = cols - 0.5 - x[:, None], cols + 0.5 - x[:, None]      # pixel edges relative to the centre
    dy0, dy1 = rows - 0.5 - y[:, None], rows + 0.5 - y[:, None]
    rr = np.broadcast_to(r[:, None], dx0.shape)
    far = np.maximum(np.abs(dx0), np.abs(dx1)) ** 2 + np.maximum(np.abs(dy0), np.abs(dy1)) ** 2
    near_x = np.where((dx0 < 0) & (dx1 > 0), 0.0, np.minimum(np.abs(dx0), np.abs(dx1)))
    near_y = np.where((dy0 < 0) & (dy1 > 0), 0.0, np.minimum(np.abs(dy0), np.abs(dy1)))
    inside, outside = far <= rr ** 2, near_x ** 2 + near_y ** 2 >= rr ** 2
    weights = inside.astype(float)
    edge = ~inside & ~outside                                          # only these need the exact area
    weights[edge] = pixel_overlap(dx0[edge], dx1[edge], dy0[edge], dy1[edge], rr[edge])
    return weights


def _positions(x, y, *radii):
    """Broadcast positions and radii to flat float arrays; remember whether the input was one position."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y) + radii))
    return arrays[0].ndim == 0, arrays[0].shape, [a.ravel() for a in arrays]


def _check_radius(r, shape, name="radius"):
    """Refuse a radius larger than the image's diagonal (it would ask for a box of pixels larger than memory)."""
    diagonal = float(np.hypot(*shape))
    if np.any(np.isfinite(r) & (r > diagonal)):
        raise ValueError(f"the {name} {np.nanmax(r):g} px is larger than the whole image (diagonal {diagonal:.0f} "
                         "px); give it in pixels, e.g. a few times the stars' FWHM")


def _shaped(values, single, shape):
    return values.reshape(shape) if not single else values.reshape(())[()]


def aperture_weights(x, y, r, shape):
    """The circular aperture as an image: each pixel's fraction inside the circle (1, 0, or the exact part).

    Parameters
    ----------
    x, y : float
        Centre (column, row; 0-based, pixel centres at whole numbers).
    r : float
        Radius in pixels.
    shape : (ny, nx)
        Shape of the image.

    Returns
    -------
    ndarray of shape ``shape``
        Its sum is the aperture's area, ``pi r^2`` when the circle lies inside the image.

    Examples
    --------
    >>> import numpy as np
    >>> w = aperture_weights(5.0, 5.0, 1.0, (11, 11))
    >>> print(np.round(w[4:7, 4:7], 3))
    [[0.079 0.457 0.079]
     [0.457 1.    0.457]
     [0.079 0.457 0.079]]
    >>> round(float(w.sum()), 6) == round(np.pi, 6)
    True
    """
    if not r > 0:
        raise ValueError(f"the radius must be positive, got {r}")
    ny, nx = shape
    rows, cols = np.mgrid[0:ny, 0:nx]
    flat = _weights(np.array([float(x)]), np.array([float(y)]), np.array([float(r)]),
                    rows.ravel()[None, :].astype(float), cols.ravel()[None, :].astype(float))
    return flat.reshape(shape)


def aperture_sum(image, x, y, r):
    """Sum of the image over a circle, each pixel weighted by the exact fraction of it inside the circle.

    A pixel cut by the circle's edge counts by the part of its area inside (:func:`pixel_overlap`),
    so the result changes smoothly as the circle moves by a fraction of a pixel and the area is exactly
    ``pi r^2``: no whole-pixel jaggedness (compare :func:`circle_sum`). Only a small cut-out around each
    position is visited, and many positions are measured together with numpy.

    Parameters
    ----------
    image : 2-D array
        Indexed ``image[y, x]``.
    x, y : float or arrays
        Centres (column, row; 0-based, the centre of pixel ``image[3, 7]`` is x = 7, y = 3).
    r : float or array
        Radius in pixels (one for all positions, or one each).

    Returns
    -------
    total : float or ndarray
        Weighted sum (units of the image); NaN where the circle runs off the image or covers a NaN
        pixel.
    area : float or ndarray
        Sum of the weights: the number of pixels the sum holds (``pi r^2`` inside the image).

    Examples
    --------
    >>> import numpy as np
    >>> ones = np.ones((50, 60))
    >>> total, area = aperture_sum(ones, 20.3, 30.6, 4.0)
    >>> round(float(total), 6) == round(float(area), 6) == round(16 * np.pi, 6)
    True
    >>> total, area = aperture_sum(ones, [10.0, 2.0], [10.0, 10.0], 3.0)    # the second runs off the edge
    >>> print(np.round(total, 3))
    [28.274    nan]
    """
    image = _as_image(image, "aperture_sum")
    single, shape, (x, y, r) = _positions(x, y, r)
    _check_radius(r, image.shape)
    if np.any(~(r > 0)):
        raise ValueError("the radius must be positive")
    total, area = np.full(x.size, np.nan), np.full(x.size, np.nan)
    for start in range(0, x.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        xs, ys, rs = x[part], y[part], r[part]
        good = np.isfinite(xs) & np.isfinite(ys)
        if not good.any():
            continue
        xs, ys, rs = np.where(good, xs, 0.0), np.where(good, ys, 0.0), rs
        rows, cols = _boxes(xs, ys, int(np.ceil(rs.max())) + 1)
        weights = _weights(xs, ys, rs, rows, cols)
        values = _gather(image, rows, cols)
        sums = np.sum(np.where(weights > 0, weights * values, 0.0), axis=1)      # NaN survives where used
        total[part] = np.where(good, sums, np.nan)
        area[part] = np.where(good, weights.sum(axis=1), np.nan)
    return _shaped(total, single, shape), _shaped(area, single, shape)


def annulus_sum(image, x, y, r_in, r_out):
    """Sum and area of the ring ``r_in < d < r_out`` around each position, with exact partial pixels.

    The ring is the circle of radius ``r_out`` minus the circle of radius ``r_in``, so both come from
    :func:`aperture_sum` and every pixel counts by the part of it inside the ring.

    Returns
    -------
    total, area : float or ndarray
        As for :func:`aperture_sum`; the area is ``pi (r_out^2 - r_in^2)`` inside the image.

    Examples
    --------
    >>> import numpy as np
    >>> total, area = annulus_sum(np.full((80, 80), 2.0), 40.2, 39.7, 10.0, 20.0)
    >>> round(float(area / np.pi), 6), round(float(total / area), 6)
    (300.0, 2.0)
    """
    if np.any(np.asarray(r_out) <= np.asarray(r_in)):
        raise ValueError(f"the annulus needs r_out > r_in, got r_in={r_in}, r_out={r_out}")
    outer, outer_area = aperture_sum(image, x, y, r_out)
    inner, inner_area = aperture_sum(image, x, y, r_in)
    return outer - inner, outer_area - inner_area


def sky_level(image, x, y, r_in, r_out, sigma=3.0, maxiters=5):
    """The sky per pixel around each position: the sigma-clipped median of the pixels in an annulus.

    The pixels whose centres lie at ``r_in <= d < r_out`` from the position are taken whole (the sky is
    smooth, so partial pixels would change nothing). Neighbouring stars and cosmic rays in the annulus are
    bright outliers: they are clipped (``sigma`` standard deviations from the median, repeated), and the
    median of the rest resists the faint ones that stay.

    Parameters
    ----------
    image : 2-D array
    x, y : float or arrays
        Centres (column, row; 0-based).
    r_in, r_out : float
        Inner and outer radius of the sky annulus (pixels). Choose ``r_in`` where the star's light has
        faded into the noise, and ``r_out`` so that the annulus holds many more pixels than the aperture.
    sigma, maxiters : float, int
        Clipping limit and number of rounds (``astropy.stats.sigma_clip``).

    Returns
    -------
    sky : ndarray
        Sky level per pixel (units of the image); NaN where no annulus pixel is left.
    sky_std : ndarray
        Standard deviation of the kept pixels (the noise of one sky pixel).
    n_sky : ndarray of int
        Number of pixels kept.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(1).normal(100.0, 5.0, (80, 80))
    >>> image[40, 62] += 5000.0                            # a cosmic ray in the annulus
    >>> sky, std, n = sky_level(image, 40.0, 40.0, 15.0, 25.0)
    >>> print(round(float(sky[0])), round(float(std[0])), int(n[0]))
    100 5 1236
    """
    from astropy.stats import sigma_clip

    image = _as_image(image, "sky_level")
    if not 0 <= r_in < r_out:
        raise ValueError(f"the annulus needs 0 <= r_in < r_out, got r_in={r_in}, r_out={r_out}")
    _, _, (x, y) = _positions(x, y)
    sky, std, n_sky = np.full(x.size, np.nan), np.full(x.size, np.nan), np.zeros(x.size, int)
    for start in range(0, x.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        xs, ys = np.nan_to_num(x[part], nan=-1e9), np.nan_to_num(y[part], nan=-1e9)
        rows, cols = _boxes(xs, ys, int(np.ceil(r_out)) + 1)
        d2 = (cols - xs[:, None]) ** 2 + (rows - ys[:, None]) ** 2
        in_ring = (d2 >= r_in ** 2) & (d2 < r_out ** 2)
        values = np.where(in_ring, _gather(image, rows, cols), np.nan)
        clipped = sigma_clip(np.ma.masked_invalid(values), sigma=sigma, maxiters=maxiters, axis=1,
                             masked=True)
        n_sky[part] = clipped.count(axis=1)
        some = n_sky[part] > 0
        sky[part] = np.where(some, np.ma.median(clipped, axis=1).filled(np.nan), np.nan)
        std[part] = np.where(n_sky[part] > 1, np.ma.std(clipped, axis=1, ddof=1).filled(np.nan), np.nan)
    return sky, std, n_sky


def aperture_photometry(image, x, y, r, r_in, r_out, gain, read_noise, exptime=1.0, sigma=3.0):
    """Aperture photometry of one star or many: flux, sky, errors and magnitudes, as a table.

    1. The sum over the aperture of radius ``r``, with exact partial pixels (:func:`aperture_sum`);
       ``area`` is the number of pixels it holds, ``pi r^2``.
    2. The sky per pixel from the annulus ``r_in .. r_out`` (:func:`sky_level`, a sigma-clipped median),
       and its uncertainty ``sky_err = 1.2533 sky_std / sqrt(n_sky)`` (the error of a median is 1.2533
       times that of a mean).
    3. ``flux = sum - area * sky``, in ADU.
    4. The noise, from the CCD equation, in **electrons** (where photon counts are Poisson):

       ``N_err^2 = N_star + area (1 + area / n_sky) (N_sky + RN^2)``

       with ``N_star = flux * gain`` the star's electrons, ``N_sky = sky * gain`` the sky electrons per
       pixel, ``RN`` the read noise in electrons. The first term is the star's own photon noise; the
       second is the noise of the sky and the read-out in each of the ``area`` pixels, and the factor
       ``(1 + area / n_sky)`` adds the uncertainty of the sky level subtracted from all of them. Then
       ``flux_err = N_err / gain`` (ADU). (Dark current would add ``N_dark`` next to ``N_sky``; it is
       small here and left out.)
    5. ``snr = flux / flux_err``; ``mag = -2.5 log10(flux / exptime)`` (:func:`instrumental_magnitude`);
       ``mag_err = 1.0857 / snr``, because ``d(mag) = 2.5 / ln(10) * d(flux) / flux``.

    Parameters
    ----------
    image : 2-D array
        Calibrated image in ADU (bias, dark and flat removed; the sky left in).
    x, y : float or arrays
        Centres (column, row; 0-based).
    r : float
        Aperture radius (pixels).
    r_in, r_out : float
        Sky annulus radii (pixels).
    gain : float
        Electrons per ADU (the header's GAIN). For an average or median of several frames use the
        combination's effective gain (:func:`effective_gain`).
    read_noise : float
        Read noise in electrons (RDNOISE), effective for a combination as well.
    exptime : float
        Seconds: ``mag`` is then per second.
    sigma : float
        Clipping limit for the sky.

    Returns
    -------
    astropy.table.Table
        Columns ``x, y, aperture_sum, area, sky, sky_std, sky_err, n_sky, flux, flux_err, snr, mag,
        mag_err`` (ADU, pixels, magnitudes); ``meta`` holds the radii, gain, read noise and exposure time.
        ``mag`` and ``mag_err`` are NaN where the flux is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> star = 20000.0 / (2 * np.pi * 1.5 ** 2) * np.exp(-((xx - 30.4) ** 2 + (yy - 31.2) ** 2) / (2 * 1.5 ** 2))
    >>> image = np.random.default_rng(0).normal(200.0, 5.0, (64, 64)) + star
    >>> t = aperture_photometry(image, 30.4, 31.2, r=6, r_in=12, r_out=20, gain=2.0, read_noise=5.0)
    >>> print(f"{t['flux'][0]:.0f} +- {t['flux_err'][0]:.0f} ADU, sky {t['sky'][0]:.1f}, SNR {t['snr'][0]:.0f}")
    20001 +- 154 ADU, sky 199.8, SNR 130
    """
    from astropy.table import Table

    r, r_in, r_out = (number(v, name, above=0) for v, name in ((r, "r"), (r_in, "r_in"), (r_out, "r_out")))
    gain = number(gain, "gain (e-/ADU)", above=0)
    read_noise = number(read_noise, "read_noise (e-)", at_least=0)
    exptime = number(exptime, "exptime (s)", above=0)
    if not 0 < r <= r_in < r_out:
        raise ValueError(f"expected 0 < r <= r_in < r_out (the sky annulus outside the aperture), got r={r}, "
                         f"r_in={r_in}, r_out={r_out}")
    if not (gain > 0 and read_noise >= 0 and exptime > 0):
        raise ValueError(f"gain and exptime must be positive and read_noise not negative, got gain={gain}, "
                         f"read_noise={read_noise}, exptime={exptime}")
    _, _, (x, y) = _positions(x, y)
    total, area = aperture_sum(image, x, y, r)
    sky, sky_std, n_sky = sky_level(image, x, y, r_in, r_out, sigma=sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        sky_err = 1.2533 * sky_std / np.sqrt(n_sky)
        flux = total - area * sky
        star_e, sky_e = np.maximum(flux * gain, 0.0), np.maximum(sky * gain, 0.0)
        variance_e = star_e + area * (1.0 + area / n_sky) * (sky_e + read_noise ** 2)
        flux_err = np.sqrt(variance_e) / gain
        snr = flux / flux_err
        mag = instrumental_magnitude(flux, exptime)
        mag_err = np.where(flux > 0, MAGNITUDE_PER_SNR / snr, np.nan)
    table = Table({"x": x, "y": y, "aperture_sum": total, "area": area, "sky": sky, "sky_std": sky_std,
                   "sky_err": sky_err, "n_sky": n_sky, "flux": flux, "flux_err": flux_err, "snr": snr,
                   "mag": mag, "mag_err": mag_err},
                  meta={"r": r, "r_in": r_in, "r_out": r_out, "gain": gain, "read_noise": read_noise,
                        "exptime": exptime})
    for name, fmt in {"x": ".2f", "y": ".2f", "aperture_sum": ".1f", "area": ".2f", "sky": ".2f",
                      "sky_std": ".2f", "sky_err": ".3f", "flux": ".1f", "flux_err": ".1f", "snr": ".1f",
                      "mag": ".3f", "mag_err": ".3f"}.items():
        table[name].info.format = fmt
    return table


def curve_of_growth(image, x, y, radii, r_in, r_out, normalise=False):
    """Sky-subtracted flux within each radius: how a star's light grows with the aperture.

    The sky per pixel is measured once per star in the annulus ``r_in .. r_out`` (:func:`sky_level`);
    then for every radius ``aperture_sum - area * sky``.

    Parameters
    ----------
    image : 2-D array
    x, y : float or arrays
        Centres.
    radii : sequence of float
        Aperture radii (pixels), each at most ``r_in``.
    r_in, r_out : float
        Sky annulus.
    normalise : bool
        Divide each star's curve by its value at the largest radius.

    Returns
    -------
    ndarray
        Shape ``(len(radii),)`` for one position, ``(n_positions, len(radii))`` for many.

    Examples
    --------
    A flat-topped "star", a disc of radius 5 px and 10 ADU per pixel (785.4 ADU in all), on a sky of 50:

    >>> import numpy as np
    >>> image = 50.0 + 10.0 * aperture_weights(40.0, 40.0, 5.0, (80, 80))
    >>> growth = curve_of_growth(image, 40.0, 40.0, [2.0, 3.0, 8.0], 20.0, 30.0)
    >>> print(np.round(growth, 2))                   # 10 pi r^2 well inside the disc, then all of it
    [125.66 282.74 785.4 ]
    """
    radii = np.asarray(radii, dtype=float)
    if radii.ndim != 1 or np.any(radii <= 0) or np.any(radii > r_in):
        raise ValueError(f"radii must be a list of positive radii no larger than r_in={r_in}, got {radii}")
    single, shape, (x, y) = _positions(x, y)
    sky, _, _ = sky_level(image, x, y, r_in, r_out)
    curves = np.empty((x.size, radii.size))
    for k, radius in enumerate(radii):
        total, area = aperture_sum(image, x, y, radius)
        curves[:, k] = total - area * sky
    if normalise:
        curves = curves / curves[:, -1:]
    return curves[0] if single else curves.reshape(shape + (radii.size,))


def aperture_correction(image, x, y, r, r_large, r_in, r_out):
    """Magnitude correction from an aperture of radius ``r`` to a large one, from bright isolated stars.

    A small aperture gives the best signal-to-noise for faint stars but misses the light in the star's
    wings. The fraction it misses is the same for every star of one image (same PSF), so it can be
    measured once on a few bright isolated stars: ``correction = -2.5 log10(F(r_large) / F(r))`` (a
    negative number of magnitudes), and ``mag(r) + correction`` is the magnitude in the large aperture.

    Parameters
    ----------
    image : 2-D array
    x, y : arrays
        Bright, unsaturated, isolated stars.
    r, r_large : float
        The working aperture and the large one (``r < r_large <= r_in``).
    r_in, r_out : float
        Sky annulus.

    Returns
    -------
    correction : float
        Median over the stars (magnitudes; add it to the magnitudes measured with radius ``r``).
    error : float
        Its uncertainty: 1.2533 * robust standard deviation / sqrt(n).

    Examples
    --------
    Two flat-topped "stars" (discs of radius 5 px): an aperture of 2 px holds 4/25 of their light.

    >>> import numpy as np
    >>> image = 50.0 + aperture_weights(30.0, 30.0, 5.0, (100, 100)) + aperture_weights(70.3, 60.6, 5.0, (100, 100))
    >>> corr, err = aperture_correction(image, [30.0, 70.3], [30.0, 60.6], 2.0, 8.0, 12.0, 20.0)
    >>> print(round(corr, 3), round(float(-2.5 * np.log10(25 / 4)), 3))
    -1.99 -1.99
    """
    if not r < r_large:
        raise ValueError(f"the large aperture must be larger than r, got r={r}, r_large={r_large}")
    growth = np.atleast_2d(curve_of_growth(image, x, y, [r, r_large], r_in, r_out))
    with np.errstate(divide="ignore", invalid="ignore"):
        corrections = -2.5 * np.log10(growth[:, 1] / growth[:, 0])
    corrections = corrections[np.isfinite(corrections)]
    if corrections.size == 0:
        raise ValueError("no star gave a positive flux in both apertures")
    correction = float(np.median(corrections))
    spread = 1.4826 * np.median(np.abs(corrections - correction))
    return correction, float(1.2533 * spread / np.sqrt(corrections.size))


def radial_profile(image, x, y, edges, method="exact", gain=None, read_noise=None):
    """Mean surface brightness in rings around one position: a galaxy's (or a star's) radial profile.

    Parameters
    ----------
    image : 2-D array
    x, y : float
        Centre (column, row; 0-based).
    edges : sequence of float
        Ring edges in pixels, increasing; ring k is ``edges[k] .. edges[k + 1]``. Or a table from
        :func:`helpers.io.read_regions` with columns ``r_in`` and ``r_out`` (annuli, which may be
        separate or overlap).
    method : {"exact", "center"}
        "exact": partial pixels, each ring the difference of two :func:`aperture_sum` (area exactly
        ``pi (r_out^2 - r_in^2)``); "center": whole pixels whose centres lie at ``r_in <= d < r_out``.
    gain, read_noise : float, optional
        e-/ADU and e- of the image (effective values for a combined frame, see :func:`effective_gain`).
        When given, the table gets ``mean_err``, the noise of each ring's mean from photon counting and
        read noise: ``sqrt(sum / gain + area (read_noise / gain)^2) / area`` ADU. The image must still hold
        its sky (the sky's photons are noise too).

    Returns
    -------
    astropy.table.Table
        Columns ``r_in``, ``r_out``, ``radius`` (the ring's middle), ``sum``, ``area`` (pixels) and
        ``mean`` (= sum / area, per pixel), and ``mean_err`` if gain and read noise are given.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:101, 0:101]
    >>> image = 100.0 - np.hypot(xx - 50.0, yy - 50.0)          # falls by 1 per pixel from the centre
    >>> profile = radial_profile(image, 50.0, 50.0, [0, 10, 20, 30])
    >>> print(np.round(profile["mean"], 2))      # 100 - mean distance in each ring: 6.67, 15.56, 25.33
    [93.32 84.44 74.66]
    >>> noisy = radial_profile(np.full((101, 101), 400.0), 50.0, 50.0, [0, 10], gain=4.0, read_noise=0.0)
    >>> round(float(noisy["mean_err"][0]), 3)     # 1600 e-: sqrt(1600) / 4 = 10 ADU a pixel, / sqrt(314)
    0.564
    """
    from astropy.table import Table

    image = _as_image(image, "radial_profile")
    if hasattr(edges, "colnames"):
        r_in, r_out = np.asarray(edges["r_in"], float), np.asarray(edges["r_out"], float)
    else:
        edges = np.asarray(edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
            raise ValueError(f"edges must be at least two increasing radii >= 0, got {edges}")
        r_in, r_out = edges[:-1], edges[1:]
    if method == "exact":
        def disc(radius):
            if radius == 0:
                return 0.0, 0.0
            return aperture_sum(image, x, y, radius)
        outer, inner = [disc(r) for r in r_out], [disc(r) for r in r_in]
        total = np.array([o[0] - i[0] for o, i in zip(outer, inner)])
        area = np.array([o[1] - i[1] for o, i in zip(outer, inner)])
    elif method == "center":
        reach = int(np.ceil(r_out.max())) + 1
        rows, cols = _boxes(np.array([float(x)]), np.array([float(y)]), reach)
        d2 = ((cols - x) ** 2 + (rows - y) ** 2)[0]
        values = _gather(image, rows, cols)[0]
        total, area = np.empty(r_in.size), np.empty(r_in.size)
        for k, (a, b) in enumerate(zip(r_in, r_out)):
            ring = (d2 >= a ** 2) & (d2 < b ** 2)
            total[k], area[k] = np.sum(values[ring]), ring.sum()
    else:
        raise ValueError(f"unknown method {method!r}: use 'exact' or 'center'")
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / area
    table = Table({"r_in": r_in, "r_out": r_out, "radius": 0.5 * (r_in + r_out), "sum": total, "area": area,
                   "mean": mean})
    if gain is not None and read_noise is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            table["mean_err"] = np.sqrt(np.maximum(total, 0.0) / gain + area * (read_noise / gain) ** 2) / area
        table["mean_err"].info.format = ".3f"
    for name, fmt in {"r_in": ".1f", "r_out": ".1f", "radius": ".1f", "sum": ".1f", "area": ".1f",
                      "mean": ".2f"}.items():
        table[name].info.format = fmt
    return table


def annuli_loop(image, x, y, inner, outer):
    """The classic handbook's annulus photometry: a Python loop over every pixel of the frame.

    For each pixel, its distance ``r`` from the centre, then for each annulus ``k``: if
    ``inner[k] < r < outer[k]`` add the pixel's value to ``pix[k]`` and count it in ``npix[k]``. Whole
    pixels only (a pixel is in or out by its centre). The classic calls the row ``i`` and the column
    ``j`` and then measures ``r`` from ``(i - xc, j - yc)``, mixing up rows and x; here the row is
    ``row``, the column ``col``, and ``r`` is measured from ``(col - x, row - y)``.

    It visits all ``ny * nx`` pixels in Python, once per annulus: seconds for one 1024 x 1024 frame.
    :func:`annuli_vectorised` gives the identical numbers with numpy.

    Parameters
    ----------
    image : 2-D array
    x, y : float
        Centre (column, row; 0-based).
    inner, outer : sequences of float
        Inner and outer radius of each annulus.

    Returns
    -------
    pix : ndarray
        Sum of the pixel values in each annulus.
    npix : ndarray
        Number of pixels in each annulus (``pix / npix`` is the mean per pixel).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(49.0).reshape(7, 7)
    >>> pix, npix = annuli_loop(image, 3.0, 3.0, [0.5, 1.2], [1.2, 2.5])
    >>> pix.tolist(), npix.tolist()
    ([96.0, 384.0], [4.0, 16.0])
    """
    image = np.asarray(image, dtype=float)
    inner, outer = np.asarray(inner, dtype=float), np.asarray(outer, dtype=float)
    pix = np.zeros(len(inner))
    npix = np.zeros(len(inner))
    for row in range(image.shape[0]):
        for col in range(image.shape[1]):
            r = np.sqrt((col - x) ** 2 + (row - y) ** 2)
            for k in range(len(inner)):
                if inner[k] < r < outer[k]:
                    pix[k] += image[row, col]
                    npix[k] += 1
    return pix, npix


def annuli_vectorised(image, x, y, inner, outer):
    """:func:`annuli_loop` with numpy: the same whole pixels, the same ``inner < r < outer``, the same numbers.

    The distance of every pixel from the centre is one array operation; each annulus is then a boolean
    mask. The sums use ``np.bincount`` with weights, which adds the values one after another in the
    order of the pixels, exactly as the loop does, so the results are identical to the last bit (a plain
    ``image[mask].sum()`` adds in a different order and can differ in the last digit).

    Parameters and returns as :func:`annuli_loop`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(49.0).reshape(7, 7)
    >>> pix, npix = annuli_vectorised(image, 3.0, 3.0, [0.5, 1.2], [1.2, 2.5])
    >>> pix.tolist(), npix.tolist()
    ([96.0, 384.0], [4.0, 16.0])
    """
    image = np.asarray(image, dtype=float)
    inner, outer = np.asarray(inner, dtype=float), np.asarray(outer, dtype=float)
    rows, cols = np.indices(image.shape)
    r = np.sqrt((cols - x) ** 2 + (rows - y) ** 2)
    values = image.ravel()
    pix, npix = np.zeros(len(inner)), np.zeros(len(inner))
    for k in range(len(inner)):
        inside = ((inner[k] < r) & (r < outer[k])).ravel()
        pix[k] = np.bincount(inside, weights=values, minlength=2)[1]
        npix[k] = np.count_nonzero(inside)
    return pix, npix


def _median_variance(n):
    """Variance of the median of ``n`` independent standard normal values (1 / n for the mean)."""
    from math import factorial

    from scipy import integrate, stats

    if n == 1:
        return 1.0
    phi, cdf, sf = stats.norm.pdf, stats.norm.cdf, stats.norm.sf
    if n % 2:                       # the middle value: density n!/(k!)^2 F^k (1-F)^k f
        k = (n - 1) // 2
        c = factorial(n) / factorial(k) ** 2
        return integrate.quad(lambda t: t * t * c * cdf(t) ** k * sf(t) ** k * phi(t), -np.inf, np.inf)[0]
    k = n // 2                      # the mean of the two middle values u < v
    c = factorial(n) / factorial(k - 1) ** 2
    def density(v, u):
        return 0.25 * (u + v) ** 2 * c * cdf(u) ** (k - 1) * phi(u) * phi(v) * sf(v) ** (k - 1)
    return integrate.dblquad(density, -9, 9, lambda u: u, lambda u: 9)[0]


def effective_gain(gain, read_noise, n_frames, method="mean"):
    """Gain and read noise that describe the noise of an average or a median of ``n_frames`` frames.

    A combined image kept in the ADU of one frame is less noisy than one frame: its values count as if a
    pixel had collected ``n`` times more electrons. For an **average** of n frames the noise is that of one
    exposure with gain ``n * gain`` and read noise ``sqrt(n) * read_noise`` (electrons): then the photon
    noise of ``A`` ADU is ``sqrt(A * G) / G`` ADU, sqrt(n) times smaller than in one frame, as it should
    be. A **median** is noisier than the average (for 3 frames its variance is 1.35 times larger, for
    many frames pi/2 times): it counts as ``n_eff = 1 / (variance of the median of n unit normals)``
    frames.

    Parameters
    ----------
    gain : float
        e-/ADU of one frame.
    read_noise : float
        e- of one frame.
    n_frames : int
    method : {"mean", "median"}

    Returns
    -------
    gain, read_noise : float
        Effective values to give :func:`aperture_photometry` for the combined image.

    Examples
    --------
    >>> g, rn = effective_gain(1.5, 10.0, 3)                      # the galaxy frames' GAIN and RDNOISE
    >>> round(g, 2), round(rn, 2)
    (4.5, 17.32)
    >>> g, rn = effective_gain(1.5, 10.0, 3, method="median")
    >>> round(g, 2), round(rn, 2)
    (3.34, 14.93)
    """
    if method not in ("mean", "median"):
        raise ValueError(f"unknown method {method!r}: use 'mean' or 'median'")
    n = int(n_frames)
    if n < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    n_eff = n if method == "mean" else 1.0 / _median_variance(n)
    return float(gain * n_eff), float(read_noise * np.sqrt(n_eff))
