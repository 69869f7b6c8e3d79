"""Scoring one trial: frames -> hand track -> task metrics, ROM, smoothness, quality, similarity.

What is counted and measured for a task is its registry record's ``counting`` and ``measure``
(``rehab.tasks``); this module runs them and adds what every task gets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.errors import ScoringError
from rehab.scoring.angles import active_rom, joint_angles
from rehab.scoring.counting import count_frames
from rehab.scoring.filters import lowpass
from rehab.scoring.quality import quality_metrics
from rehab.scoring.reference import Reference
from rehab.scoring.similarity import no_similarity, similarity
from rehab.scoring.track import HandTrack, hand_track, pick_hand
from rehab.scoring.validity import flag_rom, validity
from rehab.tasks import TASK_NAMES, TASKS, Task

# ROM is how far joints go, not how fast: 4 Hz keeps voluntary movement and removes most of the
# tracker jitter that would otherwise widen every range by about two noise std each side.
ROM_CUTOFF_HZ = 4.0


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
    record = TASKS[task]
    side = pick_hand(frames, hand)
    track = hand_track(frames, side)
    counter = count_frames(list(frames), record.counting, side)
    metrics, reps, smooth = record.measure(track, counter)
    sim = _similarity(record, track, side, reps, reference) if reference is not None else None
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


def _similarity(task: Task, track: HandTrack, side: str, reps: int,
                reference: Reference) -> dict[str, Any]:
    """Similarity to ``reference``; an unusable reference gives {"score": None, "error": ...}."""
    try:
        ref_frames = reference.to_frames()
        hand_track(ref_frames, reference.hand)
        ref_reps = count_frames(ref_frames, task.counting, reference.hand).count
    except ScoringError as exc:
        return no_similarity(f"reference: {exc.message}")
    return similarity(track, reference, (reps, ref_reps) if task.counted else None, hand=side)
