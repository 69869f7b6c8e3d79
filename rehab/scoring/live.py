"""Live feedback during a trial: the running repetition count and One-Euro-smoothed landmarks.

The count is ``counting.TrialCounter``, the very counter ``score_trial`` runs over the whole
trial, fed one frame at a time: after the last frame the count shown equals the stored count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.scoring.counting import TrialCounter
from rehab.scoring.filters import OneEuroFilter
from rehab.tasks import task as task_record


@dataclass(frozen=True)
class LiveState:
    """What the display needs after each frame."""

    reps: int
    visible: bool
    landmarks: np.ndarray | None  # (21, 2) smoothed normalised image x, y; None when not visible


class LiveScorer:
    """Feed every TrackedFrame of a trial to ``update``; it returns the state to display."""

    def __init__(self, task: str, hand: str) -> None:
        self.task = task
        self._counter = TrialCounter(task_record(task).counting, hand)
        self._draw = OneEuroFilter(min_cutoff_hz=1.0, beta=5.0)

    @property
    def hand(self) -> str:
        return self._counter.hand

    @property
    def reps(self) -> int:
        return self._counter.count

    def update(self, tf: TrackedFrame) -> LiveState:
        """Take one frame; hand lost -> drawing filter reset, count kept."""
        if not self._counter.update(tf):
            self._draw.reset()
            return LiveState(self.reps, False, None)
        obs = tf.hand(self._counter.hand)
        assert obs is not None
        xy = self._draw(tf.t, np.asarray(obs.image, float)[:, :2])
        return LiveState(self.reps, True, xy)
