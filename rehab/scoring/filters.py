"""Signal conditioning: One Euro filter (live drawing), uniform resampling and zero-phase low-pass.

Why these cut-offs: finger tapping reaches about 8 Hz at most (MDS-UPDRS tapping is mostly
2-6 Hz), so the scoring low-pass must keep 8 Hz. Webcams give 25-30 frames/s (Nyquist 12.5-15 Hz),
so the default cut-off is 12 Hz, capped at 0.85 x Nyquist: 12 Hz at 30 fps, 10.6 Hz at 25 fps.
A 4th-order Butterworth run forwards and backwards (``sosfiltfilt``) has zero phase lag, so event
times are not delayed; its gain 1 / (1 + (f / fc)^8) keeps 8 Hz at 96 % amplitude at 30 fps
and 91 % at 25 fps (2-5 Hz tapping: > 99.9 %). What lies above is mostly tracker jitter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, sosfiltfilt

DEFAULT_CUTOFF_HZ = 12.0
ORDER = 4
NYQUIST_FRACTION = 0.85
MAX_GAP_S = 0.25  # gaps (frames without the hand) up to this long are bridged by interpolation


def effective_cutoff_hz(fs: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ) -> float:
    """The cut-off actually used: ``min(cutoff_hz, 0.85 * fs / 2)``."""
    return min(cutoff_hz, NYQUIST_FRACTION * fs / 2.0)


def lowpass(x: np.ndarray, fs: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0, applied to each NaN-free run separately.

    y = sosfiltfilt(butter(4, fc / (fs / 2)), x), fc = ``effective_cutoff_hz``: gain
    1 / (1 + (f / fc)^8) (the filter's magnitude squared, as it runs twice), no phase shift.
    Runs shorter than 10 samples are returned unfiltered; NaN stays NaN.
    """
    x = np.asarray(x, float)
    out = x.copy()
    if len(x) == 0:
        return out
    sos = butter(ORDER, effective_cutoff_hz(fs, cutoff_hz) / (fs / 2.0), output="sos")
    ok = ~np.isnan(x.reshape(len(x), -1)).any(axis=1)
    for start, stop in runs(ok):
        if stop - start >= 10:
            pad = min(3 * (ORDER + 1), stop - start - 1)
            out[start:stop] = sosfiltfilt(sos, x[start:stop], axis=0, padlen=pad)
    return out


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the True runs of a boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def resample(t: np.ndarray, x: np.ndarray, fs: float,
             max_gap_s: float = MAX_GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of samples ``x`` (N, ...) at times ``t`` onto a uniform grid.

    Rows of ``x`` containing NaN count as missing. The grid runs from the first to the last
    valid sample at 1/fs steps. Grid points inside a gap longer than ``max_gap_s`` are NaN (a
    longer gap is a real absence, not a dropped frame).

    Returns:
        (t_uniform, x_uniform).
    """
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    flat = x.reshape(len(x), -1)
    ok = ~np.isnan(flat).any(axis=1)
    if ok.sum() < 2:
        return np.zeros(0), np.zeros((0, *x.shape[1:]))
    tv, xv = t[ok], flat[ok]
    n = int(math.floor((tv[-1] - tv[0]) * fs + 1e-6)) + 1
    grid = tv[0] + np.arange(n) / fs
    out = np.empty((n, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(grid, tv, xv[:, j])
    idx = np.clip(np.searchsorted(tv, grid), 1, len(tv) - 1)
    gap = tv[idx] - tv[idx - 1]
    out[gap > max_gap_s + 0.5 / fs] = np.nan
    return grid, out.reshape(n, *x.shape[1:])


class OneEuroFilter:
    """One Euro filter (Casiez, Roussel & Vogel, CHI 2012) for live landmark drawing.

    For each sample: dx = (x - x_prev) / dt, smoothed with alpha(d_cutoff); cut-off
    fc = min_cutoff + beta * |dx_hat|; x_hat = x_hat_prev + alpha(fc) * (x - x_hat_prev), where
    alpha(fc) = 1 / (1 + tau / dt), tau = 1 / (2 pi fc). Slow movement -> strong smoothing (no
    jitter); fast movement -> high cut-off (little lag). Works on arrays of any shape.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.05,
                 d_cutoff_hz: float = 1.0) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        """Forget the past (call when the hand is lost)."""
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff_hz: float, dt: float) -> float:
        tau = 1.0 / (2.0 * math.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """Filtered value of sample ``x`` taken at time ``t`` (seconds)."""
        x = np.asarray(x, float)
        if self._t is not None and self._x is not None and t == self._t:
            return self._x.copy()  # a repeated frame: nothing new to filter
        if self._t is None or self._x is None or self._dx is None or t < self._t \
                or self._x.shape != x.shape:
            self._t, self._x, self._dx = t, x.copy(), np.zeros_like(x)  # start (or time went back)
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        self._dx = self._dx + self._alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        tau = 1.0 / (2.0 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._x = self._x + a * (x - self._x)
        self._t = t
        return self._x.copy()
