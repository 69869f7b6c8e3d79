"""Synthetic trials that test the counters' robustness, each with an exact ground truth.

- ``open_start_open_close``: open -> fist -> open cycles (the hand starts open).
- ``with_blip``: a pronation blip mid-trial: for a short time the hand turns edge-on and the
  tracker reports a flexed hand, as MediaPipe does for one or two frames when a hand turns.
- ``flexion_glitch``: the same false flexion with the palm still facing the camera (the frames
  look reliable: only the event hold can reject it).
- ``with_second_hand``: another hand, held still beside the scored one, in every frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from rehab.devices.base import TrackedFrame
from rehab.synth.hand import HandPose, fist, open_hand, relaxed
from rehab.synth.motions import FrameOptions, HandState, motion, to_frames

EDGE_ON_DEG = (0.0, 85.0, 0.0)  # about the camera's vertical axis: the palm turns sideways


def open_start_open_close(cycles: int = 3, freq_hz: float = 0.5, fps: float = 30.0,
                          rest_s: float = 1.0) -> list[HandState]:
    """``cycles`` complete open -> closed -> open cycles, the hand open before and after."""
    a, b = open_hand(), fist()
    move_s = cycles / freq_hz

    def pose(t: float) -> HandPose:
        u = t - rest_s
        s = 0.0 if u <= 0 or u >= move_s else (1 - math.cos(2 * math.pi * freq_hz * u)) / 2
        return a.blend(b, s)

    return motion(pose, 2 * rest_s + move_s, fps)


def with_blip(states: Sequence[HandState], at_s: float, duration_s: float,
              orientation_deg: tuple[float, float, float] = EDGE_ON_DEG,
              pose: HandPose | None = None) -> list[HandState]:
    """``states`` with a blip over [at_s, at_s + duration_s): the hand reported turned by
    ``orientation_deg`` and in ``pose`` (default a fist: the false flexion of a turning hand)."""
    glitch = pose or fist()
    return [replace(st, pose=glitch, orientation_deg=orientation_deg)
            if at_s <= st.t < at_s + duration_s - 1e-9 else st for st in states]


def flexion_glitch(states: Sequence[HandState], at_s: float,
                   duration_s: float) -> list[HandState]:
    """A false fist over [at_s, at_s + duration_s) with the palm still facing the camera."""
    return with_blip(states, at_s, duration_s, orientation_deg=(0.0, 0.0, 0.0))


def with_second_hand(frames: Sequence[TrackedFrame], side: str = "left",
                     wrist_m: tuple[float, float, float] = (0.18, 0.08, 0.5),
                     options: FrameOptions | None = None) -> list[TrackedFrame]:
    """``frames`` with a still, relaxed ``side`` hand beside the scored one in every frame."""
    other = to_frames([HandState(f.t, relaxed(), wrist_m) for f in frames], side, options)
    return [replace(f, hands=(*f.hands, *o.hands)) for f, o in zip(frames, other, strict=True)]
