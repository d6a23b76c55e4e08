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
import json
import math
import os
import re
import secrets
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["FrameRows", "read_frame", "read_stack", "write_frame", "read_regions", "collect", "select",
           "frame_kind", "filter_name", "exposure_time", "is_fits_name", "raw_folder_reason", "check_can_write",
           "main_filter", "stem", "slug", "same_exptime",
           "UnreadableFrameError", "HeaderRepairWarning"]

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
# A warning astropy gives when it has repaired a header itself: reported as a repair.
_REPAIRED_BY_ASTROPY = {"non-ASCII characters": "non-ASCII characters in the header (replaced by '?')"}


class UnreadableFrameError(OSError):
    """A file that cannot be read as a FITS image; ``reason`` says why in a few words (no path)."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


class HeaderRepairWarning(UserWarning):
    """A header card broke the FITS standard and was repaired on reading (the message names it)."""


# Files whose repaired header cards were already reported (by collect's table or a warning): said once.
_REPORTED_REPAIRS = set()


def _repair_header(header):
    """Repair cards astropy cannot parse (``EXPTIME = 60,0``) in place; return one text per repaired card.

    astropy's ``verify('silentfix')`` keeps such a value as text; the texts say which card it was.
    """
    broken = []
    for card in header.cards:
        try:
            card.value
        except (fits.VerifyError, ValueError):
            broken.append(card)
    for card in header.cards:
        card.verify("silentfix")
    return [f"{card.keyword} = {str(card.value).strip()} (an unparsable value, now kept as text)"
            for card in broken]


def _first_bytes(path, n=2880):
    """The first bytes of a file, decompressed if it is gzip or bzip2 (for telling what it is)."""
    import bz2
    import gzip
    with open(path, "rb") as f:
        head = f.read(4)
    opener = gzip.open if head[:2] == b"\x1f\x8b" else bz2.open if head[:3] == b"BZh" else open
    try:
        with opener(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _broken_card(head):
    """The first card of a primary header (raw bytes) that breaks the FITS standard, as text; '' if none."""
    for start in range(0, len(head) - 79, 80):
        raw = head[start:start + 80]
        if raw.startswith(b"END") and not raw[3:8].strip(b" ="):
            return ""
        text = raw.decode("ascii", errors="replace").rstrip()
        if any(b < 32 or b > 126 for b in raw):
            return f"{text[:30].strip()}... (characters that are not printable ASCII)"
        try:
            card = fits.Card.fromstring(raw.decode("ascii"))
            value = card.value
        except (ValueError, fits.VerifyError):
            continue   # repairable: verify('silentfix') keeps it as text
        if re.fullmatch(r"BITPIX|NAXIS\d*", card.keyword) and not isinstance(value, int):
            return f"{text} (must be a whole number)"
    return ""


def _unreadable(path, err=None):
    """An UnreadableFrameError whose reason tells corruption from other causes."""
    head = b""
    if isinstance(err, PermissionError) or not os.access(path, os.R_OK):
        reason = "no permission to read it"
        advice = f"ask its owner, or give yourself read permission (chmod u+r '{path}')"
    elif path.stat().st_size == 0:
        reason, advice = "the file is empty", "copy it again from where it came from"
    elif not (head := _first_bytes(path, 80 * 360)).startswith(b"SIMPLE"):
        reason = "not a FITS file (it does not start with 'SIMPLE  =')"
        advice = "move it out of the folder of frames if it is not an image"
    elif card := _broken_card(head):
        reason = f"a header card breaks the FITS standard beyond repair: {card}"
        advice = ("fix that card with a FITS header editor (e.g. astropy's fitsheader, or DS9), working on a "
                  "copy; the pixels may be fine")
    else:
        reason = "truncated or damaged"
        advice = "copy it again from where it came from"
    detail = f" ({type(err).__name__}: {err})" if err is not None else ""
    return UnreadableFrameError(f"could not read {path} as a FITS image: {reason}. What to do: {advice}.{detail}",
                                reason)


def _to_float(hdu):
    """The HDU's pixels as float64 in physical units (BZERO + BSCALE x stored), BLANK pixels as NaN.

    The HDU must have been opened with ``do_not_scale_image_data=True``, so that ``hdu.data`` holds the
    stored numbers: the scaling is then done here in float64 (astropy would use float32 for BSCALE != 1)
    and the pixels stored as BLANK (dead or missing pixels) are known exactly.
    """
    return _physical(np.asarray(hdu.data), hdu.header)


def _physical(stored, header):
    """Stored numbers -> float64 physical values (BZERO + BSCALE x stored), BLANK pixels as NaN."""
    data = stored.astype(np.float64)
    if stored.dtype.kind in "iu":
        bscale, bzero = header.get("BSCALE", 1.0), header.get("BZERO", 0.0)
        if bscale != 1:
            data *= bscale
        if bzero != 0:
            data += bzero
        blank = header.get("BLANK")
        if isinstance(blank, (int, np.integer)):
            data[stored == blank] = np.nan
    return data


class FrameRows:
    """A FITS frame read a block of rows at a time, so that a stack of large frames never has to fit in memory.

    Uncompressed files are read with seeks and Rice-compressed (``.fz``) ones tile by tile: only the rows
    asked for are read. A gzip or bzip2 file cannot be read in pieces, so its frame is decompressed whole
    (once). Values are as :func:`read_frame` gives them: float64, physical units, BLANK pixels as NaN.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from astropy.io import fits
    >>> path = Path(tempfile.mkdtemp()) / "frame.fits"
    >>> fits.PrimaryHDU(np.arange(12, dtype=np.int16).reshape(4, 3)).writeto(path)
    >>> with FrameRows(path) as rows:
    ...     print(rows.shape, rows.read(1, 3).tolist())
    (4, 3) [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    """

    def __init__(self, path):
        self.path = Path(path).expanduser()
        _, self.header, _ = _read_fits(self.path, header_only=True, report_repairs=False)  # readable? says why not
        self.shape = (int(self.header["NAXIS2"]), int(self.header["NAXIS1"]))
        self._file = open(self.path, "rb")
        # not memory-mapped: mapped pages would stay resident until the file is closed, and a stack of
        # files would fill the memory after all; .section reads just the rows asked for
        self._hdul = fits.open(self._file, memmap=False, do_not_scale_image_data=True)
        self._hdu = _choose_hdu(self._hdul, None)

    def read(self, start, stop):
        """Rows ``start`` to ``stop`` (end excluded) as a float64 array (stop - start, nx)."""
        try:
            stored = np.asarray(self._hdu.section[start:stop])
        except (AttributeError, TypeError, ValueError, OSError):   # a file that cannot be read in pieces
            stored = np.asarray(self._hdu.data[start:stop])
        return _physical(stored, self.header)

    def close(self):
        self._hdul.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_fits(path, hdu=None, header_only=False, report_repairs=True):
    """Open one FITS file quietly and return ``(data, header, repaired)`` of its image HDU.

    ``data`` is a float64 array in physical units with BLANK pixels as NaN (``None`` when
    ``header_only``); ``header`` is a copy of the header as stored in the file, with unparsable cards
    repaired and a HISTORY card for each; ``repaired`` lists the repaired cards. Harmless header-card
    warnings are silenced; a file that cannot be read raises UnreadableFrameError (an OSError) that
    says why; any other warning is passed on. Repairs are reported by a HeaderRepairWarning once per
    file, unless ``report_repairs`` is False.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise _not_found(path)
    data = header = None
    repaired = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # open the file ourselves, so that it is closed even when astropy gives up half-way
            with open(path, "rb") as f, fits.open(f, do_not_scale_image_data=True) as hdul:
                shapes = [h.shape if h.is_image else "table" for h in hdul]
                chosen = _choose_hdu(hdul, hdu)
                if chosen is not None:
                    header = chosen.header.copy()  # as stored
                    repaired = _repair_header(header)
                    if not header_only:
                        data = _to_float(chosen)
        except (OSError, TypeError, ValueError, fits.VerifyError) as err:  # what astropy raises
            raise _unreadable(path, err) from err
    for w in caught:
        text = str(w.message)
        if "may have been truncated" in text:
            raise _unreadable(path, OSError(text))
        repairs = [said for fragment, said in _REPAIRED_BY_ASTROPY.items() if fragment in text]
        if repairs:
            repaired.extend(r for r in repairs if r not in repaired)
        elif not any(fragment in text for fragment in _HARMLESS_CARD_WARNINGS):
            warnings.warn(w.message, stacklevel=3)  # a real problem: let the user see it
    if header is None:
        which = "any HDU" if hdu is None else f"HDU {hdu!r}"
        raise ValueError(f"{path} has no 2-D image in {which}; its HDUs have shapes {shapes}.")
    for text in repaired:
        header.add_history(f"read_frame repaired a header card: {text}")
    key = str(path.resolve())
    if repaired and report_repairs and key not in _REPORTED_REPAIRS:
        _REPORTED_REPAIRS.add(key)
        warnings.warn(f"{path.name}: header card(s) broke the FITS standard and were repaired: "
                      f"{'; '.join(repaired)}.", HeaderRepairWarning, stacklevel=3)
    return data, header, repaired


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
        2-D float64 array indexed ``[y, x]``, in physical units ``BZERO + BSCALE x stored``,
        so a uint16 camera frame stored with ``BZERO = 32768`` comes back with its real
        counts (0 ... 65535). Pixels stored as the header's BLANK value (dead or missing
        pixels) are NaN.
    header : astropy.io.fits.Header
        A copy of the header as stored in the file. Its BITPIX, BZERO and BSCALE
        describe the file on disk, not the float64 array.

    Raises
    ------
    FileNotFoundError
        The file (or its folder) does not exist; the message says how to make the
        synthetic frames.
    UnreadableFrameError
        (an OSError) The file cannot be read; the message says why and what to do:
        no permission to read it, empty, not a FITS file, truncated or damaged, or a
        header card that breaks the standard beyond repair.
    ValueError
        The file holds no 2-D image.

    Warns
    -----
    HeaderRepairWarning
        A header card astropy cannot parse (``EXPTIME = 60,0``) was repaired: its value is
        kept as text, and a HISTORY card in the returned header says so. Said once per file.

    Notes
    -----
    Compressed files are read as they are: ``.fits.gz``, ``.fits.bz2`` and tile-compressed
    ``.fits.fz`` (whose image sits in the first extension). Cards that bend the FITS rules
    harmlessly (for example ``ESO-LOG`` cards) are repaired quietly with
    ``verify('silentfix')``.

    Examples
    --------
    >>> data, header = read_frame("data/synthetic/bias-1.fits")  # doctest: +SKIP
    >>> data.dtype, data.shape, header["IMAGETYP"]                 # doctest: +SKIP
    (dtype('float64'), (1024, 1024), 'Bias Frame')
    >>> y, x = 10, 20
    >>> value = data[y, x]   # row first, then column                # doctest: +SKIP
    """
    data, header, _ = _read_fits(path, hdu=hdu)
    return data, header


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


# Folders whose frames collect() listed in this session: raw data, never written into.
_RAW_FOLDERS = set()


def _is_data_set_folder(folder):
    """True if ``folder`` holds the MANIFEST.json of a data set the handbook made (its raw frames)."""
    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "generator" in manifest and "files" in manifest


def raw_folder_reason(folder):
    """Why ``folder`` holds raw frames that the handbook must never write beside, or '' if it does not.

    A folder is raw when :func:`collect` listed its frames in this session, or when it (or its parent,
    for ``m51/``) holds the MANIFEST.json of a data set the handbook made.

    Examples
    --------
    >>> import tempfile
    >>> raw_folder_reason(tempfile.mkdtemp())
    ''
    """
    folder = Path(folder).expanduser().resolve()
    if folder in _RAW_FOLDERS:
        return "collect() read raw frames from this folder"
    for place in (folder, folder.parent):
        if _is_data_set_folder(place):
            return f"it belongs to a data set of raw frames ({place / 'MANIFEST.json'})"
    return ""


def _is_read_only(path):
    """No write permission in the file's mode bits (checked explicitly: root could write anyway)."""
    return not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK)


def check_can_write(path, overwrite=False):
    """Raise unless the handbook may write ``path``; return it as a Path. Every writer calls this first.

    Refused: a file in a folder of raw frames (:func:`raw_folder_reason`), an existing file without
    ``overwrite=True``, and a read-only file even with it (its permission bits are checked, so this
    holds when running as root, who could write anyway).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> check_can_write(Path(tempfile.mkdtemp()) / "new.fits").name
    'new.fits'
    """
    path = Path(path).expanduser()
    raw = raw_folder_reason(path.parent)
    if raw:
        raise PermissionError(f"{path} was not written: {path.parent} is a folder of raw frames ({raw}), and "
                              "derived files never go beside raw frames. Write into "
                              "helpers.data.derived_folder(folder) instead.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists and was not changed. Write to another name, "
                              "or pass overwrite=True to replace it.")
    if path.exists() and _is_read_only(path):
        raise PermissionError(f"{path} is read-only and was not replaced, even with overwrite=True: a read-only "
                              "file is somebody's data to keep. Write to another name.")
    return path


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
    PermissionError
        The file is read-only (it is never replaced, even with ``overwrite=True``), the
        folder is a folder of raw frames (see :func:`raw_folder_reason`: derived files
        never go beside raw frames), or the folder cannot be written.
    ValueError
        ``data`` is not 2-D.

    Notes
    -----
    The frame is first written to a temporary file in the same folder, which is then
    renamed to ``path``. If anything fails half-way, an existing file is left intact.
    Header cards that astropy cannot parse are repaired on the way out (HISTORY says which).

    Examples
    --------
    >>> data, header = read_frame("data/synthetic/m13-v-60s-1.fits")         # doctest: +SKIP
    >>> write_frame("data/derived/m13-v-1-calibrated.fits", data - 1000.0,   # doctest: +SKIP
    ...             header, history="bias subtracted (master bias = 1000 ADU)")
    PosixPath('data/derived/m13-v-1-calibrated.fits')
    """
    path = check_can_write(path, overwrite)
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
    for text in _repair_header(header):
        header.add_history(f"write_frame repaired a header card: {text}")
    if isinstance(history, str):
        history = [history]
    for line in history or []:
        header.add_history(line)

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fits.PrimaryHDU(data=data, header=header).writeto(temporary)
        os.replace(temporary, path)  # the rename is atomic: `path` is old or new, never half-written
    except PermissionError as err:
        raise PermissionError(f"{path} was not written: no permission to write in {path.parent} "
                              f"({err.strerror}). Write into a folder of your own, for example "
                              "helpers.data.derived_folder(folder).") from err
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
COMPRESSED_EXTENSIONS = (".gz", ".bz2", ".fz")
KINDS = ("bias", "dark", "flat", "science", "unknown", "unreadable")

# Frame-type values, written in lower case without spaces, underscores, hyphens or commas.
_IMAGETYP_KINDS = {
    "biasframe": "bias", "bias": "bias", "zero": "bias", "zeroframe": "bias",
    "darkframe": "dark", "dark": "dark",
    "flatfield": "flat", "flat": "flat", "skyflat": "flat", "domeflat": "flat",
    "twilightflat": "flat", "twilight": "flat", "flatframe": "flat", "flatsky": "flat", "flatdome": "flat",
    "flatlamp": "flat", "lampflat": "flat", "flattwilight": "flat",
    "lightframe": "science", "light": "science", "object": "science", "science": "science", "sci": "science",
    "std": "science", "standard": "science",
}
#: Keywords that may say what kind of frame it is, in the order they are tried.
TYPE_KEYWORDS = ("IMAGETYP", "OBSTYPE", "DATA-TYP", "HIERARCH ESO DPR TYPE", "FRAMETYP", "IMGTYPE",
                 "HIERARCH ESO GEN EXPO TYPE")
#: Keywords that may name the filter, in the order they are tried.
FILTER_KEYWORDS = ("FILTER", "FILTERS", "FILTER1", "FILTER2", "FILTNAME", "FILT", "INSFLNAM",
                   "HIERARCH ESO INS FILT1 NAME", "HIERARCH ESO INS FILT2 NAME", "HIERARCH ESO INS FILT NAME")
#: Keywords that may hold the exposure time in seconds, in the order they are tried.
EXPTIME_KEYWORDS = ("EXPTIME", "EXPOSURE", "ITIME")
# A filter wheel position that holds no filter: skipped when another wheel holds one.
_NO_FILTER = {"clear", "open", "empty", "none", "air", "nofilter", "free", "blank", ""}


def frame_kind(imagetyp):
    """Classify a frame-type header value as 'bias', 'dark', 'flat', 'science' or 'unknown'.

    Case, spaces, underscores, hyphens and commas are ignored ('FLAT,SKY' is a sky flat).

    Examples
    --------
    >>> frame_kind("Flat Field"), frame_kind("ZERO"), frame_kind("light_frame"), frame_kind("focus")
    ('flat', 'bias', 'science', 'unknown')
    >>> frame_kind("FLAT,SKY"), frame_kind("twilight"), frame_kind("STD")
    ('flat', 'flat', 'science')
    """
    key = re.sub(r"[\s_\-,.]+", "", str(imagetyp)).lower()
    return _IMAGETYP_KINDS.get(key, "unknown")


def _value(header, keyword):
    """A header value as stripped text, '' when the keyword is missing or blank."""
    value = header.get(keyword)
    return "" if value is None else str(value).strip()


def _frame_type(header):
    """(keyword, value) of the first frame-type keyword present, else ('', '')."""
    for keyword in TYPE_KEYWORDS:
        if _value(header, keyword):
            return keyword, _value(header, keyword)
    return "", ""


def filter_name(header):
    """The filter named in a header, or '' when none is.

    The keywords of :data:`FILTER_KEYWORDS` are read in turn; a wheel position that holds no filter
    ('Clear', 'Open', 'Empty' ...) is passed over when another keyword names a real filter, so
    ``FILTER1 = 'Clear'`` with ``FILTER2 = 'V'`` gives 'V'; two real filters are joined with '+'.

    Examples
    --------
    >>> filter_name({"FILTER1": "Clear", "FILTER2": "V"}), filter_name({"FILTER": "r (530-700)"})
    ('V', 'r (530-700)')
    >>> filter_name({"HIERARCH ESO INS FILT1 NAME": "V_Bess"}), filter_name({"FILTER": "Clear"}), filter_name({})
    ('V_Bess', 'Clear', '')
    """
    names = []
    for keyword in FILTER_KEYWORDS:
        value = _value(header, keyword)
        if value and value not in names:
            names.append(value)
        if keyword == "FILTER2" and names:   # FILTER (or FILTERS) and the two wheels are one answer
            break
    real = [n for n in names if re.sub(r"[\s_\-]+", "", n).lower() not in _NO_FILTER]
    if real:
        return "+".join(real) if len(real) <= 2 else real[0]
    return names[0] if names else ""


def exposure_time(header):
    """The exposure time (s) from EXPTIME, EXPOSURE or ITIME, or NaN when there is none.

    A value written as text is read when it is a plain number, with a decimal comma or a unit
    ('60,0', '60 s'); anything else, a negative time included, gives NaN.

    Examples
    --------
    >>> exposure_time({"EXPOSURE": 30.0}), exposure_time({"EXPTIME": "60,0"}), exposure_time({})
    (30.0, 60.0, nan)
    """
    for keyword in EXPTIME_KEYWORDS:
        text = _value(header, keyword)
        if not text:
            continue
        match = re.fullmatch(r"([+-]?\d+(?:[.,]\d*)?(?:[eE][+-]?\d+)?)\s*(s|sec|seconds?)?", text, re.IGNORECASE)
        if match:
            value = float(match.group(1).replace(",", "."))
            return value if value >= 0 else math.nan
        return math.nan
    return math.nan


def is_fits_name(name):
    """True for names ending in .fits, .fit or .fts, perhaps followed by .gz, .bz2 or .fz (any case).

    Examples
    --------
    >>> [is_fits_name(n) for n in ("a.fits", "b.FIT.gz", "c.fits.fz", "d.fts.bz2", "e.txt", "f.gz")]
    [True, True, True, True, False, False]
    """
    name = name.lower()
    for compressed in ("",) + COMPRESSED_EXTENSIONS:
        if name.endswith(compressed) and name[:len(name) - len(compressed)].endswith(FITS_EXTENSIONS):
            return True
    return False


def _problem(kind, filter_name, exptime, type_keyword, imagetyp):
    """Why a frame cannot be used in a reduction, in one sentence; '' when it can."""
    if kind == "unknown":
        if not type_keyword:
            return ("no frame-type keyword (looked for " + ", ".join(TYPE_KEYWORDS[:4]) + "); "
                    "it cannot be sorted into bias, dark, flat or science")
        return f"{type_keyword} = {imagetyp!r} is not a bias, dark, flat or science frame"
    if kind != "bias" and not math.isfinite(exptime):
        return "no exposure time (looked for " + ", ".join(EXPTIME_KEYWORDS) + ")"
    if kind in ("flat", "science") and not filter_name:
        return "no filter (looked for " + ", ".join(k.replace("HIERARCH ", "") for k in FILTER_KEYWORDS[:7]) + \
            ", ESO INS FILT1 NAME)"
    return ""


def collect(folder):
    """List the FITS frames in a folder with their type, filter, exposure time and size.

    Only the headers are read, so this is fast. Files ending in .fits, .fit or .fts, perhaps
    compressed (.gz, .bz2, .fz), any case, are listed, sorted by name; sub-folders and hidden
    files are skipped. One bad file never stops the listing: it gets a row that says why it
    cannot be used, and the rest goes on.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder of frames. It is only read, and it is remembered as a folder of raw frames:
        :func:`write_frame` refuses to write into it.

    Returns
    -------
    astropy.table.Table
        One row per file with columns ``path``, ``name``, ``kind`` ('bias', 'dark', 'flat',
        'science', 'unknown', or 'unreadable' for a file that cannot be read), ``filter``
        ('' if none), ``exptime`` (seconds; NaN if none; 0 for a bias without one), ``ny``,
        ``nx`` (0 if unreadable), ``imagetyp`` (the raw frame-type value, so you can see why a
        frame is 'unknown'), ``problem`` ('' for a usable frame, else why it cannot be used:
        unreadable, unknown type, no exposure time, no filter) and ``note`` (what was done to
        read it, e.g. a repaired header card). :func:`select` never returns a frame with a problem.

    Raises
    ------
    FileNotFoundError
        The folder does not exist (the message says how to make the synthetic frames).
    ValueError
        The folder holds no FITS files.

    Notes
    -----
    The frame type is read from the first of IMAGETYP, OBSTYPE, DATA-TYP, ``HIERARCH ESO DPR
    TYPE`` ... (:data:`TYPE_KEYWORDS`) that is present, the filter with :func:`filter_name`, the
    exposure time with :func:`exposure_time`.

    Examples
    --------
    >>> frames = collect("data/synthetic")                                    # doctest: +SKIP
    >>> frames["name", "kind", "filter", "exptime"][:3]                       # doctest: +SKIP
    >>> frames[frames["problem"] != ""]          # the files that cannot be used, and why  # doctest: +SKIP
    >>> flats_v = select(frames, kind="flat", filter="V")                     # doctest: +SKIP
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise _not_found(folder, what="folder")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder: pass the folder that holds "
                                 "the frames (use read_frame for one file).")
    paths = sorted((p for p in folder.iterdir()
                    if is_fits_name(p.name) and not p.name.startswith(".") and p.is_file()),
                   key=lambda p: p.name)
    if not paths:
        raise ValueError(f"no FITS files in {folder}: looked for names ending in "
                         f"{', '.join(FITS_EXTENSIONS)} (any case, perhaps followed by "
                         f"{', '.join(COMPRESSED_EXTENSIONS)}), not in sub-folders.")
    _RAW_FOLDERS.add(folder.resolve())
    rows = []
    for path in paths:
        try:
            _, header, repaired = _read_fits(path, header_only=True, report_repairs=False)
        except (OSError, ValueError) as err:
            reason = getattr(err, "reason", None) or str(err).replace(str(path), path.name)
            rows.append((str(path), path.name, "unreadable", "", math.nan, 0, 0, "", f"unreadable: {reason}", ""))
            continue
        _REPORTED_REPAIRS.add(str(path.resolve()))  # said here, in the table: read_frame need not warn again
        type_keyword, imagetyp = _frame_type(header)
        kind = frame_kind(imagetyp)
        band, exptime = filter_name(header), exposure_time(header)
        if kind == "bias" and not math.isfinite(exptime):
            exptime = 0.0   # a bias has no exposure by definition
        note = "repaired " + "; ".join(repaired) if repaired else ""
        rows.append((str(path), path.name, kind, band, exptime, header["NAXIS2"], header["NAXIS1"], imagetyp,
                     _problem(kind, band, exptime, type_keyword, imagetyp), note))
    return Table(rows=rows, names=("path", "name", "kind", "filter", "exptime", "ny", "nx", "imagetyp", "problem",
                                   "note"),
                 dtype=(str, str, str, str, float, int, int, str, str, str))


def same_exptime(a, b):
    """True where two exposure times are the same: within 0.1 % or 0.01 s (headers round them differently).

    Examples
    --------
    >>> bool(same_exptime(60.0, 60.004)), bool(same_exptime(60.0, 59.0))
    (True, False)
    """
    return np.isclose(a, b, rtol=1e-3, atol=1e-2)


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
        Criteria left as None are not checked. Frames with a ``problem`` (see :func:`collect`)
        are never returned.

    Examples
    --------
    >>> frames = collect("data/synthetic")                                  # doctest: +SKIP
    >>> select(frames, kind="science", filter="v", exptime=60)              # doctest: +SKIP
    ['data/synthetic/m13-v-60s-1.fits', 'data/synthetic/m13-v-60s-2.fits', 'data/synthetic/m13-v-60s-3.fits']
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    keep = np.ones(len(table), dtype=bool)
    if "problem" in table.colnames:
        keep &= np.array([p == "" for p in table["problem"]], dtype=bool)
    if kind is not None:
        keep &= np.array([k == kind for k in table["kind"]], dtype=bool)
    if filter is not None:
        wanted = filter.strip().lower()
        keep &= np.array([f.strip().lower() == wanted for f in table["filter"]], dtype=bool)
    if exptime is not None:
        keep &= same_exptime(np.asarray(table["exptime"], dtype=float), exptime)
    return [str(p) for p in table["path"][keep]]


# --------------------------------------------------------------------------- which frames a chapter shows

def main_filter(table):
    """The filter a chapter works on: the one with the most usable science frames.

    Ties go to the filter observed first (the earliest DATE-OBS among its science frames, compared as
    ISO text; frames without DATE-OBS count as last), then to the first by name. Only usable frames
    (no ``problem``, see :func:`collect`) count.

    Parameters
    ----------
    table : astropy.table.Table
        The result of :func:`collect`.

    Returns
    -------
    str or None
        The filter name as the headers write it ('V', 'JohnsonV', 'r (530-700)' ...), or None when the
        table has no usable science frame with a filter.

    Examples
    --------
    >>> frames = collect("data/synthetic")                      # doctest: +SKIP
    >>> main_filter(frames)            # 3 frames in V and in B; V was observed first  # doctest: +SKIP
    'V'
    """
    counts = {}
    for row in table:
        usable = "problem" not in table.colnames or row["problem"] == ""
        if usable and row["kind"] == "science" and row["filter"]:
            counts.setdefault(str(row["filter"]), []).append(str(row["path"]))
    if not counts:
        return None

    def first_observed(band):
        dates = []
        for path in counts[band]:
            try:
                _, header, _ = _read_fits(path, header_only=True, report_repairs=False)
            except (OSError, ValueError):
                continue
            date = _value(header, "DATE-OBS")
            if date:
                dates.append(date)
        return min(dates) if dates else "~"   # '~' sorts after any date

    return min(counts, key=lambda band: (-len(counts[band]), first_observed(band), band))


def stem(name):
    """A frame's file name without its folder, FITS extension and compression suffix.

    Examples
    --------
    >>> stem("data/synthetic/m13-v-60s-1.fits"), stem("Bias-001.fits.gz"), stem("FORS2.2023-03-18T09-40-11.000.fits.fz")
    ('m13-v-60s-1', 'Bias-001', 'FORS2.2023-03-18T09-40-11.000')
    >>> stem("2024-09-02_DARK_-10.00_2.00s_0011.fit")
    '2024-09-02_DARK_-10.00_2.00s_0011'
    """
    name = Path(str(name)).name
    lower = name.lower()
    for compressed in COMPRESSED_EXTENSIONS:
        if lower.endswith(compressed) and is_fits_name(name):
            name, lower = name[:-len(compressed)], lower[:-len(compressed)]
            break
    for extension in FITS_EXTENSIONS:
        if lower.endswith(extension):
            return name[:-len(extension)]
    return name


def slug(text):
    """A piece of a file name made from header text: lower case, runs of other characters as one '-'.

    Examples
    --------
    >>> slug("V"), slug("r (530-700)"), slug("M 13"), slug("JohnsonV"), slug("")
    ('v', 'r-530-700', 'm-13', 'johnsonv', '')
    """
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
