"""Image alignment: measure the offset between two frames, shift one onto the other, match star lists.

Two frames of the same field are never exactly aligned: the telescope drifts between exposures and a
filter change moves the image by a fraction of a pixel or more. Before two frames can be combined, or
their fluxes compared star by star (a colour), one must be moved onto the other.

The sign convention (used everywhere in the handbook)::

    dx, dy = measure_offset(reference, image)
    aligned = shift(image, dx, dy)          # lands on reference

so ``dx, dy`` is how far the image's content must move. If ``image`` is the reference moved by +3 px in
x, then ``dx = -3``. A star at ``(x, y)`` in ``image`` is at ``(x + dx, y + dy)`` in ``reference``.

Positions are named ``x`` (column) and ``y`` (row); a 2-D array is indexed ``[y, x]``, which is why the
calls to ``scipy.ndimage.shift`` below pass ``(dy, dx)``.

Examples
--------
>>> import numpy as np
>>> from helpers import align
>>> yy, xx = np.mgrid[0:64, 0:64]
>>> def star(x0, y0):
...     return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 2.0 ** 2))
>>> reference = star(30.0, 20.0) + star(45.0, 40.0)
>>> image = star(33.25, 18.5) + star(48.25, 38.5)       # moved by +3.25 in x, -1.5 in y
>>> dx, dy = align.measure_offset(reference, image)
>>> print(f"{dx:.2f} {dy:.2f}")
-3.25 1.50
"""
import numpy as np
from scipy import fft, ndimage
from scipy.spatial import cKDTree

from .detect import _clean_cosmic_rays, background, find_stars  # the same rule as find_stars

__all__ = ["match", "position_differences", "offset_from_stars", "OffsetError", "measure_offset", "shift", "fourier_shift", "difference_image",
           "difference_residual"]


# --------------------------------------------------------------------------------------------------
# Matching star lists
# --------------------------------------------------------------------------------------------------
def match(xy_a, xy_b, tol):
    """Pair the points of two lists one to one: nearest pairs first, none farther apart than ``tol``.

    Parameters
    ----------
    xy_a, xy_b : array_like, shape (n, 2) and (m, 2)
        Positions as columns ``(x, y)``.
    tol : float
        Largest distance (pixels) of a pair.

    Returns
    -------
    index_a, index_b : ndarray of int
        ``xy_a[index_a[k]]`` is paired with ``xy_b[index_b[k]]``; sorted by ``index_a``. A point is in
        at most one pair: all pairs closer than ``tol`` are sorted by distance and taken in turn,
        skipping any whose point is already taken.

    Examples
    --------
    >>> from helpers import align
    >>> a = [(10.0, 10.0), (20.0, 20.0), (50.0, 5.0)]
    >>> b = [(20.3, 19.9), (10.1, 9.8), (90.0, 90.0)]
    >>> ia, ib = align.match(a, b, tol=1.0)
    >>> ia.tolist(), ib.tolist()
    ([0, 1], [1, 0])
    """
    xy_a, xy_b = _points(xy_a, "xy_a"), _points(xy_b, "xy_b")
    if len(xy_a) == 0 or len(xy_b) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    close = cKDTree(xy_a).sparse_distance_matrix(cKDTree(xy_b), tol, output_type="ndarray")
    close = close[np.argsort(close["v"], kind="stable")]
    taken_a, taken_b = np.zeros(len(xy_a), dtype=bool), np.zeros(len(xy_b), dtype=bool)
    pairs = []
    for i, j in zip(close["i"], close["j"]):
        if not taken_a[i] and not taken_b[j]:
            taken_a[i] = taken_b[j] = True
            pairs.append((i, j))
    pairs = np.array(sorted(pairs), dtype=int).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


class OffsetError(ValueError):
    """No offset could be trusted: the frames share too few stars, or two offsets fit equally well."""


def offset_from_stars(reference_xy, image_xy, tol=1.5, n_brightest=60, min_pairs=4):
    """The offset between two star lists, found by letting every pair of stars vote; any size of offset.

    If ``image`` is the reference moved by ``(-dx, -dy)``, each star of the image paired with its own
    star in the reference differs by exactly ``(dx, dy)``; any other pairing gives some other, random
    difference. So take EVERY pairing of the brightest ``n_brightest`` stars of each list (60 x 60 =
    3600 differences), and count for each difference how many others lie within ``tol`` of it: the true
    offset is where the votes pile up, however large it is. A fixed pattern of the camera (bright edge
    columns, hot pixels found as "stars") votes for (0, 0) and loses when real stars outnumber it.
    Then every star (not only the brightest) is paired at that offset (:func:`match`) and the median of
    the pairs' differences is the sub-pixel answer.

    Parameters
    ----------
    reference_xy, image_xy : array_like, shape (n, 2)
        Star positions (x, y), brightest first (as :func:`helpers.detect.find_stars` lists them). Leave
        out stars cut by the edge.
    tol : float
        Pixels: differences closer than this vote for the same offset, and stars closer than this after
        the shift are paired.
    n_brightest : int
        How many of the brightest stars of each list vote.
    min_pairs : int
        Fewest star pairs that must agree.

    Returns
    -------
    dx, dy : float
        ``shift(image, dx, dy)`` lands on the reference (the handbook's convention).
    n_pairs : int
        How many stars were paired at that offset.

    Raises
    ------
    OffsetError
        Fewer than ``min_pairs`` pairs agree, or a second, different offset has more than half as many
        votes as the best (the answer would be a guess).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> reference = rng.uniform(0, 500, (40, 2))
    >>> image = reference - (120.25, -33.5) + rng.normal(0, 0.02, (40, 2))   # moved by a lot
    >>> dx, dy, n = offset_from_stars(reference, image)
    >>> print(f"{dx:.2f} {dy:.2f} {n}")
    120.25 -33.50 40
    """
    reference_xy, image_xy = _points(reference_xy, "reference_xy"), _points(image_xy, "image_xy")
    ref, img = reference_xy[:n_brightest], image_xy[:n_brightest]
    if min(len(ref), len(img)) < min_pairs:
        raise OffsetError(f"too few stars to measure an offset: {len(reference_xy)} in the reference and "
                          f"{len(image_xy)} in the image, at least {min_pairs} needed in each")
    differences = (ref[:, None, :] - img[None, :, :]).reshape(-1, 2)   # every pairing: x_ref - x_img
    votes = cKDTree(differences).query_ball_point(differences, tol, return_length=True)
    best = np.argmax(votes)
    far = np.hypot(*(differences - differences[best]).T) > 3 * tol
    runner_up = votes[far].max() if far.any() else 0
    if votes[best] < min_pairs or runner_up > votes[best] / 2:
        raise OffsetError(f"no offset can be trusted: the best, ({differences[best][0]:.1f}, "
                          f"{differences[best][1]:.1f}) px, is supported by {votes[best]} star pairs and another "
                          f"offset by {runner_up}; are these frames of the same field?")
    guess = np.median(differences[np.hypot(*(differences - differences[best]).T) <= tol], axis=0)
    i_ref, i_img = match(reference_xy, image_xy + guess, tol)
    dx, dy = np.median(reference_xy[i_ref] - image_xy[i_img], axis=0)
    return float(dx), float(dy), int(len(i_ref))


def position_differences(reference_stars, image_stars, tol=2.0):
    """How far each star of one list lies from its partner in another: ``image - reference``.

    The stars are paired with :func:`match`; stars flagged ``edge`` or ``saturated`` (columns of
    :func:`helpers.detect.find_stars`' table, if present) are left out, as their centres are poor.

    Parameters
    ----------
    reference_stars, image_stars : table or dict of arrays
        With columns ``x`` and ``y`` (for example the tables of :func:`helpers.detect.find_stars`).
    tol : float
        Largest distance (pixels) of a pair; it must be larger than the offset between the lists.

    Returns
    -------
    x_diff, y_diff : ndarray
        ``image x - reference x`` and ``image y - reference y`` of every pair. If the image is the
        reference moved by ``(+0.8, -0.5)`` px, they scatter around ``+0.8`` and ``-0.5``: minus the
        offset :func:`measure_offset` returns.

    Examples
    --------
    >>> from helpers import align
    >>> v = {"x": [10.0, 20.0, 30.0], "y": [5.0, 15.0, 25.0]}
    >>> b = {"x": [10.8, 20.9, 30.7], "y": [4.5, 14.4, 24.5]}
    >>> x_diff, y_diff = align.position_differences(v, b)
    >>> print(x_diff.round(2), y_diff.round(2))
    [0.8 0.9 0.7] [-0.5 -0.6 -0.5]
    """
    def good(stars):
        keep = np.ones(len(stars["x"]), dtype=bool)
        for flag in ("edge", "saturated"):
            if flag in stars.keys():                    # a Table's keys() are its column names
                keep &= ~np.asarray(stars[flag], dtype=bool)
        return np.column_stack([stars["x"], stars["y"]]).astype(float)[keep]

    ref, img = good(reference_stars), good(image_stars)
    i_ref, i_img = match(ref, img, tol)
    return img[i_img, 0] - ref[i_ref, 0], img[i_img, 1] - ref[i_ref, 1]


def _points(xy, name):
    """``xy`` as a float array of shape (n, 2), with a clear error otherwise."""
    xy = np.asarray(xy, dtype=float)
    if xy.size == 0:
        return xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) with columns x, y; got shape {xy.shape} "
                         "(use np.column_stack([x, y]))")
    return xy


# --------------------------------------------------------------------------------------------------
# Measuring the offset
# --------------------------------------------------------------------------------------------------
def measure_offset(reference, image, method="xcorr", tol=2.0):
    """Measure the sub-pixel offset ``(dx, dy)`` that :func:`shift` must apply to ``image`` to land on
    ``reference``.

    ``method="xcorr"`` (the default) cross-correlates the two frames: the correlation
    ``c(dx, dy) = sum over pixels of reference(x + dx, y + dy) * image(x, y)`` is largest when the stars
    of both frames lie on top of each other.

    1. The backgrounds are subtracted (else the flat sky dominates the sum); NaN pixels (the empty
       edges of a shifted frame) count as background. So is each column's and each row's median: a
       camera's bright edge columns, bias columns and rows stay put in every frame and would pull ``c``
       towards (0, 0). Hot pixels and cosmic rays (far brighter than all their neighbours) are cleaned.
    2. ``c`` is computed for every whole-pixel offset at once with FFTs (the correlation theorem), with
       both frames padded by zeros so that the correlation is not circular and any offset at which the
       frames still share a fifth of their area is found. For this step only, what is narrower than 3
       px (bad columns) is removed, the brightest stars are clipped so that a few do not decide alone,
       and a large frame is binned to about 512 px. The highest peak must stand out: 7 times the
       correlation's noise and 1.5 times any other peak, or :class:`OffsetError` is raised (unrelated
       frames, pure noise, a repeating pattern: no number is better than a made-up one).
    3. Only the sky that both frames see is compared: a star cut in half by the edge of one frame but
       whole in the other would pull the answer. Both frames are multiplied by the same window (the
       common area, with edges softened over ``8`` px), laid on the same sky: in the image it is moved by
       the offset found so far.
    4. ``c`` is evaluated on finer and finer grids around its peak (a direct Fourier sum at steps of 1,
       0.1 and 0.01 px), then, with the window moved by that better offset, again at steps of 0.01 and
       0.001 px.

    Both frames are smoothed by a Gaussian of 1 px (a weight on the Fourier spectrum, so it costs
    nothing): the finest, pixel-to-pixel detail is mostly noise, and the part of a star's image that an
    interpolated shift (:func:`shift`) reproduces worst.

    ``method="stars"`` finds the stars in both frames (:func:`helpers.detect.find_stars`), pairs them
    (:func:`match`, after the whole-pixel offset of step 2, so that large offsets pair up too; see also
    :func:`offset_from_stars`, which needs no correlation) and takes
    the median of the position differences, leaving out stars at the edge. It shows where the number
    comes from, and it is as accurate when there are enough stars.

    Parameters
    ----------
    reference, image : array_like
        2-D frames of the same field and the same shape; calibrated (hot pixels and bias columns of a
        raw frame do not move with the stars and pull the answer towards zero).
    method : {"xcorr", "stars"}
        How to measure (see above).
    tol : float
        For ``method="stars"``: largest distance (pixels) between paired stars after the whole-pixel
        offset.

    Returns
    -------
    dx, dy : float
        The offset: ``shift(image, dx, dy)`` lands on ``reference``; a star at ``(x, y)`` in ``image``
        is at ``(x + dx, y + dy)`` in ``reference``. If ``image`` is the reference moved by +3 px in x,
        ``dx`` is -3.

    Raises
    ------
    OffsetError
        No offset stands out (step 2), or, for ``method="stars"``, fewer than 3 stars pair up.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import align
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> def star(x0, y0):
    ...     return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 2.0 ** 2))
    >>> reference = star(30.0, 20.0) + star(45.0, 40.0)
    >>> image = star(27.6, 21.3) + star(42.6, 41.3)
    >>> dx, dy = align.measure_offset(reference, image)
    >>> print(f"{dx:.2f} {dy:.2f}")
    2.40 -1.30
    """
    reference, image = np.asarray(reference, dtype=float), np.asarray(image, dtype=float)
    if reference.ndim != 2 or reference.shape != image.shape:
        raise ValueError(f"reference and image must be 2-D frames of the same shape; got {reference.shape} "
                         f"and {image.shape} (trim them to the same size first)")
    if method == "xcorr":
        return _xcorr_offset(reference, image, refine=True)
    if method == "stars":
        return _stars_offset(reference, image, tol)
    raise ValueError(f"unknown method {method!r}: use 'xcorr' or 'stars'")


def _without_background(image):
    """The image minus its sigma-clipped background level, with NaN pixels set to 0 (the background).

    The level of a large frame is measured on every n-th pixel in each direction (about 65 000 pixels):
    as precise as the whole frame for this purpose, and ten times faster.
    """
    step = max(1, int(np.sqrt(image.size / 65536)))
    level, _ = background(image[::step, ::step])
    return np.where(np.isfinite(image), image - level, 0.0)


def _cross_spectrum(reference, image, smooth=1.0):
    """``FFT(reference) * conj(FFT(image))``, each frame smoothed by a Gaussian of ``smooth`` pixels.

    Its inverse FFT is the cross-correlation at every whole-pixel offset. The smoothing is a product
    with the Gaussian's own Fourier transform, ``exp(-2 pi^2 smooth^2 f^2)`` for each frame. The frames
    are real, so the spectrum at ``-f`` is the complex conjugate of that at ``f``: only the half with
    ``f_x >= 0`` is computed (``rfft2``, half the work).
    """
    ny, nx = reference.shape
    f2 = fft.fftfreq(ny)[:, None] ** 2 + fft.rfftfreq(nx)[None, :] ** 2
    gaussian = np.exp(-2 * np.pi ** 2 * smooth ** 2 * f2)
    return fft.rfft2(reference) * np.conj(fft.rfft2(image)) * gaussian ** 2


#: The correlation's best peak must be this many times higher (above the typical level) than the best peak
#: anywhere else, or the offset is ambiguous (a repeating pattern, unrelated frames).
PEAK_RATIO = 1.5
#: ... and this many robust standard deviations above the typical level, or it is noise.
PEAK_SIGNIFICANCE = 7.0
#: The frames must share at least this fraction of their area at the offset found.
MIN_OVERLAP = 0.2


def _fixed_pattern_removed(image):
    """The image minus its background and each column's and row's median, NaN as background, hot pixels and
    cosmic rays cleaned: what moves with the sky, stars with their exact shape (for the sub-pixel step).

    A bright edge column, a bias column or a bright row stays where it is in every frame and would pull the
    correlation towards (0, 0); the column and row medians remove them (a star hardly changes its column's
    median). A hot pixel or a cosmic ray (a pixel far brighter than all its neighbours, which no star is:
    see :func:`helpers.detect.find_stars`) is replaced by the median of its neighbours.
    """
    sub = _without_background(image)
    every = max(1, min(sub.shape) // 256)      # a column's median from 256 of its pixels is as good, and faster
    sub = sub - np.median(sub[::every], axis=0, keepdims=True)
    sub = sub - np.median(sub[:, ::every], axis=1, keepdims=True)
    noise = _robust_noise(sub)
    if noise > 0:
        sub, _ = _clean_cosmic_rays(sub, 5.0 * noise, 10.0)   # 10: even a sharp star (FWHM 1.5 px) is kept
    return sub


def _robust_noise(values, every=7):
    """1.4826 x the median absolute deviation of every ``every``-th value (plenty, and fast)."""
    sample = np.ravel(values)[::every]
    return 1.4826 * float(np.median(np.abs(sample - np.median(sample))))


def _moving_structure(sub, taper=8):
    """For the whole-pixel search: ``sub`` (from :func:`_fixed_pattern_removed`) with anything narrower than
    3 pixels opened away (what is left of bad columns), clipped to 0 ... 50 noise so that a few very
    bright stars do not decide alone, and tapered to 0 over ``taper`` pixels at the frame's edges.
    None when nothing is left (a constant frame)."""
    noise = _robust_noise(sub)
    opened = ndimage.grey_opening(sub, size=(3, 3))
    opened = np.clip(opened, 0.0, 50.0 * noise if noise > 0 else None)   # a frame without noise: no upper clip
    if not np.any(opened > 0):
        return None
    ny, nx = sub.shape
    ramp_y = np.clip((np.minimum(np.arange(ny), np.arange(ny)[::-1]) + 0.5) / taper, 0, 1)
    ramp_x = np.clip((np.minimum(np.arange(nx), np.arange(nx)[::-1]) + 0.5) / taper, 0, 1)
    return opened * ramp_y[:, None] * ramp_x[None, :]


def _bin_factor(shape, largest=512):
    """Pixels binned along each axis for the whole-pixel search, so that a frame is at most about
    ``largest`` pixels across."""
    return max(1, int(round(max(shape) / largest)))


def _binned(image):
    """``image`` summed in blocks of :func:`_bin_factor` x itself (the ragged edge is dropped)."""
    b = _bin_factor(image.shape)
    if b == 1:
        return image
    ny, nx = (image.shape[0] // b) * b, (image.shape[1] // b) * b
    return image[:ny, :nx].reshape(ny // b, b, nx // b, b).sum(axis=(1, 3))


def _whole_pixel_offset(ref, img):
    """The offset to the nearest pixel (of a binned frame) between two :func:`_fixed_pattern_removed` frames,
    or OffsetError. A frame larger than 512 pixels is binned first (:func:`_bin_factor`): the search only has
    to land within a pixel or two of the peak, which the first step of the refinement then finds.

    The correlation of their moving structure (:func:`_moving_structure`) is computed with both padded by
    zeros to twice their size, so it is not circular: an offset of half the frame or more is found, never
    confused with its wrapped-around twin. Offsets where the frames would share less than
    :data:`MIN_OVERLAP` of their area are not considered. The highest peak must stand out
    (:data:`PEAK_RATIO`, :data:`PEAK_SIGNIFICANCE`), else there is no trustworthy answer.
    """
    ref, img = _moving_structure(ref), _moving_structure(img)
    if ref is None or img is None:
        raise OffsetError("a frame has no structure to measure an offset from (it is constant, or empty); "
                          "are these frames of the sky?")
    ref, img, b = _binned(ref), _binned(img), _bin_factor(ref.shape)
    ny, nx = ref.shape
    shape = (2 * ny, 2 * nx)
    correlation = fft.irfft2(fft.rfft2(ref, shape) * np.conj(fft.rfft2(img, shape)), s=shape)
    correlation = fft.fftshift(correlation)         # lag 0 in the middle: a peak's mound is in one piece
    lag_y, lag_x = np.arange(2 * ny) - ny, np.arange(2 * nx) - nx
    valid = np.outer(ny - np.abs(lag_y), nx - np.abs(lag_x)) >= MIN_OVERLAP * ny * nx
    correlation[~valid] = -np.inf
    sample = correlation[valid][::7]
    typical = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - typical)))
    row, col = np.unravel_index(np.argmax(correlation), correlation.shape)
    best = correlation[row, col] - typical
    # the best peak's own mound (above half its height, and 3 px around) is not "elsewhere"
    labels, _ = ndimage.label(correlation - typical > best / 2)
    near = ndimage.binary_dilation(labels == labels[row, col], iterations=3)
    elsewhere = np.max(correlation[~near]) - typical
    dx, dy = int(lag_x[col]) * b, int(lag_y[row]) * b
    if not (best > PEAK_SIGNIFICANCE * spread and best > PEAK_RATIO * elsewhere):
        raise OffsetError(f"no offset can be trusted: the best match, ({dx}, {dy}) px, is "
                          f"{best / max(spread, 1e-300):.1f} times the correlation's noise and "
                          f"{best / max(elsewhere, 1e-300):.2f} times the next best match elsewhere (needs "
                          f"{PEAK_SIGNIFICANCE:g} and {PEAK_RATIO:g}); are these frames of the same field?")
    return dx, dy


def _xcorr_offset(reference, image, refine=True, taper=8):
    """Offset by cross-correlation: whole pixels (:func:`_whole_pixel_offset`), then the peak to 0.001 px."""
    ref, img = _fixed_pattern_removed(reference), _fixed_pattern_removed(image)
    dx, dy = _whole_pixel_offset(ref, img)
    if not refine:
        return float(dx), float(dy)
    ny, nx = ref.shape
    window = _common_window(reference, image, dx, dy, taper)
    b = _bin_factor(ref.shape)
    for steps in ((1.0, 0.1, 0.01), (0.01, 0.001)):
        # the same sky in both frames: the window, moved onto the image by the offset found so far
        window_on_image = ndimage.shift(window, (-dy, -dx), order=1, mode="constant", cval=0.0)
        spectrum = _cross_spectrum(ref * window, img * window_on_image)
        for step in steps:
            if step == 1.0:       # whole pixels near the binned search's answer
                dx, dy = _zoom_on_peak(spectrum, nx, dx, dy, step, half=b)
            else:
                dx, dy = _zoom_on_peak(spectrum, nx, dx, dy, step)
    return float(dx), float(dy)


def _common_window(reference, image, dx, dy, taper):
    """Weight 1 on the sky both frames see (reference coordinates, image moved by whole pixels dx, dy),
    falling to 0 over ``taper`` pixels at its edge, 0 elsewhere."""
    missing = ~np.isfinite(image)
    image_has_data = ~_no_data(missing if missing.any() else None, image.shape, dx, dy, order=0)
    common = np.isfinite(reference) & image_has_data
    inner = ndimage.binary_erosion(common, iterations=taper // 2, border_value=0)
    if inner.sum() < 4 * taper ** 2:
        raise ValueError(f"the frames share almost no sky at the offset found (dx={dx}, dy={dy}); "
                         "are they frames of the same field?")
    return ndimage.uniform_filter(inner.astype(float), taper + 1, mode="constant")


def _zoom_on_peak(spectrum, nx, dx, dy, step, half=15):
    """Evaluate the correlation at ``(dx, dy) +- half * step`` in steps of ``step`` and return the
    position of its largest value.

    The correlation at any (not only whole-pixel) offset is the inverse Fourier sum of the spectrum
    evaluated there, ``c(dy, dx) = sum_k,l S[k, l] exp(2 pi i (k dy / ny + l dx / nx)) / (ny nx)``:
    for a small grid this is two matrix products (the "matrix-multiply DFT" of Guizar-Sicairos et al.
    2008), much cheaper than padding the FFT to a fine grid. ``spectrum`` holds only the columns with
    ``f_x >= 0`` (see :func:`_cross_spectrum`); each of the others is the conjugate of one of them and
    adds the same real part, so those columns count twice.
    """
    ny, nxh = spectrum.shape                    # nxh = nx // 2 + 1 columns
    twice = np.full(nxh, 2.0)
    twice[0] = 1.0                              # f_x = 0 is its own twin, and so is f_x = 1/2 (nx even)
    if nx % 2 == 0:
        twice[-1] = 1.0
    grid = np.arange(-half, half + 1) * step
    rows = np.exp(2j * np.pi * np.outer(dy + grid, fft.fftfreq(ny)))       # (n grid, ny)
    cols = np.exp(2j * np.pi * np.outer(fft.rfftfreq(nx), dx + grid))      # (nx // 2 + 1, n grid)
    correlation = (rows @ (spectrum * twice) @ cols).real
    i, j = np.unravel_index(np.argmax(correlation), correlation.shape)
    return dx + grid[j], dy + grid[i]


def _stars_offset(reference, image, tol):
    """Offset as the median position difference of the stars paired between the frames."""
    coarse_dx, coarse_dy = _xcorr_offset(reference, image, refine=False)
    ref, img = find_stars(reference), find_stars(image)
    ref_xy = np.column_stack([ref["x"], ref["y"]])
    img_xy = np.column_stack([img["x"] + coarse_dx, img["y"] + coarse_dy])
    i_ref, i_img = match(ref_xy, img_xy, tol)
    pairs = ~ref["edge"][i_ref] & ~img["edge"][i_img]          # a star cut by the edge is off-centre
    i_ref, i_img = i_ref[pairs], i_img[pairs]
    if len(i_ref) < 3:
        raise OffsetError(f"only {len(i_ref)} stars could be paired between the frames ({len(ref)} and "
                         f"{len(img)} found); try method='xcorr', or a larger tol")
    dx = np.median(ref["x"][i_ref] - img["x"][i_img])
    dy = np.median(ref["y"][i_ref] - img["y"][i_img])
    return float(dx), float(dy)


# --------------------------------------------------------------------------------------------------
# Shifting
# --------------------------------------------------------------------------------------------------
def _check_shift(dx, dy):
    """dx, dy as floats; a NaN, an infinity or a non-number is refused (a shift by NaN would blank the frame)."""
    try:
        dx, dy = float(dx), float(dy)
    except (TypeError, ValueError):
        raise TypeError(f"dx and dy must be numbers of pixels, got {dx!r} and {dy!r}") from None
    if not (np.isfinite(dx) and np.isfinite(dy)):
        raise ValueError(f"cannot shift by dx={dx}, dy={dy}: the offset is not a number. A frame whose offset "
                         "could not be measured must be left out, not shifted.")
    return dx, dy


def shift(image, dx, dy, order=3):
    """Move an image by ``(dx, dy)`` pixels with spline interpolation; pixels with no data become NaN.

    A star at ``(x, y)`` ends up at ``(x + dx, y + dy)``. The new value of each pixel is read from the
    old image at ``(x - dx, y - dy)``, between pixel centres, by a spline of degree ``order``
    (``scipy.ndimage.shift``; note the ``(dy, dx)`` order there: rows first).

    Edges. The pixels whose data came from outside the frame have no data: they are set to NaN (not
    to 0, which would look like real sky, nor to a copy of the edge). A spline also needs the pixels
    around the point it reads, up to about ``order`` pixels away: near the old edge (and near NaN
    pixels of the input) it has to invent those, so the band of ``order`` pixels next to the new edge
    is NaN too. A whole-pixel shift only moves pixels and needs no such band. Throw the NaN edge away
    (or ignore it, as the NaN-aware functions of this handbook do) when combining or measuring.

    Parameters
    ----------
    image : array_like
        2-D image; NaN pixels are allowed (their neighbourhood becomes NaN too).
    dx, dy : float
        Shift in pixels along x (columns) and y (rows).
    order : int
        Spline degree, 0 to 5: 0 copies the nearest pixel (blocky), 1 interpolates linearly (fast,
        slightly smooths the noise), 3 (cubic) keeps the stars' shape best.

    Returns
    -------
    ndarray
        The shifted image (float64), same shape, NaN where it has no data.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import align
    >>> image = np.zeros((5, 6))
    >>> image[2, 3] = 1.0                            # a "star" at x=3, y=2
    >>> moved = align.shift(image, 1, 0)             # one pixel to the right
    >>> row, col = np.unravel_index(np.nanargmax(moved), moved.shape)
    >>> print(f"x = {col}, y = {row}")
    x = 4, y = 2
    >>> np.isnan(moved[:, 0]).all()                  # nothing came in on the left
    np.True_
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"shift needs a 2-D image, got an array of shape {image.shape}")
    dx, dy = _check_shift(dx, dy)
    missing = ~np.isfinite(image)
    has_missing = missing.any()
    if has_missing:
        image = np.where(missing, np.median(image[~missing]) if (~missing).any() else 0.0, image)
    moved = ndimage.shift(image, (dy, dx), order=order, mode="nearest")
    moved[_no_data(missing if has_missing else None, image.shape, dx, dy, order)] = np.nan
    return moved


def _no_data(missing, shape, dx, dy, order, whole_pixels_exact=True):
    """Pixels of the shifted image that have no data: their source lies outside the frame or within
    ``order`` pixels of its edge, or within ``order`` pixels of a missing pixel (``order`` becomes 0 along
    an axis with a whole-pixel shift, unless ``whole_pixels_exact`` is False)."""
    ny, nx = shape
    margin_x = 0 if whole_pixels_exact and float(dx).is_integer() else order
    margin_y = 0 if whole_pixels_exact and float(dy).is_integer() else order
    source_x, source_y = np.arange(nx) - dx, np.arange(ny) - dy
    bad_col = (source_x < margin_x) | (source_x > nx - 1 - margin_x)
    bad_row = (source_y < margin_y) | (source_y > ny - 1 - margin_y)
    bad = bad_row[:, None] | bad_col[None, :]
    if missing is not None:
        grown = ndimage.binary_dilation(missing, structure=np.ones((2 * margin_y + 1, 2 * margin_x + 1)))
        bad |= ndimage.shift(grown.astype(float), (dy, dx), order=1, mode="constant", cval=1.0) > 1e-6
    return bad


# --------------------------------------------------------------------------------------------------
# Difference images (the chapter's dx/dy sliders)
# --------------------------------------------------------------------------------------------------
def difference_image(reference, image, dx, dy, order=None):
    """``reference`` minus ``image`` shifted by ``(dx, dy)`` and scaled to match it, and its rms.

    The shifted image is matched to the reference by a straight-line fit, ``reference ~ a * moved + b``
    (least squares over the pixels where both have data): ``b`` takes out a different sky level, ``a``
    a different exposure time or filter throughput. When the offset is right the stars cancel and only
    noise (and the stars' different colours) is left; when it is wrong every star leaves a pair of a
    positive and a negative side, and the rms grows.

    The shift. By default the image is moved exactly, through its Fourier transform
    (:func:`fourier_shift`), not with a spline. Spline interpolation (:func:`shift`) averages
    neighbouring pixels, most at half-pixel shifts, and so lowers the noise of the moved image there:
    the rms of the difference would then be smallest a tenth of a pixel or more towards the nearest
    half pixel, not at the true offset. The Fourier shift keeps the noise as it is, and for a
    1024 x 1024 frame it is also faster than a linear spline (two FFTs).

    The pixels compared. The rms is taken over the pixels where both frames have data, and the band
    at the edge that a fractional shift leaves without good data is dropped for a whole-pixel shift
    too: otherwise a whole-pixel trial would be compared over a few more columns of quiet sky and look
    better than its neighbours.

    Parameters
    ----------
    reference, image : array_like
        2-D frames of the same shape.
    dx, dy : float
        The trial offset (see :func:`shift`).
    order : int or None
        None (default): the exact Fourier shift. 0 to 5: a spline of that degree, as :func:`shift`
        (to see the spline's pull towards half pixels for yourself).

    Returns
    -------
    difference : ndarray
        ``reference - (a * moved + b)``, NaN where either frame has no data.
    rms : float
        Root mean square of the difference over the pixels with data (NaN if they share none).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import align
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> reference = 10 + 100 * np.exp(-((xx - 30.0) ** 2 + (yy - 20.0) ** 2) / 8)
    >>> image = 5 + 50 * np.exp(-((xx - 32.0) ** 2 + (yy - 20.0) ** 2) / 8)    # dimmer, moved by +2 px
    >>> difference, rms = align.difference_image(reference, image, -2, 0)
    >>> rms < 1e-9
    True
    """
    reference = np.asarray(reference, dtype=float)
    moved = fourier_shift(image, dx, dy) if order is None else shift(image, dx, dy, order=order)
    if moved.shape != reference.shape:
        raise ValueError(f"reference is {reference.shape} but image is {moved.shape}: they must have the "
                         "same shape")
    # the same pixels for every trial between two whole numbers: the edge band goes for whole-pixel shifts too
    moved[_no_data(None, moved.shape, dx, dy, 3 if order is None else order, whole_pixels_exact=False)] = np.nan
    both = np.isfinite(reference) & np.isfinite(moved)
    if both.sum() < 3:
        return np.full(reference.shape, np.nan), float("nan")
    r, m = reference[both], moved[both]
    m_mean, r_mean = m.mean(), r.mean()
    variance = np.mean((m - m_mean) ** 2)
    scale = np.mean((m - m_mean) * (r - r_mean)) / variance if variance > 0 else 0.0
    difference = reference - (scale * moved + (r_mean - scale * m_mean))
    return difference, float(np.sqrt(np.mean(difference[both] ** 2)))


def fourier_shift(image, dx, dy, margin=3):
    """Move an image by ``(dx, dy)`` exactly, through its Fourier transform; no-data pixels become NaN.

    Moving by ``dx`` multiplies the Fourier transform by ``exp(-2 pi i f_x dx)`` (and the same in y):
    every spatial frequency keeps its amplitude, so unlike a spline nothing is smoothed. The transform
    treats the image as periodic: what leaves on the right comes back on the left. Those pixels have no
    data and become NaN, as in :func:`shift`. For a fractional shift the jump where the opposite edges
    meet also rings into the pixels on both sides of it: those within about ``margin`` pixels become NaN
    too.

    Parameters
    ----------
    image : array_like
        2-D image; NaN pixels are allowed (their neighbourhood becomes NaN too).
    dx, dy : float
        Shift in pixels along x (columns) and y (rows); a star at ``(x, y)`` ends up at
        ``(x + dx, y + dy)``.
    margin : int
        For a fractional shift, pixels within about this distance of the seam where the opposite edges
        meet also become NaN.

    Returns
    -------
    ndarray
        The shifted image (float64), same shape, NaN where it has no data.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import align
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> star = np.exp(-((xx - 10.0) ** 2 + (yy - 12.0) ** 2) / 8)
    >>> moved = align.fourier_shift(star, 2.5, -1.0)
    >>> x = np.nansum(moved * xx) / np.nansum(moved)
    >>> print(f"{x:.2f}")
    12.50
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"fourier_shift needs a 2-D image, got an array of shape {image.shape}")
    dx, dy = _check_shift(dx, dy)
    missing = ~np.isfinite(image)
    has_missing = missing.any()
    if has_missing:
        image = np.where(missing, np.median(image[~missing]) if (~missing).any() else 0.0, image)
    ny, nx = image.shape
    spectrum = fft.rfft2(image)
    spectrum *= np.outer(np.exp(-2j * np.pi * fft.fftfreq(ny) * dy),        # the shift theorem, rows
                         np.exp(-2j * np.pi * fft.rfftfreq(nx) * dx))       # and columns
    moved = fft.irfft2(spectrum, s=image.shape, overwrite_x=True)
    moved[_no_data(missing if has_missing else None, image.shape, dx, dy, margin)] = np.nan
    return moved


def difference_residual(reference, image, dx, dy, order=None):
    """The rms of :func:`difference_image`: one number that is smallest at the right offset.

    The plain helper behind the chapter's dx and dy sliders (see :func:`difference_image` for the
    scaling and the choice of the shift).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import align
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> reference = 10 + 100 * np.exp(-((xx - 30.0) ** 2 + (yy - 20.0) ** 2) / 8)
    >>> image = 5 + 50 * np.exp(-((xx - 32.0) ** 2 + (yy - 20.0) ** 2) / 8)
    >>> align.difference_residual(reference, image, -2, 0) < align.difference_residual(reference, image, 0, 0)
    True
    """
    return difference_image(reference, image, dx, dy, order=order)[1]
