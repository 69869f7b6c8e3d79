"""Filters: zero-phase low-pass that keeps tapping, gap-aware resampling, One Euro filter."""

from __future__ import annotations

import numpy as np
import pytest

from rehab.scoring.filters import OneEuroFilter, effective_cutoff_hz, lowpass, resample


def _gain(freq_hz: float, fs: float) -> float:
    t = np.arange(600) / fs
    x = np.sin(2 * np.pi * freq_hz * t)
    y = lowpass(x, fs)
    return float(np.std(y[100:-100]) / np.std(x[100:-100]))


@pytest.mark.parametrize("fs", [25.0, 30.0, 60.0])
def test_lowpass_keeps_tapping_frequencies(fs):
    assert _gain(3.0, fs) > 0.999
    assert _gain(8.0, fs) > 0.9


def test_lowpass_removes_what_is_above_the_cutoff():
    assert effective_cutoff_hz(25.0) == pytest.approx(10.625)
    assert effective_cutoff_hz(30.0) == pytest.approx(12.0)
    assert _gain(14.0, 30.0) < 0.3


def test_lowpass_has_no_phase_lag():
    fs = 30.0
    t = np.arange(300) / fs
    x = np.sin(2 * np.pi * 2.0 * t) + np.random.default_rng(0).normal(0, 0.2, len(t))
    y = lowpass(x, fs)
    clean = np.sin(2 * np.pi * 2.0 * t)
    lags = range(-5, 6)
    corr = [np.dot(np.roll(y, k)[20:-20], clean[20:-20]) for k in lags]
    assert list(lags)[int(np.argmax(corr))] == 0


def test_lowpass_leaves_nan_and_short_runs_alone():
    x = np.concatenate([np.ones(20), [np.nan] * 3, [1.0, 2.0, 3.0]])
    y = lowpass(x, 30.0)
    assert np.isnan(y[20:23]).all()
    np.testing.assert_allclose(y[:20], 1.0, atol=1e-9)
    np.testing.assert_array_equal(y[23:], [1.0, 2.0, 3.0])


def test_resample_bridges_short_gaps_only():
    t = np.arange(0, 3.0, 0.1)
    x = t.copy()
    x[5] = np.nan  # 0.2 s between valid samples: bridged
    x[15:25] = np.nan  # 1.1 s gap: stays missing
    tu, xu = resample(t, x, 20.0)
    assert tu[0] == 0.0 and tu[1] == pytest.approx(0.05)
    inside_short = (tu > 0.4) & (tu < 0.6)
    np.testing.assert_allclose(xu[inside_short], tu[inside_short])
    inside_long = (tu > 1.5) & (tu < 2.4)
    assert np.isnan(xu[inside_long]).all()
    assert not np.isnan(xu[tu < 1.4]).any()


def test_resample_irregular_timestamps_onto_a_grid():
    t = np.sort(np.random.default_rng(3).uniform(0, 2, 50))
    x = np.stack([np.sin(t), np.cos(t)], axis=1)
    tu, xu = resample(t, x, 30.0)
    assert np.allclose(np.diff(tu), 1 / 30)
    np.testing.assert_allclose(xu[:, 0], np.sin(tu), atol=0.01)


def test_one_euro_smooths_jitter_and_follows_fast_moves():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=5.0)
    rng = np.random.default_rng(1)
    still = [f(i / 30, np.array([0.5 + rng.normal(0, 0.01)])) for i in range(60)]
    assert np.std(still[30:]) < 0.004
    f.reset()
    ramp = [f(i / 30, np.array([i / 30.0]))[0] for i in range(60)]
    assert ramp[-1] == pytest.approx(59 / 30, abs=0.05)  # little lag at speed
    assert f(10.0, np.array([3.0]))[0] == pytest.approx(3.0, abs=1.0)


def test_one_euro_repeated_and_backward_timestamps():
    f = OneEuroFilter()
    f(0.0, np.array([0.0]))
    first = f(0.1, np.array([1.0]))
    assert f(0.1, np.array([5.0]))[0] == first[0]  # same time again: unchanged
    assert f(0.05, np.array([7.0]))[0] == 7.0  # time went back: starts afresh
