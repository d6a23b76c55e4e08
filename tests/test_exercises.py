"""The exercise checks test exactly what their questions ask: the worked answer passes, a near miss does not."""
import numpy as np
from astropy.stats import sigma_clipped_stats

from helpers import camera, data, exercises, io, reduce


def test_chapter_00_pixel_wants_adu_and_electrons():
    folder = data.ensure()
    image, header = io.read_frame(folder / "bias-1.fits")
    adu = image[20, 10]
    assert exercises.ex00_pixel(adu, adu * header["GAIN"], folder=folder) == "Correct."
    assert exercises.ex00_pixel(adu, adu, folder=folder).startswith("Not yet")                # ADU given twice
    assert exercises.ex00_pixel(image[10, 20], image[10, 20] * header["GAIN"], folder=folder).startswith("Not yet")
    assert exercises.ex00_pixel(..., ..., folder=folder).startswith("Replace")


def test_chapter_01_master_noise_is_smaller_than_the_read_noise():
    """bias-1 minus a mean master that holds bias-1: the noise left is sqrt(1 - 1/5) of the read noise, not 1."""
    folder = data.ensure()
    biases = io.read_stack(io.select(io.collect(folder), kind="bias"))
    one, header = io.read_frame(folder / "bias-1.fits")
    gain = header["GAIN"]
    ratio = sigma_clipped_stats(one - reduce.combine(biases, method="mean"))[2] * gain \
        / camera.read_noise(biases[0], biases[1], gain)
    assert abs(ratio - np.sqrt(1 - 1 / len(biases))) < 0.03
    assert exercises.ex01_master_noise(ratio, folder=folder) == "Correct."
    assert exercises.ex01_master_noise(1.0, folder=folder).startswith("Not yet")             # "it is the same"
