"""Kernel time of one slider move in every viewer, against redrawing the whole figure as a PNG.

Run from the repository's root:  python benchmarks/sliders.py

For each viewer of the handbook (on the synthetic frames, 1024 x 1024), moves its first slider through a
few values and prints the median time of one move as the notebook runs it (the computation, the quick
redraw of :class:`helpers.widgets._Picture` and the JPEG), then the same moves with the redraw replaced by
the straightforward way (draw the whole figure again and encode a PNG, what ``display(fig)`` does), and
the ratio. Both are measured in the same run, on the same machine, one after the other.
"""
import time
from io import BytesIO

import numpy as np

from helpers import data, io, widgets


def full_png(picture):
    """The reference redraw: the whole figure drawn again and encoded as a PNG."""
    buffer = BytesIO()
    picture.fig.savefig(buffer, format="png")
    picture.widget.format = "png"
    picture.widget.value = buffer.getvalue()


def median_move(slider, values):
    return 1000 * widgets.update_time(slider, values)


def viewers():
    truth = data.truth()
    v1, b1 = truth.calibrated("m13-v-60s-1"), truth.calibrated("m13-b-60s-1")
    regions = io.read_regions(data.ensure() / "ds9.reg")
    x, y = truth.positions("m13-v-60s-1")
    yield "01 stretch (1024 x 1024)", lambda: widgets.stretch_viewer(v1), \
        lambda box: [(box.children[0].value[0] + k, box.children[0].value[1]) for k in range(1, 8)]
    yield "02 threshold (1024 x 1024)", lambda: widgets.threshold_viewer(v1, x, y), \
        lambda box: [5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5]
    cut = np.s_[300:600, 300:600]
    yield "04 shift (300 x 300 cut-out)", lambda: widgets.shift_viewer(v1[cut], b1[cut]), \
        lambda box: [0.1 * k for k in range(1, 8)]
    yield "05 PSF fit (star slider)", lambda: widgets.psf_viewer(v1, regions["x"], regions["y"], 1.5, 10.0,
                                                                 reject=5.0), \
        lambda box: list(range(1, 8))
    yield "06 aperture radius", lambda: widgets.aperture_viewer(v1, regions["x"][0], regions["y"][0], r=4.0,
                                                                r_in=20.0, r_out=30.0, gain=1.5, read_noise=10.0), \
        lambda box: [4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5]
    m51 = data.ensure() / "m51"
    bands = [io.read_frame(m51 / f"m51-{band}-combined.fits")[0] for band in "rvb"]
    yield "07 composite softening (2 x 2 binned)", \
        lambda: widgets.composite_viewer(*bands, [(0.0, 500.0)] * 3, 20.0, bin=2), \
        lambda box: [10.0 * 1.2 ** k for k in range(1, 8)]


def main():
    print(f"{'viewer':40s} {'quick (ms)':>11s} {'full PNG (ms)':>14s} {'ratio':>6s}")
    for name, make, values in viewers():
        box = make()
        slider = box.children[0] if hasattr(box.children[0], "min") else box.softening
        quick = median_move(slider, values(box))
        box = make()
        box.picture.show = lambda picture=box.picture: full_png(picture)
        box.picture.refresh = box.picture.show
        slider = box.children[0] if hasattr(box.children[0], "min") else box.softening
        full = median_move(slider, values(box))
        print(f"{name:40s} {quick:11.1f} {full:14.1f} {full / quick:6.1f}")


if __name__ == "__main__":
    main()
