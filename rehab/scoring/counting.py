"""Counting a trial frame by frame: TrackedFrame -> mirror-consistent signal -> event detector.

``TrialCounter`` is the only counter: ``LiveScorer`` feeds it each frame as it arrives and
``score_trial`` feeds it every frame of the trial in order, so the count on the screen at the
end of a trial is the stored count. What it follows and counts is the task's ``Counting``
(``rehab.tasks``): a signal of the image-plane landmarks and a swing or touch detector.
A task without one counts nothing but still gets the per-frame reliability and hand statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.scoring import signals as sig
from rehab.scoring.reps import SwingDetector, SwingParams, TouchDetector, TouchParams

if TYPE_CHECKING:
    from rehab.tasks import Counting


@dataclass
class FrameSignal:
    """Per-frame record of the scored hand (NaN / False where it was not seen)."""

    t: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    ok: list[bool] = field(default_factory=list)
    seen: list[bool] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    other_hand: list[bool] = field(default_factory=list)


class TrialCounter:
    """Feed every frame of a trial to ``update``; ``count`` is the task's repetition count."""

    def __init__(self, counting: Counting | None, hand: str) -> None:
        self.counting, self.hand = counting, hand
        self.swings: SwingDetector | None = None
        self.touches: TouchDetector | None = None
        detector = counting.detector if counting is not None else None
        if isinstance(detector, SwingParams):
            self.swings = SwingDetector(detector)
        elif isinstance(detector, TouchParams):
            self.touches = TouchDetector(detector)
        self.frames = FrameSignal()
        self._aspects: list[float] = []
        self.aspect = 16 / 9

    @property
    def expected_hz(self) -> float | None:
        params = self.swings or self.touches
        return params.params.expected_hz if params is not None else None

    @property
    def _counts(self) -> str | None:
        return self.counting.counts if self.counting is not None else None

    @property
    def count(self) -> int:
        if self.swings is not None:
            return self.swings.cycles if self._counts == "cycles" else self.swings.closings
        if self.touches is not None:
            return len(self.touches.touches)
        return 0

    def update(self, tf: TrackedFrame) -> bool:
        """Take one frame; returns whether the scored hand was in it."""
        if self.hand == "auto" and tf.hands:
            self.hand = tf.hands[0].hand
        obs = tf.hand(self.hand)
        f = self.frames
        f.t.append(tf.t)
        f.seen.append(obs is not None)
        f.other_hand.append(any(h.hand != self.hand for h in tf.hands))
        if obs is None:
            self._feed(tf.t, None, False)
            f.value.append(float("nan"))
            f.ok.append(False)
            f.area.append(float("nan"))
            f.size.append(float("nan"))
            return False
        image, world = np.asarray(obs.image, float), np.asarray(obs.world, float)
        if len(self._aspects) < sig.ASPECT_FRAMES:
            self._aspects.append(sig.frame_aspect(image, world))
            self.aspect = sig.snap_aspect(self._aspects)
        p = sig.plane(image, self.aspect)
        size = float(sig.hand_size(p))
        area = float(sig.palm_area(p, size, self.hand)) if size > 0 else 0.0
        ok = size > 0 and sig.reliable(area, size)
        value = self._feed(tf.t, p, ok, size)
        f.value.append(value)
        f.ok.append(ok)
        f.area.append(area)
        f.size.append(size)
        return True

    def _feed(self, t: float, p: np.ndarray | None, ok: bool, size: float = 1.0) -> float:
        """Give the detector this frame's signal; returns the (scalar) value recorded."""
        if self.counting is None:
            return float("nan")
        if self.swings is not None:
            v = float("nan")
            if p is not None and size > 0:
                v = float(self.counting.signal(p, size))
            self.swings.update(t, v, ok)
            return v
        if self.touches is not None:
            d = self.counting.signal(p, size) if p is not None and size > 0 else None
            self.touches.update(t, d, ok)
            return float(np.min(d)) if d is not None else float("nan")
        return float("nan")

    def fastest_rate_hz(self) -> float | None:
        """1 / the 10th percentile of the intervals between successive same-kind events (the
        fastest cycles: missed events lengthen intervals, they cannot shorten them)."""
        if self.swings is not None:
            times = [self.swings.t[e.at] for e in self.swings.events if not e.rising]
        elif self.touches is not None:
            times = [self.frames.t[i] for _, i in self.touches.touches]
        else:
            return None
        iv = np.diff(times)
        return float(1.0 / np.percentile(iv, 10)) if len(iv) and np.percentile(iv, 10) > 0 \
            else None

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-frame record as numpy arrays (t, value, ok, seen, area, size, other_hand)."""
        return {k: np.asarray(v) for k, v in vars(self.frames).items()}


def count_frames(frames: list[TrackedFrame], counting: Counting | None, hand: str
                 ) -> TrialCounter:
    """A TrialCounter fed every frame of a trial, in order."""
    counter = TrialCounter(counting, hand)
    for tf in frames:
        counter.update(tf)
    return counter
