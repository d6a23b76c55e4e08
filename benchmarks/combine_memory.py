"""Peak memory and time of a median combine of many large frames read from disk, block by block.

Usage (three runs; /usr/bin/time -v reports each run's peak resident memory, "Maximum resident set size")::

    .venv/bin/python benchmarks/combine_memory.py make /tmp/stack 25 4096      # writes 25 float32 frames
    /usr/bin/time -v .venv/bin/python benchmarks/combine_memory.py baseline /tmp/stack
    /usr/bin/time -v .venv/bin/python benchmarks/combine_memory.py files /tmp/stack

``baseline`` imports what ``files`` imports and reads one header, so the difference of the two peaks is what
the combination itself needs. ``files`` also checks a band of rows against the in-memory combination of
the same rows (the result must be identical). A benchmark, never a timed test.
"""
import sys
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from helpers import io, reduce


def make(folder, n, size):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        frame = (1000 + rng.normal(0, 10, (size, size))).astype(np.float32)
        frame[rng.integers(0, size, 200), rng.integers(0, size, 200)] += 30000     # cosmic rays
        fits.PrimaryHDU(frame).writeto(folder / f"frame-{i:03d}.fits", overwrite=True)
    print(f"wrote {n} frames of {size} x {size} to {folder}")


def main():
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "make":
        make(folder, int(sys.argv[3]), int(sys.argv[4]))
        return
    paths = sorted(folder.glob("frame-*.fits"))
    if mode == "baseline":
        with io.FrameRows(paths[0]) as rows:
            print("frames:", len(paths), "of", rows.shape)
        return
    started = time.perf_counter()
    combined = reduce.combine(paths, "median")          # file names: read block by block
    seconds = time.perf_counter() - started
    band = []
    for path in paths:
        with io.FrameRows(path) as rows:
            band.append(rows.read(1000, 1016))
    in_memory = reduce.combine(np.stack(band), "median")
    print(f"median of {len(paths)} frames of {combined.shape}: {seconds:.1f} s; identical to the in-memory "
          f"median of rows 1000-1015: {np.array_equal(combined[1000:1016], in_memory)}")


if __name__ == "__main__":
    main()
