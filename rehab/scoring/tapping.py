"""Finger-tapping metrics from detected taps, as MDS-UPDRS part III item 3.4 raters judge them.

The rater watches 10 taps for speed, amplitude, decrement of amplitude, hesitations or halts,
and slowing. Here, from the taps' contact times and amplitudes (``counting``, ``reps``):

- rate_hz = (taps - 1) / (t_last - t_first); mean_interval_s = mean inter-tap interval (the one
  cycle time: contact to contact); rhythm_cv = std / mean of the intervals.
- amplitude: median tap amplitude (peak opening before the contact - contact), hand sizes.
- amplitude_decrement: least-squares line a = a0 + s x over x = k / (n - 1):
  decrement = -s / a0, the fraction of the first opening lost by the last tap (needs 3 taps);
  amplitude_ratio_last_first: mean of the last third / mean of the first third.
- hesitations: intervals > 2 x the median interval; halts: intervals > max(1 s, 4 x median);
  longest_pause_s: the longest interval.
- slowing: the same line fitted to the intervals (hesitations left out: they are counted as
  such), sign flipped: the fraction by which the intervals lengthen from the first to the
  last (0.5 = the last interval 50 % longer); needs 4 taps.
- first10: the same numbers over the first 10 taps only, as the scale asks for 10 taps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HESITATION_FACTOR = 2.0
HALT_FACTOR, HALT_MIN_S = 4.0, 1.0


def _trend(v: np.ndarray, x: np.ndarray | None = None) -> float | None:
    """-slope / intercept of a line through v against x (default k / (n - 1)); None if undefined."""
    x = np.arange(len(v)) / (len(v) - 1) if x is None else x
    slope, intercept = np.polyfit(x, v, 1)
    return round(float(-slope / intercept), 3) if intercept > 0 else None


def tap_metrics(times: np.ndarray, amps: np.ndarray, first10: bool = True) -> dict[str, Any]:
    """The tapping numbers (see the module doc) from contact times (s) and amplitudes."""
    times, amps = np.asarray(times, float), np.asarray(amps, float)
    n = len(times)
    out: dict[str, Any] = {"taps": n, "rate_hz": 0.0, "mean_interval_s": None, "rhythm_cv": None,
                           "amplitude": None, "amplitude_decrement": None,
                           "amplitude_ratio_last_first": None, "hesitations": 0, "halts": 0,
                           "interruptions": 0, "longest_pause_s": None, "slowing": None}
    if n >= 1:
        out["amplitude"] = round(float(np.median(amps)), 3)
    if n >= 2:
        iv = np.diff(times)
        med = float(np.median(iv))
        out.update(rate_hz=round(float((n - 1) / (times[-1] - times[0])), 3),
                   mean_interval_s=round(float(iv.mean()), 3),
                   rhythm_cv=round(float(np.std(iv) / np.mean(iv)), 3),
                   hesitations=int(np.sum(iv > HESITATION_FACTOR * med)),
                   halts=int(np.sum(iv > max(HALT_MIN_S, HALT_FACTOR * med))),
                   longest_pause_s=round(float(iv.max()), 3))
        out["interruptions"] = out["hesitations"]
    if n >= 3:
        out["amplitude_decrement"] = _trend(amps)
        third = max(1, n // 3)
        out["amplitude_ratio_last_first"] = round(float(amps[-third:].mean()
                                                        / amps[:third].mean()), 3)
    if n >= 4:
        iv = np.diff(times)
        keep = iv <= HESITATION_FACTOR * np.median(iv)  # pauses are hesitations, not slowing
        x = np.arange(len(iv)) / (len(iv) - 1)
        s = _trend(iv[keep], x[keep]) if keep.sum() >= 3 else None
        out["slowing"] = None if s is None else -s
    if first10:
        out["first10"] = {k: v for k, v in tap_metrics(times[:10], amps[:10], False).items()
                          if k != "interruptions"}
    return out
