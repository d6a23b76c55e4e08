"""Finding stars: background and noise, a threshold, groups of pixels, centroids.

The chapter's method, one step per function:

1. :func:`background` measures the sky level and the noise with sigma-clipped statistics, so the stars
   themselves do not push the numbers up (the classic's ``mean + 2 std``, kept in
   :func:`classic_threshold` for the lesson, is pulled up by every bright star in the frame).
2. :func:`find_stars` cleans cosmic rays, keeps the pixels more than ``threshold`` noise above the level,
   joins touching pixels into groups (``scipy.ndimage.label``), drops groups too small to be a star,
   splits groups that hold several touching stars, and measures each star: position (refined by
   :func:`windowed_centroid`), flux, peak, size and flags.
3. :func:`cluster_centre` finds the centre of a star cluster from the star list (the classic handbook
   takes the middle of the frame, which is not where the cluster is).
4. :func:`detection_summary` compares a star list with the ground truth: the numbers behind the
   chapter's threshold slider, completeness, false detections and centroid errors.

Rows and columns: an image is indexed ``image[row, col]``, that is ``image[y, x]``. Every position this
module returns is named ``x`` (column) and ``y`` (row), 0-based, with the centre of the pixel
``image[3, 7]`` at x = 7, y = 3. ``scipy.ndimage.center_of_mass`` returns ``(row, col)``, that is
``(y, x)``: the classic handbook calls the first number ``x`` and so swaps the axes.

Examples
--------
>>> import numpy as np
>>> from helpers import detect
>>> yy, xx = np.mgrid[0:64, 0:64]
>>> image = 100 + 500 * np.exp(-((xx - 40.3) ** 2 + (yy - 20.6) ** 2) / (2 * 1.6 ** 2))
>>> image = image + np.random.default_rng(1).normal(0, 2, image.shape)
>>> stars = detect.find_stars(image)
>>> print(f"x = {stars['x'][0]:.1f}, y = {stars['y'][0]:.1f}")
x = 40.3, y = 20.6
"""
import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.table import Table
from scipy import ndimage
from scipy.spatial import cKDTree

from ._numbers import number
from ._plateau import LEAST, flat_top

__all__ = ["background", "background_map", "classic_threshold", "find_stars", "windowed_centroid", "cluster_centre",
           "detection_summary", "COLUMNS"]

#: The columns of the table :func:`find_stars` returns, with their types.
COLUMNS = {"id": int, "x": float, "y": float, "flux": float, "peak": float, "npix": int, "width": float,
           "saturated": bool, "edge": bool, "group": int, "refined": bool, "extended": bool}
#: How the table prints its float columns (rounded, so that a printed table is the same on every machine).
FORMATS = {"x": ".2f", "y": ".2f", "flux": ".1f", "peak": ".1f", "width": ".2f"}

#: With ``smooth``, two maxima are two stars when the light dips between them by more than this many times the
#: noise: of the smoothed image for a maximum far from every star, of the sharp filter for two stars that the
#: smoothing blurs into one.
DIP = 2.0
#: An object wider than this many times the stars' FWHM (at half its peak) is ``extended``: a galaxy, a nebula, or
#: stars too close to separate.
EXTENDED = 1.5
# FWHM of a Gaussian = 2 sqrt(2 ln 2) sigma.
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


# --------------------------------------------------------------------------------------------------
# Background and thresholds
# --------------------------------------------------------------------------------------------------
def background(image, sigma=3.0):
    """Sky level and noise of an image by sigma clipping.

    The stars are a small part of the pixels but they are very bright: they pull the plain mean and
    standard deviation far up (in a crowded cluster, by several times the real noise). Sigma clipping
    repeatedly drops the pixels more than ``sigma`` standard deviations from the median and measures
    again, until the stars are gone and only sky pixels are left.

    Parameters
    ----------
    image : array_like
        2-D image. NaN pixels (for example the empty edges of a shifted frame) are ignored.
    sigma : float
        Clipping limit in standard deviations.

    Returns
    -------
    level : float
        Median of the pixels that survive the clipping (the sky level).
    noise : float
        Standard deviation of the pixels that survive (the noise of one sky pixel).

    Raises
    ------
    ValueError
        If the image has no finite pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import detect
    >>> sky = np.random.default_rng(0).normal(200.0, 10.0, (256, 256))
    >>> sky[100:110, 100:110] += 5000          # a "star"
    >>> level, noise = detect.background(sky)
    >>> print(round(level), round(noise))
    200 10
    """
    image = np.asarray(image, dtype=float)
    finite = np.isfinite(image)
    if not finite.any():
        raise ValueError("the image has no finite pixel (all NaN or inf): check how it was made or read")
    _, median, std = sigma_clipped_stats(image[finite], sigma=sigma)
    return float(median), float(std)


def background_map(image, box=64, filter_size=3, sigma=3.0):
    """A background that changes across the frame: a mesh of sigma-clipped medians, median-filtered, interpolated.

    One level for the whole frame (:func:`background`) is right for a flat sky; real frames have gradients
    (moonlight, twilight, scattered light, a galaxy's halo), and a single level then finds false "stars"
    where the sky is brighter and misses faint ones where it is darker. The standard method (SExtractor,
    photutils' ``Background2D``):

    1. cut the frame into boxes of ``box`` x ``box`` pixels, larger than a star but smaller than the
       changes of the sky, and take the sigma-clipped median of each (stars are clipped away);
    2. replace each box's value by the median of the ``filter_size`` x ``filter_size`` boxes around it, so
       that a box filled by a bright star or a galaxy does not make a bump;
    3. interpolate between the box centres (bilinear) to every pixel.

    Parameters
    ----------
    image : 2-D array
        NaN pixels are left out.
    box : int
        Box size in pixels.
    filter_size : int
        Width (in boxes) of the median filter of step 2; 1 for none.
    sigma : float
        Clipping limit of step 1.

    Returns
    -------
    level : 2-D array, the shape of ``image``
        The background at every pixel.
    noise : float
        The sigma-clipped standard deviation of the image about the map: the sky's noise.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[0:256, 0:256]
    >>> sky = 100 + 0.5 * x + np.random.default_rng(0).normal(0, 5, (256, 256))   # a gradient
    >>> level, noise = background_map(sky, box=32)
    >>> print(round(float(level[128, 16])), round(float(level[128, 240])), round(noise))   # true: 108, 220, 5
    108 220 5
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"background_map needs a 2-D image, got an array of shape {image.shape}")
    box = int(box)
    if box < 4:
        raise ValueError(f"box must be at least 4 pixels (larger than a star), got {box}")
    ny, nx = image.shape
    rows, cols = max(1, round(ny / box)), max(1, round(nx / box))      # boxes of about `box` pixels
    edges_y, edges_x = np.linspace(0, ny, rows + 1).astype(int), np.linspace(0, nx, cols + 1).astype(int)
    levels = np.full((rows, cols), np.nan)
    for i in range(rows):
        for j in range(cols):
            values = image[edges_y[i]:edges_y[i + 1], edges_x[j]:edges_x[j + 1]]
            values = values[np.isfinite(values)]
            if values.size > 10:
                levels[i, j] = sigma_clipped_stats(values, sigma=sigma, maxiters=10)[1]
    if not np.isfinite(levels).any():
        raise ValueError("the image has no finite pixel (all NaN or inf): check how it was made or read")
    levels = np.where(np.isfinite(levels), levels, np.nanmedian(levels))       # an empty box: the typical level
    if filter_size > 1:
        levels = ndimage.median_filter(levels, size=filter_size, mode="nearest")
    # Between the box centres: bilinear interpolation. Beyond the outer centres (half a box at every edge) the
    # slope of the last two boxes goes on: the grid gets one more box on every side, 2 a[0] - a[1] ...
    levels = np.pad(levels, 1, mode="reflect", reflect_type="odd") if min(rows, cols) > 1 else \
        np.pad(levels, 1, mode="edge")
    grid_y, grid_x = np.meshgrid(_box_units(edges_y, ny), _box_units(edges_x, nx), indexing="ij")
    level = ndimage.map_coordinates(levels, [grid_y, grid_x], order=1, mode="nearest")
    residual = image - level           # the noise about the map (a box's own spread would include the gradient)
    _, _, noise = sigma_clipped_stats(residual[np.isfinite(residual)], sigma=sigma, maxiters=10)
    return level, float(noise)


def classic_threshold(image, k=2.0):
    """The classic handbook's threshold: mean + k standard deviations of all pixels.

    Kept for the lesson: the stars raise both the mean and the standard deviation, so this threshold
    sits far above the sky noise in a crowded field and misses faint stars. Use :func:`background` and
    ``level + threshold * noise`` instead (what :func:`find_stars` does).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import detect
    >>> sky = np.random.default_rng(0).normal(200.0, 10.0, (256, 256))
    >>> sky[100:110, 100:110] += 5000
    >>> round(detect.classic_threshold(sky))    # the sky alone would give 200 + 2 * 10 = 220
    599
    """
    image = np.asarray(image, dtype=float)
    return float(np.nanmean(image) + k * np.nanstd(image))


# --------------------------------------------------------------------------------------------------
# Finding stars
# --------------------------------------------------------------------------------------------------
def find_stars(image, threshold=5.0, min_pixels=5, saturation=None, edge=3, background=None,
               fwhm=None, refine=True, cosmic=4.0, smooth=None):
    """Find the stars in an image: threshold, group, split touching stars, centroid.

    1. ``level`` and ``noise`` of the background come from :func:`background` (or are given).
    2. Cosmic rays: a pixel more than ``cosmic`` times as bright as the median of its 8 neighbours,
       plus the threshold (at least 5 noise), is replaced by that median. The seeing blurs
       every star, so a star's brightest pixel is never that much brighter than the pixels around it
       (about 1.3 times for a star of FWHM 4 px, 2.7 times for FWHM 2 px); a cosmic ray hits the chip
       directly, one pixel or a short track, and is not blurred.
    3. Pixels more than ``threshold * noise`` above the level are kept; touching kept pixels
       (8-connectivity: diagonal neighbours touch) form a group (``scipy.ndimage.label``). Groups of
       fewer than ``min_pixels`` pixels are dropped (noise spikes, hot pixels).
    4. In a crowded field one group holds several touching stars. Each star makes a local maximum of a
       star-shaped filter (a Gaussian as wide as a star, minus its mean: DAOFIND's kernel). The filter
       ignores smooth slopes, so a faint star on the wing of a bright one still makes a maximum. Each
       pixel of a group goes to its nearest maximum in the group: the star's pixels.
    5. Each star gets a centroid, a flux, a peak, a width and flags (see Returns). An object wider than a
       star is flagged ``extended``, and the pieces of a galaxy (its light has many maxima) become one.

    Faint stars: smooth first. A star whose brightest pixel is 2 or 3 sigma has no pixel above a
    5-sigma threshold, yet its light over a few pixels is clearly there. Averaging over the star's shape
    (``smooth``: the image convolved with a Gaussian as wide as the stars, the "matched filter" of
    Source Extractor and DAOFIND) keeps the star's signal and divides the noise (by 3-4 for stars of
    FWHM 2-4 px): the threshold then applies to the smoothed image, in units of *its* noise (measured,
    not computed, because real frames' noise is correlated between neighbouring pixels). In that mode
    the groups come from the smoothed image, each peak moves to the smoothed image's maximum (a better
    start for a faint star's centroid) and a maximum of the smoothed image far from every peak is a
    star of its own when the light dips between them by more than :data:`DIP` smoothed noise. The
    number of false detections is measured by running the same search on the negative of the frame
    (the same noise, no stars): on the ESO deep field of the tests, 0, 0 and 5 at 5, 4 and 3 sigma. In
    a crowded cluster smoothing blurs close neighbours together: peaks of the sharp filter are kept apart.

    The centroid. The plain centroid of a star's pixels above the threshold, ``sum(v * x) / sum(v)``
    (what ``scipy.ndimage.center_of_mass`` computes), is biased: the threshold cuts the profile along
    pixel edges, not symmetrically about the star, which pulls the centroid towards the centre of the
    brightest pixel (by about 0.1 px on the handbook's cluster), and a neighbour's light pulls it
    further. With ``refine=True`` (the default) the position is refined by :func:`windowed_centroid`:
    the centroid of the background-subtracted pixels around the star weighted by a Gaussian window of
    the star's own width, centred on the current estimate and re-centred until it stops moving. The
    window is symmetric about the star and smooth, nothing is cut, so the result is unbiased; the
    pixels of neighbouring stars are left out. It starts from the brightest pixel of the filtered
    image; a star whose window runs off by more than 1 px (a star lost in a brighter one's light) keeps
    the position of that pixel (their number is in ``meta["n_unrefined"]``). ``refine=False`` gives the
    plain centroid, for comparison.

    Parameters
    ----------
    image : array_like
        2-D image, calibrated (bias, dark and flat removed). NaN pixels count as background.
    threshold : float
        Detection threshold in units of the noise above the background level.
    min_pixels : int
        Smallest group (in pixels above the threshold) that can be a star.
    saturation : float, optional
        Pixel value at or above which a pixel is saturated, in the units of ``image``. In a calibrated
        frame the camera's 65535 ADU becomes about ``(65535 - bias) / flat``: give a value a little
        below that. The maxima inside one saturated flat top count as one star.
    edge : int
        A star is flagged ``edge`` when its group comes within ``edge`` pixels of the border.
    background : (float, float) or (2-D array, float), optional
        ``(level, noise)`` if already measured (a slider measures it once); else :func:`background`. The level
        may be a map the shape of the image (:func:`background_map`: a sky that changes across the frame).
    fwhm : float, optional
        Width of the stars (pixels) for the filter and the centroid window. Measured when not given:
        the median over bright groups of the diameter of the disc with the same area as their pixels
        above half the peak (in ``meta["fwhm"]``).
    refine : bool
        Refine the centroids with :func:`windowed_centroid` (see above).
    smooth : True or float, optional
        Threshold the image smoothed by a Gaussian of this FWHM in pixels (True: the stars' ``fwhm``, measured
        from the unsmoothed groups if not given); see "Faint stars" above. Default: no smoothing.
    cosmic : float or None
        Ratio for the cosmic-ray cleaning of step 2 (None: no cleaning). Lower it for frames with
        wide stars and many cosmic rays; raise it (or use None) for undersampled stars (FWHM < 2 px).

    Returns
    -------
    astropy.table.Table
        One row per star, brightest first, with columns

        - ``id``: 1, 2, ... in order of decreasing flux;
        - ``x``, ``y``: centroid (column, row; 0-based pixels);
        - ``flux``: background-subtracted sum of the star's pixels above the threshold. It misses the
          wings below the threshold (10-20 % for bright stars, more for faint ones) and in a blend the
          split between the stars is rough: use aperture photometry (chapter 06) for real fluxes;
        - ``peak``: brightest background-subtracted pixel of the star;
        - ``npix``: number of the star's pixels above the threshold;
        - ``width``: diameter (pixels) of the disc with the area of the star's pixels above half its peak,
          its FWHM (rough for faint stars: whole pixels);
        - ``extended``: wider than :data:`EXTENDED` times the stars' ``fwhm`` (measured for peaks above 10
          noise, never for a saturated star): a galaxy, a defocused star, or stars too close to separate (in
          a crowded group a star's share of pixels can hold a neighbour's wing). An extended object's slopes
          (pieces whose window ran off) are joined to it; in a group without stars it is centred with a window
          as wide as itself (Source Extractor's XWIN does the same), and pieces that then share a centre are
          one object. With ``refine=False`` nothing is joined;
        - ``saturated``: a pixel of the star is at or above ``saturation`` (False if not given);
        - ``edge``: its group comes within ``edge`` pixels of the border (the star may be cut);
        - ``group``: the label of its group; stars sharing a group touch (a blend);
        - ``refined``: the position is the windowed centroid (see above). False when the refinement failed
          (the window ran off: a star lost in a brighter one's light, or a star much wider than ``fwhm``) or
          was not asked for: then ``x``, ``y`` are the brightest pixel of the filtered image (whole
          pixels) or the plain centroid, good to about half a pixel only; a saturated star with a round flat
          top is then put in the middle of its plateau (a few tenths of a pixel). An extended object centred
          with its own width counts as refined when that window converged.

        ``table.meta`` holds ``level``, ``noise``, ``threshold`` (in sigma), ``cut`` (the threshold as
        a value above the level), ``fwhm``, ``n_cosmic`` (pixels cleaned), ``n_unrefined``, ``n_extended``,
        with ``smooth`` the smoothing FWHM and ``smoothed_noise``, and
        ``message``: what was found, or, when nothing was, why and what to try. Finding nothing is a
        normal answer: an empty table with the same columns, no exception and no warning.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import detect
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> image = 100 + 500 * np.exp(-((xx - 40.3) ** 2 + (yy - 20.6) ** 2) / (2 * 1.6 ** 2))
    >>> image = image + np.random.default_rng(1).normal(0, 2, image.shape)
    >>> stars = detect.find_stars(image)
    >>> len(stars), stars.colnames[:4]
    (1, ['id', 'x', 'y', 'flux'])
    >>> empty = detect.find_stars(image, threshold=1000)
    >>> len(empty), empty.meta["message"][:34]
    (0, 'no pixel is 1000 sigma above the b')
    """
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"find_stars needs a 2-D image, got an array of shape {image.shape}")
    threshold = number(threshold, "threshold (in units of the noise)", above=0)
    min_pixels = int(number(min_pixels, "min_pixels", at_least=1))
    if fwhm is not None:
        fwhm = number(fwhm, "fwhm (pixels)", above=0)
    if background is None:
        level, noise = _measure_background(image)
    else:     # (level, noise): the level may be a map (background_map), the noise one number
        level, noise = background
        level = float(level) if np.ndim(level) == 0 else _matching_map(level, image.shape)
        noise = float(noise)
    typical = float(np.median(level))      # what the messages and meta say: the map's typical level
    if not noise > 0:
        meta = {"level": typical, "noise": noise, "threshold": threshold, "cut": 0.0, "fwhm": float("nan"),
                "n_cosmic": 0, "n_unrefined": 0, "n_extended": 0}
        return _empty(meta, f"the background has no noise (level {typical:.1f}, noise {noise:.2f}): the frame is "
                            "constant, or almost all its pixels are equal, so there is nothing to detect. Is it "
                            "a real frame?")
    cut = threshold * noise
    meta = {"level": typical, "noise": noise, "threshold": float(threshold), "cut": cut,
            "fwhm": float("nan"), "n_cosmic": 0, "n_unrefined": 0, "n_extended": 0}
    sub = np.where(np.isfinite(image), image - level, 0.0)    # background-subtracted; NaN -> background

    # 2-3: clean cosmic rays; threshold and group
    if cosmic is not None:
        sub, meta["n_cosmic"] = _clean_cosmic_rays(sub, max(cut, 5.0 * noise), cosmic)
    detection, detection_cut = sub, cut
    smooth = None if smooth is False else smooth
    if smooth is not None:
        if fwhm is None and smooth is True:
            fwhm = _first_fwhm(sub, image, cut, min_pixels, saturation)
        width = fwhm if smooth is True else number(smooth, "smooth (FWHM in pixels)", above=0)
        detection = ndimage.gaussian_filter(sub, width / _FWHM_PER_SIGMA, mode="constant")
        detection_noise = _measure_background(detection)[1]
        detection_cut = threshold * detection_noise
        meta["smooth"], meta["smoothed_noise"] = float(width), detection_noise
    groups, gy, gx, label, n_small = _groups(detection, detection_cut, min_pixels)
    if len(label) == 0:
        message = _nothing_found(n_small, threshold, min_pixels, typical, noise)
        if smooth is not None:
            message += f" (the image smoothed to a FWHM of {meta['smooth']:.2f} px has noise {detection_noise:.2f})"
        return _empty(meta, message)
    if fwhm is None:
        fwhm = _estimate_fwhm(sub, image, gy, gx, label, cut, saturation)
    meta["fwhm"] = float(fwhm)

    # 4: one star per maximum of the filtered image; each group pixel to its nearest maximum
    peak_y, peak_x, strong, sharp, sharp_factor = _find_peaks(sub, groups, gy, gx, label, fwhm, cut)
    if smooth is not None:
        peak_y, peak_x = _climb(detection, groups, peak_y, peak_x, strong, fwhm, sharp,
                                DIP * noise * sharp_factor)
        peak_y, peak_x = _add_separate_maxima(detection, groups, gy, gx, detection_cut, peak_y, peak_x, fwhm,
                                              DIP * detection_noise)
    if saturation is not None:
        peak_y, peak_x = _one_peak_per_flat_top(image >= saturation, peak_y, peak_x)
    peak_label = groups[peak_y, peak_x]
    owner = _nearest_peak(gx, gy, label, peak_x, peak_y, peak_label, sum(image.shape))

    # 5: measure each star; the slopes of an extended object (a galaxy) are joined to it
    stars = _measure(image, sub, gx, gy, owner, len(peak_x), saturation)
    converged = np.zeros(len(peak_x), dtype=bool)
    if refine:
        owner_map = np.full(image.shape, -1)
        owner_map[gy, gx] = owner
        stars["x"], stars["y"], converged = windowed_centroid(sub, peak_x, peak_y, fwhm, owner=owner_map,
                                                              max_shift=1.0, return_converged=True)
    extended = (stars["width"] > EXTENDED * fwhm) & (stars["peak"] > 10 * noise) & ~stars["saturated"]
    if refine and extended.any():
        # the slopes of an extended object join it; it is centred with a window as wide as itself; pieces that
        # then share a centre are one object, centred again
        pieces = (peak_x, peak_y, peak_label, extended, converged)
        owner, pieces, stars = _join(image, sub, gx, gy, owner,
                                     _slopes_to_maxima(extended, converged, peak_label, stars["flux"]), pieces,
                                     stars, saturation)
        peak_x, peak_y, peak_label, extended, converged = pieces
        converged = _centre_extended(sub, stars, owner, gy, gx, extended, converged, peak_label)
        owner, pieces, stars = _join(image, sub, gx, gy, owner, _same_centre(stars, extended, peak_label),
                                     (peak_x, peak_y, peak_label, extended, converged), stars, saturation)
        peak_x, peak_y, peak_label, extended, converged = pieces
        converged = _centre_extended(sub, stars, owner, gy, gx, extended, converged, peak_label)
    if refine:
        _centre_flat_tops(sub, stars, owner, gy, gx, peak_x, peak_y, converged, noise, fwhm)
    stars["extended"] = extended
    stars["group"] = peak_label
    stars["edge"] = _touches_edge(groups, edge)[peak_label]
    stars["refined"] = converged
    meta["n_unrefined"] = int((~converged).sum()) if refine else 0

    order = np.argsort(-stars["flux"], kind="stable")          # brightest first
    stars["id"] = np.zeros(len(order))
    table = Table({name: np.asarray(stars[name], dtype=kind)[order] for name, kind in COLUMNS.items()})
    table["id"] = np.arange(1, len(table) + 1)
    _set_formats(table)
    meta["n_extended"] = int(extended.sum())
    smoothed = "" if smooth is None else \
        f" in the image smoothed to a FWHM of {meta['smooth']:.2f} px (noise {detection_noise:.2f})"
    meta["message"] = (f"found {len(table)} stars more than {threshold:g} sigma above the background "
                       f"(level {typical:.1f}, noise {noise:.2f}){smoothed} in {len(np.unique(peak_label))} "
                       f"groups of at least {min_pixels} pixels; cleaned {meta['n_cosmic']} cosmic-ray pixels"
                       + (f"; {meta['n_extended']} of them {'is' if meta['n_extended'] == 1 else 'are'} extended "
                          "(wider than a star)" if meta["n_extended"] else ""))
    table.meta.update(meta)
    return table


def _slopes_to_maxima(extended, converged, peak_label, flux):
    """Which piece each piece joins: the slopes of an extended object go to its brightest maximum.

    A galaxy's light has many maxima of the star filter. In each group, an extended piece whose centroid did
    not converge (its window ran off: a slope, not a maximum of its own) is given to the group's brightest
    extended piece that did converge. Returns, for every piece, the index of the piece it joins (itself if none).
    """
    target = np.arange(len(extended))
    for group in np.unique(peak_label[extended]):
        pieces = np.flatnonzero(extended & (peak_label == group))
        maxima = pieces[converged[pieces]]
        if len(maxima):                       # else no piece is a maximum of its own: nothing to join to
            target[pieces[~converged[pieces]]] = maxima[np.argmax(flux[maxima])]
    return target


def _same_centre(stars, extended, peak_label):
    """Which piece each piece joins: extended pieces of a group centred within half a width of a brighter one."""
    target = np.arange(len(extended))
    for k in np.flatnonzero(extended)[np.argsort(-stars["flux"][extended], kind="stable")]:
        if target[k] != k:
            continue
        near = (extended & (peak_label == peak_label[k]) & (target == np.arange(len(target)))
                & (np.hypot(stars["x"] - stars["x"][k], stars["y"] - stars["y"][k]) < stars["width"][k] / 2))
        near[k] = False
        target[near] = k
    return target


def _join(image, sub, gx, gy, owner, target, columns, stars, saturation):
    """Give the pixels of every piece to ``target[piece]``; measure the pieces kept again (keeping their x, y).

    Returns the new owner of every group pixel, ``columns`` (arrays, one value per piece) for the pieces kept,
    and their new measurements.
    """
    kept = np.unique(target)
    if len(kept) == len(target):
        return owner, columns, stars
    new_index = np.full(len(target), -1)
    new_index[kept] = np.arange(len(kept))
    owner = new_index[target[owner]]
    measured = _measure(image, sub, gx, gy, owner, len(kept), saturation)
    measured["x"], measured["y"] = stars["x"][kept], stars["y"][kept]
    return owner, tuple(column[kept] for column in columns), measured


def _centre_extended(sub, stars, owner, gy, gx, extended, converged, peak_label):
    """Centre each extended object of a group without stars with a window as wide as the object (its own pixels).

    A window as narrow as a star wanders on the flat top of a galaxy or a defocused star. An extended object
    that shares its group with stars keeps its star-sized window: a wide one would take in their light (and
    in a crowded cluster a star's piece can look "extended" because it holds a neighbour's wing). Updates
    ``stars`` in place; returns ``converged`` with the extended objects' new flags.
    """
    converged = converged.copy()
    with_stars = np.bincount(peak_label, weights=~extended)[peak_label] > 0
    for k in np.flatnonzero(extended & ~with_stars):
        mine = owner == k
        wide = float(stars["width"][k])
        margin = int(np.ceil(3 * wide))                # the window's reach around the object's pixels
        y0, x0 = max(gy[mine].min() - margin, 0), max(gx[mine].min() - margin, 0)
        y1, x1 = gy[mine].max() + margin + 1, gx[mine].max() + margin + 1
        own = np.full(sub[y0:y1, x0:x1].shape, -1)     # its pixels 0, the others' -1 (sky) in a cutout
        own[gy[mine] - y0, gx[mine] - x0] = 0
        x, y, ok = windowed_centroid(sub[y0:y1, x0:x1], [stars["x"][k] - x0], [stars["y"][k] - y0], wide,
                                     owner=own, max_shift=wide, return_converged=True)
        if ok[0]:
            stars["x"][k], stars["y"][k] = x[0] + x0, y[0] + y0
        converged[k] = ok[0]
    return converged


def _centre_flat_tops(sub, stars, owner, gy, gx, peak_x, peak_y, converged, noise, fwhm):
    """Put a saturated star whose window ran off at the centre of its flat top (a plateau has no peak to climb).

    A star whose windowed centroid did not converge and whose top is flat (:func:`helpers._plateau.flat_top`: 5 or
    more touching pixels within 2 % of a peak above 50 noise, the rule of chapter 05's fits) is saturated; the
    middle of its plateau, the mean position of those pixels, is its centre to a few tenths of a pixel, where
    its brightest pixel can be more than one pixel off. Only a round plateau counts: two saturated stars that
    touch make one long plateau, whose middle is neither star's centre. Updates ``stars`` in place;
    ``refined`` stays False.
    """
    half = int(np.ceil(2 * fwhm))
    ny, nx = sub.shape
    for k in np.flatnonzero(~converged & (stars["peak"] > 50 * noise)):
        y0, x0 = max(peak_y[k] - half, 0), max(peak_x[k] - half, 0)
        y1, x1 = min(peak_y[k] + half + 1, ny), min(peak_x[k] + half + 1, nx)
        mine = (owner == k) & (gy >= y0) & (gy < y1) & (gx >= x0) & (gx < x1)
        values = np.full((y1 - y0, x1 - x0), -np.inf)
        values[gy[mine] - y0, gx[mine] - x0] = sub[gy[mine], gx[mine]]
        top = flat_top(values)
        if top.sum() >= LEAST and top[peak_y[k] - y0, peak_x[k] - x0]:      # its own top, not a neighbour's
            rows, cols = np.nonzero(top)
            spread = np.linalg.eigvalsh(np.cov(np.vstack([cols, rows])) + np.eye(2) / 12)   # + a pixel's own
            if spread[1] < 2 * spread[0]:      # round: one star's top (two touching ones make a long plateau)
                stars["x"][k], stars["y"][k] = x0 + cols.mean(), y0 + rows.mean()


def _box_units(edges, n):
    """Each pixel's position in units of boxes on the padded grid: box k's centre is at k + 1."""
    centres = (edges[:-1] + edges[1:] - 1) / 2.0
    if len(centres) == 1:
        return np.ones(n)
    step_low, step_high = centres[1] - centres[0], centres[-1] - centres[-2]
    extended = np.concatenate([[centres[0] - step_low], centres, [centres[-1] + step_high]])
    return np.interp(np.arange(n), extended, np.arange(len(extended)))


def _matching_map(level, shape):
    level = np.asarray(level, dtype=float)
    if level.shape != tuple(shape):
        raise ValueError(f"the background map has shape {level.shape} but the image {tuple(shape)}; make it with "
                         "background_map(image)")
    return level


def _measure_background(image):
    """:func:`background` under another name (``find_stars`` has an argument called ``background``)."""
    return background(image)


def _nothing_found(n_small, threshold, min_pixels, level, noise):
    """The message of an empty result: why nothing was found, and what to try."""
    where = f"{threshold:g} sigma above the background (level {level:.1f}, noise {noise:.2f})"
    if n_small == 0:
        return f"no pixel is {where}; lower the threshold"
    return (f"{n_small} groups of pixels are {where}, but none has min_pixels={min_pixels} pixels or more "
            "(noise spikes and hot pixels are that small); lower the threshold or min_pixels")


def _empty(meta, message):
    """An empty star table with the usual columns and a message saying why it is empty."""
    table = Table({name: np.zeros(0, dtype=kind) for name, kind in COLUMNS.items()})
    _set_formats(table)
    table.meta.update(meta)
    table.meta["message"] = message
    return table


def _set_formats(table):
    """Print the float columns rounded (:data:`FORMATS`); the numbers themselves are not changed."""
    for name, fmt in FORMATS.items():
        table[name].info.format = fmt


def _neighbourhood(image, rows, cols, radius, outside=0.0):
    """Values of ``image`` around the pixels ``(rows, cols)``: a generator of ``((dy, dx), values)``.

    Every offset up to ``radius`` in both directions is visited, the centre included; pixels beyond
    the border have the value ``outside`` (0: the background). Working on a list of pixels, not on the
    whole frame, keeps this fast: the stars cover a small part of it.
    """
    padded = np.pad(image, radius, constant_values=outside)
    width = padded.shape[1]
    flat = padded.ravel()
    centre = (rows + radius) * width + (cols + radius)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            yield (dy, dx), flat[centre + dy * width + dx]


def _clean_cosmic_rays(sub, cut, ratio):
    """Replace the pixels brighter than ``ratio`` times the median of their 8 neighbours, plus ``cut``.

    Returns the cleaned copy of ``sub`` and the number of pixels replaced (step 2 of :func:`find_stars`).
    """
    rows, cols = np.nonzero(sub > cut)
    value = sub[rows, cols]
    neighbours = [values for offset, values in _neighbourhood(sub, rows, cols, 1) if offset != (0, 0)]
    # quick first pass: the median is at least the lowest neighbour, so only these can be hit
    lowest = np.minimum.reduce(neighbours)
    maybe = np.flatnonzero(value > ratio * np.maximum(lowest, 0.0) + cut)
    median = np.median([values[maybe] for values in neighbours], axis=0)
    hit = value[maybe] > ratio * np.maximum(median, 0.0) + cut
    cleaned = sub.copy()
    cleaned[rows[maybe[hit]], cols[maybe[hit]]] = median[hit]
    return cleaned, int(hit.sum())


def _groups(sub, cut, min_pixels):
    """Label the groups of touching pixels above ``cut``; keep those of ``min_pixels`` or more.

    Returns the label image (0 = no group), the rows, columns and labels of the pixels of the groups
    kept, and the number of groups dropped as too small.
    """
    groups, n = ndimage.label(sub > cut, structure=np.ones((3, 3), dtype=bool))
    rows, cols = np.nonzero(groups)
    label = groups[rows, cols]
    too_small = np.bincount(label, minlength=n + 1) < min_pixels
    keep = ~too_small[label]
    return groups, rows[keep], cols[keep], label[keep], int(too_small[1:].sum())


def _first_fwhm(sub, image, cut, min_pixels, saturation):
    """The stars' FWHM from the groups of the unsmoothed image (what ``smooth=True`` smooths with)."""
    _, gy, gx, label, _ = _groups(sub, cut, min_pixels)
    if len(label) == 0:
        return 2.5
    return _estimate_fwhm(sub, image, gy, gx, label, cut, saturation)


def _largest_per_label(values, label, n_labels):
    """The largest of ``values`` for each label 0 .. n_labels - 1 (-inf for a label with no value)."""
    largest = np.full(n_labels, -np.inf)
    np.maximum.at(largest, label, values)
    return largest


def _estimate_fwhm(sub, image, gy, gx, label, cut, saturation):
    """Median FWHM of the bright groups, from the area above half their peak.

    The pixels of a star above half its peak fill a disc of diameter FWHM: FWHM = 2 sqrt(area / pi).
    Faint groups (peak under 10 times the threshold) are too noisy for this and saturated ones too
    flat; a blend counts as its brightest star (the median does not mind a few odd groups).
    """
    values = sub[gy, gx]
    n = int(label.max()) + 1
    peak = _largest_per_label(values, label, n)
    n_half = np.bincount(label, weights=values > peak[label] / 2, minlength=n)
    present = np.bincount(label, minlength=n) > 0
    usable = present & (peak > 10 * cut)
    if saturation is not None:
        usable &= _largest_per_label(image[gy, gx], label, n) < saturation
    if not usable.any():                       # only faint stars: use them all
        usable = present
    return float(np.median(2.0 * np.sqrt(n_half[usable] / np.pi)))


def _find_peaks(sub, groups, gy, gx, label, fwhm, cut):
    """One peak per star: the local maxima of a star-shaped filter among the group pixels.

    The filter is a Gaussian of the stars' width in a 5x5 box (larger for wide stars) minus its own
    mean (DAOFIND's kernel). Subtracting the mean makes it blind to a constant level and, the kernel
    being symmetric, to a straight slope: it responds to star-shaped bumps. A pixel is a peak when its
    filtered value is at least that of each of its 8 neighbours and above
    ``threshold`` times the filtered noise (``cut`` being ``threshold`` times the pixel noise). The
    brightest filtered pixel of every group is a peak, so every group holds at least one star.
    Touching peaks (a flat top) count once. Returns the peaks' rows and columns, whether each is above
    that threshold (``strong``; a peak that is not is a faint group's brightest filtered pixel), the
    filtered image (0 outside the groups) and the factor from the pixel noise to its noise.
    """
    sigma = fwhm / _FWHM_PER_SIGMA
    half = max(2, int(round(1.25 * sigma)))
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    kernel = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    kernel -= kernel.mean()
    filtered = np.zeros(len(gy))
    for (dy, dx), values in _neighbourhood(sub, gy, gx, half):
        filtered += kernel[dy + half, dx + half] * values

    # a neighbour of a group pixel is in the same group or in none (-inf): groups never touch
    filtered_map = np.full(groups.shape, -np.inf)
    filtered_map[gy, gx] = filtered
    strong = filtered > cut * np.sqrt((kernel ** 2).sum())
    is_peak = strong.copy()
    for _, other in _neighbourhood(filtered_map, gy, gx, 1, outside=-np.inf):
        is_peak &= filtered >= other
    is_peak |= filtered == _largest_per_label(filtered, label, int(label.max()) + 1)[label]
    peak_y, peak_x, strong = gy[is_peak], gx[is_peak], strong[is_peak]
    # touching peaks (equal values on a flat top): keep the first of each pair
    pairs = cKDTree(np.column_stack([peak_x, peak_y])).query_pairs(1.5, output_type="ndarray")
    keep = np.ones(len(peak_x), dtype=bool)
    keep[pairs.max(axis=1)] = False
    sharp = np.where(np.isfinite(filtered_map), filtered_map, 0.0)
    return peak_y[keep], peak_x[keep], strong[keep], sharp, np.sqrt((kernel ** 2).sum())


def _climb(detection, groups, peak_y, peak_x, strong, fwhm, sharp, dip, max_steps=20):
    """Move each peak uphill in the smoothed image, one pixel at a time, to its maximum (within the group).

    For a faint star the sharper filter's maximum is noisy, often a pixel or two off; the smoothed image
    averages the noise over the star, and its maximum is a better start for the centroid. Peaks that climb
    to the same pixel are one object (a faint galaxy's knots), unless two of them are ``strong`` maxima of
    the sharp filter ``sharp`` and it dips between them by more than ``dip``: two stars closer than the
    smoothing can separate, which stay where they were. A peak that would move more than twice ``fwhm``
    stays too: it is climbing onto something else (a star on a galaxy's slope).
    """
    inside = np.pad(np.where(groups > 0, detection, -np.inf), 1, constant_values=-np.inf)
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    y, x = peak_y.copy(), peak_x.copy()
    for _ in range(max_steps):
        around = np.array([inside[y + 1 + dy, x + 1 + dx] for dy, dx in steps])
        best = np.argmax(around, axis=0)
        if np.all(best == 4):                  # the centre (0, 0) is the highest everywhere: all at a maximum
            break
        y = y + np.array([dy for dy, _ in steps])[best]
        x = x + np.array([dx for _, dx in steps])[best]
    too_far = np.hypot(y - peak_y, x - peak_x) > 2 * fwhm
    y[too_far], x[too_far] = peak_y[too_far], peak_x[too_far]
    destination = np.unique(y * groups.shape[1] + x, return_inverse=True)[1]
    for d in np.unique(destination[strong]):
        members = np.flatnonzero(strong & (destination == d))
        if len(members) < 2:
            continue
        main = members[np.argmax(sharp[peak_y[members], peak_x[members]])]
        for m in members[members != main]:
            if _dip(sharp, (peak_y[m], peak_x[m]), (peak_y[main], peak_x[main])) > dip:
                y[m], x[m] = peak_y[m], peak_x[m]
    _, first = np.unique(y * groups.shape[1] + x, return_index=True)
    first.sort()
    return y[first], x[first]


def _dip(image, start, end):
    """How far ``image`` falls below its value at ``start`` on the straight line from ``start`` to ``end``."""
    (y0, x0), (y1, x1) = start, end
    steps = np.linspace(0.0, 1.0, 2 * int(np.ceil(np.hypot(x1 - x0, y1 - y0))) + 1)
    line = ndimage.map_coordinates(image, [y0 + steps * (y1 - y0), x0 + steps * (x1 - x0)], order=1)
    return image[y0, x0] - line.min()


def _add_separate_maxima(detection, groups, gy, gx, cut, peak_y, peak_x, fwhm, dip):
    """Add the maxima of the smoothed image that stand apart: a faint star in the same group as a brighter one.

    The maxima of ``detection`` (higher than their 8 neighbours and than ``cut``) are taken from the
    highest down. One more than ``fwhm`` from every peak so far is a star of its own when the light dips
    between it and the nearest peak of its group by more than ``dip`` (the lowest value along the straight
    line between them): two stars, not one star's noisy wing.
    """
    values = detection[gy, gx]
    padded = np.where(groups > 0, detection, -np.inf)
    is_max = values > cut
    for offset, other in _neighbourhood(padded, gy, gx, 1, outside=-np.inf):
        if offset != (0, 0):
            is_max &= values > other
    max_y, max_x = gy[is_max], gx[is_max]
    # most maxima are the peaks' own: keep those farther than fwhm from every peak, highest first
    far = cKDTree(np.column_stack([peak_x, peak_y])).query(np.column_stack([max_x, max_y]))[0] > fwhm
    order = np.flatnonzero(far)[np.argsort(-values[is_max][far], kind="stable")]
    peak_y, peak_x = np.asarray(peak_y), np.asarray(peak_x)
    for y, x in zip(max_y[order], max_x[order]):
        same = np.flatnonzero(groups[peak_y, peak_x] == groups[y, x])
        distance = np.hypot(peak_x[same] - x, peak_y[same] - y)
        if distance.min() <= fwhm:                   # near a star added before it
            continue
        j = same[np.argmin(distance)]
        if _dip(detection, (y, x), (peak_y[j], peak_x[j])) > dip:
            peak_y, peak_x = np.append(peak_y, y), np.append(peak_x, x)
    return peak_y.astype(int), peak_x.astype(int)


def _one_peak_per_flat_top(saturated, peak_y, peak_x):
    """Keep only the first peak inside each touching set of saturated pixels (a flat top)."""
    blobs, _ = ndimage.label(saturated, structure=np.ones((3, 3), dtype=bool))
    blob = blobs[peak_y, peak_x]
    keep = blob == 0
    _, first = np.unique(blob, return_index=True)
    keep[first] = True
    return peak_y[keep], peak_x[keep]


def _nearest_peak(gx, gy, label, peak_x, peak_y, peak_label, far):
    """For every group pixel, the index of the nearest peak in the same group.

    Groups with one peak are direct. For groups with several, a k-d tree finds the nearest peak; the
    group label is a third coordinate, multiplied by ``far`` (larger than any distance in the frame),
    so a pixel never picks another group's peak.
    """
    n_labels = int(label.max()) + 1
    count = np.bincount(peak_label, minlength=n_labels)
    only_peak = np.full(n_labels, -1)
    single = count[peak_label] == 1
    only_peak[peak_label[single]] = np.flatnonzero(single)
    owner = only_peak[label]
    shared = owner < 0
    if shared.any():
        tree = cKDTree(np.column_stack([peak_x, peak_y, far * peak_label]))
        _, owner[shared] = tree.query(np.column_stack([gx[shared], gy[shared], far * label[shared]]),
                                      workers=1)
    return owner


def _measure(image, sub, gx, gy, owner, n_stars, saturation):
    """Plain centroid, flux, peak, size and saturation of each star from its pixels."""
    values = sub[gy, gx]
    npix = np.bincount(owner, minlength=n_stars)
    flux = np.bincount(owner, weights=values, minlength=n_stars)
    # the plain flux-weighted centroid (what scipy.ndimage.center_of_mass gives)
    x = np.bincount(owner, weights=values * gx, minlength=n_stars) / flux
    y = np.bincount(owner, weights=values * gy, minlength=n_stars) / flux
    peak = _largest_per_label(values, owner, n_stars)
    # the diameter of the disc with the area of the star's pixels above half its peak: its FWHM
    width = 2.0 * np.sqrt(np.bincount(owner, weights=values > peak[owner] / 2, minlength=n_stars) / np.pi)
    saturated = np.zeros(n_stars, dtype=bool)
    if saturation is not None:
        saturated = np.bincount(owner, weights=image[gy, gx] >= saturation, minlength=n_stars) > 0
    return {"x": x, "y": y, "flux": flux, "peak": peak, "npix": npix, "saturated": saturated, "width": width}


def _touches_edge(groups, edge):
    """Boolean per group label (index 0 unused): the group comes within ``edge`` px of the border."""
    ny, nx = groups.shape
    flags = np.zeros(int(groups.max()) + 1, dtype=bool)
    for i, box in enumerate(ndimage.find_objects(groups), start=1):
        if box is not None:
            rows, cols = box
            flags[i] = (rows.start < edge or cols.start < edge or rows.stop > ny - edge
                        or cols.stop > nx - edge)
    return flags


def windowed_centroid(image, x, y, fwhm, owner=None, max_shift=None, max_iterations=20, tolerance=1e-4,
                      return_converged=False):
    """Refine star positions with a Gaussian-weighted window (Source Extractor's windowed centroid).

    Each position moves to the centroid of the pixels around it weighted by a Gaussian window of the
    star's own width centred on the position, until it stops moving. At the end the window is centred
    on the star; for a symmetric star that is the star's centre, with no bias from pixel edges or a
    threshold cut. Each step is doubled, because a window as wide as the star halves an offset; this
    makes it converge in a few steps.

    Parameters
    ----------
    image : ndarray
        Background-subtracted image (NaN counts as 0, the background).
    x, y : array_like
        Starting positions (column, row), e.g. the brightest pixel of each star.
    fwhm : float
        The stars' FWHM in pixels; the window is a Gaussian of the same FWHM.
    owner : ndarray of int, optional
        Image of which star (index into ``x``, ``y``) owns each pixel, -1 for pixels of no star. When
        given, the pixels of other stars are left out of each star's window, so that a bright
        neighbour does not pull the window onto itself.
    max_shift : float, optional
        A star whose position runs farther than this from its start keeps its start. Default: ``fwhm``.
    max_iterations : int
        At most this many steps.
    tolerance : float
        A star stops when its step is smaller than this (pixels).
    return_converged : bool
        Also return a boolean array: the star was refined (False: it kept its start).

    Returns
    -------
    x, y : ndarray
        Refined positions (and ``converged`` if asked).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import detect
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> star = np.exp(-((xx - 14.3) ** 2 + (yy - 17.8) ** 2) / (2 * 1.5 ** 2))
    >>> x, y = detect.windowed_centroid(star, [14], [18], fwhm=3.5)
    >>> print(f"x = {x[0]:.4f}, y = {y[0]:.4f}")
    x = 14.3000, y = 17.8000
    """
    image = np.asarray(image, dtype=float)
    start_x, start_y = np.array(x, dtype=float, ndmin=1), np.array(y, dtype=float, ndmin=1)
    x, y = start_x.copy(), start_y.copy()
    max_shift = fwhm if max_shift is None else max_shift
    sigma = fwhm / _FWHM_PER_SIGMA
    half = int(np.ceil(3 * sigma))
    box = np.arange(-half, half + 1)
    padded = np.pad(np.where(np.isfinite(image), image, 0.0), half + 1)   # zeros around: background
    width = padded.shape[1]
    box_index = (box[:, None] * width + box[None, :]).ravel()
    if owner is not None:
        owner = np.pad(owner, half + 1, constant_values=-1).ravel()
    ny, nx = image.shape
    converged = np.ones(len(x), dtype=bool)
    active = np.arange(len(x))
    for _ in range(max_iterations):
        # the box of pixels around each active star, centred on the nearest pixel
        col = np.clip(np.rint(x[active]).astype(int), 0, nx - 1)
        row = np.clip(np.rint(y[active]).astype(int), 0, ny - 1)
        index = ((row + half + 1) * width + col + half + 1)[:, None] + box_index
        value = padded.ravel()[index]
        if owner is not None:                  # leave out the pixels of other stars
            others = owner[index]
            value[(others != -1) & (others != active[:, None])] = 0.0
        value = value.reshape(len(active), len(box), len(box))
        # offsets of the box's columns and rows from the current estimate, and the Gaussian window
        dx = (col - x[active])[:, None] + box
        dy = (row - y[active])[:, None] + box
        weighted = value * np.exp(-dy ** 2 / (2 * sigma ** 2))[:, :, None] \
            * np.exp(-dx ** 2 / (2 * sigma ** 2))[:, None, :]
        total = weighted.sum(axis=(1, 2))
        good = total > 0
        total[~good] = 1.0
        step_x = np.where(good, 2 * (weighted.sum(axis=1) * dx).sum(axis=1) / total, 0.0)
        step_y = np.where(good, 2 * (weighted.sum(axis=2) * dy).sum(axis=1) / total, 0.0)
        x[active] += step_x
        y[active] += step_y
        lost = ~good | (np.hypot(x[active] - start_x[active], y[active] - start_y[active]) > max_shift)
        x[active[lost]], y[active[lost]] = start_x[active[lost]], start_y[active[lost]]
        converged[active[lost]] = False
        moving = (np.abs(step_x) > tolerance) | (np.abs(step_y) > tolerance)
        active = active[moving & ~lost]
        if len(active) == 0:
            break
    if return_converged:
        return x, y, converged
    return x, y


# --------------------------------------------------------------------------------------------------
# The centre of a star cluster
# --------------------------------------------------------------------------------------------------
def cluster_centre(x, y, flux=None, radius=None, shrink=0.8, tolerance=0.01):
    """The centre of a star cluster from its stars' positions: the mean in a circle that shrinks onto it.

    The middle of the frame is where the telescope pointed, not where the cluster is. The plain mean
    of all the positions is no better: the frame's edges cut more of the cluster's outskirts on one
    side than on the other, and field stars spread evenly over the frame, and both pull the mean
    towards the middle of the frame. Instead:

    1. start from the median of the positions, with a circle large enough to hold every star;
    2. move the circle to the mean position of the stars inside it, again and again, until it moves
       less than ``tolerance`` pixels;
    3. shrink the circle by the factor ``shrink`` and go back to step 2, until it has shrunk to
       ``radius``.

    A smaller circle sees only the cluster's dense middle, where the frame's edges and the field
    stars hardly matter; but a circle holding too few stars gives a noisy mean. The default final
    radius holds about half of the stars.

    Parameters
    ----------
    x, y : array_like
        Star positions (column, row), e.g. the ``x`` and ``y`` columns of :func:`find_stars`.
    flux : array_like, optional
        Weights for the mean: the centre of the light instead of the centre of the star counts. A few
        bright giants then decide the answer, which makes it noisier: leave it out unless the stars
        are many and of similar brightness.
    radius : float, optional
        Final radius of the circle (pixels). Default: the median distance of the stars from their
        median position.
    shrink : float
        Factor (between 0 and 1) by which the circle shrinks at each step.
    tolerance : float
        The circle has stopped moving when it moves less than this (pixels).

    Returns
    -------
    centre_x, centre_y : float

    Raises
    ------
    ValueError
        If there are no positions, ``shrink`` is not between 0 and 1, or the circle is left with no
        star (or no positive weight) inside.

    Examples
    --------
    2000 cluster stars around x = 70, y = 30 and 1000 field stars spread evenly over a frame 100
    pixels wide and high: the field stars pull the plain mean towards the middle of the frame.

    >>> import numpy as np
    >>> from helpers import detect
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(70.0, 8.0, 2000), rng.uniform(0, 100, 1000)])
    >>> y = np.concatenate([rng.normal(30.0, 8.0, 2000), rng.uniform(0, 100, 1000)])
    >>> print(f"plain mean x = {x.mean():.0f}, y = {y.mean():.0f}")
    plain mean x = 63, y = 37
    >>> cx, cy = detect.cluster_centre(x, y)
    >>> print(f"cluster centre x = {cx:.0f}, y = {cy:.0f}")
    cluster centre x = 70, y = 30
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.size == 0 or x.size != y.size:
        raise ValueError(f"cluster_centre needs x and y of the same, non-zero length; got {x.size} and {y.size}")
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must be between 0 and 1, got {shrink}")
    weight = np.ones_like(x) if flux is None else np.asarray(flux, dtype=float).ravel()
    centre_x, centre_y = float(np.median(x)), float(np.median(y))
    if radius is None:
        radius = float(np.median(np.hypot(x - centre_x, y - centre_y)))
    circle = max(np.ptp(x), np.ptp(y), radius)          # from the median, this holds every star
    while True:
        for _ in range(100):                            # step 2: move the circle to the mean inside
            inside = np.hypot(x - centre_x, y - centre_y) <= circle
            if weight[inside].sum() <= 0:
                raise ValueError(f"no star (or no positive flux) within {circle:.1f} px of "
                                 f"({centre_x:.1f}, {centre_y:.1f}); give a larger radius")
            new_x = np.average(x[inside], weights=weight[inside])
            new_y = np.average(y[inside], weights=weight[inside])
            moved = np.hypot(new_x - centre_x, new_y - centre_y)
            centre_x, centre_y = float(new_x), float(new_y)
            if moved < tolerance:
                break
        if circle <= radius:
            return centre_x, centre_y
        circle = max(circle * shrink, radius)          # step 3: shrink the circle


# --------------------------------------------------------------------------------------------------
# Comparing with the truth (the chapter's threshold slider)
# --------------------------------------------------------------------------------------------------
def detection_summary(image, threshold, truth_x, truth_y, truth_snr=None, tol=1.5, background=None,
                      min_snr=50.0, **find_options):
    """Count detections at a threshold and compare them with the true star positions.

    Parameters
    ----------
    image : array_like
        The calibrated frame.
    threshold : float
        Detection threshold in noise units (the slider's value).
    truth_x, truth_y : array_like
        True star positions in this frame (x column, y row), e.g. ``truth.positions(name)``.
    truth_snr : array_like, optional
        True signal-to-noise of each star; completeness is then counted among the stars with
        ``truth_snr > min_snr`` only, else among all the true stars in the frame.
    tol : float
        A detection within ``tol`` pixels of a true star (one-to-one, nearest first) is a match.
    background : (float, float), optional
        ``(level, noise)`` measured once with :func:`background`: a slider should pass it, since
        measuring it takes longer than finding the stars.
    min_snr : float
        See ``truth_snr``.
    **find_options
        Passed on to :func:`find_stars`.

    Returns
    -------
    dict
        ``count`` (detections), ``matched`` (detections matched to a true star), ``completeness``
        (fraction of the counted true stars that were found), ``n_truth`` (how many were counted),
        ``false`` (detections matching no true star) and ``false_fraction`` (of the detections; 0 when
        nothing was found), ``centroid_error`` (median distance in pixels between a counted true
        star and its detection, over the counted stars found; NaN if none), ``stars`` (the table from
        :func:`find_stars`), and one entry per true star: ``counted`` (it is in the frame, and bright
        enough if ``truth_snr`` is given), ``found`` (it matched a detection) and ``error`` (the
        distance to its detection, NaN if not found).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers import detect
    >>> yy, xx = np.mgrid[0:64, 0:64]
    >>> image = 100 + 500 * np.exp(-((xx - 40.3) ** 2 + (yy - 20.6) ** 2) / (2 * 1.6 ** 2))
    >>> image = image + np.random.default_rng(1).normal(0, 2, image.shape)
    >>> s = detect.detection_summary(image, 5.0, [40.3], [20.6])
    >>> s["count"], s["completeness"], s["false"], bool(s["centroid_error"] < 0.05)
    (1, 1.0, 0, True)
    """
    from .align import match    # imported here: helpers.align itself uses this module

    image = np.asarray(image, dtype=float)
    stars = find_stars(image, threshold=threshold, background=background, **find_options)
    truth_x, truth_y = np.asarray(truth_x, float), np.asarray(truth_y, float)
    ny, nx = image.shape
    inside = (truth_x >= 0) & (truth_x <= nx - 1) & (truth_y >= 0) & (truth_y <= ny - 1)
    counted = inside.copy()
    if truth_snr is not None:
        counted &= np.asarray(truth_snr, float) > min_snr
    detected = np.column_stack([stars["x"], stars["y"]])
    i_star, i_truth = match(detected, np.column_stack([truth_x, truth_y]), tol)
    found = np.zeros(len(truth_x), dtype=bool)
    found[i_truth] = True
    error = np.full(len(truth_x), np.nan)
    error[i_truth] = np.hypot(detected[i_star, 0] - truth_x[i_truth], detected[i_star, 1] - truth_y[i_truth])
    n_truth = int(counted.sum())
    count = len(stars)
    return {"count": count, "matched": int(len(i_star)),
            "completeness": float(found[counted].mean()) if n_truth else float("nan"),
            "n_truth": n_truth, "false": count - int(len(i_star)),
            "false_fraction": (count - len(i_star)) / count if count else 0.0,
            "centroid_error": float(np.median(error[counted & found])) if (counted & found).any() else float("nan"),
            "stars": stars, "counted": counted, "found": found, "error": error}
