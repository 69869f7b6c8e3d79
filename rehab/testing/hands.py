"""Fake hand tracking and scoring: a synthetic open hand, replayed frames, a simple rep counter."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rehab.devices.base import Frame, HandObservation, TrackedFrame
from rehab.errors import ScoringError


def synthetic_landmarks(cx: float = 0.5, cy: float = 0.6, scale: float = 0.25) -> np.ndarray:
    """(21, 3) normalised image landmarks of an open hand, fingers up (wrist at the bottom)."""
    pts = [(0.0, 0.0)]
    for finger, angle in enumerate(np.radians([-50, -20, 0, 20, 40])):
        for joint in range(1, 5):
            r = 0.25 * joint * (0.8 if finger == 0 else 1.0)
            pts.append((np.sin(angle) * r, -np.cos(angle) * r))
    xy = np.array(pts) * scale + np.array([cx, cy])
    return np.column_stack([xy, np.zeros(21)]).astype(np.float32)


class FakeTracker:
    """Sees a synthetic open ``hands`` whenever ``visible(frame_index)`` says so."""

    def __init__(self, hands: Sequence[str] = ("right",),
                 visible: Callable[[int], bool] | None = None) -> None:
        self.hands = tuple(hands)
        self.visible = visible or (lambda _i: True)
        self.calls = 0
        self.closed = False
        self._points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for side in self.hands:  # computed once: a long simulated session tracks many frames
            image = synthetic_landmarks(cx=0.35 if side == "right" else 0.65)
            self._points[side] = (image, (image - image[0]) * np.float32(0.1))

    def track(self, frame: Frame) -> TrackedFrame:
        self.calls += 1
        if not self.visible(frame.index):
            return TrackedFrame(frame.captured_at, frame.index, ())
        obs = tuple(HandObservation(frame.captured_at, side, 0.95, image, world, frame.index)
                    for side, (image, world) in self._points.items())
        return TrackedFrame(frame.captured_at, frame.index, obs)

    def close(self) -> None:
        self.closed = True


class ReplayTracker:
    """Returns pre-recorded TrackedFrames by frame index, re-stamped with the frame's time."""

    def __init__(self, recorded: Sequence[TrackedFrame]) -> None:
        self.by_index = {tf.frame_index: tf for tf in recorded}
        self.calls = 0
        self.closed = False

    def track(self, frame: Frame) -> TrackedFrame:
        self.calls += 1
        tf = self.by_index.get(frame.index)
        if tf is None:
            return TrackedFrame(frame.captured_at, frame.index, ())
        hands = tuple(dataclasses.replace(h, t=frame.captured_at, frame_index=frame.index)
                      for h in tf.hands)
        return TrackedFrame(frame.captured_at, frame.index, hands)

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeLiveState:
    reps: int
    visible: bool
    landmarks: np.ndarray | None


class FakeLiveScorer:
    """One repetition per ``frames_per_rep`` frames in which the hand is visible."""

    def __init__(self, hand: str, frames_per_rep: int) -> None:
        self.hand = hand
        self.frames_per_rep = frames_per_rep
        self.seen = 0

    def update(self, tf: TrackedFrame) -> FakeLiveState:
        obs = tf.hand(self.hand)
        if obs is not None:
            self.seen += 1
        lm = None if obs is None else np.asarray(obs.image)[:, :2]
        return FakeLiveState(self.seen // self.frames_per_rep, obs is not None, lm)


@dataclass
class FakeScore:
    task: str
    hand: str
    frames: int
    tracked_fraction: float
    repetitions: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FakeScoring:
    """Scoring seam for tests: same repetition rule live and after the trial."""

    def __init__(self, frames_per_rep: int = 15) -> None:
        self.frames_per_rep = frames_per_rep
        self.references_loaded: list[Path] = []

    def live(self, task: str, hand: str) -> FakeLiveScorer:
        return FakeLiveScorer(hand, self.frames_per_rep)

    def score(self, frames: Sequence[TrackedFrame], task: str, hand: str,
              reference: object | None) -> FakeScore:
        seen = sum(1 for f in frames if f.hand(hand) is not None)
        if seen == 0:
            raise ScoringError(f"the {hand} hand was not seen in any of {len(frames)} frames")
        return FakeScore(task, hand, len(frames), seen / len(frames), seen // self.frames_per_rep)

    def load_reference(self, path: Path) -> object | None:
        self.references_loaded.append(Path(path))
        return {"reference": str(path)}
