"""Checks for the chapters' exercises: each computes the right answer from the data and compares.

A check never raises on a wrong answer; it says "Correct." or gives a hint. The checks of chapters 00 and 01
take the chapter's ``folder``: for a folder without a ground truth (your own frames) they return
:data:`NEEDS_TRUTH` instead of raising.

Examples
--------
>>> from helpers import exercises
>>> exercises.ex00_flats(..., ...)
'Replace ... with your answer and run the cell again.'
"""
from __future__ import annotations

from pathlib import Path

from . import data, io
from .checks import check

#: What a check says for a folder without a ground truth (your own frames): it has nothing to compare with.
NEEDS_TRUTH = ("This check needs the synthetic set's ground truth, and this folder has none: there is nothing "
               "to compare your answer with. Unset CCD_HANDBOOK_FRAMES to try the exercise on the synthetic set.")


def _without_truth(folder):
    """True when a folder was given and it has no ground truth (the check cannot be made)."""
    return folder is not None and not data.has_truth(folder)


def ex00_flats(n_flats, exptime, folder=None):
    """Chapter 00, exercise 1: the number of B flats and their exposure time (s)."""
    if _without_truth(folder):
        return NEEDS_TRUTH
    folder = folder or data.ensure()
    paths = io.select(io.collect(folder), kind="flat", filter="B")
    expected = [len(paths), io.read_frame(paths[0])[1]["EXPTIME"]]
    return check([n_flats, exptime], expected, tolerance=1e-6,
                 hint="select the flats with io.select(frames, kind='flat', filter='B') and read EXPTIME "
                      "from a header")


def ex00_pixel(value_adu, value_electrons, folder=None):
    """Chapter 00, exercise 2: the value of bias-1.fits at x = 10, y = 20, in ADU and in electrons (ADU x GAIN)."""
    if _without_truth(folder):
        return NEEDS_TRUTH
    folder = Path(folder) if folder is not None else data.ensure()
    image, header = io.read_frame(folder / "bias-1.fits")
    adu = image[20, 10]
    return check([value_adu, value_electrons], [adu, adu * header["GAIN"]], tolerance=1e-6, relative=True,
                 hint="the row (y) comes first: image[y, x]; electrons = ADU x the header's GAIN (e-/ADU)")


def ex01_b_sky(sky_adu, folder=None):
    """Chapter 01, exercise 1: the sky level (ADU) of the calibrated, combined B frames."""
    if _without_truth(folder):
        return NEEDS_TRUTH
    truth = data.truth(folder or data.ensure())
    expected = truth.bands["B"]["sky"] * 60.0 / truth.camera["gain"]
    return check(sky_adu, expected, tolerance=0.015, relative=True,
                 hint="calibrate with the B flat (not the V one) and the dark scaled to 60 s, then measure "
                      "with camera.sky_level(b_image, avoid=core)")


def ex01_mean_bias(n_pixels, folder=None):
    """Chapter 01, exercise 2: pixels of the mean-combined master bias more than 50 ADU above its median."""
    if _without_truth(folder):
        return NEEDS_TRUTH
    import numpy as np

    from . import reduce

    folder = folder or data.ensure()
    mean_bias = reduce.combine(io.read_stack(io.select(io.collect(folder), kind="bias")), method="mean")
    return check(n_pixels, int(np.sum(mean_bias > np.median(mean_bias) + 50)),
                 hint="combine the five bias frames with method='mean' and count pixels above median + 50")


def ex01_master_noise(ratio, folder=None):
    """Chapter 01, exercise 3: the noise of bias-1 minus the mean master bias, divided by the read noise.

    The noise is the sigma-clipped standard deviation of ``bias-1.fits - mean master`` times the gain; the read
    noise is :func:`helpers.camera.read_noise` of the first two bias frames. The master holds bias-1 itself, so
    the ratio is about sqrt(1 - 1/5) = 0.89, not 1.
    """
    if _without_truth(folder):
        return NEEDS_TRUTH
    from astropy.stats import sigma_clipped_stats

    from . import camera, reduce

    folder = folder or data.ensure()
    paths = io.select(io.collect(folder), kind="bias")
    biases = io.read_stack(paths)
    one, header = io.read_frame(folder / "bias-1.fits")
    left = sigma_clipped_stats(one - reduce.combine(biases, method="mean"))[2] * header["GAIN"]
    return check(ratio, left / camera.read_noise(biases[0], biases[1], header["GAIN"]), tolerance=0.01,
                 hint="noise = sigma_clipped_stats(bias_1 - mean_bias)[2] * gain; divide it by "
                      "camera.read_noise(biases[0], biases[1], gain)")


def ex03_single_frames(n_pairs, folder=None):
    """Chapter 03, exercise 1: the number of stars found (find_stars defaults) in both single frames
    m13-v-60s-1 and m13-b-60s-1, calibrated, and paired by align.match with tol = 2 px."""
    if n_pairs is Ellipsis:
        return check(n_pairs, 0)
    import numpy as np

    from . import align, detect, reduce

    folder = folder or data.ensure()
    frames = io.collect(folder)
    found = [detect.find_stars(reduce.reduce_band(frames, band).frames[0]) for band in ("V", "B")]
    xy_v, xy_b = (np.column_stack([stars["x"], stars["y"]]) for stars in found)
    return check(n_pairs, len(align.match(xy_v, xy_b, tol=2.0)[0]), tolerance=2,
                 hint="find the stars in v.frames[0] and b.frames[0] (not v.image, b.image) with the default "
                      "threshold, then count the pairs of align.match(xy(one_v), xy(one_b), tol=2.0)")


def ex03_big_offset(missed_mag, folder=None):
    """Chapter 03, exercise 2: how much fainter (mag, median over the bright unsaturated stars) the B median
    image reads with a 5 px circle_sum at B's own positions moved by +3 px in x than at those positions."""
    if missed_mag is Ellipsis:
        return check(missed_mag, 0.0)
    import numpy as np

    from . import align, detect, photometry, reduce

    folder = folder or data.ensure()
    frames, truth = io.collect(folder), data.truth(folder)
    v, b = reduce.reduce_band(frames, "V"), reduce.reduce_band(frames, "B")
    stars_v, stars_b = detect.find_stars(v.image), detect.find_stars(b.image)

    def xy(stars):
        return np.column_stack([stars["x"], stars["y"]])

    i_v, i_b = align.match(xy(stars_v), xy(stars_b), tol=2.0)
    pair_v, pair_b = stars_v[i_v], stars_b[i_b]
    i_pair, i_true = align.match(xy(pair_v), np.column_stack(truth.positions(v.names[0])), tol=1.5)
    pair_v, pair_b, known = pair_v[i_pair], pair_b[i_pair], truth.stars[i_true]
    bright = (~known["saturated_v"] & ~known["saturated_b"] & (known["snr_v"] > 100) & (known["snr_b"] > 100)
              & ~pair_v["edge"] & ~pair_b["edge"])
    level = stars_b.meta["level"]
    moved = photometry.circle_sum(b.image, pair_b["x"] + 3.0, pair_b["y"], 5.0, level)
    own = photometry.circle_sum(b.image, pair_b["x"], pair_b["y"], 5.0, level)
    missed = photometry.instrumental_magnitude(moved) - photometry.instrumental_magnitude(own)
    return check(missed_mag, float(np.median(missed[bright])), tolerance=0.01,
                 hint="median over the bright stars of instrumental_magnitude(moved) - "
                      "instrumental_magnitude(at own positions); fainter is a positive number of magnitudes")


def _ex02_frame(folder=None):
    """Chapter 02: the calibrated frame m13-v-60s-1, its true star positions and SNR, and its background."""
    import numpy as np

    from . import detect, reduce

    folder = folder or data.ensure()
    truth = data.truth(folder)
    image = reduce.reduce_band(io.collect(folder), "V").frames[0]
    x, y = truth.positions("m13-v-60s-1")
    return image, x, y, np.asarray(truth.stars["snr_v"]), detect.background(image)


def ex02_threshold(threshold, folder=None):
    """Chapter 02, exercise 1: the lowest threshold (2, 2.5, 3, ... noise) with at most 2 % false detections.

    >>> ex02_threshold(...)
    'Replace ... with your answer and run the cell again.'
    """
    import numpy as np

    from . import detect

    if threshold is Ellipsis:
        return check(threshold, 0.0)
    image, x, y, snr, level_noise = _ex02_frame(folder)
    for trial in np.arange(2.0, 50.01, 0.5):
        if detect.detection_summary(image, trial, x, y, snr, background=level_noise)["false_fraction"] <= 0.02:
            break
    return check(threshold, trial, tolerance=0.01,
                 hint="try the thresholds 2.0, 2.5, 3.0, ... in turn and read the false percentage of each "
                      "(widgets.detection_report prints it); the first one at 2.0 % or below is the answer")


def ex02_classic_completeness(fraction, folder=None):
    """Chapter 02, exercise 2: completeness (SNR > 50) of find_stars at the classic's mean + 2 std threshold.

    >>> ex02_classic_completeness(...)
    'Replace ... with your answer and run the cell again.'
    """
    from . import detect

    if fraction is Ellipsis:
        return check(fraction, 0.0)
    image, x, y, snr, (level, noise) = _ex02_frame(folder)
    sigma = (detect.classic_threshold(image) - level) / noise
    expected = detect.detection_summary(image, sigma, x, y, snr, background=(level, noise))["completeness"]
    if isinstance(fraction, (int, float)) and fraction > 1:
        return check(fraction, expected, hint="give a fraction between 0 and 1, not a percentage")
    return check(fraction, expected, tolerance=0.01,
                 hint="the threshold in noise units is (detect.classic_threshold(image) - level) / noise; "
                      "pass it to detect.detection_summary with truth_snr=snr and read 'completeness'")


def ex05_b_fwhm(median_fwhm, folder=None):
    """Chapter 05, exercise 1: the median Moffat FWHM (px) of the twelve ds9.reg stars in the calibrated B
    frame m13-b-60s-1 (psf.fit_star, 21 px box, reject=5.0, gain and read noise from its header).

    >>> ex05_b_fwhm(...)
    'Replace ... with your answer and run the cell again.'
    """
    if median_fwhm is Ellipsis:
        return check(median_fwhm, 0.0)
    import numpy as np

    from . import psf, reduce

    folder = folder or data.ensure()
    b = reduce.reduce_band(io.collect(folder), "B")
    gain, read_noise = float(b.header["GAIN"]), float(b.header["RDNOISE"])
    regions = io.read_regions(folder / "ds9.reg")
    fwhm = [psf.fit_star(b.frames[0], x, y, "moffat", 21, gain, read_noise, reject=5.0).fwhm
            for x, y in zip(regions["x"], regions["y"])]
    return check(median_fwhm, float(np.median(fwhm)), tolerance=0.02,
                 hint="fit each ds9.reg star in reduce.reduce_band(frames, 'B').frames[0] with psf.fit_star(..., "
                      "'moffat', 21, gain, read_noise, reject=5.0), gain and read noise from the B header, and take "
                      "the median of the fits' .fwhm (in V it is about 3.9 px)")


def ex05_corner_growth(percent, folder=None):
    """Chapter 05, exercise 2: how many per cent wider the PSF is in a corner of the frame than at its centre
    (the truth's answer; a straight-line fit of the measured FWHM against distance squared finds it to within
    about half a per cent).

    >>> ex05_corner_growth(...)
    'Replace ... with your answer and run the cell again.'
    """
    if percent is Ellipsis:
        return check(percent, 0.0)
    truth = data.truth(folder or data.ensure())
    centre = (truth.size - 1) / 2.0
    expected = 100.0 * (truth.fwhm(0.0, 0.0, "V") / truth.fwhm(centre, centre, "V") - 1.0)
    if 0 < percent < 1:
        return check(percent, expected, hint="give a percentage (e.g. 5 for 5 %), not a fraction")
    return check(percent, expected, tolerance=1.0,
                 hint="slope, intercept = np.polyfit(distance**2, field['fwhm'], 1); the line at the corner is "
                      "slope * 2 * centre**2 + intercept, at the centre it is the intercept; give "
                      "100 * (corner / centre - 1)")


def ex04_b3_offset(dx, dy, folder=None):
    """Chapter 04, exercise 1: the offset (dx, dy) that moves m13-b-60s-3 onto m13-v-60s-1, to 0.05 px."""
    truth = data.truth(folder or data.ensure())
    return check([dx, dy], truth.offset("m13-v-60s-1", "m13-b-60s-3"), tolerance=0.05,
                 hint="the sign convention: shift(image, dx, dy) lands on the reference, so B's stars, which "
                      "sit right of and below V's, need dx < 0 and dy > 0; check with "
                      "align.measure_offset(v.frames[0], b.frames[2])")


def ex04_edge_nan(n_pixels):
    """Chapter 04, exercise 2: NaN pixels left by align.shift(frame, 2.5, -1.0) in a 1024 x 1024 frame."""
    import numpy as np

    from . import align

    expected = int(np.isnan(align.shift(np.zeros((1024, 1024)), 2.5, -1.0)).sum())
    return check(n_pixels, expected,
                 hint="a pixel keeps its value only if the point it is read from, (x - dx, y - dy), lies inside "
                      "the frame and, along an axis with a fractional shift, at least 3 px from its edge; count "
                      "the NaN columns and rows, and a pixel in both only once")


def _ex07_bands(folder=None, edge=8):
    """Chapter 07: the galaxy's R, V, B frames aligned on V (helpers.align) with ``edge`` px cut off each side."""
    from . import align

    folder = folder or data.ensure()
    frames = {band: io.read_frame(folder / "m51" / f"m51-{band}-combined.fits")[0] for band in "rvb"}
    aligned = [align.shift(frames[band], *align.measure_offset(frames["v"], frames[band])) if band != "v"
               else frames["v"] for band in "rvb"]
    return [band[edge:-edge, edge:-edge] for band in aligned]


def ex07_white(percent_white, folder=None):
    """Chapter 07, exercise 1: the percentage of pixels that are white (all three bands at 1) in the classic
    composite: limits mean + 0.75 std and mean + 5 std of each band, per-band asinh with softening 2 ADU.

    >>> ex07_white(...)
    'Replace ... with your answer and run the cell again.'
    """
    import numpy as np

    from . import color

    if percent_white is Ellipsis:
        return check(percent_white, 0.0)
    bands = _ex07_bands(folder)
    limits = [color.band_limits(band, k_low=0.75, k_high=5.0) for band in bands]
    classic = color.stack_bands(*bands, limits, softening=2.0)
    expected = 100 * float(np.mean((classic >= 1.0).all(axis=2)))
    if isinstance(percent_white, (int, float)) and 0 < percent_white < expected / 50:
        return check(percent_white, expected, hint="give a percentage (0 to 100), not a fraction")
    return check(percent_white, expected, tolerance=0.01,
                 hint="make classic = color.stack_bands(r, g, b, classic_limits, softening=2.0) and take "
                      "100 * np.mean((classic >= 1).all(axis=2)); or read '% white' from "
                      "widgets.composite_report(r, g, b, classic_limits, 2.0, keep_colours=False)")


def ex07_knot_colour(blue_over_red, folder=None):
    """Chapter 07, exercise 2: blue / red of the arm knot (5 x 5 box at x = 572, y = 425 of the cut frames) in
    a Lupton composite with stretch = 2000 and Q = 3, the sky (detect.background) subtracted from each band.

    >>> ex07_knot_colour(...)
    'Replace ... with your answer and run the cell again.'
    """
    from . import color, detect

    if blue_over_red is Ellipsis:
        return check(blue_over_red, 0.0)
    bands = [band - detect.background(band)[0] for band in _ex07_bands(folder)]
    rgb = color.rgb_composite(*bands, stretch=2000.0, Q=3.0)
    knot = rgb[425 - 2:425 + 3, 572 - 2:572 + 3].mean(axis=(0, 1))
    return check(blue_over_red, float(knot[2] / knot[0]), tolerance=0.02,
                 hint="make the composite with color.rgb_composite(r - sky_r, g - sky_g, b - sky_b, stretch=2000, "
                      "Q=3), then take box_mean(composite, 572, 425) and divide its blue (index 2) by its red "
                      "(index 0)")


def _ex06_faint_star(folder=None):
    """Chapter 06: the faint isolated star of the aperture slider, found exactly as the chapter finds it.

    Returns the reduced V and B bands, the star's (x, y) in V and in B, and the median's effective gain and
    read noise."""
    import numpy as np
    from scipy.spatial import cKDTree

    from . import align, detect, photometry, reduce

    folder = folder or data.ensure()
    frames, truth = io.collect(folder), data.truth(folder)
    v = reduce.reduce_band(frames, "V")
    b = reduce.reduce_band(frames, "B", masters=v)

    def xy(stars):
        return np.column_stack([stars["x"], stars["y"]])

    stars_v, stars_b = detect.find_stars(v.image), detect.find_stars(b.image)
    i_v, i_b = align.match(xy(stars_v), xy(stars_b), tol=2.0)
    i_pair, i_true = align.match(xy(stars_v[i_v]), np.column_stack(truth.positions(v.names[0])), tol=1.5)
    pair_v, pair_b, known = stars_v[i_v][i_pair], stars_b[i_b][i_pair], truth.stars[i_true]
    nearest = cKDTree(xy(stars_v)).query(xy(pair_v), k=2)[0][:, 1]
    outskirts = np.hypot(pair_v["x"] - truth.cluster["centre_x"], pair_v["y"] - truth.cluster["centre_y"]) > 250
    star = np.flatnonzero(outskirts & (nearest > 30) & (known["V"] > 19.4) & (known["V"] < 19.6))[0]
    gain, read_noise = photometry.effective_gain(float(v.header["GAIN"]), float(v.header["RDNOISE"]),
                                                 len(v.names), method="median")
    return v, b, (pair_v["x"][star], pair_v["y"][star]), (pair_b["x"][star], pair_b["y"][star]), gain, read_noise


def ex06_best_radius(radius, folder=None):
    """Chapter 06, exercise 1: the aperture radius (1.0, 1.5, ... 12.0 px; sky annulus 20-30 px) that gives the
    slider's faint star its highest signal-to-noise ratio in the B median image.

    >>> ex06_best_radius(...)
    'Replace ... with your answer and run the cell again.'
    """
    if radius is Ellipsis:
        return check(radius, 0.0)
    import numpy as np

    from . import photometry

    _, b, _, (bx, by), gain, read_noise = _ex06_faint_star(folder)
    radii = np.arange(1.0, 12.01, 0.5)
    snr = [photometry.aperture_photometry(b.image, bx, by, r, 20.0, 30.0, gain=gain, read_noise=read_noise)["snr"][0]
           for r in radii]
    return check(radius, float(radii[int(np.argmax(snr))]), tolerance=0.5,
                 hint="measure the star at its B position, pair_b['x'][star], pair_b['y'][star], in b.image with "
                      "photometry.aperture_photometry(..., r, 20.0, 30.0, gain=G, read_noise=RN) for every r in "
                      "radii, and take the radius of the largest 'snr'")


def ex06_galaxy_fraction(fraction, folder=None):
    """Chapter 06, exercise 2: the fraction of the galaxy's V light within 185 px of its centre that lies
    within 35 px (checked against the truth's noise-free galaxy; sky and foreground stars allow 0.01).

    >>> ex06_galaxy_fraction(...)
    'Replace ... with your answer and run the cell again.'
    """
    if fraction is Ellipsis:
        return check(fraction, 0.0)
    from . import photometry

    folder = folder or data.ensure()
    regions = io.read_regions(folder / "m51" / "annulus.reg")
    model, x, y = data.truth(folder).galaxy_model("V"), regions["x"][0], regions["y"][0]
    expected = photometry.aperture_sum(model, x, y, 35.0)[0] / photometry.aperture_sum(model, x, y, 185.0)[0]
    if isinstance(fraction, (int, float)) and 1 < fraction <= 100:
        return check(fraction, float(expected), hint="give a fraction between 0 and 1, not a percentage")
    return check(fraction, float(expected), tolerance=0.01,
                 hint="subtract the sky first (light = galaxy - corners), then divide "
                      "photometry.aperture_sum(light, xc, yc, 35.0)[0] by the same at 185.0")


def _ex08_results(folder):
    """(offsets, stars) that chapter 08 wrote for ``folder``, or None if it has not been run on it."""
    from astropy.table import Table

    out = data.derived_folder(folder) / "night"
    if not (out / "offsets.ecsv").is_file():
        return None
    stars = {Table.read(p).meta["filter"]: Table.read(p) for p in sorted(out.glob("stars-*.ecsv"))}
    return Table.read(out / "offsets.ecsv"), stars


def _ex08_truth(folder):
    from . import zoo

    if zoo.has_truth(folder):
        return zoo.truth(folder)
    return data.truth(folder) if data.has_truth(folder) else None


def ex08_largest_offset(offset_px, folder):
    """Chapter 08, exercise 1: the largest distance (pixels) between where a frame and the reference point."""
    import numpy as np

    results = _ex08_results(folder)
    if results is None:
        return "Run the chapter's cells first: night.write saves the offsets this check reads."
    offsets, _ = results
    truth = _ex08_truth(folder)
    reference = offsets.meta["reference"]
    if truth is None:
        expected = float(np.nanmax(np.hypot(offsets["dx"], offsets["dy"])))
        note = " (checked against this chapter's own offsets: this folder has no ground truth)"
    else:
        expected = max(float(np.hypot(*truth.offset(reference, name))) for name in offsets["name"])
        note = ""
    return check(offset_px, expected, tolerance=0.05,
                 hint="the distance of each frame is np.hypot(dx, dy); take the largest over the offsets "
                      "table") + note


def ex08_snr_20(mag, filter_name, folder):
    """Chapter 08, exercise 2: the instrumental magnitude at which stars of a stack reach SNR 20."""
    import numpy as np

    results = _ex08_results(folder)
    if results is None:
        return "Run the chapter's cells first: night.write saves the star tables this check reads."
    _, stars = results
    if filter_name not in stars:
        return f"There is no star table for the filter {filter_name!r}; the filters are {sorted(stars)}."
    table = stars[filter_name]
    log_snr = np.log10(np.clip(np.asarray(table["snr"], float), 1e-3, None))
    near = np.abs(log_snr - np.log10(20.0)) < 0.15                           # SNR 14 to 28
    if near.sum() < 3:
        return ("Too few stars have an SNR near 20 in this stack to check an answer; lower the detection "
                "threshold or try the other filter.")
    slope, intercept = np.polyfit(log_snr[near], np.asarray(table["mag"])[near], 1)
    return check(mag, slope * np.log10(20.0) + intercept, tolerance=0.15,
                 hint="plot mag against log10(snr) for the stars of that filter and read the magnitude where "
                      "snr = 20, or fit a line to the stars with SNR between 14 and 28")
