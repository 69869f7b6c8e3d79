"""Open and close the hand: counted as cycles of the fingertip extension, measured by its swings.

Counting follows ``scoring.signals.extension`` (median fingertip-to-wrist distance in hand
sizes, image plane): an open hand is about 1.8, a fist about 0.7 hand sizes. A repetition is a
cycle, two swings in either order, so a hand that starts open counts the same as one that
starts closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rehab import synth
from rehab.scoring import signals as sig
from rehab.scoring.filters import runs
from rehab.scoring.opening import aperture, spread
from rehab.scoring.reps import SwingDetector, SwingParams, crossing_time
from rehab.scoring.smoothness import ldlj, sparc
from rehab.tasks.base import Counting, Demo, Measured, Metric, PatientResult, Task

if TYPE_CHECKING:
    from rehab.scoring.counting import TrialCounter
    from rehab.scoring.track import HandTrack

MIN_SWING_S = 0.3  # shorter opening/closing swings are too short for a smoothness estimate

# A swing covers >= 35 % of the 1.0 hand-size range between fist and open hand. A hand opens
# and closes at most about twice a second: holds of 120 ms, a 3 s local window.
COUNTING = Counting(SwingParams(min_swing=0.35, window_s=3.0, hold_s=0.12, refractory_s=0.15),
                    sig.extension, "cycles")


def measure(track: HandTrack, counter: TrialCounter) -> Measured:
    """Cycles, openings, closings, their sizes and timing, the widest opening, and the
    smoothness of the swings."""
    det = counter.swings
    if det is None:
        return Measured({}, 0)
    m = swing_metrics(det)
    m.update(opening_sizes(track))
    return Measured(m, counter.count, swing_smoothness(track, counter))


def swing_metrics(det: SwingDetector) -> dict[str, Any]:
    """Openings, closings and their sizes and timing from the swing detector.

    mean_cycle_s = mean time between successive closings (each timed at its 50 % crossing),
    None with fewer than 2 closings; opening_range = median opening size, hand sizes of
    fingertip extension.
    """
    x, t = np.array(det.x), np.array(det.t)
    when = [crossing_time(t, x, e.start, det.reached(k), 0.5) for k, e in enumerate(det.events)]
    closes = [w for w, e in zip(when, det.events, strict=True) if not e.rising]
    opens = [det.amplitude(k) for k, e in enumerate(det.events) if e.rising]
    return {"openings": det.openings, "closings": det.closings,
            "mean_cycle_s": round(float(np.mean(np.diff(closes))), 3) if len(closes) >= 2 else None,
            "opening_range": round(float(np.median(opens)), 3) if opens else None,
            "events": [{"t": round(w, 3), "kind": "open" if e.rising else "close"}
                       for w, e in zip(when, det.events, strict=True)]}


def opening_sizes(track: HandTrack) -> dict[str, Any]:
    """Widest thumb-index aperture and fingertip spread (99th percentiles, hand sizes)."""
    out: dict[str, Any] = {}
    for key, fn in (("max_aperture", aperture), ("max_spread", spread)):
        v = fn(track.world, track.size_m)
        v = v[~np.isnan(v)]
        out[key] = round(float(np.percentile(v, 99)), 3) if len(v) else None
    return out


def swing_smoothness(track: HandTrack, counter: TrialCounter) -> dict[str, Any] | None:
    """Mean SPARC and LDLJ of |d extension / dt| over each opening and closing >= 0.3 s.

    The extension is recomputed from the low-passed, uniformly resampled image landmarks; a
    swing with a gap (NaN) inside is skipped, never filled in.
    """
    det = counter.swings
    if det is None:
        return None
    p = sig.plane(track.image, counter.aspect)
    ext = sig.extension(p, sig.hand_size(p))
    rate = np.abs(np.gradient(ext, 1.0 / track.fs))
    t = np.array(det.t)
    s_vals, l_vals = [], []
    for k, e in enumerate(det.events):
        a, b = np.searchsorted(track.t, [t[e.start], t[det.reached(k)]])
        seg = rate[a:b + 1]
        if (b - a) / track.fs >= MIN_SWING_S and len(runs(~np.isnan(seg))) == 1 \
                and not np.isnan(seg).any():
            s_vals.append(sparc(seg, track.fs))
            l_vals.append(ldlj(seg, track.fs))
    if not s_vals or np.all(np.isnan(s_vals)):
        return None
    return {"sparc": round(float(np.nanmean(s_vals)), 4), "ldlj": round(float(np.nanmean(l_vals)), 4),
            "signal": "fingertip extension speed, mean over gap-free opening/closing swings"}


TASK = Task(
    name="open_close", title="Open and close the hand",
    instruction="Open your hand wide, then close it into a fist.",
    counter_label="Repetitions", count_words=("time", "times"),
    metrics=(
        Metric("repetitions", "Open-close cycles", fmt="d", better="higher"),
        Metric("openings", "Openings", fmt="d", better="higher"),
        Metric("closings", "Closings", fmt="d", better="higher"),
        Metric("opening_range", "Opening range", "hand sizes", ".2f", "higher"),
        Metric("mean_cycle_s", "Cycle time", "s", ".2f"),
        Metric("max_aperture", "Widest opening", "hand sizes", ".2f", "higher"),
        Metric("max_spread", "Widest finger spread", "hand sizes", ".2f", "higher"),
        Metric("events", "Openings and closings (time in s, kind)"),
    ),
    headline=("repetitions", "openings", "opening_range", "closings"),
    patient=PatientResult("repetitions", "You opened and closed your hand {value} {noun}"),
    counting=COUNTING,
    measure=measure,
    demo=Demo(lambda fps: synth.open_close_motion(cycles=3, freq_hz=0.5, fps=fps, rest_s=0.5),
              "Open the hand fully, then close it into a fist; three slow cycles."),
    example=lambda level, hand: synth.open_close(3 + level, 0.4 + 0.1 * level, hand=hand),
)
