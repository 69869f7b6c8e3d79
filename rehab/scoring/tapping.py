"""Finger-tapping metrics (thumb-index aperture), after MDS-UPDRS part III item 3.4."""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab.scoring.reps import TAP_MIN_SWING, crossing_time, swing_threshold, swings

CONTACT_FRACTION = 0.2  # of the fall above the trough: where the tips meet
INTERRUPTION_FACTOR = 2.0  # an inter-tap interval longer than 2 x the median is an interruption


def tap_metrics(t: np.ndarray, ap: np.ndarray) -> dict[str, Any]:
    """Taps and their rhythm and amplitude from the aperture signal ``ap`` (hand sizes).

    - taps: confirmed falls of the aperture (thumb meets index), by ``reps.swings`` with
      h = max(0.2, 0.3 * (p98 - p2)). A tap's time is the contact: the first crossing, after
      the peak, of trough + 20 % of the fall, linearly interpolated between samples (the bottom
      of a touch is flat, so its arg-min would wander within it).
    - rate_hz = (taps - 1) / (t_last - t_first) over tap times (0 with fewer than 2 taps).
    - rhythm_cv = std(intervals) / mean(intervals) of inter-tap intervals.
    - amplitude: median over taps of (peak before the touch - touch trough), hand sizes.
    - amplitude_decrement: with amplitudes a_k against x_k = k / (n - 1), a least-squares line
      a = a0 + s x gives decrement = -s / a0: the fraction of the initial opening lost by the
      last tap (0 = none, 0.5 = the last tap opens half as far). Needs >= 3 taps.
    - amplitude_ratio_last_first: mean amplitude of the last third of taps / first third.
    - interruptions: inter-tap intervals > 2 x the median interval (hesitations or freezes,
      as MDS-UPDRS counts them); longest_pause_s = the longest interval.
    """
    falls = [s for s in swings(ap, swing_threshold(ap, TAP_MIN_SWING)) if not s.rising]
    times = np.array([crossing_time(t, ap, s.start, s.end, CONTACT_FRACTION) for s in falls])
    amps = np.array([s.amplitude for s in falls])
    n = len(falls)
    out: dict[str, Any] = {"taps": n, "rate_hz": 0.0, "rhythm_cv": None, "amplitude": None,
                              "amplitude_decrement": None, "amplitude_ratio_last_first": None,
                              "interruptions": 0, "longest_pause_s": None}
    if n >= 1:
        out["amplitude"] = round(float(np.median(amps)), 3)
    if n >= 2:
        intervals = np.diff(times)
        out["rate_hz"] = round(float((n - 1) / (times[-1] - times[0])), 3)
        out["rhythm_cv"] = round(float(np.std(intervals) / np.mean(intervals)), 3)
        out["interruptions"] = int(np.sum(intervals > INTERRUPTION_FACTOR * np.median(intervals)))
        out["longest_pause_s"] = round(float(intervals.max()), 3)
    if n >= 3:
        x = np.arange(n) / (n - 1)
        slope, intercept = np.polyfit(x, amps, 1)
        out["amplitude_decrement"] = round(float(-slope / intercept), 3) if intercept > 0 else None
        third = max(1, n // 3)
        out["amplitude_ratio_last_first"] = round(float(amps[-third:].mean() / amps[:third].mean()), 3)
    return out

