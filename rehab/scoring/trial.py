"""Scoring one trial: frames -> hand track -> task metrics, ROM, smoothness, quality, similarity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.errors import ScoringError
from rehab.scoring import signals as sig
from rehab.scoring.angles import active_rom, joint_angles
from rehab.scoring.counting import TrialCounter, count_frames
from rehab.scoring.filters import lowpass, runs
from rehab.scoring.motion import cut_by_gap, hand_speed, movement_bounds, reach_metrics
from rehab.scoring.opening import aperture, spread
from rehab.scoring.quality import quality_metrics
from rehab.scoring.reference import Reference
from rehab.scoring.reps import SwingDetector
from rehab.scoring.similarity import no_similarity, similarity
from rehab.scoring.smoothness import ldlj, sparc
from rehab.scoring.tapping import tap_metrics
from rehab.scoring.track import HandTrack, hand_track, pick_hand
from rehab.scoring.validity import flag_rom, validity
from rehab.tasks import TASK_NAMES, TASKS

FINGER_NAMES = ("index", "middle", "ring", "little")
# ROM is how far joints go, not how fast: 4 Hz keeps voluntary movement and removes most of the
# tracker jitter that would otherwise widen every range by about two noise std each side.
ROM_CUTOFF_HZ = 4.0
MIN_SWING_S = 0.3  # shorter opening/closing swings are too short for a smoothness estimate
CONTACT_FRACTION = 0.2  # a tap's contact: where the fall reaches 20 % above its trough


@dataclass
class TrialScore:
    """Everything measured in one trial. ``metrics`` holds the task's own numbers, headline first."""

    task: str
    hand: str
    frames: int
    tracked_fraction: float
    repetitions: int
    metrics: dict[str, Any] = field(default_factory=dict)
    rom: dict[str, Any] = field(default_factory=dict)
    smoothness: dict[str, Any] | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    similarity: dict[str, Any] | None = None
    validity: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: task, hand, frames, tracked_fraction, repetitions, the task metrics,
        then ``valid`` and ``validity_reasons`` (flat, for exports and reviews), rom,
        smoothness, quality, similarity, and the rest of the ``validity`` block last. Plain Python types;
        NaN becomes None."""
        out: dict[str, Any] = {"task": self.task, "hand": self.hand, "frames": self.frames,
                               "tracked_fraction": self.tracked_fraction,
                               "repetitions": self.repetitions}
        out.update({k: v for k, v in self.metrics.items() if k not in out})
        out.update(valid=self.validity.get("valid"),
                   validity_reasons="; ".join(self.validity.get("reasons", [])))
        details = {k: v for k, v in self.validity.items() if k not in ("valid", "reasons")}
        out.update(rom=self.rom, smoothness=self.smoothness, quality=self.quality,
                   similarity=self.similarity, validity=details)
        return clean(out)

    def headline(self) -> list[tuple[str, str]]:
        """(label, formatted value) pairs for the result screen, most important first."""
        from rehab.scoring.headline import headline

        return headline(self)


def clean(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays into Python values and NaN/inf into None."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    return value


def score_trial(frames: Sequence[TrackedFrame], task: str, hand: str,
                reference: Reference | None = None) -> TrialScore:
    """Score a trial of ``task`` performed with anatomical ``hand`` ("left", "right" or "auto").

    Raises:
        ScoringError: unknown task, no frames, or the hand seen in fewer than 2 frames.
    """
    if task not in TASKS:
        raise ScoringError(f"unknown task {task!r}", hint=f"use one of {', '.join(TASK_NAMES)}")
    if not frames:
        raise ScoringError("no frames to score", hint="the video or camera gave no frames")
    side = pick_hand(frames, hand)
    track = hand_track(frames, side)
    counter = count_frames(list(frames), task, side)
    metrics, reps, smooth = _task_metrics(task, track, counter)
    sim = _similarity(task, track, side, reps, reference) if reference is not None else None
    rom = active_rom({k: lowpass(v, track.fs, ROM_CUTOFF_HZ)
                      for k, v in joint_angles(track.world).items()})
    seen = {s: sum(f.hand(s) is not None for f in frames) for s in ("right", "left")}
    valid = validity(counter.arrays(), side, seen, counter.fastest_rate_hz(),
                     counter.expected_hz, flag_rom(rom))
    return TrialScore(
        task=task, hand=side, frames=len(frames),
        tracked_fraction=round(track.tracked_fraction, 4), repetitions=reps, metrics=metrics,
        rom=rom, smoothness=smooth, quality=quality_metrics(track), similarity=sim,
        validity=valid)


def _similarity(task: str, track: HandTrack, side: str, reps: int,
                reference: Reference) -> dict[str, Any]:
    """Similarity to ``reference``; an unusable reference gives {"score": None, "error": ...}."""
    try:
        ref_frames = reference.to_frames()
        hand_track(ref_frames, reference.hand)
        ref_reps = count_frames(ref_frames, task, reference.hand).count
    except ScoringError as exc:
        return no_similarity(f"reference: {exc.message}")
    return similarity(track, reference, (reps, ref_reps) if TASKS[task].counted else None,
                      hand=side)


def _task_metrics(task: str, track: HandTrack, counter: TrialCounter
                  ) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    """(metrics, repetitions, smoothness) for one task; counts come from ``counter``."""
    if task == "open_close" and counter.swings is not None:
        m = _open_close(counter.swings)
        m.update(_opening_sizes(track))
        return m, counter.count, _swing_smoothness(track, counter)
    if task == "finger_tap" and counter.swings is not None:
        times, amps = _tap_times(track, counter)
        return tap_metrics(times, amps), counter.count, None
    if task == "opposition":
        m = _opposition(track, counter)
        return m, counter.count, None
    if task == "reach_grasp":
        m = reach_metrics(track)
        return m, int(m["movement_time_s"] is not None), _reach_smoothness(track)
    return {}, 0, None


def _tap_times(track: HandTrack, counter: TrialCounter) -> tuple[np.ndarray, np.ndarray]:
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


def _open_close(det: SwingDetector) -> dict[str, Any]:
    """Cycles, openings, closings and their sizes and timing from the swing detector.

    repetitions = cycles = swings // 2 (either start state); mean_cycle_s = mean time between
    successive closings (each timed at its 50 % crossing), None with fewer than 2 closings;
    opening_range = median opening size, hand sizes of fingertip extension.
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


def crossing_time(t: np.ndarray, x: np.ndarray, start: int, end: int, fraction: float) -> float:
    """First time after ``start`` that x crosses x[end] + fraction * (x[start] - x[end]),
    linearly interpolated between samples (NaN samples skipped)."""
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


def _opening_sizes(track: HandTrack) -> dict[str, Any]:
    """Widest thumb-index aperture and fingertip spread (99th percentiles, hand sizes)."""
    out: dict[str, Any] = {}
    for key, fn in (("max_aperture", aperture), ("max_spread", spread)):
        v = fn(track.world, track.size_m)
        v = v[~np.isnan(v)]
        out[key] = round(float(np.percentile(v, 99)), 3) if len(v) else None
    return out


def _opposition(track: HandTrack, counter: TrialCounter) -> dict[str, Any]:
    """Thumb-to-fingertip touches (``reps.TouchDetector``) and the fingers reached, in order."""
    found = counter.touches.touches if counter.touches is not None else []
    t = counter.frames.t
    seq = [FINGER_NAMES[k] for k, _ in found]
    return {"touches": len(found),
            "fingers_reached": [f for f in FINGER_NAMES if f in seq],
            "sequence": seq,
            "touch_times_s": [round(float(t[i]), 3) for _, i in found]}


def _swing_smoothness(track: HandTrack, counter: TrialCounter) -> dict[str, Any] | None:
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


def _reach_smoothness(track: HandTrack) -> dict[str, Any] | None:
    """SPARC and LDLJ of the hand-centre speed between movement onset and offset."""
    v = hand_speed(track)
    bounds = movement_bounds(v)
    if bounds is None or bounds[1] - bounds[0] < 3 or cut_by_gap(v, bounds):
        return None
    seg = v[bounds[0]:bounds[1] + 1]
    return {"sparc": round(sparc(seg, track.fs), 4), "ldlj": round(ldlj(seg, track.fs), 4),
            "signal": "hand speed over the reach"}
