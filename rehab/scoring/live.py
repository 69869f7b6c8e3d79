"""Live feedback during a trial: running repetition count and One-Euro-smoothed landmarks to draw.

The final score always comes from ``score_trial`` on the whole trial (zero-phase filtering needs
the future); the live count uses the same hysteresis rules causally, so the two agree on clean
movements but the live one may lag a swing behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.scoring.angles import finger_flexion_deg
from rehab.scoring.filters import OneEuroFilter
from rehab.scoring.opening import aperture, opposition_distances
from rehab.scoring.reps import (
    MIN_TOUCH_S,
    OPEN_CLOSE_FRACTION,
    OPEN_CLOSE_MIN_SWING,
    SWING_FRACTION,
    TAP_MIN_SWING,
    TOUCH_ENTER,
    TOUCH_EXIT,
)


@dataclass(frozen=True)
class LiveState:
    """What the display needs after each frame."""

    reps: int
    visible: bool
    landmarks: np.ndarray | None  # (21, 2) smoothed normalised image x, y; None when not visible


class SwingCounter:
    """Causal version of ``reps.swings``: h = max(min_swing, fraction * range seen so far)."""

    def __init__(self, min_swing: float, fraction: float = SWING_FRACTION) -> None:
        self.min_swing, self.fraction = min_swing, fraction
        self.lo = self.hi = float("nan")
        self.seen_lo, self.seen_hi = float("inf"), float("-inf")
        self.mode = 0
        self.rises = self.falls = self.cycles = 0

    def update(self, v: float) -> None:
        if np.isnan(v):
            return
        self.seen_lo, self.seen_hi = min(self.seen_lo, v), max(self.seen_hi, v)
        h = max(self.min_swing, self.fraction * (self.seen_hi - self.seen_lo))
        if np.isnan(self.lo):
            self.lo = self.hi = v
        if self.mode >= 0:
            self.hi = max(self.hi, v)
        if self.mode <= 0:
            self.lo = min(self.lo, v)
        if self.mode != 1 and v >= self.lo + h:
            self.mode, self.hi, self.rises = 1, v, self.rises + 1
        elif self.mode != -1 and v <= self.hi - h:
            self.cycles += self.mode == 1
            self.mode, self.lo, self.falls = -1, v, self.falls + 1


class LiveScorer:
    """Feed every TrackedFrame of a trial to ``update``; it returns the state to display."""

    def __init__(self, task: str, hand: str) -> None:
        self.task, self.hand = task, hand
        self._draw = OneEuroFilter(min_cutoff_hz=1.0, beta=5.0)
        self._signal = OneEuroFilter(min_cutoff_hz=3.0, beta=0.5)
        self._counter = (SwingCounter(TAP_MIN_SWING) if task == "finger_tap"
                         else SwingCounter(OPEN_CLOSE_MIN_SWING, OPEN_CLOSE_FRACTION))
        self._sizes: list[float] = []
        self._touching = -1
        self._touch_start = 0.0
        self._counted = False
        self._touches = 0

    @property
    def reps(self) -> int:
        if self.task == "open_close":
            return self._counter.cycles
        if self.task == "finger_tap":
            return self._counter.falls
        if self.task == "opposition":
            return self._touches
        return 0

    def update(self, tf: TrackedFrame) -> LiveState:
        """Take one frame; hand lost -> filters reset, count kept."""
        if self.hand == "auto" and tf.hands:
            self.hand = tf.hands[0].hand
        obs = tf.hand(self.hand)
        if obs is None:
            self._draw.reset()
            self._signal.reset()
            return LiveState(self.reps, False, None)
        xy = self._draw(tf.t, np.asarray(obs.image, float)[:, :2])
        world = np.asarray(obs.world, float)
        self._sizes = (self._sizes + [float(np.linalg.norm(world[9] - world[0]))])[-60:]
        size = float(np.median(self._sizes))
        if self.task == "opposition":
            self._update_touch(tf.t, opposition_distances(world, size))
        elif self.task in ("open_close", "finger_tap"):
            raw = (-float(finger_flexion_deg(world)) if self.task == "open_close"
                   else float(aperture(world, size)))
            self._counter.update(float(self._signal(tf.t, np.array([raw]))[0]))
        return LiveState(self.reps, True, xy)

    def _update_touch(self, t: float, dist: np.ndarray) -> None:
        """Hysteresis as ``reps.touches``; a touch counts once it has lasted MIN_TOUCH_S."""
        if self._touching >= 0 and dist[self._touching] > TOUCH_EXIT:
            self._touching = -1
        if self._touching < 0:
            k = int(np.argmin(dist))
            if dist[k] < TOUCH_ENTER:
                self._touching, self._touch_start, self._counted = k, t, False
        if self._touching >= 0 and not self._counted and t - self._touch_start >= MIN_TOUCH_S:
            self._touches, self._counted = self._touches + 1, True
