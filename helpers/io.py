"""Reading and writing CCD frames (FITS) and DS9 region files.

Every function here speaks the handbook's conventions:

* an image is a 2-D float64 array indexed ``[row, col]``, that is ``[y, x]``;
* positions are called ``x`` (column) and ``y`` (row) and are **0-based**.
  FITS and DS9 count from 1; this module is the only place that converts;
* raw frames are never changed: :func:`write_frame` refuses to replace an
  existing file unless you pass ``overwrite=True``.

The FITS work itself is done by :mod:`astropy.io.fits`; this module only adds
the checks and the clear error messages a student needs.
"""
import math
import os
import re
import secrets
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["read_frame", "read_stack", "write_frame", "read_regions", "collect", "select",
           "frame_kind"]

HOW_TO_GET_DATA = (
    "To make the handbook's synthetic frames run `helpers.data.ensure()` (it returns their folder). "
    "To use your own frames, pass the path of your own folder or file instead, "
    "e.g. collect('/path/to/my/frames')."
)


def _not_found(path, what="file"):
    """Build a FileNotFoundError that says what is missing and what to do."""
    folder = path if what == "folder" else path.parent
    message = f"{what} not found: {path}."
    if what == "file" and not folder.exists():
        message += f" Its folder {folder} does not exist either."
    return FileNotFoundError(message + " " + HOW_TO_GET_DATA)


# --------------------------------------------------------------------------- FITS frames

# Warnings astropy gives for header cards that break the FITS rules in a harmless way
# (for example ESO's old ``ESO-LOG`` cards). ``verify('silentfix')`` deals with them.
_HARMLESS_CARD_WARNINGS = ("non-standard convention", "is not FITS standard")


def _read_fits(path, hdu=None, header_only=False):
    """Open one FITS file quietly and return ``(data, header)`` of its image HDU.

    ``data`` is a float64 copy (``None`` when ``header_only``); ``header`` is a copy of the
    header as stored in the file. Harmless header-card warnings are silenced; a damaged or
    truncated file raises OSError; any other warning is passed on.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise _not_found(path)
    damaged = (f"could not read {path} as a FITS image. The file may be truncated or damaged: "
               "copy it again from where it came from.")
    data = header = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fits.open(path) as hdul:
                shapes = [h.shape if h.is_image else "table" for h in hdul]
                chosen = _choose_hdu(hdul, hdu)
                if chosen is not None:
                    chosen.verify("silentfix")  # quietly repair non-standard header cards
                    header = chosen.header.copy()  # as stored, before astropy scales the data
                    if not header_only:
                        data = np.array(chosen.data, dtype=np.float64)
        except (OSError, TypeError, ValueError, fits.VerifyError) as err:  # what astropy raises
            raise OSError(f"{damaged} ({type(err).__name__}: {err})") from err
    for w in caught:
        text = str(w.message)
        if "may have been truncated" in text:
            raise OSError(f"{damaged} ({text})")
        if not any(fragment in text for fragment in _HARMLESS_CARD_WARNINGS):
            warnings.warn(w.message, stacklevel=3)  # a real problem: let the user see it
    if header is None:
        which = "any HDU" if hdu is None else f"HDU {hdu!r}"
        raise ValueError(f"{path} has no 2-D image in {which}; its HDUs have shapes {shapes}.")
    return data, header


def _choose_hdu(hdul, hdu):
    """The HDU asked for (number or EXTNAME), or by default the first 2-D image; else None."""
    def is_2d_image(h):
        return h.is_image and h.header.get("NAXIS") == 2

    if hdu is None:  # the primary HDU if it holds the image, else the first extension that does
        return next((h for h in hdul if is_2d_image(h)), None)
    try:
        chosen = hdul[hdu]
    except (KeyError, IndexError):
        return None
    return chosen if is_2d_image(chosen) else None


def read_frame(path, hdu=None):
    """Read one CCD frame from a FITS file as a float64 image.

    Parameters
    ----------
    path : str or pathlib.Path
        The FITS file.
    hdu : int or str, optional
        Which HDU to read (number or EXTNAME). By default the primary HDU, or,
        if that has no image, the first HDU holding a 2-D image.

    Returns
    -------
    data : numpy.ndarray
        2-D float64 array indexed ``[y, x]``, in physical units: astropy has already
        applied BZERO and BSCALE, so a uint16 camera frame stored with
        ``BZERO = 32768`` comes back with its real counts (0 ... 65535).
    header : astropy.io.fits.Header
        A copy of the header as stored in the file. Its BITPIX, BZERO and BSCALE
        describe the file on disk, not the float64 array.

    Raises
    ------
    FileNotFoundError
        The file (or its folder) does not exist; the message says how to make the
        synthetic frames.
    OSError
        The file is not a readable FITS file, e.g. truncated.
    ValueError
        The file holds no 2-D image.

    Notes
    -----
    Some real headers contain cards that break the FITS rules (for example
    ``ESO-LOG`` cards). They are repaired quietly with
    ``verify('silentfix')``, so reading them prints no warnings.

    Examples
    --------
    >>> data, header = read_frame("data/synthetic/bias-1.fits")  # doctest: +SKIP
    >>> data.dtype, data.shape, header["IMAGETYP"]                 # doctest: +SKIP
    (dtype('float64'), (1024, 1024), 'Bias Frame')
    >>> y, x = 10, 20
    >>> value = data[y, x]   # row first, then column                # doctest: +SKIP
    """
    return _read_fits(path, hdu=hdu)


def read_stack(paths):
    """Read several frames of the same shape into one 3-D float64 array.

    Parameters
    ----------
    paths : list of str or pathlib.Path
        The FITS files, for example ``sorted(folder.glob("bias-*.fits"))``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(n, ny, nx)``: ``stack[i]`` is the i-th frame.

    Raises
    ------
    ValueError
        The list is empty, or one frame has a different shape (the message names it).
    TypeError
        A single path was given instead of a list of paths.

    Examples
    --------
    >>> from pathlib import Path
    >>> paths = sorted(Path("data/synthetic").glob("bias-*.fits"))  # doctest: +SKIP
    >>> stack = read_stack(paths)                                   # doctest: +SKIP
    >>> stack.shape                                                 # doctest: +SKIP
    (5, 1024, 1024)
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError(f"read_stack needs a list of paths, not one path ({paths!r}); "
                        "for example read_stack(sorted(folder.glob('bias-*.fits'))).")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_stack got an empty list of paths. If the list came from select() "
                         "or glob(), check the kind, filter, exposure time or pattern you asked for.")
    first, _ = read_frame(paths[0])
    stack = np.empty((len(paths),) + first.shape, dtype=np.float64)
    stack[0] = first
    for i, path in enumerate(paths[1:], start=1):
        data, _ = read_frame(path)
        if data.shape != first.shape:
            raise ValueError(
                f"{path.name} is {data.shape[0]}x{data.shape[1]} (ny x nx) but {paths[0].name} is "
                f"{first.shape[0]}x{first.shape[1]}: all frames of a stack must have the same shape. "
                f"Check that {path} belongs with the others.")
        stack[i] = data
    return stack


# Keywords that describe how the data are stored; astropy writes correct ones itself.
_STRUCTURE_KEYWORDS = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
                       "BZERO", "BSCALE", "BLANK", "CHECKSUM", "DATASUM")


def write_frame(path, data, header=None, history=None, overwrite=False):
    """Write a 2-D image to a FITS file, keeping a header and adding HISTORY.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write. Missing parent folders are created.
    data : array_like
        2-D image indexed ``[y, x]``. Floating-point data are written as float32,
        integer data keep their type (astropy adds BZERO for unsigned integers).
    header : astropy.io.fits.Header or dict, optional
        Header cards to keep (for example the raw frame's header). It is copied,
        not changed; the cards that describe the storage (BITPIX, NAXIS*, BZERO,
        BSCALE, BLANK, CHECKSUM ...) are dropped so that astropy writes correct ones.
    history : str or list of str, optional
        Lines to append as HISTORY cards, saying what was done to the data.
    overwrite : bool, optional
        Replace an existing file. Default False: raw frames are never replaced by accident.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        The file exists and ``overwrite`` is False.
    ValueError
        ``data`` is not 2-D.

    Notes
    -----
    The frame is first written to a temporary file in the same folder, which is then
    renamed to ``path``. If anything fails half-way, an existing file is left intact.

    Examples
    --------
    >>> data, header = read_frame("data/synthetic/m13-v-60s-1.fits")         # doctest: +SKIP
    >>> write_frame("data/derived/m13-v-1-calibrated.fits", data - 1000.0,   # doctest: +SKIP
    ...             header, history="bias subtracted (master bias = 1000 ADU)")
    PosixPath('data/derived/m13-v-1-calibrated.fits')
    """
    path = Path(path).expanduser()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists and was not changed. Write to another name, "
                              "or pass overwrite=True to replace it.")
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"write_frame writes 2-D images (ny, nx); got an array of shape {data.shape}.")
    if data.dtype.kind == "f":
        data = data.astype(np.float32)
    elif data.dtype.kind == "b":
        data = data.astype(np.uint8)
    elif data.dtype.kind not in "iu":
        raise TypeError(f"write_frame cannot write data of type {data.dtype}; pass numbers.")

    if header is None:
        header = fits.Header()
    elif isinstance(header, fits.Header):
        header = header.copy()
    else:
        header = fits.Header(dict(header))
    naxis_n = [keyword for keyword in header if re.fullmatch(r"NAXIS\d+", keyword)]
    for keyword in list(_STRUCTURE_KEYWORDS) + naxis_n:
        header.remove(keyword, ignore_missing=True, remove_all=True)
    if isinstance(history, str):
        history = [history]
    for line in history or []:
        header.add_history(line)

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fits.PrimaryHDU(data=data, header=header).writeto(temporary)
        os.replace(temporary, path)  # the rename is atomic: `path` is old or new, never half-written
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


# --------------------------------------------------------------------------- DS9 regions

_IMAGE_SYSTEMS = ("image", "physical", "logical")
_OTHER_SYSTEMS = ("fk4", "fk5", "icrs", "galactic", "ecliptic", "j2000", "b1950", "wcs",
                  "linear", "amplifier", "detector")
_FORMS = {"point": "point(x,y)", "circle": "circle(x,y,r)", "annulus": "annulus(x,y,r_in,r_out,...)"}
_WCS_ADVICE = ("only image coordinates are supported; save the regions in DS9 with "
               "coordinate system 'image'")


def read_regions(path):
    """Read a DS9 region file into a table of 0-based pixel positions.

    Three formats are understood (``#`` comments and blank lines are ignored):

    1. XY list: one ``x y`` pair per line (DS9 "XY" format), read as points;
    2. DS9 4.x: ``image`` on its own line, then ``circle(x,y,r)``,
       ``annulus(x,y,r1,r2,...)`` and ``point(x,y)`` lines, or the ``image;circle(...)`` form;
    3. "pros": ``image; annulus 512 512 10 20``, ``logical;circle 100 100 5``.

    ``physical`` and ``logical`` coordinates are treated as image coordinates (true
    unless the frame was binned or cut out). An annulus with n radii gives n-1
    consecutive rings, one row each.

    Parameters
    ----------
    path : str or pathlib.Path
        The region file.

    Returns
    -------
    astropy.table.Table
        One row per region with columns ``shape`` ('point', 'circle' or 'annulus'),
        ``x``, ``y`` (0-based pixels: the DS9 value minus 1), ``r`` (circle radius),
        ``r_in``, ``r_out`` (annulus radii). Columns that do not apply are NaN.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Sky (WCS) coordinates, an unsupported shape or a malformed line (the
        message gives the line number), or no regions at all.

    Examples
    --------
    A DS9 circle at ``circle(101,51,5)`` is centred on pixel ``image[50, 100]``:

    >>> regions = read_regions("data/synthetic/ds9.reg")        # doctest: +SKIP
    >>> regions["shape", "x", "y", "r"][:2]                      # doctest: +SKIP
    >>> x, y = regions["x"][0], regions["y"][0]                  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise _not_found(path)
    rows = []
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path}, line {number}: {line.strip()!r}"
        content = line.split("#", 1)[0].strip()  # DS9 properties and comments follow '#'
        if not content or content.lower().startswith("global"):
            continue
        for part in content.split(";"):  # 'image; circle 1 2 3' holds two parts
            part = part.strip()
            if part:
                rows.extend(_parse_region(part, where))
    if not rows:
        raise ValueError(f"no regions found in {path}: expected lines like 'circle(100,200,5)' "
                         "(after a line 'image'), 'image; annulus 100 200 10 20' or 'x y'.")
    return Table(rows=rows, names=("shape", "x", "y", "r", "r_in", "r_out"),
                 dtype=(str, float, float, float, float, float))


def _parse_region(part, where):
    """Turn one region statement into table rows; coordinate-system words give no rows."""
    word = part.lower()
    if word in _IMAGE_SYSTEMS:
        return []
    if word in _OTHER_SYSTEMS or re.fullmatch(r"wcs[a-z]", word):
        raise ValueError(f"{where}: {_WCS_ADVICE}.")
    match = (re.fullmatch(r"([a-zA-Z]+)\s*\((.*)\)", part)    # circle(1,2,3)
             or re.fullmatch(r"([a-zA-Z]+)\s+(.*)", part))     # circle 1 2 3
    if match:
        shape, values = match.group(1).lower(), _numbers(match.group(2), where)
    elif not part[0].isalpha():  # an XY line: 'x y', perhaps with more numbers after them
        shape, values = "point", _numbers(part, where)[:2]
    else:
        raise ValueError(f"{where}: cannot understand this line; expected 'x y' or one of "
                         f"{', '.join(_FORMS.values())}.")
    if shape not in _FORMS:
        raise ValueError(f"{where}: unsupported shape '{shape}'; only {', '.join(_FORMS)} "
                         "are read. Delete this line or change the region in DS9.")
    fewest, most = {"point": (2, 2), "circle": (3, 3), "annulus": (4, math.inf)}[shape]
    if not fewest <= len(values) <= most:
        raise ValueError(f"{where}: expected {_FORMS[shape]}, got {len(values)} value(s).")
    x, y = values[0] - 1.0, values[1] - 1.0  # DS9 pixels are 1-based, numpy 0-based
    radii = values[2:]
    if any(r <= 0 for r in radii) or any(a >= b for a, b in zip(radii, radii[1:])):
        raise ValueError(f"{where}: radii must be positive and increasing, got {radii}.")
    nan = math.nan
    if shape == "point":
        return [("point", x, y, nan, nan, nan)]
    if shape == "circle":
        return [("circle", x, y, radii[0], nan, nan)]
    return [("annulus", x, y, nan, r_in, r_out) for r_in, r_out in zip(radii, radii[1:])]


def _numbers(text, where):
    """Split '1,2, 3' or '1 2 3' into floats, rejecting sky coordinates clearly."""
    values = []
    for token in text.replace(",", " ").split():
        try:
            values.append(float(token))
        except ValueError:
            if ":" in token or token[-1] in "\"'dhms":  # 13:29:52.7, 5", 0.1d, 12h
                raise ValueError(f"{where}: {_WCS_ADVICE}.") from None
            raise ValueError(f"{where}: '{token}' is not a number.") from None
        if not math.isfinite(values[-1]):
            raise ValueError(f"{where}: '{token}' is not a finite number.")
    return values


# --------------------------------------------------------------------------- folders of frames

FITS_EXTENSIONS = (".fits", ".fit", ".fts")
KINDS = ("bias", "dark", "flat", "science", "unknown")

# IMAGETYP values, written in lower case without spaces, underscores or hyphens.
_IMAGETYP_KINDS = {
    "biasframe": "bias", "bias": "bias", "zero": "bias",
    "darkframe": "dark", "dark": "dark",
    "flatfield": "flat", "flat": "flat", "skyflat": "flat", "domeflat": "flat",
    "twilightflat": "flat",
    "lightframe": "science", "light": "science", "object": "science", "science": "science",
}
_FILTER_KEYWORDS = ("FILTER", "FILTER1", "FILTNAME", "FILT", "INSFLNAM", "HIERARCH ESO INS FILT1 NAME")
_EXPTIME_KEYWORDS = ("EXPTIME", "EXPOSURE", "ITIME")


def frame_kind(imagetyp):
    """Classify an IMAGETYP header value as 'bias', 'dark', 'flat', 'science' or 'unknown'.

    Case, spaces, underscores and hyphens are ignored.

    Examples
    --------
    >>> frame_kind("Flat Field"), frame_kind("ZERO"), frame_kind("light_frame"), frame_kind("focus")
    ('flat', 'bias', 'science', 'unknown')
    """
    key = re.sub(r"[\s_\-]+", "", str(imagetyp)).lower()
    return _IMAGETYP_KINDS.get(key, "unknown")


def _first_value(header, keywords):
    """The value of the first keyword present with a non-blank value, else None."""
    for keyword in keywords:
        value = header.get(keyword)
        if value is not None and str(value).strip() != "":
            return value
    return None


def collect(folder):
    """List the FITS frames in a folder with their type, filter, exposure time and size.

    Only the headers are read, so this is fast. Files ending in .fits, .fit or .fts
    (any case) are listed, sorted by name; sub-folders and hidden files are skipped.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder of frames.

    Returns
    -------
    astropy.table.Table
        One row per file with columns ``path``, ``name``, ``kind`` ('bias', 'dark',
        'flat', 'science' or 'unknown', from IMAGETYP), ``filter`` ('' if none),
        ``exptime`` (seconds, NaN if none), ``ny``, ``nx`` and ``imagetyp`` (the raw
        header value, so you can see why a frame is 'unknown').

    Raises
    ------
    FileNotFoundError
        The folder does not exist (the message says how to make the synthetic frames).
    ValueError
        The folder holds no FITS files.

    Notes
    -----
    The filter is read from FILTER, else FILTER1, FILTNAME, FILT, INSFLNAM or
    ``HIERARCH ESO INS FILT1 NAME``; the exposure time from EXPTIME, else EXPOSURE or ITIME.

    Examples
    --------
    >>> frames = collect("data/synthetic")                                    # doctest: +SKIP
    >>> frames["name", "kind", "filter", "exptime"][:3]                       # doctest: +SKIP
    >>> flats_v = select(frames, kind="flat", filter="V")                     # doctest: +SKIP
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise _not_found(folder, what="folder")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder: pass the folder that holds "
                                 "the frames (use read_frame for one file).")
    paths = sorted((p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in FITS_EXTENSIONS
                    and not p.name.startswith(".")),
                   key=lambda p: p.name)
    if not paths:
        raise ValueError(f"no FITS files in {folder}: looked for names ending in "
                         f"{', '.join(FITS_EXTENSIONS)} (any case), not in sub-folders.")
    rows = []
    for path in paths:
        _, header = _read_fits(path, header_only=True)
        imagetyp = str(header.get("IMAGETYP", "")).strip()
        filter_name = _first_value(header, _FILTER_KEYWORDS)
        exptime = _first_value(header, _EXPTIME_KEYWORDS)
        try:
            exptime = float(exptime)
        except (TypeError, ValueError):
            exptime = math.nan
        rows.append((str(path), path.name, frame_kind(imagetyp),
                     "" if filter_name is None else str(filter_name).strip(),
                     exptime, header["NAXIS2"], header["NAXIS1"], imagetyp))
    return Table(rows=rows, names=("path", "name", "kind", "filter", "exptime", "ny", "nx", "imagetyp"),
                 dtype=(str, str, str, str, float, int, int, str))


def select(table, kind=None, filter=None, exptime=None):
    """Pick frames from a :func:`collect` table by kind, filter and exposure time.

    Parameters
    ----------
    table : astropy.table.Table
        The result of :func:`collect`.
    kind : str, optional
        'bias', 'dark', 'flat', 'science' or 'unknown'.
    filter : str, optional
        Filter name, compared without regard to case ('' selects frames without a filter).
    exptime : float, optional
        Exposure time in seconds, matched within 0.1 % or 0.01 s.

    Returns
    -------
    list of str
        The paths of the matching frames, in table order (empty if none match).
        Criteria left as None are not checked.

    Examples
    --------
    >>> frames = collect("data/synthetic")                                  # doctest: +SKIP
    >>> select(frames, kind="science", filter="v", exptime=60)              # doctest: +SKIP
    ['data/synthetic/m13-v-60s-1.fits', 'data/synthetic/m13-v-60s-2.fits', 'data/synthetic/m13-v-60s-3.fits']
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    keep = np.ones(len(table), dtype=bool)
    if kind is not None:
        keep &= np.array([k == kind for k in table["kind"]], dtype=bool)
    if filter is not None:
        wanted = filter.strip().lower()
        keep &= np.array([f.strip().lower() == wanted for f in table["filter"]], dtype=bool)
    if exptime is not None:
        keep &= np.isclose(np.asarray(table["exptime"], dtype=float), exptime, rtol=1e-3, atol=1e-2)
    return [str(p) for p in table["path"][keep]]
