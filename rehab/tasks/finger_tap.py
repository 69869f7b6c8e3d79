"""Thumb-index finger tapping: counted as closings of the thumb-index aperture, measured per tap.

Counting follows ``scoring.signals.aperture`` (thumb tip to index tip, hand sizes, image
plane); a tap is a confirmed closing. Rhythm, amplitude, decrement, hesitations and slowing
come from ``scoring.tapping.tap_metrics`` over each tap's contact time and amplitude, also over
the first 10 taps alone (MDS-UPDRS 3.4 scores those).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rehab import synth
from rehab.scoring import signals as sig
from rehab.scoring.reps import SwingParams, crossing_time
from rehab.scoring.tapping import tap_metrics
from rehab.tasks.base import COUNT_RESULT, Counting, Demo, Measured, Metric, Task

if TYPE_CHECKING:
    from rehab.scoring.counting import TrialCounter
    from rehab.scoring.track import HandTrack

CONTACT_FRACTION = 0.2  # a tap's contact: where the fall reaches 20 % above its trough

# Taps open 0.5-1.5 hand sizes; 0.15 (1.4 cm) is above the swings 3 pixels of tracker noise
# make on a 120-pixel hand (0.1). Taps reach 6-8 Hz: a contact lasts from about 60 ms, so the
# hold is 2 frames at 30 fps.
COUNTING = Counting(SwingParams(min_swing=0.15, window_s=1.0, hold_s=0.05, refractory_s=0.05,
                                expected_hz=4.0), sig.aperture, "closings")


def measure(track: HandTrack, counter: TrialCounter) -> Measured:
    """Tap metrics over the taps the counter found."""
    if counter.swings is None:
        return Measured({}, 0)
    times, amps = tap_times(track, counter)
    return Measured(tap_metrics(times, amps), counter.count)


def tap_times(track: HandTrack, counter: TrialCounter) -> tuple[np.ndarray, np.ndarray]:
    """Contact time and amplitude of every tap the counter found, measured on the low-passed
    track's aperture between the tap's peak and trough: the contact is where the fall comes
    within 20 % of the trough (the bottom of a touch is flat, its arg-min would wander)."""
    det = counter.swings
    assert det is not None
    p = sig.plane(track.image, counter.aspect)
    ap = sig.aperture(p, sig.hand_size(p))
    t = np.array(det.t)
    times, amps = [], []
    for k, e in enumerate(det.events):
        if e.rising:
            continue
        a, b = (int(i) for i in np.searchsorted(track.t, [t[e.start], t[det.reached(k)]]))
        b = min(max(b, a + 1), len(ap) - 1)
        seg = ap[a:b + 1]
        if np.isnan(seg).all():
            continue
        hi, lo = a + int(np.nanargmax(seg)), a + int(np.nanargmin(seg))
        times.append(crossing_time(track.t, ap, hi, lo, CONTACT_FRACTION) if lo > hi
                     else float(track.t[lo]))
        amps.append(float(ap[hi] - ap[lo]))
    return np.array(times), np.array(amps)


TAP_METRICS: tuple[Metric, ...] = (
    Metric("taps", "Taps", fmt="d", better="higher"),
    Metric("rate_hz", "Tapping rate", "/s", ".2f", "higher"),
    Metric("mean_interval_s", "Time between taps", "s", ".2f", "lower"),
    Metric("rhythm_cv", "Rhythm variability (CV)", "%", ".0f", "lower", 100.0),
    Metric("amplitude", "Tap amplitude", "hand sizes", ".2f", "higher"),
    Metric("amplitude_decrement", "Amplitude decrement", "%", ".0f", "lower", 100.0),
    Metric("amplitude_ratio_last_first", "Amplitude, last taps / first", fmt=".2f",
           better="higher"),
    Metric("hesitations", "Hesitations", fmt="d", better="lower"),
    Metric("halts", "Halts", fmt="d", better="lower"),
    Metric("longest_pause_s", "Longest pause", "s", ".2f", "lower"),
    Metric("slowing", "Slowing (intervals lengthen by)", "%", ".0f", "lower", 100.0),
)
# MDS-UPDRS 3.4 scores the first 10 taps: the same numbers over them
FIRST10 = tuple(Metric(f"first10.{m.key}", f"{m.label}, first 10 taps", m.unit, m.fmt, m.better,
                       m.scale) for m in TAP_METRICS)

TASK = Task(
    name="finger_tap", title="Thumb-index finger tapping",
    instruction="Tap your index finger on your thumb, as fast and as big as you can.",
    counter_label="Taps", count_words=("tap", "taps"),
    metrics=(
        Metric("repetitions", "Taps", fmt="d", better="higher"),
        *TAP_METRICS,
        Metric("interruptions", "Interruptions (= hesitations)", fmt="d", better="lower"),
        *FIRST10,
    ),
    headline=("repetitions", "rate_hz", "amplitude", "amplitude_decrement", "hesitations",
              "slowing"),
    patient=COUNT_RESULT,
    counting=COUNTING,
    measure=measure,
    demo=Demo(lambda fps: synth.finger_tap_motion(freq_hz=2.0, duration_s=4.0, fps=fps),
              "Tap the index finger on the thumb, opening wide each time; eight taps at 2 per "
              "second."),
    example=lambda level, hand: synth.finger_tap(1.5 + 0.5 * level, 6.0,
                                                 decrement=0.4 - 0.1 * level, hand=hand),
)
