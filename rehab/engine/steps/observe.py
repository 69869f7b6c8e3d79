"""The observe step: play a clip on its own timeline, dropping frames rather than drifting.

The frame due at active time ``t`` after a repetition starts is ``floor(t * fps * speed)``. When
drawing falls behind, the frames in between are grabbed (or decoded) and discarded, never shown
late, so the clip ends on time whatever the display costs. Each repetition lasts exactly
``frame_count / (fps * speed)`` seconds of active (unpaused) time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rehab.clips.library import needs_mirror
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
    """Sequential reader that knows which frame it is at, skips cheaply and can decode the
    next frame ahead of time (while waiting for it to be due), off the draw's critical path."""

    def __init__(self, clip: Any) -> None:
        self.clip = clip
        self.next_index = 0
        self.ahead: tuple[int, np.ndarray | None] | None = None
        clip.seek(0)

    def prefetch(self, index: int) -> None:
        if self.ahead is None and index == self.next_index:
            self.ahead = (index, self._decode(index))

    def read(self, index: int) -> np.ndarray | None:
        if self.ahead is not None:
            ahead, self.ahead = self.ahead, None
            if ahead[0] == index:
                return ahead[1]
        return self._decode(index)

    def _decode(self, index: int) -> np.ndarray | None:
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
    return needs_mirror(clip_hand or "", affected_side, step.match_affected_side)


class _Player:
    """Plays one observe step (all its repetitions) and counts shown and dropped frames."""

    def __init__(self, ctx: StepContext, step: ObserveStep, clip: Any, mirror: bool,
                 label: str = "") -> None:
        self.ctx, self.step, self.clip, self.mirror, self.label = ctx, step, clip, mirror, label
        self.rate = float(clip.fps) * step.speed
        if self.rate <= 0:
            raise ClipError(f"clip {step.clip} reports {clip.fps} fps", "re-encode the clip")
        self.total = int(clip.frame_count)
        self.rep_s = self.total / self.rate
        self.caption = caption_for(step)
        self.shown_count = 0
        self.dropped = 0

    def play(self, rep: int) -> float:
        """One repetition; returns its drift: actual minus planned duration, seconds."""
        ctx = self.ctx
        start = ctx.active_now()
        cursor = _Cursor(self.clip)
        shown = -1
        left_after = self.rep_s * (self.step.repeat - rep - 1)
        while True:
            ctx.poll()
            elapsed = ctx.active_now() - start
            due = math.floor(elapsed * self.rate + EPS)
            if due >= self.total:
                self.dropped += self.total - 1 - shown  # frames we were too late for at the end
                break
            if due <= shown:  # on time: decode the next frame, then sleep until it is due
                if shown + 1 < self.total:
                    cursor.prefetch(shown + 1)
                ctx.sleep_active_until(start + (shown + 1) / self.rate)
                continue
            image = cursor.read(due)
            if image is None:  # the clip held fewer frames than it claimed
                ctx.event("clip_ended_early", clip=self.step.clip, frame=due)
                self.dropped += due - shown - 1
                ctx.sleep_active_until(start + self.rep_s)
                break
            self.dropped += due - shown - 1
            self._show(image, due, rep, left_after + max(0.0, self.rep_s - elapsed))
            shown = due
        return (ctx.active_now() - start) - self.rep_s

    def _show(self, image: np.ndarray, index: int, rep: int, seconds_left: float) -> None:
        scene = VideoScene(image=image, mirror=self.mirror, caption=self.caption,
                           seconds_left=seconds_left, progress=self.ctx.progress, label=self.label)
        flip_t = self.ctx.show(scene)
        self.shown_count += 1
        self.ctx.event("frame_shown", clip=self.step.clip, frame=index, rep=rep, flip_t=flip_t)


def run_observe(ctx: StepContext, step: ObserveStep, clip: Any, clip_hand: str | None,
                label: str = "") -> None:
    """Play ``step``; ``label`` (e.g. "rendered demonstration") is shown over every frame."""
    mirror = should_mirror(step, clip_hand, ctx.patient.affected_side)
    player = _Player(ctx, step, clip, mirror, label)
    # What the observation dose is computed from (rehab.report.dose), with the frame_shown
    # events: each shown frame stands for 1 / (fps * speed) seconds of the demonstration.
    ctx.event("observe_started", clip=step.clip, fps=float(clip.fps), speed=step.speed,
              frames=player.total, mirror=mirror, imagine=bool(step.imagine),
              rendered=bool(label))
    drift_s = 0.0
    for rep in range(step.repeat):
        drift_s = player.play(rep)
    ctx.event("playback", clip=step.clip, frames_shown=player.shown_count,
              frames_dropped=player.dropped, drift_s=drift_s, mirror=mirror,
              fps=float(clip.fps), speed=step.speed, repeat=step.repeat)
