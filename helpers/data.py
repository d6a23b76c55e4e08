"""The handbook's data: make the synthetic observatory's frames, find them, and read their ground truth.

The default set lives in ``data/synthetic/`` at the top of the handbook (or in the folder named by the
environment variable ``CCD_HANDBOOK_DATA``). It holds the classic handbook's file names:

- ``bias-1..5.fits``, ``dark-1..5.fits`` (120 s), ``flat-v-1..5.fits``, ``flat-b-1..5.fits``;
- ``m13-v-60s-1..3.fits`` and ``m13-b-60s-1..3.fits``: a globular cluster in V and B;
- ``ds9.reg``: bright isolated stars, as DS9 saves regions;
- ``m51/``: another target, a spiral galaxy: ``m51-b-combined.fits``, ``m51-v-combined.fits`` and
  ``m51-r-combined.fits`` (already calibrated and averaged from three exposures in each band) and
  ``annulus.reg`` (annuli on the galaxy, in DS9's "pros" format);
- ``truth/``: what went into the frames (star positions and magnitudes, the flat, the bias, the dark
  current, offsets, PSF, camera), read with :func:`truth`.

Examples
--------
>>> from helpers import data
>>> folder = data.ensure()            # makes the set the first time (a few seconds), then returns at once
>>> t = data.truth(folder)
>>> round(t.camera["gain"], 2)
1.5
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from . import observatory as obs

GENERATOR_VERSION = 1
DEFAULT_SEED = 2012
MANIFEST = "MANIFEST.json"
#: The environment variable that points every chapter at a folder of your own frames.
FRAMES_VARIABLE = "CCD_HANDBOOK_FRAMES"
HANDBOOK_ROOT = Path(__file__).resolve().parents[1]


def default_folder():
    """The folder of the default synthetic set: ``$CCD_HANDBOOK_DATA`` or ``data/synthetic`` in the handbook."""
    env = os.environ.get("CCD_HANDBOOK_DATA")
    return Path(env) if env else HANDBOOK_ROOT / "data" / "synthetic"


def frames_folder(default=None):
    """The folder of frames a chapter works on: ``$CCD_HANDBOOK_FRAMES`` when it is set, else ``default()``.

    Instructors point every chapter at their own night by setting one environment variable,
    ``CCD_HANDBOOK_FRAMES=/path/to/night``, before starting JupyterLab; nothing in the notebooks changes.

    Parameters
    ----------
    default : callable, optional
        Called (with no argument) when the variable is not set; it returns the folder. Defaults to
        :func:`ensure`, the synthetic set.

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        ``$CCD_HANDBOOK_FRAMES`` names a folder that does not exist.
    NotADirectoryError
        It names a file.

    Examples
    --------
    >>> from helpers import data
    >>> folder = data.frames_folder()     # the synthetic set unless CCD_HANDBOOK_FRAMES is set  # doctest: +SKIP
    """
    env = os.environ.get(FRAMES_VARIABLE, "").strip()
    if not env:
        return Path((default or ensure)())
    folder = Path(env).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"{FRAMES_VARIABLE} is set to {env!r}, but there is no such folder. Set it to the "
                                "folder that holds your FITS frames, or unset it to use the synthetic set.")
    if not folder.is_dir():
        raise NotADirectoryError(f"{FRAMES_VARIABLE} is set to {env!r}, which is a file, not a folder. Set it to "
                                 "the folder that holds your FITS frames.")
    return folder


def has_truth(folder):
    """True when ``folder`` is a synthetic set with a ground truth (``truth/truth.json``); real frames have none.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import data
    >>> data.has_truth(tempfile.mkdtemp())
    False
    """
    return (Path(folder) / "truth" / "truth.json").is_file()


#: The one line a chapter prints where a comparison with the truth is skipped (a folder without a truth).
NO_TRUTH = "no ground truth for this folder: the comparison with the truth is skipped"


def describe(folder):
    """One line naming a folder of frames and saying whether it has a ground truth.

    The folder is shown relative to the handbook when it lies inside it, else as its full path.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import data
    >>> data.describe(data.ensure())
    'data folder: data/synthetic (with a ground truth)'
    >>> data.describe(tempfile.mkdtemp()).endswith("(no ground truth: your own frames)")
    True
    """
    folder = Path(folder).expanduser().resolve()
    try:
        shown = folder.relative_to(HANDBOOK_ROOT).as_posix()
    except ValueError:
        shown = str(folder)
    truth_note = "with a ground truth" if has_truth(folder) else "no ground truth: your own frames"
    return f"data folder: {shown} ({truth_note})"


def derived_folder(folder=None):
    """The folder for files derived from a folder of frames (masters, aligned frames, tables), made if missing.

    It is never the folder of frames itself nor inside it, so raw frames are never written over or beside:

    - for a synthetic set it sits beside it: ``data/synthetic`` -> ``data/derived``;
    - for any other folder (your own frames, a camera of the zoo) it is a folder of the handbook's own,
      ``data/derived/<folder name>-<8 hex digits of its full path>``, so your folder, and the folder
      that holds it, are never written to (they may be read-only, or shared with others).

    Parameters
    ----------
    folder : str or Path, optional
        The folder of raw frames; by default the synthetic set's.

    Examples
    --------
    >>> from helpers import data
    >>> data.derived_folder(data.ensure()).name
    'derived'
    """
    folder = (Path(folder) if folder is not None else default_folder()).expanduser().resolve()
    if (folder / MANIFEST).is_file() or folder == default_folder().resolve():
        out = folder.parent / "derived"
        if out == folder:   # a synthetic set in a folder that happens to be called 'derived'
            out = folder.parent / f"{folder.name}-derived"
    else:
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
        out = HANDBOOK_ROOT / "data" / "derived" / f"{folder.name or 'frames'}-{tag}"
    if out == folder or folder in out.parents:
        raise ValueError(f"the handbook writes what it derives from {folder} into {out}, which lies inside it, and "
                         "derived files never go into a folder of frames. Move the frames to a folder of their own "
                         "(e.g. data/my-night, not the handbook's data/derived) and point CCD_HANDBOOK_FRAMES there.")
    out.mkdir(parents=True, exist_ok=True)
    return out


# --------------------------------------------------------------------------------------------------
# Making the set
# --------------------------------------------------------------------------------------------------
def _plan(seed, size):
    """The list of exposures in observing order, with their offsets and times."""
    rng = obs.frame_rng(seed, "plan")
    start = datetime(2012, 6, 4, 1, 30, 0)
    plan = []

    def add(name, kind, band, exptime, dx=0.0, dy=0.0, gap=30.0):
        when = start + timedelta(seconds=sum(p["exptime"] + p["gap"] for p in plan))
        plan.append({"name": name, "kind": kind, "filter": band, "exptime": exptime, "dx": float(dx),
                     "dy": float(dy), "gap": gap, "date_obs": when.strftime("%Y-%m-%dT%H:%M:%S")})

    for i in range(1, 6):
        add(f"bias-{i}", "bias", "", 0.0)
    for i in range(1, 6):
        add(f"dark-{i}", "dark", "", 120.0)
    for band in ("V", "B"):
        for i in range(1, 6):
            add(f"flat-{band.lower()}-{i}", "flat", band, obs.BANDS[band].flat_exptime)

    def drift():   # guiding drift between exposures: under 0.2 px
        r, a = rng.uniform(0.05, 0.18), rng.uniform(0, 2 * np.pi)
        return r * np.cos(a), r * np.sin(a)

    b_offset = (0.68 + rng.uniform(-0.05, 0.05), -0.57 + rng.uniform(-0.05, 0.05))
    for band, base in (("V", (0.0, 0.0)), ("B", b_offset)):
        for i in range(1, 4):
            ddx, ddy = (0.0, 0.0) if (band, i) == ("V", 1) else drift()
            add(f"m13-{band.lower()}-60s-{i}", "science", band, 60.0, base[0] + ddx, base[1] + ddy, gap=40.0)
    galaxy_offsets = {"V": (0.0, 0.0), "B": (2.35, -1.62), "R": (-1.48, 2.27)}
    for band in ("B", "V", "R"):
        add(f"m51/m51-{band.lower()}-combined", "science", band, 60.0, *galaxy_offsets[band], gap=200.0)
    return plan


def _header(entry, camera, seed, extra=None):
    header = fits.Header()
    kinds = {"bias": "Bias Frame", "dark": "Dark Frame", "flat": "Flat Field", "science": "Light Frame"}
    header["IMAGETYP"] = (kinds[entry["kind"]], "type of exposure")
    objects = {"bias": "bias", "dark": "dark", "flat": "flat"}
    header["OBJECT"] = (objects.get(entry["kind"]) or Path(entry["name"]).name.split("-")[0].upper(), "target")
    if entry["filter"]:
        header["FILTER"] = (entry["filter"], "filter in the beam")
    header["EXPTIME"] = (entry["exptime"], "[s] exposure time")
    header["DATE-OBS"] = (entry["date_obs"], "UTC start of exposure")
    header["GAIN"] = (camera.gain, "[e-/ADU] detector gain")
    header["RDNOISE"] = (camera.read_noise, "[e-] read noise")
    header["SATURATE"] = (obs.SATURATION_ADU, "[ADU] saturation level")
    header["CCD-TEMP"] = (-20.0, "[C] detector temperature")
    header["TELESCOP"] = ("Synthetic 0.6 m", "the CCD Handbook's synthetic observatory")
    header["INSTRUME"] = ("Synthetic CCD 1024", "made by helpers.observatory")
    if extra:
        for key, value in extra.items():
            header[key] = value
    header["COMMENT"] = f"Synthetic frame: helpers.data generator version {GENERATOR_VERSION}, seed {seed}."
    return header


def _write(path, data, header):
    fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)


def generator_fingerprint():
    """A digest of the generator's own code: a set made by other code is stale."""
    digest = hashlib.sha256()
    for module in (Path(obs.__file__), Path(__file__)):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def sha256(path):
    """The SHA-256 hex digest of a file's bytes (read in blocks, so a large frame is never held whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _region_files(folder, stars, plan_by_name, galaxy, rng, size):
    """ds9.reg: bright, unsaturated, isolated stars (DS9 4.1 syntax); annulus.reg: annuli on the galaxy
    ("pros" format). Positions are 1-based as DS9 writes them, placed by hand to a few tenths of a pixel."""
    frame = plan_by_name["m13-v-60s-1"]
    x, y = stars["x"] + frame["dx"], stars["y"] + frame["dy"]
    flux = np.asarray(stars["flux_v"])
    margin = 30
    candidate = (~stars["saturated_v"]) & (stars["peak_v"] < 0.6 * obs.SATURATION_ADU) & (stars["snr_v"] > 150) \
        & (x > margin) & (x < size - margin) & (y > margin) & (y < size - margin)
    chosen = []
    for i in np.flatnonzero(candidate)[np.argsort(-flux[candidate], kind="stable")]:
        d = np.hypot(x - x[i], y - y[i])
        neighbours = (d > 0) & (d < 15) & (flux > 0.01 * flux[i])
        if neighbours.any() or any(np.hypot(x[i] - x[j], y[i] - y[j]) < 60 for j in chosen):
            continue
        chosen.append(i)
        if len(chosen) == 12:
            break
    hand = rng.normal(0.0, 0.3, (len(chosen), 2))
    lines = ["# Region file format: DS9 version 4.1",
             'global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 '
             "dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1",
             "image"]
    for (hx, hy), i in zip(hand, chosen):
        lines.append(f"circle({x[i] + 1 + hx:.2f},{y[i] + 1 + hy:.2f},8) # text={{star {stars['id'][i]}}}")
    (folder / "ds9.reg").write_text("\n".join(lines) + "\n")
    in_reg = np.zeros(len(stars), bool)
    in_reg[chosen] = True

    gx = galaxy["centre_x"] + 1 + rng.normal(0, 0.4)
    gy = galaxy["centre_y"] + 1 + rng.normal(0, 0.4)
    s = size / 1024
    radii = np.array([3, 10, 20, 35, 55, 80, 110, 145, 185]) * s
    lines = ["# Region file format: DS9 version 4.1", "# Filename: m51-v-combined.fits"]
    for r_in, r_out in zip(radii[:-1], radii[1:]):
        lines.append(f"image; annulus {gx:.2f} {gy:.2f} {r_in:.2f} {r_out:.2f}")
    (folder / "m51" / "annulus.reg").write_text("\n".join(lines) + "\n")
    return in_reg


def _own_files(folder):
    """The files a handbook-made data set in ``folder`` may replace: those its MANIFEST.json lists, else None."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "generator" not in manifest or not isinstance(manifest.get("files"), dict):
        return None
    return set(manifest["files"]) | {MANIFEST}


def check_set_folder(folder, names, what="the synthetic set", own_files=_own_files):
    """Refuse to write a generated data set into a folder that holds anything but an earlier set of our own.

    A data set may be written into a missing or empty folder, or into one that holds its own MANIFEST.json;
    then only the files that manifest lists may be replaced (anything else in the folder is left alone), and
    never a read-only one. Everything else is refused, so that your own frames are never overwritten.

    Parameters
    ----------
    folder : Path
        Where the set is to be written.
    names : iterable of str
        The files (relative paths) the set will write.
    what : str
        What is being made, for the messages.
    own_files : callable
        ``own_files(folder)`` gives the files the folder's manifest lists (the manifest included), or None
        when the folder holds no manifest of this kind of set.

    Raises
    ------
    FileExistsError
        The folder holds files that are not ours, or files we would write over that our manifest does not list.
    PermissionError
        A file the set would replace is read-only (checked from its mode bits, so also when running as root).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from helpers import data
    >>> night = Path(tempfile.mkdtemp())
    >>> _ = (night / "bias-1.fits").write_bytes(b"mine")
    >>> data.check_set_folder(night, ["bias-1.fits"])      # doctest: +ELLIPSIS
    Traceback (most recent call last):
    FileExistsError: ... holds FITS files that the handbook did not make (e.g. bias-1.fits), so ...
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; {what} needs a folder. Choose another path.")
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    if not present:
        return
    own = own_files(folder)
    if own is None:
        frames = [n for n in present if n.lower().endswith((".fits", ".fit", ".fts", ".gz", ".bz2", ".fz"))]
        what_is_there = f"FITS files that the handbook did not make (e.g. {frames[0]})" if frames else \
            f"files that the handbook did not make (e.g. {present[0]})"
        raise FileExistsError(
            f"{folder} holds {what_is_there}, so {what} was not written there: the handbook never writes into a "
            f"folder of your own frames. To run the chapters on your frames, set {FRAMES_VARIABLE}={folder} "
            "before starting JupyterLab (or write folder = Path(...) in a chapter's first cell); to make "
            f"{what}, choose a new or empty folder (unset CCD_HANDBOOK_DATA if it points here).")
    replaced = sorted(set(names) | set(own))
    locked = [n for n in replaced if (folder / n).is_file()
              and not (folder / n).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)]
    if locked:
        more = f" (and {len(locked) - 1} more files)" if len(locked) > 1 else ""
        raise PermissionError(
            f"{folder / locked[0]} is read-only{more}, and {what} never replaces a read-only file; nothing was "
            "written. Make the files writable again (chmod u+w) if they are the set's own, or choose another folder.")
    foreign = [n for n in names if (folder / n).exists() and n not in own]
    if foreign:
        more = f" and {len(foreign) - 1} more files" if len(foreign) > 1 else ""
        raise FileExistsError(
            f"{folder / foreign[0]} was not written by {what} (its MANIFEST.json does not list it), and {what} "
            f"would replace it{more}; nothing was written. Move your files elsewhere, or choose another folder.")


def _planned_names(plan):
    """Every file (relative path) that :func:`synthesize` writes for this plan, the truth included."""
    names = [p["name"] + ".fits" for p in plan] + ["ds9.reg", "m51/annulus.reg"]
    truth_names = ["truth.json", "stars.ecsv", "bias.fits", "dark-current.fits", "flat-v.fits", "flat-b.fits"]
    truth_names += [f"m51-{band}-combined-model.fits" for band in "bvr"]
    return names + [f"truth/{n}" for n in truth_names]


def _write_manifest(folder, manifest):
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def synthesize(folder, seed=DEFAULT_SEED, size=1024, n_stars=1800, overwrite=False, camera=None):
    """Make a synthetic data set with known ground truth.

    Parameters
    ----------
    folder : str or Path
        Where to write the frames; ``truth/`` is written inside it.
    seed : int
        Seed of every random choice. The same seed (with the same numpy) gives byte-identical files.
    size : int
        Frames are ``size x size`` pixels; the cluster, galaxy and regions scale with it.
    n_stars : int
        Number of stars drawn for the cluster field (scaled by ``(size/1024)**2``).
    overwrite : bool
        Files of the set that already exist in ``folder`` are only replaced when this is True.
    camera : helpers.observatory.Camera, optional
        Detector properties (gain, read noise, bias, dark current ...).

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> from helpers import data
    >>> small = data.synthesize(tempfile.mkdtemp(), seed=1, size=128)
    >>> sorted(p.name for p in small.glob("bias-*.fits"))[:2]
    ['bias-1.fits', 'bias-2.fits']
    """
    started = time.perf_counter()
    folder = Path(folder)
    camera = camera or obs.Camera()
    plan = _plan(seed, size)
    names = _planned_names(plan)
    check_set_folder(folder, names)
    existing = [n for n in names if (folder / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{folder} already holds {existing[0]} (and {len(existing) - 1} more files of the "
                              "synthetic set); pass overwrite=True to replace them, or choose another folder.")
    folder.mkdir(parents=True, exist_ok=True)
    truth_dir = folder / "truth"
    truth_dir.mkdir(exist_ok=True)
    (folder / "m51").mkdir(exist_ok=True)
    # Claim the files first: if the run is interrupted, the set is incomplete (not current) but still ours.
    claimed = {"generator_version": GENERATOR_VERSION, "generator": generator_fingerprint(), "complete": False,
               "seed": seed, "size": size, "n_stars": n_stars,
               "files": dict.fromkeys(sorted(set(names) | (_own_files(folder) or set()) - {MANIFEST}))}
    _write_manifest(folder, claimed)

    scene = obs.frame_rng(seed, "scene")
    bias = obs.make_bias(scene, size, camera)
    dark = obs.make_dark_current(scene, size, camera)
    flats = obs.make_flats(scene, size)
    stars = obs.make_cluster(scene, size, int(round(n_stars * (size / 1024) ** 2)))
    for band in ("V", "B"):
        b = obs.BANDS[band]
        stars[f"flux_{band.lower()}"] = 10 ** (-0.4 * (stars[band] - b.zero_point))
    plan_by_name = {p["name"]: p for p in plan}
    galaxy_offsets = {p["filter"]: (p["dx"], p["dy"]) for p in plan if p["name"].startswith("m51")}
    galaxy, galaxy_params = obs.make_galaxy(scene, size, galaxy_offsets)

    # expected peak, saturation and signal-to-noise of each star in the first exposure of each band
    for band in ("V", "B"):
        b, entry = obs.BANDS[band], plan_by_name[f"m13-{band.lower()}-60s-1"]
        x, y = stars["x"] + entry["dx"], stars["y"] + entry["dy"]
        fwhm = obs.fwhm_at(x, y, b.fwhm, size)
        alpha = obs.moffat_alpha(fwhm)
        ix, iy = np.clip(np.rint(x).astype(int), 0, size - 1), np.clip(np.rint(y).astype(int), 0, size - 1)
        f = flats[band][iy, ix]
        flux_e = stars[f"flux_{band.lower()}"] * entry["exptime"]
        r2 = (np.rint(x) - x) ** 2 + (np.rint(y) - y) ** 2   # the brightest pixel's centre
        moffat_peak = (obs.MOFFAT_BETA - 1) / (np.pi * alpha ** 2) * (1 + r2 / alpha ** 2) ** (-obs.MOFFAT_BETA)
        peak_e = f * (flux_e * moffat_peak + b.sky * entry["exptime"]) \
            + dark[iy, ix] * entry["exptime"]
        stars[f"peak_{band.lower()}"] = peak_e / camera.gain + bias[iy, ix]
        stars[f"saturated_{band.lower()}"] = np.asarray(stars[f"peak_{band.lower()}"] >= obs.SATURATION_ADU)
        inside = 1 - (1 + (fwhm / alpha) ** 2) ** (1 - obs.MOFFAT_BETA)   # flux within r = FWHM
        npix = np.pi * fwhm ** 2
        noise_per_pixel = f * b.sky * entry["exptime"] + camera.dark_current * entry["exptime"] \
            + camera.read_noise ** 2
        stars[f"snr_{band.lower()}"] = f * flux_e * inside / np.sqrt(f * flux_e * inside + npix * noise_per_pixel)

    # the frames
    for entry in plan:
        rng = obs.frame_rng(seed, entry["name"])
        kind, band, t = entry["kind"], entry["filter"], entry["exptime"]
        if entry["name"].startswith("m51"):
            _write_galaxy_frame(folder, truth_dir, entry, galaxy[band], rng, size, camera, seed, scene_seed=seed)
            continue
        signal = np.zeros((size, size))
        if kind == "flat":
            index = int(entry["name"].rsplit("-", 1)[1]) - 1
            level = obs.BANDS[band].flat_level * (1.08, 1.03, 0.98, 0.94, 0.90)[index]   # the twilight fades
            signal = flats[band] * level * camera.gain / t
        elif kind == "science":
            b = obs.BANDS[band]
            x, y = stars["x"] + entry["dx"], stars["y"] + entry["dy"]
            obs.add_stars(signal, x, y, stars[f"flux_{band.lower()}"], obs.fwhm_at(x, y, b.fwhm, size))
            signal = flats[band] * (signal + b.sky)
        raw, _ = obs.expose(rng, signal, t, dark if t > 0 else 0.0, bias, camera)
        _write(folder / f"{entry['name']}.fits", raw, _header(entry, camera, seed))

    stars["in_ds9_reg"] = _region_files(folder, stars, plan_by_name, galaxy_params, obs.frame_rng(seed, "regions"),
                                        size)
    _write_truth(truth_dir, seed, size, camera, plan, stars, bias, dark, flats, galaxy_params)
    files = {n: sha256(folder / n) for n in names}
    manifest = {"generator_version": GENERATOR_VERSION, "generator": generator_fingerprint(), "seed": seed,
                "size": size, "n_stars": n_stars, "numpy": np.__version__,
                "seconds": round(time.perf_counter() - started, 2), "files": files}
    _write_manifest(folder, manifest)
    return folder


def _write_galaxy_frame(folder, truth_dir, entry, model, rng, size, camera, seed, scene_seed):
    """The galaxy frames: calibrated averages of three exposures (so the gain is three times larger and the
    read noise sqrt(3) times larger, in electrons, than a single frame's), with foreground stars."""
    band, t, n = entry["filter"], entry["exptime"], 3
    b = obs.BANDS[band]
    star_rng = obs.frame_rng(scene_seed, "galaxy-field-stars")
    n_field = max(3, int(round(40 * (size / 1024) ** 2)))
    sx, sy = star_rng.uniform(10, size - 10, (2, n_field))
    v = star_rng.uniform(13.0, 20.0, n_field)
    colour = {"B": star_rng.uniform(0.3, 1.3, n_field), "V": np.zeros(n_field),
              "R": -star_rng.uniform(0.2, 0.8, n_field)}[band]   # re-drawn identically in every band
    signal = model + b.sky
    x, y = sx + entry["dx"], sy + entry["dy"]
    obs.add_stars(signal, x, y, 10 ** (-0.4 * (v + colour - b.zero_point)), obs.fwhm_at(x, y, b.fwhm, size))
    electrons = rng.poisson(signal * t * n) + rng.normal(0, camera.read_noise * np.sqrt(n), signal.shape)
    average = (electrons / (n * camera.gain)).astype(np.float32)
    header = _header(entry, camera, seed, extra={
        "NCOMBINE": (n, "frames averaged"),
        "BUNIT": ("ADU", "calibrated: bias, dark and flat removed")})
    header["GAIN"] = (n * camera.gain, "[e-/ADU] effective gain of the average")
    header["RDNOISE"] = (round(camera.read_noise * np.sqrt(n), 3), "[e-] effective read noise of the average")
    _write(folder / f"{entry['name']}.fits", average, header)
    _write(truth_dir / f"{Path(entry['name']).name}-model.fits", (model * t / camera.gain).astype(np.float32),
           fits.Header({"BUNIT": "ADU", "COMMENT": "noise-free galaxy without sky or stars"}))


def _write_truth(truth_dir, seed, size, camera, plan, stars, bias, dark, flats, galaxy_params):
    hot = dark > 3.0
    truth = {
        "generator_version": GENERATOR_VERSION, "seed": seed, "size": size,
        "camera": {"gain": camera.gain, "read_noise": camera.read_noise,
                   "read_noise_adu": camera.read_noise / camera.gain,
                   "bias_level": float(bias.mean()), "bias_column_rms": float(bias.mean(axis=0).std()),
                   "dark_current": float(np.median(dark)), "n_hot_pixels": int(hot.sum()),
                   "saturation_adu": obs.SATURATION_ADU, "cosmic_rate": camera.cosmic_rate},
        "bands": {k: {"sky": b.sky, "zero_point": b.zero_point, "fwhm": b.fwhm, "flat_exptime": b.flat_exptime}
                  for k, b in obs.BANDS.items()},
        "psf": {"model": "moffat", "beta": obs.MOFFAT_BETA, "fwhm_growth": obs.FWHM_GROWTH,
                "note": "FWHM(x, y) = fwhm_band * (1 + fwhm_growth * r**2 / (2 * c**2)), r from the centre c"},
        "cluster": {k: float(v) for k, v in stars.meta.items()},
        "galaxy": galaxy_params,
        "frames": [{k: v for k, v in p.items() if k != "gap"} for p in plan],
        "units": {"x, y": "0-based pixels, x = column, y = row; a star at x, y in the reference frame "
                          "m13-v-60s-1 lies at x + dx, y + dy in another frame",
                  "flux_v, flux_b": "e-/s", "peak_v, peak_b": "ADU of the brightest pixel in the first exposure, bias included, without noise",
                  "snr_v, snr_b": "expected signal-to-noise of one 60 s exposure within r = FWHM",
                  "sky": "e-/s/pixel before the flat", "dark_current": "e-/s/pixel (median pixel)"},
    }
    (truth_dir / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    stars.meta.clear()
    for col in stars.colnames:
        if stars[col].dtype.kind == "f":
            stars[col] = np.round(stars[col], 6)
    stars.write(truth_dir / "stars.ecsv", overwrite=True)
    header = fits.Header({"COMMENT": "ground truth"})
    _write(truth_dir / "bias.fits", bias.astype(np.float32), header)
    _write(truth_dir / "dark-current.fits", dark.astype(np.float32), header)
    for band in ("V", "B"):
        _write(truth_dir / f"flat-{band.lower()}.fits", flats[band].astype(np.float32), header)


# --------------------------------------------------------------------------------------------------
# Finding the set and reading the truth
# --------------------------------------------------------------------------------------------------
def is_current(folder):
    """True when ``folder`` holds a complete default synthetic set whose files are unchanged."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("generator_version") != GENERATOR_VERSION or manifest.get("generator") != generator_fingerprint():
        return False
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if digest is None or not path.is_file() or sha256(path) != digest:
            return False
    return True


def ensure(folder=None):
    """Return the folder of the synthetic data set, making it first if it is missing, incomplete or stale.

    A set is stale when it was made by another version of the generator (its code changed) or one of its
    files was changed.
    Only the set's own files (those its MANIFEST.json lists) are (re)written; anything else in the folder is
    left alone. A folder that holds other files and no manifest, such as a folder of your own frames, is
    refused with a FileExistsError that says how to point the chapters at it instead.

    Parameters
    ----------
    folder : str or Path, optional
        Defaults to :func:`default_folder` (``data/synthetic`` in the handbook).

    Examples
    --------
    >>> from helpers import data
    >>> folder = data.ensure()
    >>> (folder / "bias-1.fits").exists()
    True
    """
    folder = Path(folder) if folder is not None else default_folder()
    if is_current(folder):
        return folder
    previous = {}
    try:
        previous = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        pass
    return synthesize(folder, seed=previous.get("seed", DEFAULT_SEED), size=previous.get("size", 1024),
                      n_stars=previous.get("n_stars", 1800), overwrite=True)


class Truth:
    """The ground truth of a synthetic set (read with :func:`truth`).

    Attributes
    ----------
    camera : dict
        gain (e-/ADU), read_noise (e-), read_noise_adu, bias_level (ADU, mean), dark_current (e-/s/pixel),
        saturation_adu ...
    bands : dict
        Per filter: sky (e-/s/pixel), zero_point (mag giving 1 e-/s), fwhm (pixels, centre of the field).
    stars : astropy.table.Table
        id, x, y (in the reference frame m13-v-60s-1), V, B, phase, flux_v, flux_b (e-/s), peak, saturation
        and expected signal-to-noise per band, in_ds9_reg.
    frames : astropy.table.Table
        name, kind, filter, exptime, dx, dy (offset of the frame from the reference), date_obs.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        info = json.loads((self.folder / "truth" / "truth.json").read_text())
        self.info = info
        self.camera = info["camera"]
        self.bands = info["bands"]
        self.psf = info["psf"]
        self.cluster = info["cluster"]
        self.galaxy = info["galaxy"]
        self.size = info["size"]
        self.frames = Table(rows=[[f[k] for k in ("name", "kind", "filter", "exptime", "dx", "dy", "date_obs")]
                                  for f in info["frames"]],
                            names=("name", "kind", "filter", "exptime", "dx", "dy", "date_obs"))
        self.frames.add_index("name")
        self.stars = Table.read(self.folder / "truth" / "stars.ecsv")
        for table, columns in ((self.frames, ("dx", "dy")), (self.stars, ("x", "y", "V", "B"))):
            for column in columns:   # printed rounded, the same on every machine
                table[column].info.format = ".3f"

    def __repr__(self):
        return f"Truth({str(self.folder)!r}: {len(self.stars)} stars, {len(self.frames)} frames)"

    def frame(self, name):
        """The row of the frames table for ``name`` (with or without ``.fits``)."""
        name = Path(name).name.removesuffix(".fits")
        return self.frames.loc["m51/" + name if name.startswith("m51") else name]

    def positions(self, name):
        """Star positions (x, y arrays) in the frame ``name``: the reference positions plus its offset."""
        row = self.frame(name)
        return np.asarray(self.stars["x"]) + row["dx"], np.asarray(self.stars["y"]) + row["dy"]

    def offset(self, reference, image):
        """The true (dx, dy) that ``helpers.align.shift(image, dx, dy)`` needs to land on ``reference``."""
        ref, img = self.frame(reference), self.frame(image)
        return float(ref["dx"] - img["dx"]), float(ref["dy"] - img["dy"])

    def fwhm(self, x, y, band):
        """The PSF FWHM (pixels) at x, y in a frame of the given band."""
        return obs.fwhm_at(x, y, self.bands[band]["fwhm"], self.size)

    def _image(self, name):
        with fits.open(self.folder / "truth" / name) as hdul:
            return hdul[0].data.astype(np.float64)

    def flat(self, band):
        """The true flat field of a band (median 1)."""
        return self._image(f"flat-{band.lower()}.fits")

    def bias(self):
        """The true bias (level and structure, ADU) without read noise."""
        return self._image("bias.fits")

    def dark_current(self):
        """The true dark current, e-/s per pixel (hot pixels included)."""
        return self._image("dark-current.fits")

    def calibrated(self, name):
        """A raw frame of the set calibrated with the TRUE bias, dark current and flat: the best any reduction
        could do, for checking the later steps on their own."""
        with fits.open(self.folder / f"{Path(name).name.removesuffix('.fits')}.fits") as hdul:
            raw, header = hdul[0].data.astype(np.float64), hdul[0].header
        dark = self.dark_current() * header["EXPTIME"] / self.camera["gain"]
        return (raw - self.bias() - dark) / self.flat(header["FILTER"])

    def galaxy_model(self, band):
        """The noise-free galaxy in ADU (no sky, no stars) in that band's frame."""
        return self._image(f"m51-{band.lower()}-combined-model.fits")


def truth(folder=None):
    """Read the ground truth of a synthetic set.

    Examples
    --------
    >>> from helpers import data
    >>> t = data.truth(data.ensure())
    >>> t.camera["read_noise"]
    10.0
    """
    folder = Path(folder) if folder is not None else default_folder()
    if not (folder / "truth" / "truth.json").is_file():
        raise FileNotFoundError(f"No ground truth in {folder / 'truth'}: it exists only for a synthetic set. "
                                "Make the default one with helpers.data.ensure(), or another with "
                                "helpers.data.synthesize(folder).")
    return Truth(folder)
