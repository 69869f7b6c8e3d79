"""The mirror step: the camera image flipped or split, unaffected hand tracked and logged.

Latency: each frame is shown (the display composes the mirrored view, ~1 ms) *before* it is
tracked. In real time the tracker runs on a worker thread (latest frame wins), so
tracking never sits between capture and screen nor slows the display down; in fast mode every
frame is tracked in order.
"""

from __future__ import annotations

import dataclasses

from rehab.devices.base import TrackedFrame, other_side
from rehab.engine.context import StepContext
from rehab.engine.scenes import MirrorScene
from rehab.engine.scoring_seam import safe_score
from rehab.engine.steps.camera_feed import camera_feed
from rehab.engine.steps.tracking import TrackingLane
from rehab.protocol.models import MirrorStep
from rehab.tasks import ANY_MOVEMENT


def mirror_caption(step: MirrorStep) -> str:
    """The line under the image: the movement to do, all the time the mirror runs."""
    return step.movement


def mirror_label(moving: str) -> str:
    """The top bar's label on mirror screens: which hand moves."""
    return f"Mirror - move your {moving} hand"


def run_mirror(ctx: StepContext, step: MirrorStep) -> None:
    unaffected = other_side(ctx.patient.affected_side)
    # every mirror screen names the hand that moves, as execute screens do ("Your turn: left")
    if ctx.progress is not None:
        ctx.progress = dataclasses.replace(ctx.progress, label=mirror_label(unaffected))
    if step.text:  # the set-up ("affected hand in your lap"), shown before the mirror starts
        ctx.message(f"Mirror: move your {unaffected} hand", f"{step.text}\n\n{step.movement}",
                    "Press SPACE to start")
        ctx.screenshot_next("camera")
    caption = mirror_caption(step)
    lane = TrackingLane(ctx.devices.tracker, background=ctx.options.track_in_background)
    frames: list[TrackedFrame] = []
    ctx.cue("start")
    try:
        for frame, elapsed in camera_feed(ctx, step.duration_s):
            # The display composes the mirrored view (see MirrorScene): processing stays
            # off the engine's path from capture to screen.
            scene = MirrorScene(image=frame.image, caption=caption, mode=step.mode, keep=unaffected,
                                seconds_left=max(0.0, step.duration_s - elapsed),
                                progress=ctx.progress)
            flip_t = ctx.show(scene)
            ctx.event("frame_shown", frame=frame.index, captured_at=frame.captured_at,
                      flip_t=flip_t, mode=step.mode)
            frames += lane.add(frame)
        frames += lane.finish()
    finally:
        lane.close()
    ctx.cue("stop")
    score, _error = safe_score(ctx.scoring, frames, ANY_MOVEMENT, unaffected, None)
    ctx.record_trial(ANY_MOVEMENT, unaffected, score, frames)
