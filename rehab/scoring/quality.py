"""Tracking quality of a trial: how often the hand was seen, and landmark jitter while still."""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab.scoring.filters import lowpass
from rehab.scoring.track import HandTrack

STILL_SPEED_M_S = 0.03  # mean landmark speed under which the hand counts as still
STILL_WOBBLE_M = 0.005
SLOW_CUTOFF_HZ = 2.0


def quality_metrics(track: HandTrack) -> dict[str, Any]:
    """Tracking quality.

    - tracked_fraction: frames with the chosen hand / all frames of the trial.
    - jitter_mm: landmark noise per axis while the hand is still (mean landmark speed of the
      2 Hz low-passed landmarks < 3 cm/s, and the 10 Hz track within 5 mm RMS of them, which
      rules out fast rhythmic movement such as tapping), estimated from raw second differences, which cancel smooth
      motion: for white noise of std s, E|x[i+1] - 2 x[i] + x[i-1]|^2 = 18 s^2 in 3-D, so
      jitter = sqrt(mean |d2 x|^2 / 18) * 1000. None when the hand was never still. A real hand
      trembles a little, so this bounds the tracker noise from above.
    - longest_gap_s: the longest stretch without the hand (gaps over 0.25 s; shorter ones are
      bridged by interpolation and count as tracked for the metrics).
    """
    raw = track.raw_world
    jitter = None
    if len(raw) >= 3:
        slow = lowpass(raw, track.fs, SLOW_CUTOFF_HZ)
        v = np.linalg.norm(np.gradient(slow, 1.0 / track.fs, axis=0), axis=-1).mean(axis=-1)
        fast = np.sqrt(np.mean(np.sum((track.world - slow) ** 2, axis=-1), axis=-1))
        d2 = np.linalg.norm(raw[2:] - 2 * raw[1:-1] + raw[:-2], axis=-1)  # (M-2, 21)
        still = ((v < STILL_SPEED_M_S) & (fast < STILL_WOBBLE_M))[1:-1] & ~np.isnan(d2).any(axis=1)
        if still.any():
            jitter = round(float(np.sqrt(np.mean(d2[still] ** 2) / 18.0)) * 1000.0, 2)
    longest = run = 0
    for gap in ~track.valid:
        run = run + 1 if gap else 0
        longest = max(longest, run)
    return {"tracked_fraction": round(track.tracked_fraction, 4), "jitter_mm": jitter,
            "longest_gap_s": round(longest / track.fs, 3)}
