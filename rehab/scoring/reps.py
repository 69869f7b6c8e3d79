"""Repetition counting with hysteresis: open/close cycles, finger taps, thumb-finger touches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

OPEN_CLOSE_MIN_SWING = 20.0  # degrees of mean finger flexion; below it nothing is counted
OPEN_CLOSE_FRACTION = 0.4  # an opening or closing covers >= 40 % of the trial's range
TAP_MIN_SWING = 0.2  # hand sizes of thumb-index aperture (1.8 cm on an adult hand)
SWING_FRACTION = 0.3  # of the trial's robust range (2nd-98th percentile)
# hand sizes, thumb tip to finger tip; MediaPipe puts pinching tips 0.25-0.3 hand sizes apart
TOUCH_ENTER, TOUCH_EXIT = 0.4, 0.55
MIN_TOUCH_S = 0.1  # a fingertip passing the thumb on its way into a fist is not a touch


@dataclass(frozen=True)
class Swing:
    """One confirmed movement between extremes of a signal (indices into it)."""

    rising: bool  # True: trough -> peak (opening); False: peak -> trough (closing)
    start: int  # index of the extreme it leaves
    end: int  # index of the extreme it reaches (the last one may not be final)
    amplitude: float  # |x[end] - x[start]|


def swings(x: np.ndarray, h: float) -> list[Swing]:
    """Alternating swings of ``x`` found by hysteresis relative to the last extreme.

    A rise is confirmed when x exceeds the lowest value since the last peak by ``h``; a fall
    when x drops ``h`` below the highest value since the last trough. Wiggles smaller than ``h``
    never count, however slowly the signal drifts. NaN samples are skipped.
    """
    out: list[Swing] = []
    lo_i = hi_i = -1
    mode = 0  # 0 not yet moved, +1 rising (tracking a peak), -1 falling (tracking a trough)
    for i, v in enumerate(x):
        if np.isnan(v):
            continue
        if lo_i < 0:
            lo_i = hi_i = i
        if mode >= 0 and v > x[hi_i]:
            hi_i = i
        if mode <= 0 and v < x[lo_i]:
            lo_i = i
        if mode == 1 and hi_i == i:
            out[-1] = Swing(True, out[-1].start, i, 0.0)
        elif mode == -1 and lo_i == i:
            out[-1] = Swing(False, out[-1].start, i, 0.0)
        elif mode != 1 and v >= x[lo_i] + h:
            mode, hi_i = 1, i
            out.append(Swing(True, lo_i, i, 0.0))
        elif mode != -1 and v <= x[hi_i] - h:
            mode, lo_i = -1, i
            out.append(Swing(False, hi_i, i, 0.0))
    return [Swing(s.rising, s.start, s.end, float(abs(x[s.end] - x[s.start]))) for s in out]


def swing_threshold(x: np.ndarray, min_swing: float, fraction: float = SWING_FRACTION) -> float:
    """h = max(min_swing, fraction * (p98 - p2)) of the signal (NaN ignored)."""
    v = x[~np.isnan(x)]
    if len(v) == 0:
        return min_swing
    p2, p98 = np.percentile(v, [2, 98])
    return max(min_swing, fraction * float(p98 - p2))


def count_open_close(t: np.ndarray, flexion_deg: np.ndarray) -> dict[str, Any]:
    """Open/close repetitions from the mean finger flexion (``angles.finger_flexion_deg``).

    Swings of x = -flexion with h = max(20 deg, 0.4 * (p98 - p2)): openings = confirmed rises
    (flexion falling), closings = confirmed falls, repetitions = complete closed -> open ->
    closed cycles = closings that follow an opening (a hand that only opens once gives 0
    repetitions and 1 opening). opening_range_deg is the median size of the openings.
    mean_cycle_s is the mean time between successive closings, each timed where the signal
    crosses half-way between its extremes (flat, noisy extremes would make their arg-min wander);
    for a single cycle, the time from leaving closed to closed again (10 % crossings).
    """
    x = -np.asarray(flexion_deg, float)
    sw = swings(x, swing_threshold(x, OPEN_CLOSE_MIN_SWING, OPEN_CLOSE_FRACTION))
    rises = [s for s in sw if s.rising]
    falls = [s for s in sw if not s.rising]
    cycles = [s for k, s in enumerate(sw) if not s.rising and k > 0 and sw[k - 1].rising]
    closed_at = np.array([crossing_time(t, x, c.start, c.end, 0.5) for c in cycles])
    durations = np.diff(closed_at)
    if len(cycles) == 1:  # one cycle: from leaving closed to being closed again (10 % crossings)
        c = cycles[0]
        rise = sw[sw.index(c) - 1]
        durations = np.array([crossing_time(t, x, c.start, c.end, 0.1)
                              - crossing_time(t, x, rise.start, rise.end, 0.9)])
    v = x[~np.isnan(x)]
    return {
        "repetitions": len(cycles), "openings": len(rises), "closings": len(falls),
        "mean_cycle_s": _r(np.mean(durations)) if len(durations) else None,
        "opening_range_deg": _r(np.median([s.amplitude for s in rises]), 1) if rises else None,
        "most_open_flexion_deg": _r(-np.percentile(v, 99), 1) if len(v) else None,
        "most_closed_flexion_deg": _r(-np.percentile(v, 1), 1) if len(v) else None,
        "events": [{"t": _r(crossing_time(t, x, s.start, s.end, 0.5), 3),
                    "kind": "open" if s.rising else "close"} for s in sw],
    }


def crossing_time(t: np.ndarray, x: np.ndarray, start: int, end: int, fraction: float) -> float:
    """First time after ``start`` that x crosses x[end] + fraction * (x[start] - x[end]).

    Linear interpolation between samples gives sub-frame timing. Used for event times: a
    tap's contact (fraction 0.2 of the fall) or an opening's/closing's midpoint (0.5).
    """
    level = x[end] + fraction * (x[start] - x[end])
    falling = x[start] > x[end]
    for i in range(start + 1, end + 1):
        a, b = x[i - 1], x[i]
        if np.isnan(a) or np.isnan(b):
            continue
        if (b <= level) if falling else (b >= level):
            frac = (a - level) / (a - b) if a != b else 1.0
            return float(t[i - 1] + frac * (t[i] - t[i - 1]))
    return float(t[end])


def _r(v: Any, nd: int = 3) -> float:
    return round(float(v), nd)


def touches(dist: np.ndarray, enter: float = TOUCH_ENTER, exit_: float = TOUCH_EXIT,
            min_samples: int = 1) -> list[tuple[int, int, int]]:
    """Thumb-to-finger touches from distances (M, 4) in hand sizes (inf = cannot touch).

    A touch of finger k starts when its distance falls below ``enter`` and is the nearest
    finger, and ends when it rises above ``exit_`` (hysteresis); touches shorter than
    ``min_samples`` (a fingertip sweeping past the thumb) are dropped. Returns (finger, start, end).
    """
    out: list[tuple[int, int, int]] = []
    current, start = -1, 0
    for i, row in enumerate(dist):
        if np.isnan(row).any():
            continue
        if current >= 0 and row[current] > exit_:
            out.append((current, start, i))
            current = -1
        if current < 0:
            k = int(np.argmin(row))
            if row[k] < enter:
                current, start = k, i
    if current >= 0:
        out.append((current, start, len(dist) - 1))
    return [(k, a, b) for k, a, b in out if b - a >= min_samples]
