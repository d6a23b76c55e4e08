"""Image reduction: combining frames, master calibration frames, calibration, overscan.

The whole chapter in one line::

    science = (raw - bias - dark * exptime / dark_exptime) / flat

where ``bias``, ``dark`` and ``flat`` are *master* frames made by combining several raw calibration
frames, so that their own noise and cosmic rays do not end up in every science frame.

Every function here works on float64 copies: the frames you pass in are never changed, and no
arithmetic is done in the camera's uint16 (which would wrap around below zero).

Images are 2-D arrays indexed ``[row, col]``, that is ``[y, x]``; a stack of frames is a 3-D array
indexed ``[frame, y, x]``.
"""
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clip

__all__ = [
    "FlatFieldWarning", "CombineWarning", "METHODS", "BLOCK_BYTES", "combine", "combine_files", "master_bias", "master_dark", "master_flat",
    "calibrate", "Reduced", "reduce_band", "parse_section", "subtract_overscan", "trim", "overscan_and_trim",
    "read_raw", "Plan", "plan",
]

#: The ways :func:`combine` can combine a stack of frames.
METHODS = ("median", "mean", "sigma_clip")


class CombineWarning(UserWarning):
    """A combination that cannot do what its method promises (two frames cannot reject a cosmic ray)."""


class FlatFieldWarning(UserWarning):
    """A flat field has pixels that are zero, negative or not finite (the result is NaN there)."""


# --------------------------------------------------------------------------------------------------
# Small private helpers
# --------------------------------------------------------------------------------------------------

def _as_cube(stack):
    """Return `stack` (3-D array or list of 2-D arrays) as a new 3-D float64 array, checking shapes."""
    if not isinstance(stack, np.ndarray):
        frames = [np.asarray(frame) for frame in stack]
        if not frames:
            raise ValueError("the stack is empty: give at least one frame")
        for i, frame in enumerate(frames):
            if frame.ndim != 2:
                raise ValueError(f"frame {i} is {frame.ndim}-D; every frame must be a 2-D image")
            if frame.shape != frames[0].shape:
                raise ValueError(
                    f"frame {i} is {frame.shape[0]}x{frame.shape[1]} (ny x nx) but frame 0 is "
                    f"{frames[0].shape[0]}x{frames[0].shape[1]}; all frames must have the same shape "
                    "(trim or align them first)")
        stack = np.stack(frames)
    if stack.ndim != 3 or stack.shape[0] == 0:
        raise ValueError(f"expected a stack of frames (3-D array or list of 2-D images), got an array "
                         f"of shape {stack.shape}")
    return stack.astype(np.float64)  # always a copy


def _load(frames):
    """Read `frames` with :func:`helpers.io.read_stack` if they are file names; else return them."""
    if isinstance(frames, np.ndarray):
        return frames
    if isinstance(frames, (str, os.PathLike)):
        raise TypeError(f"got a single file name {str(frames)!r}; give a list of file names, e.g. "
                         "sorted(folder.glob('bias-*.fits'))")
    frames = list(frames)
    is_path = [isinstance(item, (str, os.PathLike)) for item in frames]
    if frames and all(is_path):
        from helpers import io  # imported here so that working on arrays needs no FITS reader
        return io.read_stack(frames)
    if any(is_path):
        raise ValueError("give either a list of file names or a list of arrays, not a mixture")
    return frames


def _are_paths(frames):
    """True for a list (or tuple) of file names, the form :func:`combine_files` reads block by block."""
    return (isinstance(frames, (list, tuple)) and len(frames) > 0
            and all(isinstance(item, (str, os.PathLike)) for item in frames))


def _matching(name, value, shape, against="the raw frames"):
    """Return `value` as float64; it must be a single number or an image of `shape`."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim != 0 and value.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {value.shape} but {against} have shape {tuple(shape)} (ny, nx); "
            f"use a {name} made from frames of the same size, trimmed the same way")
    return value


def _dark_scale(exptime, dark_exptime, exptime_name="exptime"):
    """Factor by which to multiply the master dark: exptime / dark_exptime (1 when both are None)."""
    if exptime is None and dark_exptime is None:
        return 1.0
    if exptime is None or dark_exptime is None:
        raise ValueError(f"to scale the dark give both {exptime_name} and dark_exptime (in seconds), "
                         "or neither if the dark already has the same exposure time")
    if not (np.isfinite(exptime) and np.isfinite(dark_exptime)):
        raise ValueError(f"an exposure time is not a number ({exptime_name}={exptime}, dark_exptime={dark_exptime}): "
                         "the frame's header has none. io.collect marks such frames with a 'problem' and "
                         "io.select leaves them out; give the time in seconds yourself if you know it")
    if dark_exptime <= 0 or exptime < 0:
        raise ValueError(f"exposure times must be positive, got {exptime_name}={exptime}, "
                         f"dark_exptime={dark_exptime}")
    return exptime / dark_exptime


# --------------------------------------------------------------------------------------------------
# Combining frames
# --------------------------------------------------------------------------------------------------

def combine(stack, method="median", sigma=3.0, maxiters=5):
    """Combine a stack of frames pixel by pixel into one frame.

    Parameters
    ----------
    stack : 3-D array (n, ny, nx) or list of 2-D arrays
        The frames, all of the same shape. NaN pixels are ignored (aligned frames have NaN
        edges); a pixel that is NaN in every frame stays NaN.
    method : {"median", "mean", "sigma_clip"}
        ``"median"``: the median of each pixel; robust against a cosmic ray in one frame.
        ``"mean"``: the mean; least noisy, but one cosmic ray spoils it.
        ``"sigma_clip"``: reject values more than `sigma` robust standard deviations from the median
        (astropy's ``sigma_clip`` along the frame axis with ``cenfunc='median'``,
        ``stdfunc='mad_std'``), then take the mean of the values that survive. Nearly as
        low-noise as the mean and as robust as the median.
    sigma : float
        Clipping threshold in standard deviations (``"sigma_clip"`` only).
    maxiters : int
        Maximum number of clipping iterations (``"sigma_clip"`` only).

    Returns
    -------
    2-D float64 array (ny, nx)

    Notes
    -----
    Why the *robust* standard deviation? Take one pixel in five frames: four values near 0 and a
    cosmic ray of value A. The plain standard deviation of the five values is ``0.4 A``: the
    cosmic ray inflates it in proportion to its own size, so it sits only ``A / 0.4 A = 2.5``
    standard deviations from the median, however large A is (no value of five can ever be more
    than 2.6 standard deviations from their median). A 3-sigma clip with the plain standard
    deviation can therefore never reject it; with a median centre that needs at least 8 frames.
    The median absolute deviation (``mad_std``) of the five values hardly notices the cosmic
    ray, so the cosmic ray is many robust sigmas away and is rejected.

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.array([[[10.0]], [[11.0]], [[9.0]], [[10.0]], [[5000.0]]])  # cosmic ray in frame 4
    >>> combine(stack, "mean")
    array([[1008.]])
    >>> combine(stack, "median")
    array([[10.]])
    >>> combine(stack, "sigma_clip")
    array([[10.]])
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(map(repr, METHODS))}")
    if _are_paths(stack):
        return combine_files(stack, method, sigma, maxiters)
    stack = _as_cube(stack)
    if not np.isfinite(stack).any():
        raise ValueError(f"every pixel of all {stack.shape[0]} frames is NaN: there is no data to combine (were the "
                         "frames read correctly? a BLANK value or a failed read gives NaN)")
    if stack.shape[0] == 2 and method != "mean":
        warnings.warn(CombineWarning(
            f"only two frames: their {'median' if method == 'median' else 'clipped mean'} is their mean, and a "
            "cosmic ray in either frame stays (at half its height); neither a median nor sigma clipping can tell "
            "which of two values is wrong. Combine three frames or more."), stacklevel=2)
    if method == "sigma_clip":
        # Masking the NaN pixels first tells astropy they are expected (no warning about them).
        clipped = sigma_clip(np.ma.masked_invalid(stack), sigma=sigma, maxiters=maxiters,
                             cenfunc="median", stdfunc="mad_std", axis=0, masked=True)
        return clipped.mean(axis=0).filled(np.nan)
    with warnings.catch_warnings():
        # A pixel that is NaN in every frame gives NaN, which is the right answer: no warning needed.
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        if method == "median":
            return np.nanmedian(stack, axis=0)
        return np.nanmean(stack, axis=0)


#: Largest stack of float64 pixels :func:`combine_files` holds at once (bytes): with the median's own copy,
#: about three times this is the most a combination of files uses, however many and large the frames are.
BLOCK_BYTES = 64 * 2 ** 20


def combine_files(paths, method="median", sigma=3.0, maxiters=5, subtract=None, scale=None,
                  block_bytes=None):
    """Combine frames read from disk a block of rows at a time: the same result as :func:`combine` on the
    whole stack, with bounded memory.

    25 frames of 4096 x 4096 pixels are 3.4 GB as float64; combined in blocks of rows of at most
    :data:`BLOCK_BYTES`, each block holds the same rows of every frame, is combined, and is let go.
    Only the rows asked for are read from each file (:class:`helpers.io.FrameRows`).

    Parameters
    ----------
    paths : list of str or Path
        The frames, all of the same shape.
    method, sigma, maxiters
        As for :func:`combine`.
    subtract : float or 2-D array, optional
        Subtracted from every frame before combining (a master bias, or bias + scaled dark).
    scale : list of float, optional
        One factor per frame, applied after ``subtract`` (1 / each flat's own median).
    block_bytes : int, optional
        Largest block (bytes of float64 pixels); default :data:`BLOCK_BYTES`.

    Returns
    -------
    2-D float64 array (ny, nx)

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from astropy.io import fits
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = []
    >>> for i, value in enumerate([10.0, 11.0, 5000.0]):       # a cosmic ray... in every pixel of frame 2
    ...     paths.append(folder / f"f{i}.fits")
    ...     fits.PrimaryHDU(np.full((6, 4), value)).writeto(paths[-1])
    >>> combine_files(paths, "median", block_bytes=3 * 4 * 8)[:, 0]     # one row per block
    array([11., 11., 11., 11., 11., 11.])
    """
    from helpers import io

    paths = list(paths)
    if not paths:
        raise ValueError("combine_files got no file names")
    readers = [io.FrameRows(path) for path in paths]
    try:
        shape = readers[0].shape
        for reader in readers[1:]:
            if reader.shape != shape:
                raise ValueError(f"{reader.path.name} is {reader.shape[0]}x{reader.shape[1]} (ny x nx) but "
                                 f"{readers[0].path.name} is {shape[0]}x{shape[1]}: all frames must have the same "
                                 "shape (trim them the same way)")
        if subtract is not None:
            subtract = _matching("subtract", subtract, shape)
        factors = np.ones(len(paths)) if scale is None else np.asarray(scale, dtype=float)
        if factors.shape != (len(paths),):
            raise ValueError(f"scale needs one factor per frame ({len(paths)}), got {factors.shape}")
        rows = max(1, int((block_bytes or BLOCK_BYTES) // (len(paths) * shape[1] * 8)))
        result = np.empty(shape)
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", CombineWarning)
            for start in range(0, shape[0], rows):
                stop = min(shape[0], start + rows)
                block = np.stack([reader.read(start, stop) for reader in readers])
                if subtract is not None:
                    block -= subtract if subtract.ndim == 0 else subtract[start:stop]
                block *= factors[:, None, None]
                result[start:stop] = combine(block, method, sigma, maxiters)
        if said:   # the same words for every block: say them once
            warnings.warn(said[0].message, stacklevel=2)
        return result
    finally:
        for reader in readers:
            reader.close()


# --------------------------------------------------------------------------------------------------
# Master calibration frames
# --------------------------------------------------------------------------------------------------

def master_bias(biases, method="median"):
    """Combine bias frames into a master bias.

    Parameters
    ----------
    biases : 3-D array, list of 2-D arrays, or list of FITS file names
        The bias frames (file names are read with :func:`helpers.io.read_stack`).
    method : {"median", "mean", "sigma_clip"}
        How to combine them, see :func:`combine`.

    Returns
    -------
    2-D float64 array, in ADU.

    Examples
    --------
    >>> import numpy as np
    >>> biases = np.full((5, 2, 3), 200.0)
    >>> master_bias(biases)
    array([[200., 200., 200.],
           [200., 200., 200.]])
    """
    if _are_paths(biases):
        return combine_files(biases, method)
    return combine(_load(biases), method)


def master_dark(darks, bias, method="median"):
    """Subtract the master bias from each dark frame and combine them into a master dark.

    The result is the dark signal in ADU accumulated during the darks' *own* exposure time (not a
    rate per second). To use it for a frame of another exposure time, scale it by
    ``exptime / dark_exptime``, which :func:`calibrate` does for you.

    Parameters
    ----------
    darks : 3-D array, list of 2-D arrays, or list of FITS file names
        Dark frames, all with the same exposure time.
    bias : 2-D array or float
        The master bias (ADU).
    method : {"median", "mean", "sigma_clip"}
        How to combine them, see :func:`combine`.

    Returns
    -------
    2-D float64 array, dark signal in ADU for the darks' exposure time.

    Examples
    --------
    >>> import numpy as np
    >>> darks = np.full((5, 2, 2), 212.0)          # 200 ADU bias + 12 ADU of dark in 120 s
    >>> master_dark(darks, bias=np.full((2, 2), 200.0))
    array([[12., 12.],
           [12., 12.]])
    """
    if _are_paths(darks):      # read block by block: any number of frames of any size
        return combine_files(darks, method, subtract=bias)
    stack = _as_cube(_load(darks))
    stack -= _matching("bias", bias, stack.shape[1:], against="the darks")
    return combine(stack, method)


def master_flat(flats, bias, dark=None, flat_exptime=None, dark_exptime=None, method="median"):
    """Make a master flat normalised to a median of 1.

    Each flat has the bias removed and its own dark current (the master dark scaled by
    ``flat_exptime / dark_exptime``), is divided by its own median (twilight flats differ in level),
    and only then are the flats combined. The combination is divided by its median.

    Parameters
    ----------
    flats : 3-D array, list of 2-D arrays, or list of FITS file names
        Flat-field frames of one filter.
    bias : 2-D array or float
        The master bias (ADU).
    dark : 2-D array, optional
        The master dark from :func:`master_dark` (ADU for `dark_exptime`). Leave it out only if the
        flats are so short that their dark current is negligible.
    flat_exptime, dark_exptime : float, optional
        Exposure times (s) of the flats and of the master dark. Give both, or neither if the dark
        has the same exposure time as the flats (it is then subtracted unscaled).
    method : {"median", "mean", "sigma_clip"}
        How to combine the normalised flats, see :func:`combine`.

    Returns
    -------
    2-D float64 array with median 1.

    Examples
    --------
    >>> import numpy as np
    >>> flats = np.array([[[1100.0, 2100.0]], [[2100.0, 4100.0]], [[1600.0, 3100.0]]])   # three levels, bias 100
    >>> master_flat(flats, bias=100.0)
    array([[0.66666667, 1.33333333]])
    """
    if _are_paths(flats):      # read block by block: any number of frames of any size
        return _master_flat_files(list(flats), bias, dark, flat_exptime, dark_exptime, method)
    stack = _as_cube(_load(flats))
    shape = stack.shape[1:]
    stack -= _matching("bias", bias, shape, against="the flats")
    if dark is not None:
        scale = _dark_scale(flat_exptime, dark_exptime, "flat_exptime")
        stack -= _matching("dark", dark, shape, against="the flats") * scale
    for i, frame in enumerate(stack):
        level = np.nanmedian(frame)
        if not level > 0:
            raise ValueError(f"flat {i} has a median of {level:.4g} ADU after removing bias and dark; "
                             "a flat must be well exposed (check the frames, bias and dark)")
        frame /= level  # `frame` is a view: this changes the stack
    master = combine(stack, method)
    return master / np.nanmedian(master)


def _master_flat_files(paths, bias, dark, flat_exptime, dark_exptime, method):
    """:func:`master_flat` for file names: each flat's own median (one frame in memory at a time), then
    :func:`combine_files`."""
    from helpers import io

    with io.FrameRows(paths[0]) as first:
        shape = first.shape
    offset = _matching("bias", bias, shape, against="the flats")
    if dark is not None:
        offset = offset + _matching("dark", dark, shape, against="the flats") * _dark_scale(
            flat_exptime, dark_exptime, "flat_exptime")
    levels = []
    for i, path in enumerate(paths):      # one frame in memory at a time
        with io.FrameRows(path) as rows:
            level = np.nanmedian(rows.read(0, rows.shape[0]) - offset)
        if not level > 0:
            raise ValueError(f"flat {i} ({Path(path).name}) has a median of {level:.4g} ADU after removing bias and "
                             "dark; a flat must be well exposed (check the frames, bias and dark)")
        levels.append(level)
    master = combine_files(paths, method, subtract=offset, scale=1.0 / np.array(levels))
    return master / np.nanmedian(master)


# --------------------------------------------------------------------------------------------------
# Calibrating science frames
# --------------------------------------------------------------------------------------------------

def calibrate(raw, bias=None, dark=None, flat=None, exptime=None, dark_exptime=None):
    """Calibrate raw frames: ``(raw - bias - dark * exptime / dark_exptime) / flat``.

    Parameters
    ----------
    raw : 2-D array (ny, nx) or 3-D stack (n, ny, nx)
        Raw frame(s) in ADU; each frame of a stack is calibrated. NaN pixels stay NaN.
    bias : 2-D array or float, optional
        Master bias (ADU).
    dark : 2-D array, optional
        Master dark (ADU accumulated in `dark_exptime`), as made by :func:`master_dark`.
    flat : 2-D array, optional
        Master flat normalised to 1, as made by :func:`master_flat`. Where it is zero, negative
        or not finite the result is NaN and a :class:`FlatFieldWarning` says how many such pixels
        there are and where (leaving out pixels that are NaN in the raw frames too, such as dead
        pixels stored as BLANK).
    exptime, dark_exptime : float, optional
        Exposure times (s) of the raw frame(s) and of the master dark; the dark is multiplied by
        ``exptime / dark_exptime``. Give both, or neither if the dark has the same exposure time
        as the raw frames (it is then subtracted unscaled).

    Returns
    -------
    float64 array of the same shape as `raw` (a new array; `raw` is not changed).

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[330.0, 530.0]])        # bias 100 + 10 ADU of dark in 60 s + flat * sky
    >>> calibrate(raw, bias=100.0, dark=np.array([[20.0, 20.0]]), flat=np.array([[1.0, 2.0]]),
    ...           exptime=60.0, dark_exptime=120.0)
    array([[220., 210.]])
    """
    result = np.array(raw, dtype=np.float64)  # a copy: the raw frame is never changed
    if result.ndim not in (2, 3):
        raise ValueError(f"raw must be a 2-D frame or a 3-D stack of frames, got shape {result.shape}")
    shape = result.shape[-2:]
    if bias is not None:
        result -= _matching("bias", bias, shape)
    if dark is not None:
        scale = _dark_scale(exptime, dark_exptime)
        result -= _matching("dark", dark, shape) * scale
    if flat is not None:
        flat = np.broadcast_to(_matching("flat", flat, shape), shape)
        level = np.nanmedian(flat) if np.isfinite(flat).any() else np.nan
        if not 0.2 < level < 5.0:        # a flat still in ADU (thousands), not a real flat field
            warnings.warn(f"the flat's median is {level:.4g}, not about 1: the calibrated frames come out divided by "
                          "that too. Divide the flat by its median first (reduce.master_flat does).",
                          FlatFieldWarning, stacklevel=2)
        bad = ~np.isfinite(flat) | (flat <= 0)
        has_data = np.isfinite(result) if result.ndim == 2 else np.isfinite(result).any(axis=0)
        said = bad & has_data   # a pixel the raw frames lack too (dead, stored as BLANK) is no news
        if said.any():
            first = ", ".join(f"({x}, {y})" for y, x in np.argwhere(said)[:5])
            warnings.warn(f"{said.sum()} flat-field pixel(s) are zero, negative or not finite; the result "
                          f"is NaN there (first at x, y = {first}). Check the master flat.",
                          FlatFieldWarning, stacklevel=2)
            flat = np.where(bad, np.nan, flat)  # dividing by NaN gives NaN, not inf
        result /= flat
    return result


# --------------------------------------------------------------------------------------------------
# The whole reduction of one filter, as chapter 01 teaches it
# --------------------------------------------------------------------------------------------------

@dataclass
class Reduced:
    """What :func:`reduce_band` returns: the combined image, the calibrated frames and the masters."""

    image: np.ndarray        # median of the calibrated frames (ADU for one exposure)
    frames: np.ndarray       # the calibrated frames, a stack (n, ny, nx)
    names: list              # their file names, in the order of `frames`
    exptime: float           # seconds, of each science frame
    bias: np.ndarray
    dark: np.ndarray         # ADU in dark_exptime
    dark_exptime: float
    flat: np.ndarray         # median 1
    header: object           # header of the first science frame


def _one_exptime(frames, kind, band=None):
    usable = [p == "" for p in frames["problem"]] if "problem" in frames.colnames else [True] * len(frames)
    times = sorted({float(t) for t, k, f, ok in zip(frames["exptime"], frames["kind"], frames["filter"], usable)
                    if ok and k == kind and (band is None or f.lower() == band.lower())})
    if len(times) != 1:
        what = f"{kind} frames" + (f" in {band}" if band else "")
        raise ValueError(f"expected {what} of one exposure time, found {times or 'none'}; "
                         "select the frames yourself and call master_dark/master_flat/calibrate")
    return times[0]


def reduce_band(frames, band, method="median", masters=None):
    """Reduce all science frames of one filter, exactly as chapter 01 does step by step.

    Master bias and dark from all bias and dark frames, master flat from the flats of ``band`` (with their
    own bias and scaled dark removed), each science frame calibrated with the dark scaled to its exposure
    time, then the calibrated frames combined with ``method``.

    Parameters
    ----------
    frames : astropy.table.Table
        The table of :func:`helpers.io.collect`.
    band : str
        Filter name, e.g. "V" or "B" (case ignored).
    method : str
        How to combine the calibrated frames, see :func:`combine`.
    masters : Reduced, optional
        The result of an earlier call on the same night: its master bias and dark are used again (they do
        not depend on the filter) instead of being made a second time.

    Returns
    -------
    Reduced

    Examples
    --------
    >>> from helpers import data, io, reduce
    >>> v = reduce.reduce_band(io.collect(data.ensure()), "V")      # doctest: +SKIP
    >>> v.image.shape, v.names[0]                                    # doctest: +SKIP
    ((1024, 1024), 'm13-v-60s-1.fits')
    """
    from helpers import io

    science = io.select(frames, kind="science", filter=band)
    if not science:
        raise ValueError(f"no science frames in filter {band!r}; the filters present are "
                         f"{sorted(set(frames['filter']) - {''})}")
    exptime, dark_exptime = _one_exptime(frames, "science", band), _one_exptime(frames, "dark")
    if masters is not None:
        bias, dark = masters.bias, masters.dark
    else:
        bias = master_bias(io.select(frames, kind="bias"))
        dark = master_dark(io.select(frames, kind="dark"), bias)
    flat = master_flat(io.select(frames, kind="flat", filter=band), bias, dark,
                       flat_exptime=_one_exptime(frames, "flat", band), dark_exptime=dark_exptime)
    calibrated = calibrate(io.read_stack(science), bias, dark, flat, exptime=exptime, dark_exptime=dark_exptime)
    return Reduced(image=combine(calibrated, method), frames=calibrated, names=[os.path.basename(p) for p in science],
                   exptime=exptime, bias=bias, dark=dark, dark_exptime=dark_exptime, flat=flat,
                   header=io.read_frame(science[0])[1])


# --------------------------------------------------------------------------------------------------
# Overscan and trimming
# --------------------------------------------------------------------------------------------------

_SECTION = re.compile(r"\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]")


def parse_section(section):
    """Turn a FITS/IRAF section such as ``'[4:13,1:520]'`` into numpy slices ``(rows, cols)``.

    The section is 1-based with inclusive ends and gives the x (column) range first; the slices
    are 0-based, end-exclusive and in numpy order ``[row, col]``.

    Parameters
    ----------
    section : str
        For example the BIASSEC or TRIMSEC header value. Spaces are allowed.

    Returns
    -------
    (slice, slice)
        Row slice and column slice, so that ``data[rows, cols]`` is the section.

    Examples
    --------
    >>> parse_section("[4:13,1:520]")
    (slice(0, 520, None), slice(3, 13, None))
    """
    match = _SECTION.fullmatch(str(section).strip())
    if match is None:
        raise ValueError(f"cannot read the section {section!r}; expected '[x1:x2,y1:y2]' "
                         "(1-based, inclusive, x range first), e.g. '[4:13,1:520]'")
    x1, x2, y1, y2 = (int(n) for n in match.groups())
    if not (1 <= x1 <= x2 and 1 <= y1 <= y2):
        raise ValueError(f"cannot use the section {section!r}: numbers start at 1 and each range must "
                         "go upwards (flipped sections are not supported)")
    return slice(y1 - 1, y2), slice(x1 - 1, x2)


def _section_of(data, section):
    """Parse `section` and check that it lies inside `data`."""
    rows, cols = parse_section(section)
    ny, nx = data.shape
    if rows.stop > ny or cols.stop > nx:
        raise ValueError(f"the section {section!r} reaches beyond the frame, which is {nx} x {ny} "
                         "(nx x ny); is this the raw, untrimmed frame?")
    return rows, cols


def subtract_overscan(data, biassec, axis="auto"):
    """Subtract the bias level measured in the overscan strip.

    Parameters
    ----------
    data : 2-D array
        A raw, untrimmed frame (ADU).
    biassec : str
        The overscan section, e.g. the header's BIASSEC ``'[4:13,1:520]'``.
    axis : {"auto", "row", "column", "constant"}
        ``"row"``: the median of the overscan in each row is subtracted from that row (for an
        overscan made of columns at the side of the chip; follows a bias level that drifts
        during readout). ``"column"``: the same per column (an overscan made of rows).
        ``"constant"``: one median for the whole frame (least noisy if the level is flat).
        ``"auto"`` (default): ``"row"`` if the strip is taller than wide, else ``"column"``.
        Rows (columns) not covered by the strip become NaN; trim them away.

    Returns
    -------
    2-D float64 array of the same shape, overscan included (trim it with :func:`trim`).

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.array([[100.0, 150.0, 151.0],
    ...                   [102.0, 160.0, 161.0]])    # column 1 (x=1) is the overscan
    >>> subtract_overscan(frame, "[1:1,1:2]")
    array([[ 0., 50., 51.],
           [ 0., 58., 59.]])
    """
    data = np.array(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D frame, got shape {data.shape}")
    rows, cols = _section_of(data, biassec)
    overscan = data[rows, cols]
    if axis == "auto":
        axis = "row" if overscan.shape[0] >= overscan.shape[1] else "column"
    along = {"row": 1, "column": 0}.get(axis)
    if not np.isfinite(overscan).any(axis=along).all():
        raise ValueError(f"the overscan {biassec} has {'a row' if along == 1 else 'a column' if along == 0 else 'no'} "
                         "valid pixel (all NaN): its bias level cannot be measured there. Check BIASSEC")
    if axis == "row":
        level = np.full((data.shape[0], 1), np.nan)
        level[rows, 0] = np.nanmedian(overscan, axis=1)      # a NaN pixel of the strip is left out
    elif axis == "column":
        level = np.full((1, data.shape[1]), np.nan)
        level[0, cols] = np.nanmedian(overscan, axis=0)
    elif axis == "constant":
        level = np.nanmedian(overscan)
    else:
        raise ValueError(f"unknown axis {axis!r}; choose 'auto', 'row', 'column' or 'constant'")
    return data - level


def trim(data, trimsec):
    """Cut out the useful part of a frame.

    Parameters
    ----------
    data : 2-D array
    trimsec : str
        The section to keep, e.g. the header's TRIMSEC ``'[17:528,1:520]'``.

    Returns
    -------
    2-D float64 array (a copy).

    Examples
    --------
    >>> import numpy as np
    >>> trim(np.arange(12.0).reshape(3, 4), "[2:4,1:2]")
    array([[1., 2., 3.],
           [5., 6., 7.]])
    """
    data = np.asarray(data)
    rows, cols = _section_of(data, trimsec)
    return np.array(data[rows, cols], dtype=np.float64)


def overscan_and_trim(data, header, axis="auto"):
    """Subtract the overscan (header BIASSEC) and trim the frame (header TRIMSEC).

    Parameters
    ----------
    data : 2-D array
        A raw, untrimmed frame.
    header : astropy.io.fits.Header or dict
        Its header, with the BIASSEC and TRIMSEC keywords.
    axis : {"auto", "row", "column", "constant"}
        How to measure the overscan, see :func:`subtract_overscan`.

    Returns
    -------
    2-D float64 array, the trimmed, overscan-subtracted frame.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.array([[100.0, 150.0, 151.0],
    ...                   [102.0, 160.0, 161.0]])
    >>> overscan_and_trim(frame, {"BIASSEC": "[1:1,1:2]", "TRIMSEC": "[2:3,1:2]"})
    array([[50., 51.],
           [58., 59.]])
    """
    for keyword in ("BIASSEC", "TRIMSEC"):
        if keyword not in header:
            raise ValueError(f"the header has no {keyword} keyword; give the sections yourself, e.g. "
                             "trim(subtract_overscan(data, '[4:13,1:520]'), '[17:528,1:520]')")
    return trim(subtract_overscan(data, header["BIASSEC"], axis), header["TRIMSEC"])


# --------------------------------------------------------------------------------------------------
# Any night: read raw frames (overscan first) and choose the frames chapter 01 reduces
# --------------------------------------------------------------------------------------------------

def has_overscan(header):
    """True when a header gives both an overscan section (BIASSEC) and the section to keep (TRIMSEC)."""
    return "BIASSEC" in header and "TRIMSEC" in header


def read_raw(paths):
    """Read raw frames into a stack; a frame with an overscan strip is overscan-subtracted and trimmed first.

    Like :func:`helpers.io.read_stack`, but each frame whose header has BIASSEC and TRIMSEC goes through
    :func:`overscan_and_trim` as it is read, before anything else is done with it. Frames without them are
    returned as read.

    Parameters
    ----------
    paths : list of str or Path

    Returns
    -------
    3-D float64 array (n, ny, nx)

    Examples
    --------
    >>> from helpers import io, reduce
    >>> frames = io.collect("data/zoo/eso-fz")                                  # doctest: +SKIP
    >>> reduce.read_raw(io.select(frames, kind="bias")).shape   # 422 columns on disk   # doctest: +SKIP
    (5, 384, 384)
    """
    from helpers import io

    if isinstance(paths, (str, os.PathLike)):
        raise TypeError(f"read_raw needs a list of paths, not one path ({paths!r})")
    paths = list(paths)
    if not paths:
        raise ValueError("read_raw got an empty list of paths; check the kind, filter or exposure time you "
                         "selected")
    frames = []
    for path in paths:
        image, header = io.read_frame(path)
        frames.append(overscan_and_trim(image, header) if has_overscan(header) else image)
    return _as_cube(frames)


@dataclass
class Plan:
    """The frames chapter 01 reduces on one night, chosen by :func:`plan`; ``notes`` say what is missing."""

    band: str                  # the filter, as the headers name it
    science_paths: list        # science frames of that filter and of one exposure time
    exptime: float             # their exposure time (s)
    header: object             # the header of the first of them
    bias_paths: list
    dark_paths: list           # darks for the science frames (empty: none usable)
    dark_exptime: object       # their exposure time (s), or None
    flat_paths: list           # flats of the filter, of one exposure time
    flat_exptime: object       # seconds, or None
    flat_dark_paths: list      # darks for the flats
    flat_dark_exptime: object
    overscan: bool             # the frames have BIASSEC and TRIMSEC: read them with read_raw
    notes: list                # one line for each thing that is missing or chosen among several

    def summary(self):
        """What was chosen, in one line, followed by the notes (one line each)."""
        def some(paths, what, t=None):
            return (f"{len(paths)} {what}" + (f" of {t:g} s" if t is not None else "")) if paths else f"no {what}"

        line = (f"filter {self.band}: {some(self.science_paths, 'science frames', self.exptime)}; "
                f"{some(self.bias_paths, 'bias')}, {some(self.dark_paths, 'darks', self.dark_exptime)}, "
                f"{some(self.flat_paths, 'flats', self.flat_exptime)}")
        return "\n".join([line] + self.notes)


def _times(frames, kind, band=None):
    """The exposure times (s) of the usable frames of one kind (and filter), sorted."""
    from helpers import io

    table_times = dict(zip(frames["path"], frames["exptime"]))
    return sorted({float(table_times[p]) for p in io.select(frames, kind=kind, filter=band)})


def _same(a, b):
    from helpers import io

    return a is not None and b is not None and bool(io.same_exptime(a, b))


def plan(frames, band=None):
    """Choose the frames to reduce one filter of a night, by stated rules, and say what is missing.

    Rules (only usable frames count, see :func:`helpers.io.collect`):

    - the filter: ``band``, else :func:`helpers.io.main_filter` (most science frames; ties: observed first);
    - the science frames: those of that filter with the exposure time of the first one;
    - the darks for an exposure time ``t``: those of exposure ``t`` if there are any; else, when there are bias
      frames, the longest darks (:func:`calibrate` scales them by ``t / dark_exptime``); else none, because a
      dark that still holds the bias must never be scaled (that would scale the bias too);
    - the flats: those of the filter with the exposure time of the first one; their darks by the same rule.

    Every piece that is missing, and every choice among several exposure times, gets one line in ``notes``;
    so does an overscan strip (BIASSEC and TRIMSEC in the headers), which :func:`read_raw` removes.

    Parameters
    ----------
    frames : astropy.table.Table
        The table of :func:`helpers.io.collect`.
    band : str, optional
        The filter; by default the night's main filter.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        There is no usable science frame with a filter (or none in ``band``).

    Examples
    --------
    >>> from helpers import data, io, reduce
    >>> night = reduce.plan(io.collect(data.ensure()))
    >>> print(night.summary())
    filter V: 3 science frames of 60 s; 5 bias, 5 darks of 120 s, 5 flats of 5 s
    """
    from helpers import io

    band = band or io.main_filter(frames)
    if band is None:
        raise ValueError("no usable science frame with a filter in this folder: nothing to reduce (see the "
                         "'problem' column of io.collect's table)")
    every_science = io.select(frames, kind="science", filter=band)
    if not every_science:
        raise ValueError(f"no usable science frames in filter {band!r}")
    exptime_of = dict(zip(frames["path"], frames["exptime"]))
    exptime = float(exptime_of[every_science[0]])
    science_paths = io.select(frames, kind="science", filter=band, exptime=exptime)
    header = io.read_frame(science_paths[0])[1]
    notes = []
    science_times = _times(frames, "science", band)
    if len(science_times) > 1:
        notes.append(f"science frames in {band} of {', '.join(f'{t:g}' for t in science_times)} s: the "
                     f"{len(science_paths)} of {exptime:g} s (the exposure time of the first one) are reduced")
    overscan = has_overscan(header)
    if overscan:
        notes.append(f"an overscan strip (BIASSEC {header['BIASSEC']}, TRIMSEC {header['TRIMSEC']}): every frame "
                     "has its overscan level subtracted and is trimmed as it is read, before anything else")

    bias_paths = io.select(frames, kind="bias")
    dark_times = _times(frames, "dark")

    def darks_for(t):
        if t is None:
            return [], None
        chosen = next((d for d in dark_times if _same(d, t)), None)
        if chosen is None and bias_paths and dark_times:
            chosen = dark_times[-1]
        if chosen is None:
            return [], None
        return io.select(frames, kind="dark", exptime=chosen), chosen

    dark_paths, dark_exptime = darks_for(exptime)
    every_flat = io.select(frames, kind="flat", filter=band)
    flat_exptime = float(exptime_of[every_flat[0]]) if every_flat else None
    flat_paths = io.select(frames, kind="flat", filter=band, exptime=flat_exptime) if every_flat else []
    flat_dark_paths, flat_dark_exptime = darks_for(flat_exptime)

    times = ", ".join(f"{t:g}" for t in dark_times) + " s"
    if not bias_paths and not dark_times and not every_flat:
        notes.append("no calibration frames at all (no bias, dark or flat): the science frames are only "
                     "combined, not calibrated; the bias, dark current and flat pattern stay in them")
    elif not bias_paths and not dark_times:
        notes.append("no bias and no dark frames: the bias and the dark current stay in every frame")
    elif not bias_paths and dark_paths:
        flats_too = (f"; the {flat_exptime:g} s flats use the {flat_dark_exptime:g} s darks the same way"
                     if flat_dark_paths else (f"; there are no darks of {flat_exptime:g} s, so the flats keep "
                                              "their bias" if flat_paths else ""))
        notes.append(f"no bias frames: the {dark_exptime:g} s darks hold the bias too and are subtracted "
                     f"unscaled from the {exptime:g} s science frames{flats_too}. The cost: the bias level and "
                     "the read noise are not measured, and these darks fit no other exposure time")
    elif not bias_paths:
        notes.append(f"no bias frames and no darks of {exptime:g} s (only {times}): a dark that holds the bias "
                     "cannot be scaled, so the bias and the dark current stay in the science frames")
    elif not dark_times:
        notes.append("no dark frames: the dark current is not removed (it stays in the sky level, and hot "
                     "pixels stay bright)")
    elif len(dark_times) > 1:
        how = ("they match the science exposure" if _same(dark_exptime, exptime) else
               f"none matches the science exposure of {exptime:g} s, so the longest, scaled by "
               f"{exptime / dark_exptime:.2f}")
        notes.append(f"darks of {times}: the {dark_exptime:g} s ones are used ({how})")
    if every_flat and len(_times(frames, "flat", band)) > 1:
        notes.append(f"flats in {band} of several exposure times: the {len(flat_paths)} of {flat_exptime:g} s "
                     "(the first one's) are used")
    if not every_flat and (bias_paths or dark_times):
        notes.append(f"no flats in {band}: the frames are not flat-fielded (vignetting and dust shadows stay)")
    return Plan(band=band, science_paths=science_paths, exptime=exptime, header=header, bias_paths=bias_paths,
                dark_paths=dark_paths, dark_exptime=dark_exptime, flat_paths=flat_paths, flat_exptime=flat_exptime,
                flat_dark_paths=flat_dark_paths, flat_dark_exptime=flat_dark_exptime, overscan=overscan,
                notes=notes)
