"""The observe step: play a clip on its own timeline, dropping frames rather than drifting.

The frame due at active time ``t`` after a repetition starts is ``floor(t * fps * speed)``. When
drawing falls behind, the frames in between are decoded-and-discarded (or grabbed), never shown
late, so the clip ends on time whatever the display costs. Each repetition lasts exactly
``frame_count / (fps * speed)`` seconds of active (unpaused) time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rehab.engine.context import StepContext
from rehab.engine.scenes import VideoScene
from rehab.errors import ClipError
from rehab.protocol.models import ObserveStep

EPS = 1e-6  # float slack, so a sleep to exactly frame k's time lands on frame k


def _image(item: Any) -> np.ndarray | None:
    """Clips may return an ndarray or a Frame-like object with ``.image``."""
    if item is None:
        return None
    return getattr(item, "image", item)


class _Cursor:
    """Sequential reader that knows which frame it is at and skips cheaply."""

    def __init__(self, clip: Any) -> None:
        self.clip = clip
        self.next_index = 0
        clip.seek(0)

    def read(self, index: int) -> np.ndarray | None:
        if index < self.next_index:
            self.clip.seek(index)
            self.next_index = index
        grab = getattr(self.clip, "grab", None)
        while self.next_index < index:  # frames we are too late for
            if grab is not None:
                grab()
            else:
                self.clip.read()
            self.next_index += 1
        self.next_index += 1
        return _image(self.clip.read())


def caption_for(step: ObserveStep) -> str:
    if step.text:
        return step.text
    return "Watch and imagine doing it yourself" if step.imagine else "Watch"


def should_mirror(step: ObserveStep, clip_hand: str | None, affected_side: str) -> bool:
    """Mirror when asked to match the affected side and the clip shows the other hand."""
    return bool(step.match_affected_side and clip_hand and clip_hand != affected_side)


def run_observe(ctx: StepContext, step: ObserveStep, clip: Any, clip_hand: str | None) -> None:
    rate = float(clip.fps) * step.speed
    if rate <= 0:
        raise ClipError(f"clip {step.clip} reports {clip.fps} fps", "re-encode the clip")
    total = int(clip.frame_count)
    mirror = should_mirror(step, clip_hand, ctx.patient.affected_side)
    caption = caption_for(step)
    rep_s = total / rate
    stats = {"shown": 0, "dropped": 0}
    drift_s = 0.0
    for rep in range(step.repeat):
        start = ctx.active_now()
        _play_once(ctx, clip, step, rep, start, rate, total, mirror, caption, rep_s, stats)
        drift_s = (ctx.active_now() - start) - rep_s
    ctx.event("playback", clip=step.clip, frames_shown=stats["shown"],
              frames_dropped=stats["dropped"], drift_s=drift_s, mirror=mirror,
              fps=float(clip.fps), speed=step.speed, repeat=step.repeat)


def _play_once(ctx: StepContext, clip: Any, step: ObserveStep, rep: int, start: float,
               rate: float, total: int, mirror: bool, caption: str, rep_s: float,
               stats: dict[str, int]) -> None:
    cursor = _Cursor(clip)
    shown = -1
    left_after = rep_s * (step.repeat - rep - 1)
    while True:
        ctx.poll()
        elapsed = ctx.active_now() - start
        due = math.floor(elapsed * rate + EPS)
        if due >= total:
            stats["dropped"] += total - 1 - shown  # frames we were too late for at the end
            return
        if due <= shown:  # the current frame is still on time: sleep until the next is due
            ctx.sleep_active_until(start + (shown + 1) / rate)
            continue
        image = cursor.read(due)
        if image is None:  # the clip held fewer frames than it claimed
            ctx.event("clip_ended_early", clip=step.clip, frame=due)
            stats["dropped"] += due - shown - 1
            ctx.sleep_active_until(start + rep_s)
            return
        stats["dropped"] += due - shown - 1
        seconds_left = left_after + max(0.0, rep_s - elapsed)
        scene = VideoScene(image=image, mirror=mirror, caption=caption,
                           seconds_left=seconds_left, progress=ctx.progress)
        flip_t = ctx.show(scene)
        stats["shown"] += 1
        ctx.event("frame_shown", clip=step.clip, frame=due, rep=rep, flip_t=flip_t)
        shown = due
