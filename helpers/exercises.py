"""Checks for the chapters' exercises: each computes the right answer from the data and compares.

A check never raises on a wrong answer; it says "Correct." or gives a hint.

Examples
--------
>>> from helpers import exercises
>>> exercises.ex00_flats(..., ...)
'Replace ... with your answer and run the cell again.'
"""
from __future__ import annotations

from . import data, io
from .checks import check


def ex00_flats(n_flats, exptime, folder=None):
    """Chapter 00, exercise 1: the number of B flats and their exposure time (s)."""
    folder = folder or data.ensure()
    paths = io.select(io.collect(folder), kind="flat", filter="B")
    expected = [len(paths), io.read_frame(paths[0])[1]["EXPTIME"]]
    return check([n_flats, exptime], expected, tolerance=1e-6,
                 hint="select the flats with io.select(frames, kind='flat', filter='B') and read EXPTIME "
                      "from a header")


def ex00_pixel(value_adu, folder=None):
    """Chapter 00, exercise 2: the value of bias-1.fits at x = 10, y = 20."""
    folder = folder or data.ensure()
    image, _ = io.read_frame(folder / "bias-1.fits")
    return check(value_adu, image[20, 10], tolerance=1e-6, hint="the row (y) comes first: image[y, x]")


def ex01_b_sky(sky_adu, folder=None):
    """Chapter 01, exercise 1: the sky level (ADU) of the calibrated, combined B frames."""
    truth = data.truth(folder or data.ensure())
    expected = truth.bands["B"]["sky"] * 60.0 / truth.camera["gain"]
    return check(sky_adu, expected, tolerance=0.015, relative=True,
                 hint="calibrate with the B flat (not the V one) and the dark scaled to 60 s, then measure "
                      "with camera.sky_level(b_image, avoid=core)")


def ex01_mean_bias(n_pixels, folder=None):
    """Chapter 01, exercise 2: pixels of the mean-combined master bias more than 50 ADU above its median."""
    import numpy as np

    from . import reduce

    folder = folder or data.ensure()
    mean_bias = reduce.combine(io.read_stack(io.select(io.collect(folder), kind="bias")), method="mean")
    return check(n_pixels, int(np.sum(mean_bias > np.median(mean_bias) + 50)),
                 hint="combine the five bias frames with method='mean' and count pixels above median + 50")
