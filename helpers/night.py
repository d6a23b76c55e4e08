"""A whole night, from a folder of raw frames to a colour-magnitude diagram (chapter 08, "Your own frames").

The earlier chapters teach each step on the synthetic set, where every kind of frame is there and every
header says the same thing. A real night is never like that: there are no darks, or no bias frames, or the
darks have another exposure time; the bias sits in an overscan strip; the filters are called
'JohnsonV' or 'r (530-700)'; the telescope moved tens of pixels between two sets of frames. This module
runs the same steps on whatever a folder holds, and for each step it cannot do the textbook way it says,
in one line, what it did instead and what that costs. Nothing here is new method: it is chapter 01's
calibration, chapter 02's stars, chapter 04's alignment and chapter 06's aperture photometry, chosen
frame by frame.

The steps, as chapter 08 calls them::

    frames = io.collect(folder)
    cal = night.calibration(frames)             # masters; cal.said: what was done, one line each
    science = night.calibrate_science(frames, cal)
    offsets = night.measure_offsets(science)    # every frame onto one reference frame
    stacks = night.stack(science, offsets)      # one combined frame per filter, in ADU/s
    gain, read_noise, said = night.camera_noise(frames, cal)
    stars = night.measure_stars(stacks, gain, read_noise)
    colours = night.colour_table(stars)         # when there are two filters
    night.write(folder, stacks, stars, offsets, colours)

or all at once: ``result = night.run(folder)``.

Units: a calibrated science frame is divided by its exposure time (ADU/s), so frames of different
exposure times in one filter can be combined, and an instrumental magnitude is ``-2.5 log10(ADU/s)``.

Examples
--------
>>> import tempfile
>>> from helpers import night, zoo
>>> root = zoo.make(tempfile.mkdtemp(), seed=1, size=128)          # doctest: +SKIP
>>> result = night.run(root / "nina-binned")                      # doctest: +SKIP
>>> print("\\n".join(result.said))                                  # doctest: +SKIP
"""
from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table
from scipy import ndimage
from scipy.spatial import cKDTree

from . import align, camera, data, detect, io, photometry, reduce

__all__ = ["load", "Calibration", "calibration", "Frame", "calibrate_science", "star_positions", "reference_frame", "measure_offsets", "Stack", "stack",
           "camera_noise", "star_table", "measure_stars", "filter_order", "colour_table", "write", "Night",
           "run", "saturation_level", "compare_with_truth"]



# --------------------------------------------------------------------------------------------------
# Reading a raw frame
# --------------------------------------------------------------------------------------------------
def load(path):
    """Read a raw frame (float64, ADU); when its header has BIASSEC and TRIMSEC, subtract the overscan and trim.

    A camera with an overscan strip measures its bias level in every frame, row by row, while it is read
    out (:func:`helpers.reduce.overscan_and_trim`); the strip is cut away, so every frame of the night
    ends up the size of the image area.

    Returns
    -------
    image : 2-D float64 array
    header : astropy.io.fits.Header
    """
    image, header = io.read_frame(path)
    return (reduce.overscan_and_trim(image, header) if reduce.has_overscan(header) else image), header


def _median(paths, overscan):
    """The median of raw frames: read block by block from disk (any number of frames of any size), or, when
    each frame needs its overscan subtracted and trimmed first, read whole."""
    if overscan:
        return reduce.combine(reduce.read_raw(paths), "median")
    return reduce.combine_files(paths, "median")


def saturation_level(header):
    """The raw value (ADU) at which a frame's pixels saturate: SATURATE, else what 16-bit integers can hold.

    A camera's 16-bit converter gives at most 65535 ADU: a star brighter than that is cut flat, and its flux
    is wrong however it is measured. Without SATURATE (or SATLEVEL) in the header, the limit is the top of
    the integers the file can store, and never above 65535 (a file written with BSCALE = 2 could store more,
    but its camera could not measure it). Frames stored as floating point give no limit (None) unless the
    header has SATURATE.

    Examples
    --------
    >>> saturation_level({"BITPIX": 16, "BZERO": 32768}), saturation_level({"BITPIX": -32})
    (65535.0, None)
    """
    for keyword in ("SATURATE", "SATLEVEL"):
        try:
            return float(header[keyword])
        except (KeyError, TypeError, ValueError):
            pass
    bitpix = int(header.get("BITPIX", -32))
    if bitpix < 0:
        return None
    top = float(header.get("BZERO", 0)) + float(header.get("BSCALE", 1)) * (2 ** (bitpix - 1) - 1)
    return min(top, 65535.0)


def _usable(frames, kind, filter=None):
    """collect rows of one kind (and filter) without a problem."""
    keep = [p == "" and k == kind and (filter is None or f == filter)
            for p, k, f in zip(frames["problem"], frames["kind"], frames["filter"])]
    return frames[np.array(keep, dtype=bool)]


def _seconds(t):
    return f"{t:g} s"


# --------------------------------------------------------------------------------------------------
# Masters
# --------------------------------------------------------------------------------------------------
@dataclass
class Calibration:
    """The master frames of a night and what was decided on the way (:func:`calibration`).

    Attributes
    ----------
    bias : 2-D array or None
        Master bias (ADU), or the bias estimated from darks of two exposure times; None if neither.
    darks : dict
        Exposure time (s) -> master dark with the bias removed (ADU in that time).
    darks_with_bias : dict
        Exposure time -> combined raw darks, bias included, when there is no bias to remove from them:
        subtracted whole from frames of exactly that exposure time, never scaled.
    flats : dict
        Filter name -> master flat (median 1).
    overscan : bool
        The frames' overscan strip was subtracted and trimmed away (:func:`load`).
    shape, raw_shape : (int, int)
        (ny, nx) of the science frames after and before trimming; frames of another raw shape are left out.
    said : list of str
        One line per decision, for the reader.
    """

    bias: np.ndarray | None = None
    darks: dict = field(default_factory=dict)
    darks_with_bias: dict = field(default_factory=dict)
    flats: dict = field(default_factory=dict)
    overscan: bool = False
    shape: tuple = (0, 0)
    raw_shape: tuple = (0, 0)
    said: list = field(default_factory=list)

    def offset(self, exptime):
        """What to subtract from a raw frame of ``exptime`` seconds before the flat: ``(value, how)``.

        ``value`` is an image (or 0.0) and ``how`` a few words; ``value`` is None when the bias cannot be
        removed from such a frame (no bias frames, no overscan and no darks of exactly that time).
        """
        same = _same_time(exptime, self.darks_with_bias)
        if same is not None:
            return self.darks_with_bias[same], f"the {_seconds(same)} dark (bias included)"
        bias = 0.0 if self.bias is None else self.bias
        what = "overscan" if self.overscan else ""
        if self.bias is not None:
            what = (what + " and " if what else "") + "bias"
        if self.bias is None and not self.overscan:
            return None, "nothing: the bias cannot be removed"
        if not self.darks:
            return bias, what
        dark_time = _same_time(exptime, self.darks)
        dark_time = max(self.darks) if dark_time is None else dark_time
        scale = exptime / dark_time
        how = f"{what} and the {_seconds(dark_time)} dark" + ("" if scale == 1 else f" scaled by {scale:.3g}")
        return bias + self.darks[dark_time] * scale, how


def _same_time(exptime, by_time):
    """The key of ``by_time`` that is the same exposure time as ``exptime`` (:func:`helpers.io.same_exptime`)."""
    return next((t for t in by_time if io.same_exptime(t, exptime)), None)


def _same_shape(rows, raw_shape, said, what):
    """Paths of ``rows`` whose raw frames are ``raw_shape`` (ny, nx) like the science frames; the others are
    named in ``said`` (a subframe or another binning cannot be combined with them)."""
    same = (np.asarray(rows["ny"]) == raw_shape[0]) & (np.asarray(rows["nx"]) == raw_shape[1])
    dropped = [Path(p).name for p in rows["path"][~same]]
    if dropped:
        said.append(f"{what}: {len(dropped)} frame(s) of another size than the science frames "
                    f"({raw_shape[1]} x {raw_shape[0]}) left out: {', '.join(dropped[:3])}")
    return [str(p) for p in rows["path"][same]]


def calibration(frames):
    """Make the masters of a night from a :func:`helpers.io.collect` table, saying what was done.

    - Overscan: when the science frames' headers have BIASSEC and TRIMSEC, every frame is
      overscan-subtracted and trimmed as it is read (:func:`load`).
    - Bias: the median of the bias frames. Without bias frames the darks still hold the bias: darks of
      exactly a frame's exposure time are subtracted whole (bias and dark current in one step, the
      classic's ``science - dark``, right when the times match); with darks of two exposure times the
      bias is where the dark signal extrapolates to zero seconds, ``D1 - (D2 - D1) t1 / (t2 - t1)``, and
      the darks become bias-free and can be scaled. A dark with its bias is never scaled: that would
      scale the bias too (a 60 s dark scaled to 2 s would remove 1/30 of the bias and leave the rest).
    - Darks: the median of each exposure time, bias removed; for a frame of another time the longest
      dark is scaled (dark current grows in proportion to time).
    - Flats: one master per filter from the flats of its most common exposure time, with what
      :meth:`Calibration.offset` gives removed, each normalised by its median (chapter 01).

    Returns
    -------
    Calibration
    """
    science = _usable(frames, "science")
    if len(science) == 0:
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(Counter(str(k) for k in frames["kind"]).items()))
        unusable = [str(p) for p, k in zip(frames["problem"], frames["kind"]) if k == "science" and p]
        why = (f"the {len(unusable)} science frame(s) all have a problem (first: {unusable[0]}); see the "
               "'problem' column of io.collect(folder)" if unusable else
               "a night needs at least one science (light, object) frame")
        raise ValueError(f"no usable science frames in this folder: io.collect found {found}; {why}.")
    cal = Calibration()
    cal.raw_shape = Counter(zip(science["ny"], science["nx"])).most_common(1)[0][0]
    first = np.flatnonzero((science["ny"] == cal.raw_shape[0]) & (science["nx"] == cal.raw_shape[1]))[0]
    first_image, first_header = load(science["path"][first])
    cal.shape = first_image.shape
    cal.overscan = reduce.has_overscan(first_header)
    if cal.overscan:
        cal.said.append(f"overscan: BIASSEC {first_header['BIASSEC']} subtracted row by row and TRIMSEC "
                        f"{first_header['TRIMSEC']} kept, in every frame")
    _make_bias(cal, frames)
    _make_darks(cal, frames)
    _make_flats(cal, frames)
    return cal


def _make_bias(cal, frames):
    biases = _same_shape(_usable(frames, "bias"), cal.raw_shape, cal.said, "bias")
    if biases:
        cal.bias = _median(biases, cal.overscan)
        cal.said.append(f"bias: median of {len(biases)} frames" + (
            " (after the overscan: what is left is the bias pattern across the chip)" if cal.overscan else ""))
    elif cal.overscan:
        cal.said.append("bias: no bias frames; the overscan gives the level, the pattern across the chip stays in "
                        "(a few ADU on most CCDs)")


def _make_darks(cal, frames):
    said = cal.said
    dark_rows = _usable(frames, "dark")
    combined = {}
    for t in sorted({float(t) for t in dark_rows["exptime"]}):
        paths = _same_shape(dark_rows[io.same_exptime(dark_rows["exptime"], t)], cal.raw_shape, said,
                            f"darks {_seconds(t)}")
        if paths:
            combined[t] = _median(paths, cal.overscan)
            said.append(f"darks {_seconds(t)}: median of {len(paths)} frames")
    if not combined:
        if cal.bias is None and not cal.overscan:
            said.append("bias: no bias frames, no overscan and no darks: the bias stays in the frames, as part of "
                        "the sky (the photometry's sky annulus removes it with the sky)")
        said.append("darks: none; the dark current stays in the frames (it adds to the sky, which the "
                    "photometry subtracts; hot pixels stay)")
    elif cal.bias is not None or cal.overscan:
        cal.darks = {t: d - (0.0 if cal.bias is None else cal.bias) for t, d in combined.items()}
    elif len(combined) >= 2:      # no bias: it is where the dark signal extrapolates to 0 s
        cal.darks_with_bias = dict(combined)
        t1, t2 = min(combined), max(combined)
        cal.bias = combined[t1] - (combined[t2] - combined[t1]) * t1 / (t2 - t1)
        cal.darks = {t: d - cal.bias for t, d in combined.items()}
        said.append(f"bias: no bias frames; estimated from the darks of {_seconds(t1)} and {_seconds(t2)} "
                    f"(the dark signal extrapolated to 0 s): median {np.nanmedian(cal.bias):.1f} ADU. "
                    "Frames with darks of their own exposure time get those, bias included")
    else:
        cal.darks_with_bias = dict(combined)
        (t1,) = combined
        said.append(f"bias: no bias frames and darks of one exposure time ({_seconds(t1)}): they hold the "
                    f"bias, so they are subtracted whole from frames of {_seconds(t1)} only, never scaled")


def _make_flats(cal, frames):
    for filter_name in sorted({f for f in _usable(frames, "flat")["filter"]}):
        rows = _usable(frames, "flat", filter_name)
        t = Counter(float(v) for v in rows["exptime"]).most_common(1)[0][0]
        paths = _same_shape(rows[io.same_exptime(rows["exptime"], t)], cal.raw_shape, cal.said, f"flats {filter_name}")
        if not paths:
            continue
        offset, how = cal.offset(t)
        if offset is None:
            cal.said.append(f"flat {filter_name}: not made; the bias cannot be taken out of {_seconds(t)} flats "
                            "(no bias frames, no overscan, no darks of that time) and a flat with its bias "
                            "in would be wrong everywhere")
            continue
        flats = reduce.read_raw(paths) if cal.overscan else paths      # file names: read block by block
        cal.flats[filter_name] = reduce.master_flat(flats, offset)
        cal.said.append(f"flat {filter_name}: median of {len(paths)} flats of {_seconds(t)}, {how} removed")


# --------------------------------------------------------------------------------------------------
# Science frames
# --------------------------------------------------------------------------------------------------
@dataclass
class Frame:
    """One calibrated science frame: ``image`` in ADU/s."""

    name: str
    filter: str
    exptime: float
    date_obs: str
    image: np.ndarray
    header: object
    saturated: np.ndarray     # True where the raw frame reached its saturation level


def calibrate_science(frames, cal):
    """Calibrate every usable science frame with the masters of ``cal`` and divide it by its exposure time.

    ``(raw - offset) / flat / exptime`` with ``offset`` from :meth:`Calibration.offset`. One line per
    filter and exposure time is added to ``cal.said``. Frames come back in the order they were taken
    (DATE-OBS, else by name).

    Returns
    -------
    list of Frame
    """
    said = cal.said
    rows = _usable(frames, "science")
    paths = _same_shape(rows, cal.raw_shape, said, "science")
    out, told = [], set()
    for row in rows:
        if row["path"] not in paths:
            continue
        raw, header = load(row["path"])
        t, filter_name = float(row["exptime"]), str(row["filter"])
        offset, how = cal.offset(t)
        flat = cal.flats.get(filter_name)
        if (filter_name, t) not in told:
            told.add((filter_name, t))
            n = sum(1 for r in rows if r["path"] in paths and r["filter"] == filter_name
                    and io.same_exptime(r["exptime"], t))
            flat_how = "flat-fielded" if flat is not None else "NOT flat-fielded (no flat in this filter)"
            if offset is None:
                what = "nothing subtracted: the bias and dark current stay in as part of the sky"
            else:
                what = f"{how} subtracted"
            said.append(f"science {filter_name} {_seconds(t)}: {n} frame(s), {what}, {flat_how}")
        image = reduce.calibrate(raw, bias=offset, flat=flat) / t
        level = saturation_level(header)
        saturated = raw >= level if level is not None else np.zeros(raw.shape, dtype=bool)
        out.append(Frame(row["name"], filter_name, t, str(header.get("DATE-OBS", "")), image.astype(np.float32),
                         header, saturated))
    times = {f.filter: set() for f in out}
    for f in out:
        times[f.filter].add(f.exptime)
    for filter_name, ts in times.items():
        if len(ts) > 1:
            said.append(f"science {filter_name}: exposure times {', '.join(_seconds(t) for t in sorted(ts))}; "
                        "each frame divided by its own, so all are in ADU/s and can be combined")
    out.sort(key=lambda f: (f.date_obs or "~", f.name))
    return out


# --------------------------------------------------------------------------------------------------
# Offsets and stacks
# --------------------------------------------------------------------------------------------------
def _sky(image):
    """The sky of a real frame: a mesh map (boxes of 64 px, or an eighth of a small frame), not one level."""
    return detect.background_map(image, box=min(64, max(16, min(image.shape) // 8)))


def star_positions(image, n=200):
    """Positions (n, 2) of the brightest stars not cut by the edge, brightest first."""
    stars = detect.find_stars(image, threshold=5.0, background=_sky(image))
    stars = stars[~stars["edge"]][:n]
    return np.column_stack([stars["x"], stars["y"]])


def reference_frame(science):
    """The reference frame: the first frame taken in the filter with most frames."""
    counts = Counter(f.filter for f in science)
    best = max(counts.values())
    filter_name = next(f.filter for f in science if counts[f.filter] == best)
    return next(f for f in science if f.filter == filter_name)


def measure_offsets(science, reference=None):
    """The offset of every science frame from one reference frame, from the stars of both.

    Every frame, of every filter, is compared with one reference (the first frame of the filter with
    most frames), so all the stacks of the night land on the same pixels and a star has the same x, y
    in every filter. The offset comes from :func:`helpers.align.offset_from_stars`: pairs of stars vote,
    so an offset of a hundred pixels between two nights is found as easily as a drift of 0.1 px, and
    the camera's fixed pattern (bad columns, bright edges) cannot pull it to zero. A frame whose offset
    cannot be trusted gets NaN and a note, and is left out of the stack.

    Returns
    -------
    astropy.table.Table
        Columns ``name``, ``filter``, ``exptime``, ``dx``, ``dy`` (``align.shift(image, dx, dy)`` lands
        on the reference), ``n_pairs`` (stars paired) and ``note``; ``meta['reference']`` is the
        reference's name.
    """
    reference = reference or reference_frame(science)
    ref_xy = star_positions(reference.image)
    rows = []
    for frame in science:
        if frame is reference:
            rows.append((frame.name, frame.filter, frame.exptime, 0.0, 0.0, len(ref_xy), "reference"))
            continue
        try:
            dx, dy, n = align.offset_from_stars(ref_xy, star_positions(frame.image))
            rows.append((frame.name, frame.filter, frame.exptime, dx, dy, n, ""))
        except align.OffsetError as err:
            rows.append((frame.name, frame.filter, frame.exptime, math.nan, math.nan, 0, f"left out: {err}"))
    table = Table(rows=rows, names=("name", "filter", "exptime", "dx", "dy", "n_pairs", "note"),
                  dtype=(str, str, float, float, float, int, str))
    table["dx"].info.format = table["dy"].info.format = ".3f"
    table.meta["reference"] = reference.name
    return table


@dataclass
class Stack:
    """The aligned, combined frame of one filter (ADU/s, on the reference frame's pixels)."""

    filter: str
    image: np.ndarray
    names: list
    exptime: float      # median exposure time of the frames (s)
    header: object
    saturated: np.ndarray   # True where any of the frames was saturated
    note: str = ""          # what the number of frames means for the stack


def stack(science, offsets):
    """Shift every frame onto the reference (:func:`helpers.align.shift`) and take the median per filter.

    Frames left out by :func:`measure_offsets` (NaN offset) are skipped. The shifted frames' empty edges
    are NaN and are ignored by the median. A pixel saturated in any frame is marked in ``saturated``.

    Returns
    -------
    dict
        Filter name -> :class:`Stack`, filters in the order of :func:`filter_order`.
    """
    by_name = {row["name"]: (row["dx"], row["dy"]) for row in offsets}
    stacks = {}
    for filter_name in filter_order({f.filter for f in science}):
        chosen = [f for f in science if f.filter == filter_name and np.isfinite(by_name[f.name][0])]
        if not chosen:
            continue
        aligned = [align.shift(f.image.astype(float), *by_name[f.name]) for f in chosen]
        with warnings.catch_warnings():      # two frames: said in the stack's note instead
            warnings.simplefilter("ignore", reduce.CombineWarning)
            image = reduce.combine(aligned, "median") if len(aligned) > 1 else aligned[0]
        saturated = np.zeros(image.shape, dtype=bool)
        for f in chosen:   # a saturated pixel moved with its frame (order 1: a pixel touching it counts)
            saturated |= np.nan_to_num(align.shift(f.saturated.astype(float), *by_name[f.name], order=1)) > 0
        note = {1: "one frame: nothing to combine, its cosmic rays stay",
                2: "two frames: their median is their mean, so a cosmic ray in either stays (at half height); "
                   "three or more remove it"}.get(len(chosen), f"median of {len(chosen)} frames")
        stacks[filter_name] = Stack(filter_name, image, [f.name for f in chosen],
                                    float(np.median([f.exptime for f in chosen])), chosen[0].header, saturated, note)
    return stacks


# --------------------------------------------------------------------------------------------------
# Gain and read noise
# --------------------------------------------------------------------------------------------------
def camera_noise(frames, cal):
    """Gain (e-/ADU) and read noise (e-) of the camera, from the header or measured from the frames.

    The header of the first science frame is read first (:func:`helpers.camera.header_gain`,
    :func:`helpers.camera.header_read_noise`). What it lacks is measured by photon transfer
    (:func:`helpers.camera.gain_from_pairs`) from two flats of one filter and exposure time and two
    bias frames (or, without bias frames, two darks of the flats' exposure time). If even that is
    impossible the gain is taken as 1 e-/ADU and the read noise as 0, and the line says that the
    error bars are then only indicative.

    Returns
    -------
    gain, read_noise : float
    said : list of str
    """
    science = _usable(frames, "science")
    header = io.read_frame(science["path"][0])[1]
    gain, gain_key = camera.header_gain(header)
    noise, noise_key = camera.header_read_noise(header)
    said = []
    if gain is not None:
        said.append(f"gain {gain:.3g} e-/ADU from the header ({gain_key})")
    if noise is not None:
        said.append(f"read noise {noise:.3g} e- from the header ({noise_key})")
    if gain is None or noise is None:
        pairs = _photon_transfer_frames(frames, cal)
        if pairs is None:
            if gain is None:
                gain = 1.0
                said.append("gain: not in the header and no pair of flats and bias frames to measure it: taken "
                            "as 1 e-/ADU, so the error bars are only indicative")
            if noise is None:
                noise = 0.0
                said.append("read noise: not in the header and no pair of bias frames: taken as 0 (the errors of "
                            "faint stars are too small)")
        else:
            (flat_a, flat_b, bias_a, bias_b), what = pairs
            measured_gain, measured_noise = camera.gain_from_pairs(flat_a, flat_b, bias_a, bias_b)
            if gain is None:
                gain = measured_gain
                said.append(f"gain {gain:.3g} e-/ADU measured by photon transfer ({what})")
            if noise is None:
                noise = measured_noise * gain / measured_gain    # the read noise in ADU, times the gain
                said.append(f"read noise {noise:.3g} e- measured from the {what.split(' and ')[-1]}")
    return float(gain), float(noise), said


def _photon_transfer_frames(frames, cal):
    """(flat_a, flat_b, bias_a, bias_b), 'what' for :func:`camera.gain_from_pairs`, or None."""
    flats = _usable(frames, "flat")
    for filter_name in sorted(set(flats["filter"])):
        rows = flats[flats["filter"] == filter_name]
        t = Counter(float(v) for v in rows["exptime"]).most_common(1)[0][0]
        pair = [p for p in rows["path"][io.same_exptime(rows["exptime"], t)]][:2]
        zero = list(_usable(frames, "bias")["path"][:2])
        zero_what = "bias frames"
        if len(zero) < 2:
            darks = _usable(frames, "dark")
            zero = list(darks["path"][io.same_exptime(darks["exptime"], t)][:2])
            zero_what = f"{_seconds(t)} darks"
        if len(pair) == 2 and len(zero) == 2:
            images = [load(p)[0] for p in pair + zero]
            if len({im.shape for im in images}) == 1:
                return images, f"two {filter_name} flats and two {zero_what}"
    return None


# --------------------------------------------------------------------------------------------------
# Photometry and colours
# --------------------------------------------------------------------------------------------------
def star_table(stack_, gain, read_noise, threshold=5.0):
    """Find the stars of a :class:`Stack` and measure them in apertures of 1.5 FWHM (sky from 3 to 5 FWHM).

    The stack is in ADU/s and is a median of ``n`` frames: it is measured as an image of
    ``exptime`` seconds (the frames' median exposure time) with the effective gain and read noise of a
    median (:func:`helpers.photometry.effective_gain`), so the errors are those of the combined image.
    Stars cut by the edge or with NaN (no data) in their aperture are left out, and so is a second "star"
    found on the flat top of a saturated one, and every extended object (a galaxy: an aperture of 1.5 FWHM
    holds a part of its light that depends on its size, not a magnitude to compare with the stars').

    Returns
    -------
    astropy.table.Table
        ``id``, ``x``, ``y`` (reference pixels), ``flux`` (ADU/s), ``flux_err``, ``snr``, ``mag``
        (instrumental, ``-2.5 log10(ADU/s)``), ``mag_err``, ``saturated`` (a pixel of the aperture reached
        the camera's limit in some frame: its magnitude is too faint, by an unknown amount); ``meta``:
        filter, fwhm, radii, gain, ``n_extended_left_out``.
    """
    image = stack_.image
    found = detect.find_stars(image, threshold=threshold, background=_sky(image))
    fwhm = float(found.meta["fwhm"])
    n_extended = int(found["extended"].sum())
    found = found[~found["edge"] & ~found["extended"] & _first_per_flat_top(found, stack_.saturated)]
    r, r_in, r_out = max(1.5 * fwhm, 2.0), max(3.0 * fwhm, 5.0), max(5.0 * fwhm, 8.0)
    g, rn = photometry.effective_gain(gain, read_noise, len(stack_.names), "median")
    t = stack_.exptime
    table = photometry.aperture_photometry(image * t, found["x"], found["y"], r, r_in,
                                           r_out, g, rn, exptime=t)
    saturated = photometry.aperture_sum(stack_.saturated.astype(float), found["x"], found["y"], r)[0] > 0
    out = Table({"id": np.arange(1, len(table) + 1), "x": table["x"], "y": table["y"],
                 "flux": table["flux"] / t, "flux_err": table["flux_err"] / t, "snr": table["snr"],
                 "mag": table["mag"], "mag_err": table["mag_err"], "saturated": saturated})
    out = out[np.isfinite(out["mag"])]
    out["id"] = np.arange(1, len(out) + 1)
    for name, fmt in (("x", ".3f"), ("y", ".3f"), ("flux", ".4g"), ("flux_err", ".3g"), ("snr", ".1f"),
                      ("mag", ".4f"), ("mag_err", ".4f")):
        out[name].info.format = fmt
    out.meta.update({"filter": stack_.filter, "fwhm": round(fwhm, 3), "r": round(r, 3), "r_in": round(r_in, 3),
                     "r_out": round(r_out, 3), "n_frames": len(stack_.names), "exptime": t,
                     "gain": gain, "read_noise": read_noise, "n_extended_left_out": n_extended,
                     "unit": "flux in ADU/s; mag = -2.5 log10(ADU/s)"})
    return out


def _first_per_flat_top(found, saturated):
    """False for a star whose peak lies in the same saturated patch as a brighter star's.

    A saturated star is cut flat at the top, and its flat top can hold several local maxima, each found as a
    "star" (see ``saturation`` in :func:`helpers.detect.find_stars`). ``found`` is brightest first.
    """
    patches, _ = ndimage.label(ndimage.binary_dilation(saturated, iterations=1))
    x = np.clip(np.floor(np.asarray(found["x"]) + 0.5).astype(int), 0, saturated.shape[1] - 1)
    y = np.clip(np.floor(np.asarray(found["y"]) + 0.5).astype(int), 0, saturated.shape[0] - 1)
    patch = patches[y, x]
    keep = np.ones(len(found), dtype=bool)
    seen = set()
    for i, p in enumerate(patch):
        if p:
            keep[i] = p not in seen
            seen.add(p)
    return keep


def measure_stars(stacks, gain, read_noise, threshold=5.0):
    """:func:`star_table` for every stack: a dict filter name -> table."""
    return {name: star_table(s, gain, read_noise, threshold) for name, s in stacks.items()}


# Rough central wavelengths (nm) of the usual filter letters, to put a night's filters in order.
_WAVELENGTH = {"u": 355, "U": 365, "B": 440, "g": 475, "V": 550, "r": 620, "R": 650, "i": 760, "I": 800,
               "z": 900, "J": 1250, "H": 1650, "K": 2200}


def _wavelength(name):
    """A filter's central wavelength guessed from its name (nm), or None."""
    numbers = [float(n) for n in re.findall(r"(\d{3,4})(?:\s*nm)?", name)]
    if numbers:
        return sum(numbers) / len(numbers)
    cleaned = re.sub(r"(?i)johnson|cousins|bessell?|sdss|sloan|_bess|\bfilter\b", "", name)
    letters = re.findall(r"(?<![A-Za-z])([UBVRIJHKugriz])(?![a-z])", cleaned)
    if letters:
        return float(_WAVELENGTH[letters[0]])
    stripped = cleaned.strip(" _-'")
    return float(_WAVELENGTH[stripped]) if stripped in _WAVELENGTH else None


def filter_order(names):
    """Filter names from blue to red, guessed from their names; names it cannot place come last, by name.

    Examples
    --------
    >>> filter_order(["r (530-700)", "g (400-550)"]), filter_order(["JohnsonV", "JohnsonB"])
    (['g (400-550)', 'r (530-700)'], ['JohnsonB', 'JohnsonV'])
    >>> filter_order(["V_Bess", "B_Bess", "Halpha"])
    ['B_Bess', 'V_Bess', 'Halpha']
    """
    def key(name):
        w = _wavelength(name)
        return (w is None, w or 0.0, name)
    return sorted(names, key=key)


def colour_table(stars, tol=1.5):
    """Pair the stars of the two bluest filters (same reference pixels): a colour and a magnitude per star.

    Saturated stars are left out: their magnitudes are wrong.

    Returns
    -------
    astropy.table.Table or None
        ``x``, ``y``, ``mag_blue``, ``mag_red``, ``colour`` (= blue - red), their errors; ``meta`` names the
        filters. None when fewer than two filters have stars.
    """
    names = filter_order([n for n, t in stars.items() if len(t)])
    if len(names) < 2:
        return None
    blue, red = (stars[n][~stars[n]["saturated"]] for n in names[:2])
    i_blue, i_red = align.match(np.column_stack([blue["x"], blue["y"]]), np.column_stack([red["x"], red["y"]]), tol)
    table = Table({"x": red["x"][i_red], "y": red["y"][i_red], "mag_blue": blue["mag"][i_blue],
                   "mag_red": red["mag"][i_red],
                   "colour": blue["mag"][i_blue] - red["mag"][i_red],
                   "colour_err": np.hypot(blue["mag_err"][i_blue], red["mag_err"][i_red]),
                   "mag_red_err": red["mag_err"][i_red]})
    for name in table.colnames:
        table[name].info.format = ".3f" if name in ("x", "y") else ".4f"
    table.meta.update({"blue": names[0], "red": names[1]})
    return table


# --------------------------------------------------------------------------------------------------
# Writing what was measured
# --------------------------------------------------------------------------------------------------
def _safe(name):
    """A filter name as part of a file name: 'r (530-700)' -> 'r_530-700'."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", name).strip("_") or "nofilter"


def _write_table(table, path):
    io.check_can_write(path, overwrite=True)
    table.write(path, format="ascii.ecsv", overwrite=True)
    return path


def write(folder, stacks, stars, offsets, colours=None):
    """Write the night's results to ``helpers.data.derived_folder(folder) / 'night'`` (never into ``folder``).

    Files: ``stack-<filter>.fits`` (ADU/s, on the reference's pixels), ``stars-<filter>.ecsv``,
    ``offsets.ecsv`` (``name``, ``dx``, ``dy``: what :func:`helpers.align.shift` needs to land each frame
    on the reference) and ``colours.ecsv`` when there are two filters. Existing files of an earlier run are
    replaced, unless they are read-only.

    Returns
    -------
    list of Path
    """
    out = data.derived_folder(folder) / "night"
    out.mkdir(exist_ok=True)
    written = []
    for name, s in stacks.items():
        header = s.header.copy()
        header["BUNIT"] = ("ADU/s", "calibrated, divided by the exposure time")
        history = [f"CCD Handbook chapter 08: median of {len(s.names)} calibrated, aligned frames of {name}",
                   f"aligned on {offsets.meta['reference']}"]
        written.append(io.write_frame(out / f"stack-{_safe(name)}.fits", s.image, header=header, history=history,
                                      overwrite=True))
        written.append(_write_table(stars[name], out / f"stars-{_safe(name)}.ecsv"))
    written.append(_write_table(offsets, out / "offsets.ecsv"))
    if colours is not None:
        written.append(_write_table(colours, out / "colours.ecsv"))
    return written


# --------------------------------------------------------------------------------------------------
# All at once
# --------------------------------------------------------------------------------------------------
@dataclass
class Night:
    """Everything :func:`run` made."""

    frames: Table
    calibration: Calibration
    science: list
    offsets: Table
    stacks: dict
    gain: float
    read_noise: float
    stars: dict
    colours: Table | None
    written: list
    said: list


def run(folder, write_files=True):
    """The whole night in one call: :func:`calibration` to :func:`write`. ``said`` lists every decision."""
    frames = io.collect(folder)
    cal = calibration(frames)
    science = calibrate_science(frames, cal)
    offsets = measure_offsets(science)
    cal.said.extend(f"offset: {row['name']} {row['note']}" for row in offsets if row["note"].startswith("left out"))
    stacks = stack(science, offsets)
    gain, read_noise, noise_said = camera_noise(frames, cal)
    stars = measure_stars(stacks, gain, read_noise)
    colours = colour_table(stars)
    written = write(folder, stacks, stars, offsets, colours) if write_files else []
    return Night(frames, cal, science, offsets, stacks, gain, read_noise, stars, colours, written,
                 cal.said + noise_said)


# --------------------------------------------------------------------------------------------------
# Checking against a ground truth (the synthetic set and the camera zoo have one; real nights do not)
# --------------------------------------------------------------------------------------------------
def compare_with_truth(truth, offsets, stars, gain, read_noise, isolation=3.0):
    """Lines comparing a night's results with the ground truth of the synthetic set or of a zoo camera.

    ``offsets`` from :func:`measure_offsets`, ``stars`` from :func:`measure_stars`, ``gain`` and
    ``read_noise`` from :func:`camera_noise`.

    Offsets against the true ones; per filter, instrumental minus true magnitude for unsaturated stars
    with SNR > 50 that have no true neighbour within ``isolation`` FWHM bright enough to add 10 % of
    their light (in a cluster's core an aperture also holds its neighbours: that is crowding, not an
    error of the method). The median difference is the zero point; its robust scatter (1.4826 MAD) says
    how well the magnitudes are measured.
    """
    band_of = getattr(truth, "filters", None) or {}
    reference = offsets.meta["reference"]
    errors = [math.hypot(row["dx"] - tdx, row["dy"] - tdy)
              for row in offsets if np.isfinite(row["dx"])
              for tdx, tdy in [truth.offset(reference, row["name"])]]
    lines = [f"offsets: {len(errors)} frames, largest error {max(errors):.3f} px"]
    true_x, true_y = truth.positions(reference)
    for filter_name, table in stars.items():
        band = band_of.get(filter_name, filter_name)
        true_mag = np.asarray(truth.stars[band])
        i_found, i_true = align.match(np.column_stack([table["x"], table["y"]]), np.column_stack([true_x, true_y]),
                                      1.0)
        reach = isolation * table.meta["fwhm"]
        neighbours = cKDTree(np.column_stack([true_x, true_y])).query_ball_point(
            np.column_stack([true_x[i_true], true_y[i_true]]), reach)
        isolated = np.array([all(true_mag[j] > true_mag[i] + 2.5 for j in near if j != i)
                             for i, near in zip(i_true, neighbours)], dtype=bool)
        good = isolated & ~np.asarray(table["saturated"][i_found]) & (np.asarray(table["snr"][i_found]) > 50)
        difference = np.asarray(table["mag"][i_found] - true_mag[i_true])[good]
        zero_point = np.median(difference)
        scatter = 1.4826 * np.median(np.abs(difference - zero_point))
        lines.append(f"{filter_name} (true band {band}): {len(table)} stars, {len(i_found)} within 1 px of a true "
                     f"star; {good.sum()} isolated, unsaturated with SNR > 50: zero point {zero_point:.3f}, "
                     f"scatter {scatter:.3f} mag")
    true_gain = truth.camera["gain"]
    lines.append(f"gain {gain:.3g} e-/ADU (true {true_gain:.3g}), read noise {read_noise:.3g} e- "
                 f"(true {truth.camera['read_noise']:.3g})")
    return lines
