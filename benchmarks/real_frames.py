"""Accuracy on what real frames do: detection on a real deep field, offsets on frames with a camera's fixed pattern.

Run from the repository's root:  python benchmarks/real_frames.py

1. Detection on the ESO NTT deep field of ``tests/realdata/sep_eso_field`` (256 x 256, mostly faint galaxies)
   against its Source Extractor catalogue (53 clean objects, FLAGS = 0): the share found within 1 px of the
   catalogue's windowed positions (XWIN_IMAGE, the kind of centroid ``find_stars`` gives) and of its isophotal
   ones (X_IMAGE), the detections more than 2 px from every catalogued object, and the detections in the negative
   of the frame (the same noise, no objects: the false alarms that noise alone makes).
2. ``align.measure_offset`` on frames with bright edge columns, a warm column, a bright row and hot pixels that
   stay put while the sky moves (the cases of ``tests/test_align.py``): the error of each method, in pixels.

The tests assert these figures with a margin; this prints them.
"""
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from helpers import align, detect

ROOT = Path(__file__).resolve().parents[1]


def detection_table():
    folder = ROOT / "tests" / "realdata" / "sep_eso_field"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # the frame's non-standard ESO-LOG cards
        image = fits.getdata(folder / "image.fits").astype(float)
    catalogue = np.loadtxt(folder / "image.cat", comments="#")
    clean = catalogue[:, -1] == 0
    windowed, isophotal = catalogue[clean][:, 3:5] - 1, catalogue[clean][:, 1:3] - 1    # 1-based -> 0-based
    everything = catalogue[:, 1:3] - 1
    negative = 2 * np.median(image) - image
    n = int(clean.sum())
    print("| search | found | within 1 px of XWIN_IMAGE | of X_IMAGE | > 2 px from every catalogued object "
          "| in the negative frame |")
    print("|---|---|---|---|---|---|")
    for name, options in [("pixels, 5 sigma (the default)", dict(threshold=5.0)),
                          ("pixels, 3 sigma", dict(threshold=3.0)),
                          ("smoothed, 5 sigma", dict(threshold=5.0, smooth=True)),
                          ("smoothed, 4 sigma", dict(threshold=4.0, smooth=True)),
                          ("smoothed, 3 sigma", dict(threshold=3.0, smooth=True))]:
        stars = detect.find_stars(image, **options)
        xy = np.column_stack([stars["x"], stars["y"]])
        near_windowed = len(align.match(windowed, xy, 1.0)[0])
        near_isophotal = len(align.match(isophotal, xy, 1.0)[0])
        far = len(stars) - len(align.match(xy, everything, 2.0)[0])
        false_alarms = len(detect.find_stars(negative, fwhm=stars.meta["fwhm"], **options))
        print(f"| {name} | {len(stars)} | {near_windowed}/{n} = {near_windowed / n:.0%} | "
              f"{near_isophotal}/{n} = {near_isophotal / n:.0%} | {far} | {false_alarms} |")


def offset_table():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_align import _sky, _with_fixed_pattern      # the test's frames, not a copy of them
    rng = np.random.default_rng(11)
    x, y, flux = rng.uniform(-150, 450, 400), rng.uniform(-150, 450, 400), 10 ** rng.uniform(3.0, 5.0, 400)
    print("| the sky moved by (dx, dy) | error of xcorr (px) | error of stars (px) |")
    print("|---|---|---|")
    for dx, dy in [(59.5, 0.0), (-100.4, 90.3), (0.3, -0.2), (140.6, -120.2)]:
        reference = _with_fixed_pattern(_sky(x, y, flux, seed=1))
        image = _with_fixed_pattern(_sky(x + dx, y + dy, flux, seed=2))
        errors = []
        for method in ("xcorr", "stars"):
            found_x, found_y = align.measure_offset(reference, image, method=method)
            errors.append(np.hypot(found_x + dx, found_y + dy))
        print(f"| ({dx}, {dy}) | {errors[0]:.4f} | {errors[1]:.4f} |")


if __name__ == "__main__":
    detection_table()
    print()
    offset_table()
