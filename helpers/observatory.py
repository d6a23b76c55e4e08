"""The synthetic observatory: the physics behind the handbook's frames.

Every frame is made in the order a real camera works:

1. expected electrons = flat x (sky + stars or galaxy) x time + dark current x time (hot pixels included);
2. Poisson noise, drawn once from the expected electrons;
3. read noise (Gaussian, in electrons);
4. gain: electrons to ADU;
5. bias level and its column structure;
6. cosmic rays (a new set in every frame);
7. saturation at 65535 ADU and conversion to unsigned 16-bit integers (stored with BZERO=32768).

Star images are a Moffat profile sampled at the pixel centres; the width grows slowly towards the corners
of the field. A pixel's centre has integer coordinates: the pixel ``image[3, 7]`` is centred on x=7, y=3.

``helpers.data.synthesize`` calls :func:`make_scene` once (the sky, the stars, the camera) and then
:func:`expose` for every frame. Everything random comes from generators seeded by the seed and the
frame's name, so the same seed gives the same files.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

SATURATION_ADU = 65535


# --------------------------------------------------------------------------------------------------
# The camera and the instrument
# --------------------------------------------------------------------------------------------------
@dataclass
class Camera:
    """Detector properties of the synthetic CCD (electrons, ADU and seconds)."""

    gain: float = 1.5            # e-/ADU
    read_noise: float = 10.0     # e- rms
    bias_level: float = 1000.0   # ADU, before the column structure
    dark_current: float = 0.25   # e-/s/pixel, typical pixel
    hot_fraction: float = 5e-4   # fraction of pixels that are hot
    cosmic_rate: float = 4.0     # cosmic-ray hits per second over the whole chip (1024 x 1024)


@dataclass
class Band:
    """One filter: sky brightness, photometric zero point and seeing."""

    name: str
    sky: float        # e-/s/pixel
    zero_point: float  # magnitude of a star giving 1 e-/s
    fwhm: float       # PSF FWHM at the centre of the field, pixels
    flat_level: float  # ADU in a flat-field exposure
    flat_exptime: float  # seconds


BANDS = {
    "B": Band("B", sky=3.5, zero_point=24.2, fwhm=4.1, flat_level=22000.0, flat_exptime=8.0),
    "V": Band("V", sky=6.0, zero_point=24.6, fwhm=3.8, flat_level=26000.0, flat_exptime=5.0),
    "R": Band("R", sky=9.0, zero_point=24.7, fwhm=3.6, flat_level=28000.0, flat_exptime=4.0),
}
MOFFAT_BETA = 3.0
FWHM_GROWTH = 0.08   # the FWHM is (1 + FWHM_GROWTH) times larger in the corners than at the centre


def moffat_alpha(fwhm, beta=MOFFAT_BETA):
    """Moffat core width alpha for a given FWHM: FWHM = 2 alpha sqrt(2**(1/beta) - 1)."""
    return fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def fwhm_at(x, y, band_fwhm, size):
    """PSF FWHM (pixels) at position x, y of a size x size frame, for a band with central FWHM band_fwhm."""
    centre = (size - 1) / 2.0
    r2 = ((np.asarray(x) - centre) ** 2 + (np.asarray(y) - centre) ** 2) / (2.0 * centre ** 2)
    return band_fwhm * (1.0 + FWHM_GROWTH * r2)


def frame_rng(seed, name):
    """A random generator for one named part of the data set (stable when other parts change)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


# --------------------------------------------------------------------------------------------------
# The fixed parts of the scene: bias structure, dark current, flats
# --------------------------------------------------------------------------------------------------
def make_bias(rng, size, camera):
    """Bias level in ADU with column structure, a few bright columns and a start-of-readout ramp."""
    columns = rng.normal(0.0, 1.2, size)
    columns += np.convolve(rng.normal(0.0, 1.0, size + 40), np.ones(41) / np.sqrt(41), mode="valid") * 1.5
    bright = rng.choice(size, size=3, replace=False)
    columns[bright] += rng.uniform(8.0, 20.0, 3)
    rows = 4.0 * np.exp(-np.arange(size) / (size / 30.0))
    return camera.bias_level + rows[:, None] + columns[None, :]


def make_dark_current(rng, size, camera):
    """Dark current in e-/s per pixel: a uniform level, a faint glow in one corner and hot pixels."""
    y, x = np.mgrid[0:size, 0:size] / size
    dark = camera.dark_current * (1.0 + 0.3 * np.exp(-((1 - x) ** 2 + y ** 2) / 0.02))
    n_hot = int(round(camera.hot_fraction * size * size))
    hot = rng.choice(size * size, size=n_hot, replace=False)
    dark.flat[hot] = 10.0 ** rng.uniform(0.5, 2.5, n_hot)   # 3 to 300 e-/s
    return dark


def make_flats(rng, size):
    """True flat fields (median 1) for every band: vignetting, dust donuts and pixel-to-pixel response."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    cx, cy = 0.52 * size, 0.49 * size
    r_corner = np.hypot(max(cx, size - cx), max(cy, size - cy))
    vignetting = 1.0 - 0.17 * ((x - cx) ** 2 + (y - cy) ** 2) / r_corner ** 2
    response = 1.0 + rng.normal(0.0, 0.006, (size, size))   # pixel-to-pixel, the same in every band
    n_dust = 7
    dust_x = rng.uniform(0.08, 0.92, n_dust) * size
    dust_y = rng.uniform(0.08, 0.92, n_dust) * size
    dust_r = rng.uniform(0.012, 0.035, n_dust) * size
    dust_depth = rng.uniform(0.02, 0.05, n_dust)
    tilt = rng.normal(0.0, 0.01, (len(BANDS), 2))
    flats = {}
    for i, name in enumerate(sorted(BANDS)):
        blueness = {"B": 1.3, "V": 1.0, "R": 0.8}[name]   # dust shadows are deeper in the blue
        flat = vignetting * response * (1.0 + tilt[i, 0] * (x / size - 0.5) + tilt[i, 1] * (y / size - 0.5))
        for dx, dy, r, depth in zip(dust_x, dust_y, dust_r, dust_depth):
            box = (slice(max(int(dy - 2 * r), 0), int(dy + 2 * r) + 1), slice(max(int(dx - 2 * r), 0), int(dx + 2 * r) + 1))
            d = np.hypot(x[box] - dx, y[box] - dy)
            ring = np.exp(-0.5 * ((d - r) / (0.25 * r)) ** 2) + 0.4 * np.exp(-0.5 * (d / (0.6 * r)) ** 2)
            flat[box] *= 1.0 - blueness * depth * np.clip(ring, 0, 1)
        flats[name] = flat / np.median(flat)
    return flats


# --------------------------------------------------------------------------------------------------
# The cluster: King-like radial density and a colour-magnitude sequence
# --------------------------------------------------------------------------------------------------
# Fiducial sequence of a metal-poor globular cluster like M13 (V, B-V), by evolutionary phase.
SEQUENCE = {
    "MS": np.array([[21.6, 0.80], [20.5, 0.66], [19.5, 0.55], [18.9, 0.47], [18.5, 0.43]]),
    "SGB": np.array([[18.5, 0.43], [18.2, 0.50], [17.9, 0.59], [17.6, 0.65]]),
    "RGB": np.array([[17.6, 0.65], [16.5, 0.71], [15.5, 0.77], [14.5, 0.85], [13.5, 0.98], [12.8, 1.15],
                     [12.2, 1.40]]),
    "HB": np.array([[15.45, -0.15], [15.0, -0.02], [14.85, 0.08], [14.85, 0.30]]),
}
PHASE_FRACTION = {"MS": 0.66, "SGB": 0.08, "RGB": 0.19, "HB": 0.04, "field": 0.03}


def _along(points, t):
    """Interpolate a polyline (rows of V, B-V) at fractions t of its length."""
    steps = np.hypot(*np.diff(points, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(steps)]) / steps.sum()
    return np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])


def _sample_phase(rng, phase, n):
    """V and B-V for n stars of one phase: more stars where the sequence is fainter (a rising luminosity
    function on the main sequence and the giant branch)."""
    points = SEQUENCE[phase]
    t = np.linspace(0, 1, 2001)
    v, _ = _along(points, t)
    weight = {"MS": 10 ** (0.12 * (v - 21.6)), "SGB": np.ones_like(v), "RGB": 10 ** (0.3 * (v - 17.6)),
              "HB": np.ones_like(v)}[phase]
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]
    v, bv = _along(points, np.interp(rng.uniform(0, 1, n), cdf, t))
    return v + rng.normal(0, 0.02, n), bv + rng.normal(0, 0.015, n)


def king_radii(rng, n, core_radius, tidal_radius, r_max):
    """Radii drawn from King's (1962) surface density, truncated at r_max."""
    r = np.linspace(0.0, min(tidal_radius, r_max), 4001)
    density = (1 / np.sqrt(1 + (r / core_radius) ** 2) - 1 / np.sqrt(1 + (tidal_radius / core_radius) ** 2)) ** 2
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] * r[1:] + density[:-1] * r[:-1]) * np.diff(r))])
    return np.interp(rng.uniform(0, cdf[-1], n), cdf, r)


def make_cluster(rng, size, n_stars):
    """A star table: id, x, y (0-based pixels in the reference frame m13-v-60s-1), V, B, phase."""
    centre_x, centre_y = 0.535 * size, 0.478 * size
    core, tidal = 0.08 * size, 2.5 * size
    counts = {p: int(round(f * n_stars)) for p, f in PHASE_FRACTION.items()}
    v, bv, phase = [], [], []
    for p in ("MS", "SGB", "RGB", "HB"):
        pv, pbv = _sample_phase(rng, p, counts[p])
        v.append(pv)
        bv.append(pbv)
        phase += [p] * counts[p]
    n_cluster = len(phase)
    radius = king_radii(rng, n_cluster, core, tidal, r_max=0.9 * size)
    angle = rng.uniform(0, 2 * np.pi, n_cluster)
    x = centre_x + radius * np.cos(angle)
    y = centre_y + radius * np.sin(angle)
    # field stars: anywhere, any colour
    n_field = counts["field"]
    x = np.concatenate([x, rng.uniform(-10, size + 10, n_field)])
    y = np.concatenate([y, rng.uniform(-10, size + 10, n_field)])
    v.append(rng.uniform(13.0, 21.5, n_field))
    bv.append(rng.uniform(0.3, 1.4, n_field))
    phase += ["field"] * n_field
    v, bv = np.concatenate(v), np.concatenate(bv)
    keep = (x > -15) & (x < size + 14) & (y > -15) & (y < size + 14)
    order = np.argsort(v[keep], kind="stable")
    stars = Table()
    stars["id"] = np.arange(1, keep.sum() + 1)
    stars["x"] = x[keep][order]
    stars["y"] = y[keep][order]
    stars["V"] = v[keep][order]
    stars["B"] = (v + bv)[keep][order]
    stars["phase"] = np.array(phase)[keep][order]
    stars.meta["centre_x"], stars.meta["centre_y"] = float(centre_x), float(centre_y)
    stars.meta["core_radius"], stars.meta["tidal_radius"] = float(core), float(tidal)
    return stars


# --------------------------------------------------------------------------------------------------
# Drawing stars
# --------------------------------------------------------------------------------------------------
def add_stars(image, x, y, flux, fwhm, beta=MOFFAT_BETA):
    """Add Moffat stars of total `flux` (any unit) at positions x, y to `image`, in place.

    The profile is sampled at pixel centres over a box large enough to hold all but a
    negligible part of the flux (less than 0.1 %; less than 0.002 % for bright stars).
    """
    ny, nx = image.shape
    x, y, flux, fwhm = (np.atleast_1d(np.asarray(a, float)) for a in (x, y, flux, fwhm))
    alpha = moffat_alpha(fwhm, beta)
    bright = flux > 2e5
    for group, half in ((~bright, 24), (bright, 70)):
        if not group.any():
            continue
        offsets = np.arange(-half, half + 1)
        ix, iy = np.rint(x[group]).astype(int), np.rint(y[group]).astype(int)
        px = ix[:, None, None] + offsets[None, None, :]
        py = iy[:, None, None] + offsets[None, :, None]
        r2 = (px - x[group, None, None]) ** 2 + (py - y[group, None, None]) ** 2
        a2 = alpha[group, None, None] ** 2
        profile = (beta - 1) / (np.pi * a2) * (1 + r2 / a2) ** (-beta)
        values = flux[group, None, None] * profile
        inside = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
        inside = np.broadcast_to(inside, values.shape)
        index = (np.broadcast_to(py, values.shape) * nx + np.broadcast_to(px, values.shape))[inside]
        image += np.bincount(index, weights=values[inside], minlength=nx * ny).reshape(ny, nx)
    return image


# --------------------------------------------------------------------------------------------------
# The galaxy: bulge, disc, spiral arms with star-forming knots, dust lanes, and a companion
# --------------------------------------------------------------------------------------------------
GALAXY_COLOURS = {  # relative flux in B, V, R of each component (V = 1)
    "bulge": {"B": 0.45, "V": 1.0, "R": 1.45},
    "disc": {"B": 0.75, "V": 1.0, "R": 1.15},
    "arms": {"B": 1.45, "V": 1.0, "R": 0.75},
    "companion": {"B": 0.40, "V": 1.0, "R": 1.50},
}


def make_galaxy(rng, size, offsets):
    """Noise-free galaxy in e-/s per pixel for each band, and its parameters.

    ``offsets`` maps a band name to the (dx, dy) shift of that band's frame: the galaxy centre lands at
    (centre_x + dx, centre_y + dy) in that frame.
    """
    s = size / 1024.0
    cx, cy = 0.49 * size + 0.37, 0.52 * size - 0.21
    incl, pa, pitch = np.radians(25.0), np.radians(30.0), np.radians(18.0)
    r_e, h = 20.0 * s, 80.0 * s
    # star-forming knots along the arms: drawn once, placed in every band
    n_knots = 60
    k_r = rng.uniform(35, 230, n_knots) * s
    k_theta = np.log(k_r / (10 * s)) / np.tan(pitch) + np.pi * rng.integers(0, 2, n_knots) \
        + rng.normal(0, 0.08, n_knots)
    k_u, k_v = k_r * np.cos(k_theta), k_r * np.sin(k_theta) * np.cos(incl)
    k_flux = rng.uniform(5e3, 4e4, n_knots) * np.exp(-k_r / (2.5 * h))
    comp_dx, comp_dy = 150 * s, 300 * s
    bands = {}
    for name, (off_x, off_y) in offsets.items():
        y, x = np.mgrid[0:size, 0:size].astype(float)
        dx, dy = x - cx - off_x, y - cy - off_y
        u = dx * np.cos(pa) + dy * np.sin(pa)
        v = (-dx * np.sin(pa) + dy * np.cos(pa)) / np.cos(incl)
        r = np.hypot(u, v)
        theta = np.arctan2(v, u)
        bulge = 60.0 * np.exp(-7.669 * ((np.maximum(r, 0.5) / r_e) ** 0.25 - 1))
        disc = 40.0 * np.exp(-r / h)
        phase = 2 * (theta - np.log(np.maximum(r, 1.0) / (10 * s)) / np.tan(pitch))
        arm_taper = np.clip((r - 25 * s) / (40 * s), 0, 1) * np.exp(-r / (1.4 * h))
        arms = 35.0 * (0.5 * (1 + np.cos(phase))) ** 6 * arm_taper
        dust = 1.0 - 0.45 * (0.5 * (1 + np.cos(phase + 0.9))) ** 6 * arm_taper
        knot_x = cx + off_x + k_u * np.cos(pa) - k_v * np.sin(pa)
        knot_y = cy + off_y + k_u * np.sin(pa) + k_v * np.cos(pa)
        arms = add_stars(arms, knot_x, knot_y, k_flux, np.full(n_knots, 6.0 * s + 2.0))
        rc = np.hypot(x - cx - off_x - comp_dx, (y - cy - off_y - comp_dy) / 0.8)
        companion = 35.0 * np.exp(-7.669 * ((np.maximum(rc, 0.5) / (14 * s)) ** 0.25 - 1))
        extinction = dust ** {"B": 1.4, "V": 1.0, "R": 0.7}[name]
        colour = {c: GALAXY_COLOURS[c][name] for c in GALAXY_COLOURS}
        bands[name] = (colour["bulge"] * bulge + colour["disc"] * disc + colour["arms"] * arms) * extinction \
            + colour["companion"] * companion
    params = {"centre_x": cx, "centre_y": cy, "inclination_deg": 25.0, "position_angle_deg": 30.0,
              "bulge_effective_radius": r_e, "disc_scale_length": h, "pitch_angle_deg": 18.0,
              "companion_x": cx + comp_dx, "companion_y": cy + comp_dy, "colours": GALAXY_COLOURS}
    return bands, params


# --------------------------------------------------------------------------------------------------
# One exposure
# --------------------------------------------------------------------------------------------------
def cosmic_rays(rng, shape, exptime, rate):
    """An image of cosmic-ray hits in ADU: short straight tracks of a few pixels."""
    ny, nx = shape
    n = rng.poisson(rate * (exptime + 5.0) * nx * ny / 1024 ** 2)
    image = np.zeros(shape)
    if n == 0:
        return image
    length = rng.exponential(2.0, n) + 0.5
    angle = rng.uniform(0, np.pi, n)
    x0, y0 = rng.uniform(0, nx, n), rng.uniform(0, ny, n)
    t = np.linspace(0, 1, 8)
    xs = np.rint(x0[:, None] + length[:, None] * np.cos(angle)[:, None] * t).astype(int)
    ys = np.rint(y0[:, None] + length[:, None] * np.sin(angle)[:, None] * t).astype(int)
    energy = np.repeat(rng.gamma(2.0, 900.0, n)[:, None], t.size, axis=1) / t.size * 3
    ok = (xs >= 0) & (xs < nx) & (ys >= 0) & (ys < ny)
    np.add.at(image, (ys[ok], xs[ok]), energy[ok])
    return image


def expose(rng, electrons_per_s, exptime, dark, bias, camera):
    """Turn an expected signal (e-/s per pixel, already multiplied by the flat) into a raw uint16 frame.

    Returns the raw frame and the mask of saturated pixels.
    """
    expected = (electrons_per_s + dark) * exptime
    electrons = rng.poisson(expected).astype(float)
    electrons += rng.normal(0.0, camera.read_noise, expected.shape)
    adu = electrons / camera.gain + bias
    adu += cosmic_rays(rng, expected.shape, exptime, camera.cosmic_rate)
    adu = np.rint(adu)
    saturated = adu >= SATURATION_ADU
    return np.clip(adu, 0, SATURATION_ADU).astype(np.uint16), saturated
