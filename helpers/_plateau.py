"""The flat top of a saturated star: one rule for :mod:`helpers.detect` and :mod:`helpers.psf`.

A star's profile is round at the top: at most the 2 x 2 pixels around its centre are nearly equal (when it falls
on a pixel corner); for a FWHM of 2 px or more the next ones are at least 15 % fainter. A saturated star, clipped
by the camera and then divided by the flat, has a plateau: :data:`LEAST` or more touching pixels within
:data:`WITHIN` of its peak.
"""
import numpy as np
from scipy import ndimage

#: Pixels within this fraction of the peak count as the top.
WITHIN = 0.02
#: A top of this many touching pixels or more is flat (a plateau), not round.
LEAST = 5


def flat_top(values, within=WITHIN):
    """The touching pixels within ``within`` of the highest value, connected to it (a boolean mask).

    ``values``: background-subtracted pixels around one star, -inf where they do not belong to it.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.zeros((5, 5)); values[1:4, 1:3] = 100.0; values[2, 2] = 101.0
    >>> int(flat_top(values).sum())
    6
    """
    values = np.asarray(values, dtype=float)
    peak_index = np.unravel_index(np.argmax(values), values.shape)
    if not np.isfinite(values[peak_index]):
        return np.zeros(values.shape, dtype=bool)
    top, _ = ndimage.label(values >= (1 - within) * values[peak_index], structure=np.ones((3, 3), dtype=bool))
    return top == top[peak_index]
