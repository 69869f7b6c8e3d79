"""The camera check before the first movement trial: is the hand in frame, large enough, lit?

The patient sees the live camera with one line saying what to change; the check ends once the
hand has looked right for ``GOOD_S`` (or on SPACE: go on anyway; or after ``MAX_S``). Under
autopilot it looks for at most ``AUTOPILOT_S`` of camera. A ``camera_check`` event keeps the
outcome and every problem seen, so the clinician can tell a poor set-up from a poor trial.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from rehab.devices.base import CommandKind, TrackedFrame, other_side
from rehab.engine.context import StepContext
from rehab.engine.scenes import CameraScene
from rehab.engine.steps.camera_feed import camera_feed
from rehab.engine.steps.tracking import TrackingLane

GOOD_S = 1.0
MAX_S = 30.0
AUTOPILOT_S = 2.0
MIN_SPAN = 0.2  # the hand's landmarks should span a fifth of the picture (width or height)
EDGE = 0.02  # landmarks closer than this to the border: part of the hand is cut off
MIN_BRIGHTNESS = 50.0  # mean grey level (0-255) below which the picture is too dark

NO_HAND = "We cannot see a hand: hold your {hand} hand up in front of the camera"
OTHER_HAND = "I can see your {seen} hand - please hold up your {hand} hand"
TOO_SMALL = "Your hand looks small: come closer to the camera"
CUT_OFF = "Part of your hand is outside the picture: move it to the middle"
TOO_DARK = "The picture is dark: turn on a light or face a window"
GOOD = "Good - the camera can see your hand well"


def assess(image: np.ndarray, tf: TrackedFrame, hand: str) -> str | None:
    """The first thing to change for this frame, or None when the set-up looks right."""
    if float(np.asarray(image, dtype=np.float32).mean()) < MIN_BRIGHTNESS:
        return TOO_DARK
    obs = tf.hand(hand)
    if obs is None:
        seen = tf.hand(other_side(hand))
        if seen is not None:
            return OTHER_HAND.format(seen=seen.hand, hand=hand)
        return NO_HAND.format(hand=hand)
    xy = np.asarray(obs.image)[:, :2]
    if not np.isfinite(xy).all():
        return NO_HAND.format(hand=hand)
    if (xy < EDGE).any() or (xy > 1 - EDGE).any():
        return CUT_OFF
    if float(np.ptp(xy, axis=0).max()) < MIN_SPAN:
        return TOO_SMALL
    return None


def run_camera_check(ctx: StepContext, hand: str) -> None:
    """Show the camera until the set-up looks right (see module docstring)."""
    lane = TrackingLane(ctx.devices.tracker, background=ctx.options.track_in_background)
    seen: Counter[str] = Counter()
    good_since: float | None = None
    ended, elapsed = "time up", 0.0
    limit = AUTOPILOT_S if ctx.autopilot else MAX_S
    ctx.event("camera_check_started", hand=hand)
    space: list[bool] = []
    try:
        for frame, elapsed in camera_feed(
                ctx, limit, on_command=lambda c: space.append(c.kind == CommandKind.CONTINUE),
                report_shortfall=False):
            problem = None
            landmarks = None
            for tf in lane.add(frame):
                problem = assess(frame.image, tf, hand)
                obs = tf.hand(hand)
                landmarks = None if obs is None else np.asarray(obs.image)[:, :2]
                seen[problem or "good"] += 1
            good_since = (good_since if good_since is not None else elapsed) if problem is None \
                else None
            ctx.show(CameraScene(image=frame.image, landmarks=landmarks,
                                 caption="Camera check: SPACE to go on", hint=problem or GOOD,
                                 progress=ctx.progress))
            if good_since is not None and elapsed - good_since >= GOOD_S:
                ended = "good"
                break
            if any(space):
                ended = "space"
                break
    finally:
        lane.close()
    ctx.event("camera_check", ended=ended, ok=ended == "good", seconds=round(elapsed, 2),
              frames=dict(seen))
    if ended != "good" and seen:
        worst = max((k for k in seen if k != "good"), key=seen.__getitem__, default=None)
        if worst is not None:
            ctx.not_as_planned(f"camera check not passed: {worst}", cause="camera_check")
