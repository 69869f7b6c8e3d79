"""The mirror step: the processed camera image (flip or split), unaffected hand tracked and logged.

Latency: each frame is processed (``rehab.engine.mirror``, about a millisecond) and shown
*before* it is tracked, so tracking never sits between capture and screen.
"""

from __future__ import annotations

from rehab.devices.base import TrackedFrame, other_side
from rehab.engine.context import StepContext
from rehab.engine.mirror import mirror_image
from rehab.engine.scenes import MirrorScene
from rehab.engine.scoring_seam import safe_score
from rehab.engine.steps.camera_feed import camera_feed
from rehab.protocol.models import MirrorStep


def mirror_caption(step: MirrorStep) -> str:
    """One line under the image: the step's text, else its movement (the display truncates)."""
    return step.text or step.movement


def run_mirror(ctx: StepContext, step: MirrorStep) -> None:
    affected = ctx.patient.affected_side
    unaffected = other_side(affected)
    caption = mirror_caption(step)
    tracker = ctx.devices.tracker
    frames: list[TrackedFrame] = []
    ctx.cue("start")
    for frame, elapsed in camera_feed(ctx, step.duration_s):
        image = mirror_image(frame.image, step.mode, unaffected)
        scene = MirrorScene(image=image, caption=caption,
                            seconds_left=max(0.0, step.duration_s - elapsed), progress=ctx.progress)
        flip_t = ctx.show(scene)
        ctx.event("frame_shown", frame=frame.index, captured_at=frame.captured_at, flip_t=flip_t,
                  mode=step.mode)
        if tracker is not None:
            frames.append(tracker.track(frame))
    ctx.cue("stop")
    score, _headline, _error = safe_score(ctx.scoring, frames, "free", unaffected, None)
    ctx.record_trial("free", unaffected, score, frames)
