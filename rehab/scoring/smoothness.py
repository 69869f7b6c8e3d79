"""Movement smoothness of a speed profile: SPARC and log dimensionless jerk (LDLJ).

Definitions follow Balasubramanian, Melendez-Calderon, Roby-Brami & Burdet, "On the analysis of
movement smoothness", J NeuroEng Rehabil 2015 (and their reference scripts). Both are negative;
closer to zero is smoother. For a Gaussian speed profile v = exp(-5 t^2), t in [-1, 1) at 100 Hz,
SPARC = -1.41403 and LDLJ = -5.81636.
"""

from __future__ import annotations

import math

import numpy as np


def sparc(speed: np.ndarray, fs: float, pad_level: int = 4, fc_hz: float = 10.0,
          amp_threshold: float = 0.05) -> float:
    """Spectral arc length (SPARC) of a speed profile sampled at ``fs`` Hz.

    V(f) = |FFT(v, n)| / max|FFT|, with n = 2^(ceil(log2 N) + pad_level) (zero padding).
    Keep f <= fc_hz, then the band [f_a, f_b] between the first and last bins with V >= amp_threshold.
    SPARC = -sum_k sqrt((df_k / (f_b - f_a))^2 + (dV_k)^2) over that band: the length of the
    normalised magnitude spectrum's curve (a smooth movement has a short, simple spectrum).
    NaN when undefined: under 2 samples, no movement, a gap (NaN) inside, or a band of < 2 bins.
    """
    v = np.asarray(speed, float)
    if len(v) < 2 or np.isnan(v).any() or not np.any(v):
        return float("nan")
    n = int(2 ** (math.ceil(math.log2(len(v))) + pad_level))
    freqs = np.arange(n) * fs / n
    mag = np.abs(np.fft.fft(v, n))
    mag = mag / mag.max()
    keep = freqs <= fc_hz
    f_sel, m_sel = freqs[keep], mag[keep]
    above = np.flatnonzero(m_sel >= amp_threshold)
    f_sel, m_sel = f_sel[above[0]:above[-1] + 1], m_sel[above[0]:above[-1] + 1]
    if len(f_sel) < 2:
        return float("nan")  # no usable band: undefined, not a perfect 0
    df = np.diff(f_sel) / (f_sel[-1] - f_sel[0])
    return float(-np.sum(np.sqrt(df ** 2 + np.diff(m_sel) ** 2)))


def dimensionless_jerk(speed: np.ndarray, fs: float) -> float:
    """Dimensionless jerk of a speed profile: -(T^3 / v_peak^2) * integral (d^2v/dt^2)^2 dt.

    T = N / fs (the profile's duration), d^2v/dt^2 by second differences, the integral a sum * dt.
    """
    v = np.asarray(speed, float)
    if len(v) < 3 or np.isnan(v).any():
        return float("nan")
    dt = 1.0 / fs
    peak = float(np.max(np.abs(v)))
    if peak == 0:
        return float("nan")
    jerk = np.diff(v, 2) / dt ** 2
    duration = len(v) * dt
    return float(-(duration ** 3 / peak ** 2) * np.sum(jerk ** 2) * dt)


def ldlj(speed: np.ndarray, fs: float) -> float:
    """Log dimensionless jerk: LDLJ = -ln |dimensionless_jerk(speed, fs)|."""
    dj = dimensionless_jerk(speed, fs)
    if math.isnan(dj) or dj == 0:
        return float("nan")
    return float(-math.log(abs(dj)))
