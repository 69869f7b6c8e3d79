"""The mirror step: the processed camera image (flip or split), unaffected hand tracked and logged.

Latency: each frame is processed (``rehab.engine.mirror``, a millisecond or two) and shown
*before* it is tracked. In real time the tracker runs on a worker thread (latest frame wins), so
tracking never sits between capture and screen nor slows the display down; in fast mode every
frame is tracked in order.
"""

from __future__ import annotations

from typing import Any

from rehab.devices.base import Frame, TrackedFrame, other_side
from rehab.engine.context import StepContext
from rehab.engine.mirror import mirror_image
from rehab.engine.scenes import MirrorScene
from rehab.engine.scoring_seam import safe_score
from rehab.engine.steps.camera_feed import camera_feed
from rehab.protocol.models import MirrorStep

FLUSH_S = 2.0  # real time: how long to wait for the last frames to be tracked


def mirror_caption(step: MirrorStep) -> str:
    """One line under the image: the step's text, else its movement (the display truncates)."""
    return step.text or step.movement


class _Logger:
    """Tracks frames after they are shown: in order (fast) or off-thread (real time)."""

    def __init__(self, tracker: Any, background: bool) -> None:
        self.tracker = tracker
        self.frames: list[TrackedFrame] = []
        self.worker: Any = None
        if tracker is not None and background:
            from rehab.devices.async_tracking import AsyncTracker  # threads only, no MediaPipe

            self.worker = AsyncTracker(tracker, latest_only=True, close_tracker=False)

    def add(self, frame: Frame) -> None:
        if self.worker is not None:
            self.worker.submit(frame)
            self.frames.extend(self.worker.results())
        elif self.tracker is not None:
            self.frames.append(self.tracker.track(frame))

    def finish(self) -> list[TrackedFrame]:
        if self.worker is not None:
            try:
                self.worker.flush(FLUSH_S)
                self.frames.extend(self.worker.results())
            finally:
                self.worker.close()
        return self.frames


def run_mirror(ctx: StepContext, step: MirrorStep) -> None:
    unaffected = other_side(ctx.patient.affected_side)
    caption = mirror_caption(step)
    logger = _Logger(ctx.devices.tracker, background=not ctx.options.fast)
    ctx.cue("start")
    try:
        for frame, elapsed in camera_feed(ctx, step.duration_s):
            image = mirror_image(frame.image, step.mode, unaffected)
            scene = MirrorScene(image=image, caption=caption,
                                seconds_left=max(0.0, step.duration_s - elapsed),
                                progress=ctx.progress)
            flip_t = ctx.show(scene)
            ctx.event("frame_shown", frame=frame.index, captured_at=frame.captured_at,
                      flip_t=flip_t, mode=step.mode)
            logger.add(frame)
    finally:
        frames = logger.finish()
    ctx.cue("stop")
    score, _headline, _error = safe_score(ctx.scoring, frames, "free", unaffected, None)
    ctx.record_trial("free", unaffected, score, frames)
