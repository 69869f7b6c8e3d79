"""Hand tracking for camera steps: in order on the step's thread (fast mode), or on a worker
thread in real time so the camera view stays fluid whatever tracking costs.

In real time the worker takes the newest frame whenever it is free (older waiting frames are
dropped), so scoring sees a subset of frames, each with its own timestamp, always in order.
"""

from __future__ import annotations

from typing import Any

from rehab.devices.base import Frame, TrackedFrame

FLUSH_S = 2.0  # how long to wait at the end of a step for the last frames to be tracked


class TrackingLane:
    """``add(frame)`` returns the tracking results that became available, oldest first."""

    def __init__(self, tracker: Any, background: bool) -> None:
        self.tracker = tracker
        self.worker: Any = None
        if tracker is not None and background:
            from rehab.devices.async_tracking import AsyncTracker  # threads only, no MediaPipe

            self.worker = AsyncTracker(tracker, latest_only=True, close_tracker=False)

    def add(self, frame: Frame) -> list[TrackedFrame]:
        if self.worker is not None:
            self.worker.submit(frame)
            return list(self.worker.results())
        if self.tracker is not None:
            return [self.tracker.track(frame)]
        return [TrackedFrame(frame.captured_at, frame.index)]

    def finish(self) -> list[TrackedFrame]:
        """Results still on their way (background mode); stops the worker."""
        if self.worker is None:
            return []
        try:
            self.worker.flush(FLUSH_S)
            return list(self.worker.results())
        finally:
            self.worker.close()
            self.worker = None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
