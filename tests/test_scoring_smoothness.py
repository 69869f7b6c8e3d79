"""SPARC and LDLJ: published reference values and ordering of smooth vs jerky movements."""

from __future__ import annotations

import numpy as np
import pytest

from rehab.scoring.smoothness import ldlj, sparc


def _gaussian() -> np.ndarray:
    t = np.arange(-1, 1, 0.01)  # 100 Hz over [-1, 1)
    return np.exp(-5 * t ** 2)


def test_reference_values_for_a_gaussian_speed_profile():
    assert sparc(_gaussian(), 100.0) == pytest.approx(-1.41403, abs=1e-5)
    assert ldlj(_gaussian(), 100.0) == pytest.approx(-5.81636, abs=1e-5)


def test_two_submovements_are_less_smooth_than_one():
    t = np.arange(-1, 1, 0.01)
    two = np.exp(-40 * (t + 0.3) ** 2) + np.exp(-40 * (t - 0.3) ** 2)
    assert sparc(two, 100.0) < sparc(_gaussian(), 100.0) - 0.3
    assert ldlj(two, 100.0) < ldlj(_gaussian(), 100.0) - 1.0


def test_scale_invariance():
    v = _gaussian()
    assert sparc(3.0 * v, 100.0) == pytest.approx(sparc(v, 100.0))
    assert ldlj(3.0 * v, 100.0) == pytest.approx(ldlj(v, 100.0))


def test_degenerate_profiles_give_nan():
    assert np.isnan(sparc(np.zeros(50), 100.0))
    assert np.isnan(ldlj(np.zeros(50), 100.0))
    assert np.isnan(ldlj(np.ones(2), 100.0))
