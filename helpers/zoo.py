"""The camera zoo: the handbook's synthetic sky written the way real cameras and archives write their files.

Real nights do not look like ``data/synthetic``: the files are compressed, the frame type hides in another
keyword, the filter is called 'JohnsonV' or 'r (530-700)', the bias sits in an overscan strip, there are no
darks or no bias frames, pixels are binned 2x2, a few files are broken. The zoo makes such nights from the same
physics as the synthetic set (:mod:`helpers.observatory`) and KEEPS THE GROUND TRUTH, so that tests and
notebooks can check what a reduction of "real" frames recovers.

``ensure()`` makes ``data/zoo/`` in the handbook (a few seconds, once) with one folder per camera
(:data:`CAMERAS`), each looking exactly like a night from that camera, with no truth inside:

``maxim-gz``
    MaxIm DL with an SBIG camera, gzip files ``*.fits.gz``: IMAGETYP 'Bias Frame', 'Dark Frame', 'Flat Field',
    'Light Frame'; FILTER 'JohnsonV', 'JohnsonB'; uint16 with BZERO = 32768 and BLANK (dead pixels); bias,
    180 s darks, flats, V at 30 s and 60 s, B at 60 s, and V frames of a second night offset by tens of pixels.
    Also a few bad inputs: two truncated files, an HTML page saved as ``.fits``, a 'Focus' subframe, a flat
    without a filter, a light without an exposure time, and ``README.txt``. A complete calibration set.
``eso-fz``
    An ESO archive download, Rice tile-compressed ``*.fits.fz`` (an empty primary HDU, the image and its header
    in extension 1): frame type in ``HIERARCH ESO DPR TYPE`` ('BIAS', 'FLAT,SKY', 'OBJECT'), filter in
    ``HIERARCH ESO INS FILT1 NAME`` ('V_Bess', 'B_Bess'), no IMAGETYP, no darks; a prescan and an overscan strip
    (TRIMSEC, BIASSEC) with a bias level that changes from frame to frame and drifts along the readout; one
    header card that astropy cannot parse (``AIRMASS = 1,187`` in the first science frame).
``nina-binned``
    N.I.N.A. through ASCOM, ``*.fit``: IMAGETYP 'LIGHT', 'DARK', 'FLAT', exposure time in EXPOSURE (no
    EXPTIME), filters 'r (530-700)' and 'g (400-550)' (standing for V and B), 2x2 on-chip binning (charge of
    four pixels summed, read once), NO bias frames: darks (bias included) at the science exposure time
    (60 s) and at the flats' (2 s); bad columns and bright fixed-pattern columns at the edges.
``lights-only``
    Science frames only, no calibration at all: OBSTYPE 'object' with FILTER1 = 'Clear', FILTER2 = 'V', or
    DATA-TYP 'OBJECT' with FILTERS = 'B'; exposure time in ITIME; int16 with BSCALE = 2 (BITPIX 16).

The truth of each camera lives outside its folder, in ``<root>/truth/<camera>/``, and is read with
:func:`truth`.

Examples
--------
>>> import tempfile
>>> from helpers import zoo
>>> root = zoo.make(tempfile.mkdtemp(), seed=1, size=128)      # the default is zoo.ensure()
>>> [p.name for p in sorted((root / "maxim-gz").glob("Bias-*"))][:2]
['Bias-001.fits.gz', 'Bias-002.fits.gz']
>>> t = zoo.truth(root / "nina-binned")
>>> t.binning, t.filters["r (530-700)"]
(2, 'V')
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from . import data
from . import observatory as obs

__all__ = ["CAMERAS", "ensure", "make", "truth", "has_truth", "is_current", "default_folder", "CameraTruth"]

#: The camera folders of the zoo, in order.
CAMERAS = ("maxim-gz", "eso-fz", "nina-binned", "lights-only")
ZOO_VERSION = 1
DEFAULT_SEED = 909
DEFAULT_SIZE = 384
MANIFEST = "MANIFEST.json"
_KIND = "CCD Handbook camera zoo"
N_STARS_1024 = 1800   # stars on a 1024 x 1024 detector, as in the synthetic set


def default_folder():
    """The zoo's root in the handbook: ``data/zoo``."""
    return data.HANDBOOK_ROOT / "data" / "zoo"


# --------------------------------------------------------------------------------------------------
# Each camera: its detector, its night, its headers and how it stores a frame
# --------------------------------------------------------------------------------------------------
@dataclass
class _Design:
    name: str
    camera: obs.Camera
    filters: dict              # camera filter name -> true band
    binning: int = 1
    prescan: int = 0           # columns of prescan (left of the image area), camera pixels
    overscan: int = 0          # columns of overscan (right of the image area)
    biassec_skip: int = 0      # first overscan columns left out of BIASSEC
    flat_level: dict = field(default_factory=dict)   # ADU per camera pixel in the brightest flat


def _designs():
    return {
        "maxim-gz": _Design("maxim-gz", obs.Camera(gain=2.3, read_noise=15.0, bias_level=1010.0, dark_current=0.4),
                            {"JohnsonV": "V", "JohnsonB": "B"}, flat_level={"V": 26000.0, "B": 22000.0}),
        "eso-fz": _Design("eso-fz", obs.Camera(gain=0.8, read_noise=3.6, bias_level=205.0, dark_current=0.004,
                                               hot_fraction=2e-4),
                          {"V_Bess": "V", "B_Bess": "B"}, prescan=6, overscan=32, biassec_skip=4,
                          flat_level={"V": 30000.0, "B": 27000.0}),
        "nina-binned": _Design("nina-binned", obs.Camera(gain=1.0, read_noise=9.0, bias_level=620.0,
                                                         dark_current=0.15),
                               {"r (530-700)": "V", "g (400-550)": "B"}, binning=2,
                               flat_level={"V": 32000.0, "B": 28000.0}),
        "lights-only": _Design("lights-only", obs.Camera(gain=1.2, read_noise=6.5, bias_level=480.0,
                                                         dark_current=0.1),
                               {"V": "V", "B": "B"}),
    }


def _entry(name, kind, band, filter_name, exptime, when, dx=0.0, dy=0.0, defect="", **extra):
    return dict(name=name, kind=kind, band=band, filter=filter_name, exptime=float(exptime),
                date_obs=when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], dx=float(dx), dy=float(dy),
                defect=defect, **extra)


class _Clock:
    """Observing time: each exposure starts after the previous one and a gap."""

    def __init__(self, start):
        self.t = start

    def __call__(self, exptime, gap=25.0):
        now = self.t
        self.t = now + timedelta(seconds=float(exptime) + gap)
        return now


def _drift(rng, scale=0.18):
    """Guiding drift between exposures of one sequence: under ``scale`` pixels."""
    r, a = rng.uniform(0.04, scale), rng.uniform(0, 2 * np.pi)
    return r * np.cos(a), r * np.sin(a)


def _night_maxim(rng):
    night, clock = [], _Clock(datetime(2024, 5, 12, 2, 10, 4))
    for i in range(1, 6):
        night.append(_entry(f"Bias-{i:03d}.fits.gz", "bias", "", "", 0.0, clock(0.0, 8.0)))
    for i in range(1, 6):
        night.append(_entry(f"Dark-180s-{i:03d}.fits.gz", "dark", "", "", 180.0, clock(180.0, 8.0)))
    # a sixth dark, saved uncompressed while the camera's software crashed
    night.append(_entry("Dark-180s-006.fits", "dark", "", "", 180.0, clock(180.0, 8.0), defect="truncated",
                        cut=0.55, plain=True))
    for band, t in (("V", 5.0), ("B", 8.0)):
        for i in range(1, 6):
            night.append(_entry(f"Flat-Johnson{band}-{i:03d}.fits.gz", "flat", band, f"Johnson{band}", t,
                                clock(t, 12.0), fade=i - 1))
    night.append(_entry("Flat-006.fits.gz", "flat", "V", "", 5.0, clock(5.0, 12.0), fade=4,
                        defect="no filter"))
    clock.t += timedelta(hours=1)
    night.append(_entry("Focus-001.fits.gz", "focus", "V", "JohnsonV", 5.0, clock(5.0, 60.0), subframe=128,
                        defect="not a calibration or science frame"))
    b_off = (0.68 + rng.uniform(-0.05, 0.05), -0.57 + rng.uniform(-0.05, 0.05))
    sequences = (("V", 60.0, (0.0, 0.0), (1, 2, 3)), ("V", 30.0, (0.0, 0.0), (1, 2, 3)),
                 ("B", 60.0, b_off, (1, 2, 3)))
    for band, t, base, numbers in sequences:
        for i in numbers:
            ddx, ddy = (0.0, 0.0) if (band, t, i) == ("V", 60.0, 1) else _drift(rng)
            night.append(_entry(f"M13-Johnson{band}-{t:.0f}s-{i:03d}.fits.gz", "science", band, f"Johnson{band}",
                                t, clock(t, 35.0), base[0] + ddx, base[1] + ddy))
    # a B frame whose transfer to the laptop broke off
    night.append(_entry("M13-JohnsonB-60s-004.fits.gz", "science", "B", "JohnsonB", 60.0, clock(60.0, 35.0),
                        b_off[0], b_off[1], defect="truncated", cut=0.4))
    # the second night: the telescope pointed 37.4, -21.8 pixels away
    clock.t = datetime(2024, 5, 13, 1, 52, 40)
    base = (37.4 + rng.uniform(-0.1, 0.1), -21.8 + rng.uniform(-0.1, 0.1))
    for i in (4, 5, 6, 7):
        ddx, ddy = _drift(rng)
        night.append(_entry(f"M13-JohnsonV-60s-{i:03d}.fits.gz", "science", "V", "JohnsonV", 60.0,
                            clock(60.0, 35.0), base[0] + ddx, base[1] + ddy,
                            defect="no exposure time" if i == 7 else ""))
    return night


def _night_eso(rng):
    night, clock = [], _Clock(datetime(2023, 3, 18, 9, 40, 11))
    for i in range(1, 6):
        night.append(_entry("", "bias", "", "", 0.0, clock(0.0, 45.0)))
    clock.t = datetime(2023, 3, 18, 23, 21, 5)
    for band, t in (("V", 4.0), ("B", 6.0)):
        for i in range(1, 5):
            night.append(_entry("", "flat", band, f"{band}_Bess", t, clock(t, 40.0), fade=i))
    clock.t = datetime(2023, 3, 19, 4, 2, 33)
    dither = [(0.0, 0.0), (6.2, 4.9), (-5.1, 7.3)]
    for band, t in (("V", 30.0), ("B", 45.0)):
        for i, (ox, oy) in enumerate(dither):
            ddx, ddy = (0.0, 0.0) if (band, i) == ("V", 0) else _drift(rng, 0.25)
            night.append(_entry("", "science", band, f"{band}_Bess", t, clock(t, 50.0), ox + ddx, oy + ddy))
    night[-6]["malformed"] = True   # the first science frame: an AIRMASS card astropy refuses
    for e in night:   # ESO archive names: instrument and the exact start of the exposure
        if not e["name"]:
            e["name"] = f"FORS2.{e['date_obs'].replace(':', '-')}.fits.fz"   # ':' is not allowed on Windows
    return night


def _night_nina(rng):
    night, clock = [], _Clock(datetime(2024, 9, 2, 20, 5, 0))
    number = iter(range(1, 1000))

    def name(kind, filter_name, t):
        stamp = clock.t.strftime("%Y-%m-%d_%H-%M-%S")
        part = f"_{filter_name}" if filter_name else ""
        return f"{stamp}_{kind}{part}_-10.00_{t:.2f}s_{next(number):04d}.fit"

    for band in ("V", "B"):
        filter_name = {"V": "r (530-700)", "B": "g (400-550)"}[band]
        for i in range(1, 6):
            n = name("FLAT", filter_name, 2.0)
            night.append(_entry(n, "flat", band, filter_name, 2.0, clock(2.0, 6.0), fade=i - 1))
    for i in range(1, 6):
        n = name("DARK", "", 2.0)
        night.append(_entry(n, "dark", "", "", 2.0, clock(2.0, 4.0)))
    clock.t = datetime(2024, 9, 2, 21, 30, 12)
    g_off = (0.41 + rng.uniform(-0.05, 0.05), 0.33 + rng.uniform(-0.05, 0.05))
    for band, base in (("V", (0.0, 0.0)), ("B", g_off)):
        filter_name = {"V": "r (530-700)", "B": "g (400-550)"}[band]
        for i in range(1, 4):
            ddx, ddy = (0.0, 0.0) if (band, i) == ("V", 1) else _drift(rng, 0.12)
            n = name("LIGHT", filter_name, 60.0)
            night.append(_entry(n, "science", band, filter_name, 60.0, clock(60.0, 20.0), base[0] + ddx,
                                base[1] + ddy))
    clock.t = datetime(2024, 9, 3, 0, 41, 3)
    for i in range(1, 6):
        n = name("DARK", "", 60.0)
        night.append(_entry(n, "dark", "", "", 60.0, clock(60.0, 4.0)))
    return night


def _night_lights(rng):
    night, clock = [], _Clock(datetime(2019, 7, 30, 4, 12, 55))
    dither = [(0.0, 0.0), (11.6, -8.3), (-9.2, 12.7)]
    for band in ("V", "B"):
        for i, (ox, oy) in enumerate(dither, start=1):
            ddx, ddy = (0.0, 0.0) if (band, i) == ("V", 1) else _drift(rng, 0.3)
            night.append(_entry(f"obj{(10 if band == 'V' else 20) + i:04d}.fits", "science", band, band, 60.0,
                                clock(60.0, 45.0), ox + ddx, oy + ddy))
    return night


_NIGHTS = {"maxim-gz": _night_maxim, "eso-fz": _night_eso, "nina-binned": _night_nina,
           "lights-only": _night_lights}


# -------------------------------------------------------------------------------------------------- headers
def _header_maxim(e, design, shape):
    h = fits.Header()
    kinds = {"bias": "Bias Frame", "dark": "Dark Frame", "flat": "Flat Field", "science": "Light Frame",
             "focus": "Focus"}
    cam = design.camera
    if e["kind"] in ("science", "focus"):
        h["OBJECT"] = ("M13", "")
    if e["defect"] != "no exposure time":
        h["EXPTIME"] = (e["exptime"], "duration of exposure in seconds")
        h["EXPOSURE"] = (e["exptime"], "duration of exposure in seconds")
    h["SET-TEMP"] = (-15.0, "CCD temperature setpoint in C")
    h["CCD-TEMP"] = (-15.02, "CCD temperature at start of exposure in C")
    h["XPIXSZ"] = (5.4, "Pixel Width in microns (after binning)")
    h["YPIXSZ"] = (5.4, "Pixel Height in microns (after binning)")
    h["XBINNING"] = (1, "Binning factor in width")
    h["YBINNING"] = (1, "Binning factor in height")
    h["XORGSUBF"] = (e.get("x0", 0), "Subframe X position in binned pixels")
    h["YORGSUBF"] = (e.get("y0", 0), "Subframe Y position in binned pixels")
    h["READOUTM"] = ("Raw", "Readout mode of image")
    if e["filter"] and e["defect"] != "no filter":
        h["FILTER"] = (e["filter"], "Filter used when taking image")
    h["IMAGETYP"] = (kinds[e["kind"]], "Type of image")
    h["DATE-OBS"] = (e["date_obs"][:19], "YYYY-MM-DDThh:mm:ss observation start, UT")
    h["EGAIN"] = (cam.gain, "Electronic gain in e-/ADU")
    h["SWCREATE"] = ("MaxIm DL Version 6.40", "Name of software that created the image")
    h["INSTRUME"] = ("SBIG ST-8300 3 CCD Camera", "instrument or camera used")
    h["TELESCOP"] = ("C14 f/7", "")
    h["OBSERVER"] = ("Student", "")
    h["SITELAT"] = ("+40 21 12", "")
    h["SITELONG"] = ("-105 33 46", "")
    return h


def _header_eso(e, design, shape):
    h = fits.Header()
    cam = design.camera
    ny, nx = shape
    types = {"bias": "BIAS", "flat": "FLAT,SKY", "science": "OBJECT"}
    h["ORIGIN"] = ("ESO-PARANAL", "European Southern Observatory")
    h["DATE"] = ((datetime.fromisoformat(e["date_obs"]) + timedelta(seconds=e["exptime"] + 41)).isoformat()[:23],
                 "file creation date")
    h["TELESCOP"] = ("ESO-VLT-U1", "ESO Telescope Name")
    h["INSTRUME"] = ("FORS2", "Instrument used.")
    h["OBJECT"] = ({"bias": "BIAS", "flat": "FLAT,SKY", "science": "M13"}[e["kind"]], "Original target.")
    h["RA"] = (250.42338, "16:41:41.6 RA (J2000) pointing")
    h["DEC"] = (36.46131, "36:27:40.7 DEC (J2000) pointing")
    h["EXPTIME"] = (e["exptime"], "Integration time")
    h["MJD-OBS"] = (round(_mjd(e["date_obs"]), 8), "Obs start")
    h["DATE-OBS"] = (e["date_obs"], "Observing date")
    if e["kind"] == "science":
        h["AIRMASS"] = (1.187, "Averaged air mass")
    h["TRIMSEC"] = (f"[{design.prescan + 1}:{nx - design.overscan},1:{ny}]", "image area")
    h["BIASSEC"] = (f"[{nx - design.overscan + design.biassec_skip + 1}:{nx},1:{ny}]", "overscan used for the bias")
    h["HIERARCH ESO DET OUT1 PRSCX"] = (design.prescan, "Prescan region in X")
    h["HIERARCH ESO DET OUT1 OVSCX"] = (design.overscan, "Overscan region in X")
    h["HIERARCH ESO DET OUT1 CONAD"] = (cam.gain, "Conversion from ADUs to electrons")
    h["HIERARCH ESO DET OUT1 GAIN"] = (round(1 / cam.gain, 4), "Conversion from electrons to ADUs")
    h["HIERARCH ESO DET OUT1 RON"] = (cam.read_noise, "Readout noise per output (e-)")
    h["HIERARCH ESO DET WIN1 BINX"] = (1, "Binning factor along X")
    h["HIERARCH ESO DET WIN1 BINY"] = (1, "Binning factor along Y")
    h["HIERARCH ESO DPR CATG"] = ("SCIENCE" if e["kind"] == "science" else "CALIB", "Observation category")
    h["HIERARCH ESO DPR TECH"] = ("IMAGE", "Observation technique")
    h["HIERARCH ESO DPR TYPE"] = (types[e["kind"]], "Observation type")
    if e["filter"]:
        h["HIERARCH ESO INS FILT1 ID"] = ({"V": "+37", "B": "+36"}[e["band"]], "Filter unique id.")
        h["HIERARCH ESO INS FILT1 NAME"] = (e["filter"], "Filter name.")
    return h


def _header_nina(e, design, shape):
    h = fits.Header()
    cam = design.camera
    h["IMAGETYP"] = ({"dark": "DARK", "flat": "FLAT", "science": "LIGHT"}[e["kind"]], "Type of exposure")
    h["EXPOSURE"] = (e["exptime"], "[s] Exposure duration")
    h["DATE-LOC"] = ((datetime.fromisoformat(e["date_obs"]) + timedelta(hours=2)).isoformat(timespec="milliseconds"),
                     "Time of observation (local)")
    h["DATE-OBS"] = (e["date_obs"], "Time of observation (UTC)")
    h["XBINNING"] = (design.binning, "X axis binning")
    h["YBINNING"] = (design.binning, "Y axis binning")
    h["EGAIN"] = (cam.gain, "Electrons per A/D unit")
    h["XPIXSZ"] = (5.4 * design.binning, "[um] Pixel X axis size")
    h["YPIXSZ"] = (5.4 * design.binning, "[um] Pixel Y axis size")
    h["INSTRUME"] = ("Atik 383L+", "Imaging instrument name")
    h["SET-TEMP"] = (-10.0, "[degC] CCD temperature setpoint")
    h["CCD-TEMP"] = (-10.0, "[degC] CCD temperature")
    h["TELESCOP"] = ("RC8", "Name of telescope")
    h["FOCALLEN"] = (1624.0, "[mm] Focal length")
    if e["kind"] != "dark":
        h["FWHEEL"] = ("ZWO EFW", "Filter Wheel name")
        h["FILTER"] = (e["filter"], "Active filter name")
    if e["kind"] == "science":
        h["OBJECT"] = ("M 13", "Name of the object of interest")
    h["SWCREATE"] = ("N.I.N.A. 3.1.2.9001 (x64)", "Software that created this file")
    h["ROWORDER"] = ("TOP-DOWN", "FITS Image Orientation")
    h["EQUINOX"] = (2000.0, "Equinox of celestial coordinate system")
    return h


def _header_lights(e, design, shape):
    h = fits.Header()
    cam = design.camera
    h["OBSERVAT"] = ("KPNO", "observatory")
    h["TELESCOP"] = ("0.9m", "telescope")
    h["INSTRUME"] = ("ccd_imager", "")
    h["OBJECT"] = ("m13 field", "")
    if e["band"] == "V":
        h["OBSTYPE"] = ("object", "observation type")
        h["FILTER1"] = ("Clear", "filter wheel 1")
        h["FILTER2"] = (e["filter"], "filter wheel 2")
    else:
        h["DATA-TYP"] = ("OBJECT", "type of data")
        h["FILTERS"] = (e["filter"], "filters in the beam")
    h["ITIME"] = (e["exptime"], "integration time (seconds)")
    h["DATE-OBS"] = (e["date_obs"][:19], "UT date and time of the start")
    h["GAIN"] = (cam.gain, "gain (e-/ADU)")
    h["RDNOISE"] = (cam.read_noise, "read noise (e-)")
    h["COMMENT"] = "Stored as 16-bit integers scaled by BSCALE: the ADU values are even numbers."
    return h


_HEADERS = {"maxim-gz": _header_maxim, "eso-fz": _header_eso, "nina-binned": _header_nina,
            "lights-only": _header_lights}


def _mjd(date_obs):
    return (datetime.fromisoformat(date_obs) - datetime(1858, 11, 17)).total_seconds() / 86400.0


# -------------------------------------------------------------------------------------------------- storing
LIGHTS_BSCALE, LIGHTS_BZERO = 2.0, 32768.0
MAXIM_BLANK = -32768   # the stored value of a dead pixel (physical 0 ADU with BZERO = 32768)
_MALFORMED = "AIRMASS =                1,187 / Averaged air mass"


def _fits_bytes(hdulist):
    buffer = io.BytesIO()
    hdulist.writeto(buffer)
    return buffer.getvalue()


def _int16_image(physical, header, bzero, bscale=1.0, blank=None, blank_comment=""):
    """A FITS file of one 16-bit integer image, written card by card as a camera's software does (much faster
    than building an astropy HDU for every frame). ``physical`` must be exactly ``bzero + bscale * int16``."""
    ny, nx = physical.shape
    stored = np.rint((np.asarray(physical, np.float64) - bzero) / bscale)
    assert stored.min() >= -32768 and stored.max() <= 32767
    cards = fits.Header([("SIMPLE", True, "conforms to FITS standard"), ("BITPIX", 16, "array data type"),
                         ("NAXIS", 2, "number of array dimensions"), ("NAXIS1", nx, ""), ("NAXIS2", ny, ""),
                         ("BSCALE", bscale if bscale != 1 else 1,
                          "default scaling factor" if bscale == 1 else "physical = BZERO + BSCALE * stored"),
                         ("BZERO", bzero if bzero % 1 else int(bzero),
                          "offset data range to that of unsigned short" if bscale == 1 else "")])
    if blank is not None:
        cards["BLANK"] = (blank, blank_comment)
    cards.extend(header)
    body = stored.astype(">i2").tobytes()
    return cards.tostring().encode("ascii") + body + b"\0" * (-len(body) % 2880)


def _encode(design, e, adu, header):
    """The bytes of one file as the camera writes it. ``adu`` is an integer array of physical ADU."""
    name = design.name
    if name == "maxim-gz":
        raw = _int16_image(adu, header, bzero=32768, blank=MAXIM_BLANK, blank_comment="value of a pixel without data")
        return raw if e.get("plain") else gzip.compress(raw, compresslevel=1, mtime=0)
    if name == "eso-fz":
        primary = fits.PrimaryHDU()
        primary.header["ORIGIN"] = ("ESO-PARANAL", "European Southern Observatory")
        image = fits.CompImageHDU(adu.astype(np.uint16), header=header, compression_type="RICE_1")
        raw = _fits_bytes(fits.HDUList([primary, image]))
        if e.get("malformed"):   # a card written by software that does not follow the standard
            good = f"{'AIRMASS':8}= {1.187:>20} / Averaged air mass".ljust(80).encode()
            where = raw.find(good)
            assert where > 0 and where % 80 == 0, "the AIRMASS card was not found in the header"
            raw = raw[:where] + _MALFORMED.ljust(80).encode() + raw[where + 80:]
        return raw
    if name == "nina-binned":
        return _int16_image(adu, header, bzero=32768)
    if name == "lights-only":
        return _int16_image(_lights_physical(adu), header, bzero=LIGHTS_BZERO, bscale=LIGHTS_BSCALE)
    raise ValueError(f"unknown camera {name!r}")


def _lights_physical(adu):
    """The ADU values the lights-only camera can store (even numbers, from BZERO + BSCALE * int16)."""
    stored = np.clip(np.rint((adu - LIGHTS_BZERO) / LIGHTS_BSCALE), -32768, 32767)
    return LIGHTS_BZERO + LIGHTS_BSCALE * stored


# -------------------------------------------------------------------------------------------------- physics
def _bin(image, b, how="sum"):
    if b == 1:
        return image
    ny, nx = image.shape
    blocks = image.reshape(ny // b, b, nx // b, b)
    return blocks.sum(axis=(1, 3)) if how == "sum" else blocks.mean(axis=(1, 3))


def _make_camera(design, seed, size, folder, truth_dir):
    """Make one camera's night in ``folder`` and its truth in ``truth_dir``; return the names written."""
    name, cam, b = design.name, design.camera, design.binning
    n_out = size // b
    scene = obs.frame_rng(seed, f"zoo/{name}/scene")
    bias = obs.make_bias(scene, n_out, cam)            # the readout: in camera (binned) pixels
    dark_u = obs.make_dark_current(scene, size, cam)   # e-/s per detector pixel
    flats_u = obs.make_flats(scene, size)
    stars = obs.make_cluster(scene, size, int(round(N_STARS_1024 * (size / 1024) ** 2)))
    plan_rng = obs.frame_rng(seed, f"zoo/{name}/plan")
    night = _NIGHTS[name](plan_rng)
    dark = _bin(dark_u, b)
    flats = {band: _bin(flats_u[band], b, "mean") for band in ("V", "B")}

    # the camera's defects
    dead = np.zeros((n_out, n_out), bool)
    column_response = np.ones((n_out, n_out))
    bad_columns, edge_columns = [], {}
    defects = obs.frame_rng(seed, f"zoo/{name}/defects")
    if name == "maxim-gz":
        picks = defects.choice(n_out * n_out, size=7, replace=False)
        dead.flat[picks] = True
        y0, x0 = defects.integers(20, n_out - 20, 2)
        dead[y0, x0:x0 + 3] = True   # and a short run of three
    if name == "nina-binned":
        xs = defects.choice(np.arange(12, n_out - 12), size=3, replace=False)
        trap = int(defects.integers(n_out // 4, 3 * n_out // 4))
        column_response[trap:, xs[0]] = 0.03
        bad_columns.append({"x": int(xs[0]), "y_start": trap, "y_stop": n_out,
                            "kind": "charge trap: almost no signal above it"})
        column_response[:, xs[1]] = 0.72
        bad_columns.append({"x": int(xs[1]), "y_start": 0, "y_stop": n_out, "kind": "low response (0.72)"})
        hot_from = int(defects.integers(0, n_out // 3))
        dark[hot_from:, xs[2]] += 6.0
        bad_columns.append({"x": int(xs[2]), "y_start": hot_from, "y_stop": n_out,
                            "kind": "hot column: 6 e-/s more dark current"})
        edge_columns = {0: 4800.0, 1: 2900.0, n_out - 1: 6200.0}   # fixed pattern of the readout, ADU
        for x, level in edge_columns.items():
            bias[:, x] += level
    flats_true = {band: flats[band] * column_response for band in flats}
    dark_true = dark * column_response

    # positions in camera pixels: a binned pixel X covers detector pixels b*X ... b*X + b-1
    offset_u = (b - 1) / 2.0
    stars_cam = Table()
    stars_cam["id"] = stars["id"]
    stars_cam["x"] = (np.asarray(stars["x"]) - offset_u) / b
    stars_cam["y"] = (np.asarray(stars["y"]) - offset_u) / b
    for col in ("V", "B", "phase"):
        stars_cam[col] = stars[col]
    for band in ("V", "B"):
        stars_cam[f"flux_{band.lower()}"] = 10 ** (-0.4 * (stars[band] - obs.BANDS[band].zero_point))

    # frame-to-frame bias offsets and the drift along the readout (only the camera with an overscan shows them)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    frames = []
    header_of = _HEADERS[name]
    for e in night:
        rng = obs.frame_rng(seed, f"zoo/{name}/{e['name']}")
        kind, band, t = e["kind"], e["band"], e["exptime"]
        signal = np.zeros((size, size))
        if kind == "flat":
            fade = (1.0, 0.96, 0.92, 0.88, 0.84)[e["fade"]]
            level_e = design.flat_level[band] * fade * cam.gain / (t * b * b)   # e-/s per detector pixel
            signal = flats_u[band] * level_e
        elif kind in ("science", "focus"):
            bd = obs.BANDS[band]
            x = np.asarray(stars["x"]) + b * e["dx"]
            y = np.asarray(stars["y"]) + b * e["dy"]
            obs.add_stars(signal, x, y, stars_cam[f"flux_{band.lower()}"], obs.fwhm_at(x, y, bd.fwhm, size))
            signal = flats_u[band] * (signal + bd.sky)
        signal = _bin(signal, b) * column_response
        frame_bias = bias
        drift = {}
        if design.overscan:
            drift = {"bias_offset": float(rng.uniform(-6.0, 6.0)), "bias_slope": float(rng.uniform(2.0, 8.0)),
                     "bias_wave": float(rng.uniform(0.8, 2.0)), "bias_phase": float(rng.uniform(0, 2 * np.pi))}
            frame_bias = bias + _drift_profile(drift, n_out)[:, None]
        adu, _ = obs.expose(rng, signal, t, dark_true if t > 0 else 0.0, frame_bias, cam)
        adu = adu.astype(np.int64)
        if design.overscan:   # virtual pixels: bias and read noise only, no light, no dark current, no cosmics
            rows = bias.mean(axis=1) + _drift_profile(drift, n_out)

            def strip(width):
                noise = rng.normal(0.0, cam.read_noise / cam.gain, (n_out, width))
                return np.clip(np.rint(rows[:, None] + noise), 0, obs.SATURATION_ADU).astype(np.int64)
            adu = np.hstack([strip(design.prescan), adu, strip(design.overscan)])
        if name == "maxim-gz":
            adu[:, design.prescan:design.prescan + n_out][dead] = 0   # stored as BLANK
        x0 = y0 = 0
        if e.get("subframe"):
            s = min(e["subframe"], n_out // 2)
            x0, y0 = (n_out - s) // 2, (n_out - s) // 3
            adu = adu[y0:y0 + s, x0:x0 + s]
            e["x0"], e["y0"] = x0, y0
        header = header_of(e, design, adu.shape)
        raw = _encode(design, e, adu, header)
        if e["defect"] == "truncated":
            raw = raw[:int(len(raw) * e["cut"])]
        _write_bytes(folder / e["name"], raw)
        written.append(e["name"])
        frames.append({"name": e["name"], "kind": "unknown" if kind == "focus" else kind, "filter": e["filter"],
                       "band": band, "exptime": t, "dx": e["dx"], "dy": e["dy"], "x0": x0, "y0": y0,
                       "ny": int(adu.shape[0]), "nx": int(adu.shape[1]),
                       "date_obs": e["date_obs"], "defect": e["defect"], **drift})

    extra = _extra_files(design, folder)
    written += extra
    reference = next(f["name"] for f in frames if f["kind"] == "science" and f["dx"] == 0 and f["dy"] == 0)
    _write_truth(truth_dir, design, seed, size, frames, reference, stars_cam, bias, dark_true, flats_true, dead,
                 bad_columns, edge_columns)
    return written


def _drift_profile(drift, n):
    """The bias drift along the readout (ADU per row): offset + slope * y / n + a slow wave."""
    y = np.arange(n)
    return (drift["bias_offset"] + drift["bias_slope"] * y / n
            + drift["bias_wave"] * np.sin(2 * np.pi * y / (0.8 * n) + drift["bias_phase"]))


_BAD_FILES = {
    "maxim-gz": {
        "M13-JohnsonV-60s-download.fits": "an HTML error page saved under a FITS name (not a FITS file)",
    },
}


def _extra_files(design, folder):
    """Files of a real night that are not frames of the camera."""
    if design.name != "maxim-gz":
        return []
    (folder / "README.txt").write_text(
        "Observing log, C14 + ST-8300, MaxIm DL\n"
        "2024-05-12: bias, 180 s darks, dome... no, twilight flats in V and B; M13 in V (60 s, 30 s) and B.\n"
        "            B frame 4: the transfer to the laptop broke off; I copied it again by hand.\n"
        "2024-05-13: M13 in V again (the mount was re-homed, the field moved). Last frame aborted.\n")
    _write_bytes(folder / "M13-JohnsonV-60s-download.fits",
                 b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
                 b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n")
    return ["README.txt", "M13-JohnsonV-60s-download.fits"]


def _write_bytes(path, content):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _write_truth(truth_dir, design, seed, size, frames, reference, stars, bias, dark, flats, dead, bad_columns,
                 edge_columns):
    truth_dir.mkdir(parents=True, exist_ok=True)
    cam, b = design.camera, design.binning
    n_out = size // b
    raw_nx = n_out + design.prescan + design.overscan
    info = {
        "zoo_version": ZOO_VERSION, "seed": seed, "camera_name": design.name,
        "detector_size": size, "binning": b, "size": n_out, "raw_shape": [n_out, raw_nx],
        "trim": {"y0": 0, "y1": n_out, "x0": design.prescan, "x1": design.prescan + n_out},
        "overscan": ({"x0": design.prescan + n_out + design.biassec_skip, "x1": raw_nx}
                     if design.overscan else None),
        "filters": design.filters,
        "reference": reference,
        "camera": {"gain": cam.gain, "read_noise": cam.read_noise, "read_noise_adu": cam.read_noise / cam.gain,
                   "bias_level": float(np.median(bias)), "dark_current": float(np.median(dark)),
                   "saturation_adu": obs.SATURATION_ADU, "cosmic_rate": cam.cosmic_rate},
        "bands": {k: {"sky": obs.BANDS[k].sky * b * b, "zero_point": obs.BANDS[k].zero_point,
                      "fwhm": obs.BANDS[k].fwhm / b} for k in ("V", "B")},
        "psf": {"model": "moffat", "beta": obs.MOFFAT_BETA, "fwhm_growth": obs.FWHM_GROWTH},
        "frames": frames,
        "dead_pixels": [[int(x), int(y)] for y, x in zip(*np.nonzero(dead))],
        "bad_columns": bad_columns,
        "edge_columns": {str(k): v for k, v in edge_columns.items()},
        "bad_files": _BAD_FILES.get(design.name, {}),
        "units": {"x, y": "0-based camera pixels of the trimmed (and binned) image, x = column, y = row; a star "
                          "at x, y in the reference frame lies at x + dx, y + dy in another frame",
                  "flux_v, flux_b": "e-/s", "sky": "e-/s per camera pixel before the flat",
                  "dark_current": "e-/s per camera pixel", "bias": "ADU"},
    }
    (truth_dir / "truth.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    for col in stars.colnames:
        if stars[col].dtype.kind == "f":
            stars[col] = np.round(stars[col], 6)
    stars.write(truth_dir / "stars.ecsv", overwrite=True)
    header = fits.Header({"COMMENT": "ground truth"})
    for fname, image in (("bias.fits", bias), ("dark-current.fits", dark), ("flat-v.fits", flats["V"]),
                         ("flat-b.fits", flats["B"])):
        fits.PrimaryHDU(image.astype(np.float32), header=header).writeto(truth_dir / fname, overwrite=True)


# --------------------------------------------------------------------------------------------------
# Making, checking and finding the zoo
# --------------------------------------------------------------------------------------------------
def generator_fingerprint():
    """A digest of the zoo's code and the observatory's physics: a zoo made by other code is stale."""
    digest = hashlib.sha256()
    for module in (Path(obs.__file__), Path(__file__)):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def _read_manifest(root):
    try:
        manifest = json.loads((Path(root) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("kind") == _KIND else None


def _planned_names(seed):
    """Every file a zoo of this seed writes, relative to its root (the names do not depend on the size)."""
    names = []
    for camera in CAMERAS:
        names += [f"{camera}/{e['name']}" for e in _NIGHTS[camera](obs.frame_rng(seed, f"zoo/{camera}/plan"))]
        names += [f"truth/{camera}/{n}" for n in ("truth.json", "stars.ecsv", "bias.fits", "dark-current.fits",
                                                  "flat-v.fits", "flat-b.fits")]
    names += ["maxim-gz/README.txt", "maxim-gz/M13-JohnsonV-60s-download.fits", "README.md"]
    return names


def _own_files(root):
    """The files the zoo's MANIFEST.json in ``root`` lists (the manifest included), or None without one."""
    manifest = _read_manifest(root)
    return None if manifest is None else set(manifest.get("files", {})) | {MANIFEST}


def make(folder, seed=DEFAULT_SEED, size=DEFAULT_SIZE):
    """Make a camera zoo: one folder per camera in :data:`CAMERAS`, and the truth in ``truth/``.

    Parameters
    ----------
    folder : str or Path
        The zoo's root. It must be missing, empty, or a zoo made before (then only the files its
        ``MANIFEST.json`` lists are replaced); any other folder is refused.
    seed : int
        Seed of every random choice: the same seed and size give byte-identical files.
    size : int
        Detector size in pixels (square, a multiple of 8, at least 64). The binned camera's frames are half
        as large; the camera with an overscan is wider by its prescan and overscan strips.

    Returns
    -------
    Path
        The root.

    Raises
    ------
    FileExistsError
        The folder holds files the zoo did not write.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import zoo
    >>> root = zoo.make(tempfile.mkdtemp(), seed=2, size=64)
    >>> sorted(p.name for p in root.iterdir())
    ['MANIFEST.json', 'README.md', 'eso-fz', 'lights-only', 'maxim-gz', 'nina-binned', 'truth']
    """
    started = time.perf_counter()
    size = int(size)
    if size < 64 or size % 8:
        raise ValueError(f"size must be a multiple of 8 and at least 64; got {size}")
    root = Path(folder).expanduser()
    names = _planned_names(seed)
    data.check_set_folder(root, names, what="the camera zoo", own_files=_own_files)
    old = _read_manifest(root) or {}
    root.mkdir(parents=True, exist_ok=True)
    # first a manifest that lists what is being written, so that an interrupted run can be finished later
    pending = {"kind": _KIND, "zoo_version": ZOO_VERSION, "generator": "in progress", "seed": seed, "size": size,
               "files": {**{n: None for n in old.get("files", {})}, **{n: None for n in names}}}
    _write_bytes(root / MANIFEST, (json.dumps(pending, indent=1, sort_keys=True) + "\n").encode())
    designs = _designs()
    for camera in CAMERAS:
        _make_camera(designs[camera], seed, size, root / camera, root / "truth" / camera)
    (root / "README.md").write_text(_README)
    for stale in set(old.get("files", {})) - set(names):   # files an older zoo wrote and this one does not
        (root / stale).unlink(missing_ok=True)
    manifest = {"kind": _KIND, "zoo_version": ZOO_VERSION, "generator": generator_fingerprint(), "seed": seed,
                "size": size, "numpy": np.__version__, "seconds": round(time.perf_counter() - started, 2),
                "files": {n: data.sha256(root / n) for n in names}}
    _write_bytes(root / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return root


_README = """# The camera zoo

Synthetic nights written the way real cameras and archives write their files, made by `helpers.zoo`
(the same sky and physics as `data/synthetic`). Each folder looks like one camera's night and holds no truth:

- `maxim-gz/`: MaxIm DL + SBIG, gzip FITS, BLANK dead pixels, 180 s darks, two nights, a few broken files.
- `eso-fz/`: ESO archive, Rice-compressed `.fits.fz`, ESO DPR keywords, overscan strip, no darks.
- `nina-binned/`: N.I.N.A., `.fit`, EXPOSURE keyword, 2x2 binning, no bias frames (darks at 2 s and 60 s).
- `lights-only/`: science frames only, OBSTYPE/DATA-TYP, FILTER1/FILTER2/FILTERS, ITIME, int16 with BSCALE.

The truth of each camera is in `truth/<camera>/`; read it with `helpers.zoo.truth(folder)`.
Point a chapter at a camera with `CCD_HANDBOOK_FRAMES=data/zoo/maxim-gz`. Remade by `helpers.zoo.ensure()`
when missing or stale: do not put your own files here.
"""


def is_current(folder=None):
    """True when ``folder`` (default: the handbook's zoo) holds a complete zoo made by this code, unchanged."""
    root = Path(folder) if folder is not None else default_folder()
    manifest = _read_manifest(root)
    if manifest is None or manifest.get("zoo_version") != ZOO_VERSION \
            or manifest.get("generator") != generator_fingerprint():
        return False
    for name, digest in manifest.get("files", {}).items():
        path = root / name
        if digest is None or not path.is_file() or data.sha256(path) != digest:
            return False
    return True


def ensure(folder=None):
    """Return the zoo's root, making it first if it is missing, incomplete, changed or made by other code.

    Fast (a check of every file's sha256) when the zoo is current. Only ever writes into a missing or empty
    folder or a zoo it made, and only replaces the files its manifest lists.

    Parameters
    ----------
    folder : str or Path, optional
        Defaults to ``data/zoo`` in the handbook.

    Examples
    --------
    >>> from helpers import zoo
    >>> root = zoo.ensure()
    >>> [(root / camera).is_dir() for camera in zoo.CAMERAS]
    [True, True, True, True]
    """
    root = Path(folder).expanduser() if folder is not None else default_folder()
    if is_current(root):
        return root
    manifest = _read_manifest(root) or {}
    return make(root, seed=manifest.get("seed", DEFAULT_SEED), size=manifest.get("size", DEFAULT_SIZE))


# --------------------------------------------------------------------------------------------------
# The truth
# --------------------------------------------------------------------------------------------------
def _truth_dir(camera_folder):
    camera_folder = Path(camera_folder).expanduser()
    if not camera_folder.exists() and str(camera_folder) in CAMERAS:
        camera_folder = default_folder() / str(camera_folder)
    return camera_folder.resolve().parent / "truth" / camera_folder.name


def has_truth(camera_folder):
    """True when ``camera_folder`` is a camera of a zoo, with its truth beside it.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import zoo
    >>> zoo.has_truth(tempfile.mkdtemp())
    False
    """
    return (_truth_dir(camera_folder) / "truth.json").is_file()


class CameraTruth:
    """The ground truth of one camera of the zoo (read with :func:`truth`).

    Positions and images are in the camera's own pixels: trimmed (the image area, without prescan and
    overscan) and binned, 0-based, ``x`` = column, ``y`` = row.

    Attributes
    ----------
    name : str
        The camera folder's name.
    camera : dict
        gain (e-/ADU), read_noise (e-), read_noise_adu, bias_level (ADU, median of the image area),
        dark_current (e-/s per camera pixel, median), saturation_adu.
    bands : dict
        Per true band ('V', 'B'): sky (e-/s per camera pixel, before the flat), zero_point, fwhm (camera pixels,
        centre of the field).
    filters : dict
        The camera's filter names -> true band, e.g. ``{'r (530-700)': 'V', ...}``.
    binning : int
        Detector pixels summed along each axis into one camera pixel.
    size : int
        The trimmed image is ``size x size`` camera pixels.
    raw_shape : tuple
        (ny, nx) of a raw frame on disk, prescan and overscan included.
    trim : (slice, slice)
        Where the trimmed image sits in a raw frame: ``raw[t.trim]``.
    overscan : (slice, slice) or None
        The overscan strip named by BIASSEC.
    reference : str
        The science frame whose star positions are ``stars['x'], stars['y']`` (its offset is 0, 0).
    frames : astropy.table.Table
        name (file name), kind ('bias', 'dark', 'flat', 'science', 'unknown'), filter (the camera's name, '' if
        none), band (the true band), exptime (s, the true one even when the header lost it), dx, dy (offset from
        the reference), x0, y0 (a subframe's origin), ny, nx (the shape on disk), date_obs, defect ('' for a
        good frame, else what is wrong: 'truncated', 'no filter', 'no exposure time', 'not a calibration or
        science frame'). A truncated file's row describes the frame it would have been.
    stars : astropy.table.Table
        id, x, y (reference frame), V, B, phase, flux_v, flux_b (e-/s).
    dead_pixels : astropy.table.Table
        x, y of pixels stored as the header's BLANK value.
    bad_columns : astropy.table.Table
        x, y_start, y_stop, kind of the bad columns (their effect is in the true flat and dark current).
    edge_columns : dict
        x -> extra ADU of the bright fixed-pattern columns (part of the true bias).
    bad_files : dict
        Files that are not frames at all -> why.
    """

    def __init__(self, truth_dir, camera_folder):
        self.folder = Path(camera_folder)
        self.truth_dir = Path(truth_dir)
        info = json.loads((self.truth_dir / "truth.json").read_text())
        self.info = info
        self.name = info["camera_name"]
        self.camera = info["camera"]
        self.bands = info["bands"]
        self.psf = info["psf"]
        self.filters = info["filters"]
        self.binning = info["binning"]
        self.size = info["size"]
        self.detector_size = info["detector_size"]
        self.raw_shape = tuple(info["raw_shape"])
        t = info["trim"]
        self.trim = (slice(t["y0"], t["y1"]), slice(t["x0"], t["x1"]))
        o = info["overscan"]
        self.overscan = (slice(0, self.size), slice(o["x0"], o["x1"])) if o else None
        self.reference = info["reference"]
        columns = ("name", "kind", "filter", "band", "exptime", "dx", "dy", "x0", "y0", "ny", "nx", "date_obs",
                   "defect")
        self.frames = Table(rows=[[f[k] for k in columns] for f in info["frames"]], names=columns)
        self.frames.add_index("name")
        self._drift = {f["name"]: f for f in info["frames"] if "bias_offset" in f}
        self.stars = Table.read(self.truth_dir / "stars.ecsv")
        for table, cols in ((self.frames, ("dx", "dy")), (self.stars, ("x", "y", "V", "B"))):
            for col in cols:
                table[col].info.format = ".3f"
        dead = np.array(info["dead_pixels"], dtype=int).reshape(-1, 2)
        self.dead_pixels = Table([dead[:, 0], dead[:, 1]], names=("x", "y"))
        self.bad_columns = Table(rows=[[c[k] for k in ("x", "y_start", "y_stop", "kind")]
                                       for c in info["bad_columns"]],
                                 names=("x", "y_start", "y_stop", "kind"),
                                 dtype=(int, int, int, str)) if info["bad_columns"] else \
            Table(names=("x", "y_start", "y_stop", "kind"), dtype=(int, int, int, str))
        self.edge_columns = {int(k): v for k, v in info["edge_columns"].items()}
        self.bad_files = info["bad_files"]

    def __repr__(self):
        return (f"CameraTruth({self.name!r}: {len(self.stars)} stars, {len(self.frames)} frames, "
                f"binning {self.binning}, size {self.size})")

    def frame(self, name):
        """The row of the frames table for a file name."""
        name = Path(name).name
        if name not in self.frames["name"]:
            raise KeyError(f"{name!r} is not a frame of the camera {self.name!r}; its frames are listed in "
                           f"truth.frames['name'] (e.g. {self.frames['name'][0]!r}).")
        return self.frames.loc[name]

    def band(self, filter_name):
        """The true band ('V' or 'B') of one of the camera's filter names."""
        return self.filters[filter_name]

    def positions(self, name):
        """True star positions (x, y arrays) in the trimmed (and binned) pixels of the frame ``name``."""
        row = self.frame(name)
        return (np.asarray(self.stars["x"]) + row["dx"] - row["x0"],
                np.asarray(self.stars["y"]) + row["dy"] - row["y0"])

    def offset(self, reference, image):
        """The true (dx, dy) that ``helpers.align.shift(image, dx, dy)`` needs to land on ``reference``."""
        ref, img = self.frame(reference), self.frame(image)
        return float(ref["dx"] - img["dx"]), float(ref["dy"] - img["dy"])

    def fwhm(self, x, y, band):
        """The PSF FWHM (camera pixels) at x, y in a frame of the true band ``band`` (approximate when binned)."""
        return obs.fwhm_at(np.asarray(x) * self.binning, np.asarray(y) * self.binning,
                           self.bands[band]["fwhm"] * self.binning, self.detector_size) / self.binning

    def _image(self, name):
        with fits.open(self.truth_dir / name) as hdul:
            return hdul[0].data.astype(np.float64)

    def flat(self, band):
        """The true flat of a band ('V'/'B' or the camera's filter name): response of each camera pixel."""
        band = self.filters.get(band, band)
        return self._image(f"flat-{band.lower()}.fits")

    def dark_current(self):
        """The true dark current in e-/s per camera pixel (hot pixels and hot columns included)."""
        return self._image("dark-current.fits")

    def bias(self, name=None):
        """The true bias (ADU, no read noise) of the trimmed image: its fixed structure, plus, for a camera whose
        bias level changes from frame to frame (the one with an overscan), that frame's level and drift."""
        bias = self._image("bias.fits")
        if name is not None and Path(name).name in self._drift:
            bias = bias + _drift_profile(self._drift[Path(name).name], self.size)[:, None]
        return bias

    def raw(self, name):
        """A raw frame read with astropy alone, BZERO/BSCALE applied and BLANK pixels as NaN; not trimmed."""
        with fits.open(self.folder / Path(name).name, do_not_scale_image_data=True) as hdul:
            hdu = next(h for h in hdul if h.is_image and h.header.get("NAXIS") == 2 and h.data is not None)
            stored = np.asarray(hdu.data)
            h = hdu.header
            value = stored.astype(np.float64) * h.get("BSCALE", 1.0) + h.get("BZERO", 0.0)
            if "BLANK" in h:
                value[stored == h["BLANK"]] = np.nan
        return value

    def calibrated(self, name):
        """A raw frame calibrated with the TRUE bias, dark current and flat (trimmed, in ADU; dead pixels NaN):
        the best any reduction could do."""
        row = self.frame(name)
        raw = self.raw(name)
        if raw.shape != self.raw_shape:
            raise ValueError(f"{name} is a subframe; calibrated() works on full frames only")
        image = raw[self.trim]
        dark = self.dark_current() * row["exptime"] / self.camera["gain"]
        result = image - self.bias(name) - dark
        return result / self.flat(row["band"]) if row["kind"] in ("science", "flat") else result


def truth(camera_folder):
    """Read the ground truth of one camera of the zoo.

    Parameters
    ----------
    camera_folder : str or Path
        A camera folder of a zoo, e.g. ``zoo.ensure() / "eso-fz"`` (a bare camera name means the handbook's zoo).

    Returns
    -------
    CameraTruth

    Raises
    ------
    FileNotFoundError
        The folder is not a zoo camera (real frames have no truth).

    Examples
    --------
    >>> from helpers import zoo
    >>> t = zoo.truth(zoo.ensure() / "eso-fz")
    >>> t.filters, t.trim[1]
    ({'B_Bess': 'B', 'V_Bess': 'V'}, slice(6, 390, None))
    """
    truth_dir = _truth_dir(camera_folder)
    if not (truth_dir / "truth.json").is_file():
        raise FileNotFoundError(
            f"No camera-zoo truth for {camera_folder} (looked in {truth_dir}): only the zoo's camera folders have "
            "one, kept beside them in <zoo>/truth/<camera>/. Make the zoo with helpers.zoo.ensure().")
    folder = Path(camera_folder).expanduser()
    if not folder.exists() and str(folder) in CAMERAS:
        folder = default_folder() / str(folder)
    return CameraTruth(truth_dir, folder)
