"""Magnitudes and zero points."""
import numpy as np
import pytest

from helpers import photometry


def test_instrumental_magnitude_is_minus_2_5_log10_not_natural_log():
    assert photometry.instrumental_magnitude(1.0) == 0.0
    assert photometry.instrumental_magnitude(100.0) == pytest.approx(-5.0)
    assert photometry.instrumental_magnitude(6000.0, exptime=60.0) == pytest.approx(-5.0)
    assert photometry.instrumental_magnitude(np.e) != pytest.approx(-1.0)    # not ln


def test_non_positive_flux_gives_nan_without_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = photometry.instrumental_magnitude([100.0, 0.0, -5.0])
    assert np.isfinite(m[0]) and np.isnan(m[1:]).all()


def test_zero_point_recovers_a_known_offset_and_ignores_outliers():
    rng = np.random.default_rng(2)
    catalogue = rng.uniform(12, 18, 200)
    instrumental = catalogue - 24.6 + rng.normal(0, 0.02, 200)
    instrumental[:5] += 2.0                       # five blended stars
    instrumental[5] = np.nan
    zp, err = photometry.zero_point(instrumental, catalogue)
    assert zp == pytest.approx(24.6, abs=0.005)
    assert 0.001 < err < 0.004                    # about 0.025 / sqrt(199)


def test_zero_point_needs_a_star():
    with pytest.raises(ValueError, match="no star"):
        photometry.zero_point([np.nan], [12.0])
