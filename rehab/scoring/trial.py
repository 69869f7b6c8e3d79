"""Scoring one trial: frames -> hand track -> task metrics, ROM, smoothness, quality, similarity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.errors import ScoringError
from rehab.scoring.angles import active_rom, finger_flexion_deg, joint_angles
from rehab.scoring.filters import lowpass
from rehab.scoring.motion import hand_speed, movement_bounds, reach_metrics
from rehab.scoring.opening import aperture, opposition_distances, spread
from rehab.scoring.quality import quality_metrics
from rehab.scoring.reference import Reference
from rehab.scoring.reps import MIN_TOUCH_S, count_open_close, touches
from rehab.scoring.similarity import no_similarity, similarity
from rehab.scoring.smoothness import ldlj, sparc
from rehab.scoring.tapping import tap_metrics
from rehab.scoring.track import HandTrack, hand_track, pick_hand
from rehab.tasks import TASK_NAMES, TASKS

FINGER_NAMES = ("index", "middle", "ring", "little")
# ROM is how far joints go, not how fast: 4 Hz keeps voluntary movement and removes most of the
# tracker jitter that would otherwise widen every range by about two noise std each side.
ROM_CUTOFF_HZ = 4.0
MIN_SWING_S = 0.3  # shorter opening/closing swings are too short for a smoothness estimate


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: task, hand, frames, tracked_fraction, repetitions, the task metrics,
        then rom, smoothness, quality, similarity. Plain Python types; NaN becomes None."""
        out: dict[str, Any] = {"task": self.task, "hand": self.hand, "frames": self.frames,
                               "tracked_fraction": self.tracked_fraction,
                               "repetitions": self.repetitions}
        out.update({k: v for k, v in self.metrics.items() if k not in out})
        out.update(rom=self.rom, smoothness=self.smoothness, quality=self.quality,
                   similarity=self.similarity)
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
    metrics, reps, smooth = _task_metrics(task, track)
    sim = _similarity(task, track, side, reps, reference) if reference is not None else None
    return TrialScore(
        task=task, hand=side, frames=len(frames),
        tracked_fraction=round(track.tracked_fraction, 4), repetitions=reps, metrics=metrics,
        rom=active_rom({k: lowpass(v, track.fs, ROM_CUTOFF_HZ)
                        for k, v in joint_angles(track.world).items()}), smoothness=smooth,
        quality=quality_metrics(track),
        similarity=sim)


def _similarity(task: str, track: HandTrack, side: str, reps: int,
                reference: Reference) -> dict[str, Any]:
    """Similarity to ``reference``; an unusable reference gives {"score": None, "error": ...}."""
    try:
        ref_reps = _task_metrics(task, hand_track(reference.to_frames(), reference.hand))[1]
    except ScoringError as exc:
        return no_similarity(f"reference: {exc.message}")
    return similarity(track, reference, (reps, ref_reps) if TASKS[task].counted else None,
                      hand=side)


def _task_metrics(task: str, track: HandTrack) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    """(metrics, repetitions, smoothness) for one task."""
    w, size = track.world, track.size_m
    if task == "open_close":
        flex = finger_flexion_deg(w)
        m = count_open_close(track.t, flex)
        events = m.pop("events")
        m.update(_opening_sizes(track), events=events)
        return m, int(m.pop("repetitions")), _swing_smoothness(track, -flex)
    if task == "finger_tap":
        m = tap_metrics(track.t, aperture(w, size))
        return m, int(m["taps"]), None
    if task == "opposition":
        m = _opposition(track)
        return m, int(m["touches"]), None
    if task == "reach_grasp":
        m = reach_metrics(track)
        return m, int(m["movement_time_s"] is not None), _reach_smoothness(track)
    return {}, 0, None


def _opening_sizes(track: HandTrack) -> dict[str, Any]:
    """Widest thumb-index aperture and fingertip spread (99th percentiles, hand sizes)."""
    out: dict[str, Any] = {}
    for key, fn in (("max_aperture", aperture), ("max_spread", spread)):
        v = fn(track.world, track.size_m)
        v = v[~np.isnan(v)]
        out[key] = round(float(np.percentile(v, 99)), 3) if len(v) else None
    return out


def _opposition(track: HandTrack) -> dict[str, Any]:
    """Thumb-to-fingertip touches (``reps.touches`` on ``opening.opposition_distances``, so a
    thumb resting on curled fingers in a fist is no touch) and the fingers reached, in order."""
    found = touches(opposition_distances(track.world, track.size_m),
                    min_samples=max(1, round(MIN_TOUCH_S * track.fs)))
    seq = [FINGER_NAMES[k] for k, _, _ in found]
    return {"touches": len(found),
            "fingers_reached": [f for f in FINGER_NAMES if f in seq],
            "sequence": seq,
            "touch_times_s": [round(float(track.t[s]), 3) for _, s, _ in found]}


def _swing_smoothness(track: HandTrack, signal: np.ndarray) -> dict[str, Any] | None:
    """Mean SPARC and LDLJ of |d signal / dt| over each opening and closing swing >= 0.3 s."""
    from rehab.scoring.reps import (
        OPEN_CLOSE_FRACTION,
        OPEN_CLOSE_MIN_SWING,
        swing_threshold,
        swings,
    )

    rate = np.abs(np.gradient(np.nan_to_num(signal), 1.0 / track.fs))
    s_vals, l_vals = [], []
    for s in swings(signal, swing_threshold(signal, OPEN_CLOSE_MIN_SWING, OPEN_CLOSE_FRACTION)):
        seg = rate[s.start:s.end + 1]
        if (s.end - s.start) / track.fs >= MIN_SWING_S:
            s_vals.append(sparc(seg, track.fs))
            l_vals.append(ldlj(seg, track.fs))
    if not s_vals:
        return None
    return {"sparc": round(float(np.nanmean(s_vals)), 4), "ldlj": round(float(np.nanmean(l_vals)), 4),
            "signal": "finger flexion speed, mean over opening/closing swings"}


def _reach_smoothness(track: HandTrack) -> dict[str, Any] | None:
    """SPARC and LDLJ of the hand-centre speed between movement onset and offset."""
    v = hand_speed(track)
    bounds = movement_bounds(v)
    if bounds is None or bounds[1] - bounds[0] < 3:
        return None
    seg = v[bounds[0]:bounds[1] + 1]
    return {"sparc": round(sparc(seg, track.fs), 4), "ldlj": round(ldlj(seg, track.fs), 4),
            "signal": "hand speed over the reach"}
