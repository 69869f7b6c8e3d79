"""Synthetic trials with exact ground truth: pose trajectories over time -> tracker frames."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rehab.devices.base import HandObservation, TrackedFrame
from rehab.synth.hand import (
    FINGERS,
    HandPose,
    PinholeCamera,
    Vec3,
    fist,
    landmarks_batch,
    open_hand,
    pinch,
    point,
    relaxed,
)


@dataclass(frozen=True)
class HandState:
    """Ground truth of one synthetic frame."""

    t: float
    pose: HandPose
    wrist_m: Vec3 = (0.0, 0.08, 0.45)
    orientation_deg: Vec3 = (0.0, 0.0, 0.0)
    visible: bool = True


@dataclass(frozen=True)
class FrameOptions:
    """How ground truth becomes tracker output.

    Attributes:
        noise_px: std of Gaussian noise added to image landmarks, in pixels (world landmarks get
            the same noise converted to metres at the hand's depth).
        drop_fraction: fraction of frames (chosen at random) reported without the hand.
        drop_ranges_s: time ranges (start, end) in seconds with no hand.
        confidence: handedness confidence reported.
        seed: random seed (noise and drops are reproducible).
        camera: projection used.
    """

    noise_px: float = 0.0
    drop_fraction: float = 0.0
    drop_ranges_s: tuple[tuple[float, float], ...] = ()
    confidence: float = 0.95
    seed: int = 0
    camera: PinholeCamera = field(default_factory=PinholeCamera)


def to_frames(states: Sequence[HandState], hand: str = "right",
              options: FrameOptions | None = None) -> list[TrackedFrame]:
    """Tracker-like frames (one hand or none) from ground-truth states."""
    opt = options or FrameOptions()
    rng = np.random.default_rng(opt.seed)
    cam = opt.camera
    if not states:
        return []
    image, world = landmarks_batch(np.stack([st.pose.as_vector() for st in states]), hand,
                                   np.array([st.wrist_m for st in states], float),
                                   np.array([st.orientation_deg for st in states], float), cam)
    frames = []
    for i, st in enumerate(states):
        dropped = (not st.visible or rng.random() < opt.drop_fraction
                   or any(a <= st.t < b for a, b in opt.drop_ranges_s))
        if dropped:
            frames.append(TrackedFrame(t=st.t, frame_index=i))
            continue
        img, wld = image[i], world[i]
        if opt.noise_px > 0:
            noise = rng.normal(0.0, opt.noise_px, size=(21, 3))
            img = img + noise / np.array([cam.width, cam.height, cam.width])
            wld = wld + noise * st.wrist_m[2] / cam.focal_px
        obs = HandObservation(t=st.t, hand=hand, confidence=opt.confidence, image=img,
                              world=wld, frame_index=i)
        frames.append(TrackedFrame(t=st.t, frame_index=i, hands=(obs,)))
    return frames


def _times(duration_s: float, fps: float) -> np.ndarray:
    return np.arange(int(round(duration_s * fps))) / fps


def _smooth01(x: float) -> float:
    """Minimum-jerk ramp 0 -> 1 for x in [0, 1]."""
    x = min(max(x, 0.0), 1.0)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


def motion(poses_at: Callable[[float], HandPose], duration_s: float, fps: float = 30.0,
           stretch: float = 1.0) -> list[HandState]:
    """States sampled at ``fps`` from a pose function of time; ``stretch`` > 1 slows it down."""
    return [HandState(float(t), poses_at(float(t) / stretch)) for t in _times(duration_s * stretch, fps)]


def open_close_motion(cycles: int = 5, freq_hz: float = 0.5, fps: float = 30.0, rest_s: float = 1.0,
                      closed: HandPose | None = None, opened: HandPose | None = None,
                      stretch: float = 1.0) -> list[HandState]:
    """``cycles`` complete closed -> open -> closed cycles, with ``rest_s`` closed before and after."""
    a, b = closed or fist(), opened or open_hand()
    move_s = cycles / freq_hz

    def pose(t: float) -> HandPose:
        u = t - rest_s
        s = 0.0 if u <= 0 or u >= move_s else (1 - math.cos(2 * math.pi * freq_hz * u)) / 2
        return a.blend(b, s)

    return motion(pose, 2 * rest_s + move_s, fps, stretch)


def open_close(cycles: int = 5, freq_hz: float = 0.5, fps: float = 30.0, hand: str = "right",
               options: FrameOptions | None = None, stretch: float = 1.0,
               rest_s: float = 1.0) -> list[TrackedFrame]:
    """Frames of ``cycles`` complete hand open/close cycles (see ``open_close_motion``)."""
    return to_frames(open_close_motion(cycles, freq_hz, fps, rest_s, stretch=stretch), hand, options)


def open_once_motion(fps: float = 30.0, closed_s: float = 1.0, move_s: float = 1.0,
                     open_s: float = 2.0) -> list[HandState]:
    """The hand opens once and stays open (the ``hand_reach_open.mp4`` situation)."""
    a, b = relaxed(), open_hand()
    return motion(lambda t: a.blend(b, _smooth01((t - closed_s) / move_s)),
                  closed_s + move_s + open_s, fps)


def tap_phase(t: float, freq_hz: float, freezes_s: Sequence[tuple[float, float]]) -> float:
    """Tapping phase in cycles at time t: advances at freq_hz except while frozen."""
    frozen = sum(max(0.0, min(t, start + dur) - start) for start, dur in freezes_s)
    return freq_hz * (t - frozen)


def finger_tap_motion(freq_hz: float = 3.0, duration_s: float = 10.0, fps: float = 30.0,
                      decrement: float = 0.0, freezes_s: Sequence[tuple[float, float]] = (),
                      rest_s: float = 0.5, stretch: float = 1.0) -> list[HandState]:
    """Thumb-index tapping: ``round(freq_hz * duration_s)`` taps (touch -> open -> touch).

    Args:
        decrement: fraction of the opening amplitude lost linearly from the first tap to the
            last (0.4 = the last tap opens 60 % as far as the first).
        freezes_s: (start, duration) pauses, seconds from the start of tapping; tapping time
            stops while frozen, so the trial is longer by their total.
    """
    touch, opened = pinch("index"), _tap_open()
    n_taps = int(round(freq_hz * duration_s))
    tap_s = n_taps / freq_hz + sum(d for _, d in freezes_s)

    def pose(t: float) -> HandPose:
        phase = tap_phase(t - rest_s, freq_hz, freezes_s) if t > rest_s else 0.0
        if phase <= 0 or phase >= n_taps:
            return touch
        k = int(phase)
        amp = 1.0 - decrement * (k / max(n_taps - 1, 1))
        return touch.blend(opened, amp * (1 - math.cos(2 * math.pi * phase)) / 2)

    return motion(pose, 2 * rest_s + tap_s, fps, stretch)


def _tap_open() -> HandPose:
    """Index and thumb wide apart, other fingers loosely curled (tapping posture)."""
    r = relaxed()
    return replace(r, mcp_deg=(0.0, *r.mcp_deg[1:]), pip_deg=(0.0, *r.pip_deg[1:]),  # type: ignore[arg-type]
                   dip_deg=(0.0, *r.dip_deg[1:]), abd_deg=(8.0, 0.0, 0.0, 0.0),
                   thumb_cmc_flex_deg=-15.0, thumb_cmc_abd_deg=10.0, thumb_mcp_deg=0.0,
                   thumb_ip_deg=0.0)


def finger_tap(freq_hz: float = 3.0, duration_s: float = 10.0, fps: float = 30.0,
               decrement: float = 0.0, freezes_s: Sequence[tuple[float, float]] = (),
               hand: str = "right", options: FrameOptions | None = None,
               stretch: float = 1.0) -> list[TrackedFrame]:
    """Frames of thumb-index tapping (see ``finger_tap_motion``)."""
    return to_frames(finger_tap_motion(freq_hz, duration_s, fps, decrement, freezes_s,
                                       stretch=stretch), hand, options)


def opposition_motion(fingers: Sequence[str] = FINGERS, touch_s: float = 1.2, fps: float = 30.0,
                      rest_s: float = 0.8, stretch: float = 1.0) -> list[HandState]:
    """The thumb touches each of ``fingers`` in turn, returning to an open hand between touches."""
    opened, targets = open_hand(), [pinch(f) for f in fingers]

    def pose(t: float) -> HandPose:
        u = t - rest_s
        k = int(u // touch_s) if u > 0 else -1
        if k < 0 or k >= len(targets):
            return opened
        return opened.blend(targets[k], math.sin(math.pi * (u / touch_s - k)) ** 2)

    return motion(pose, 2 * rest_s + touch_s * len(targets), fps, stretch)


def opposition(fingers: Sequence[str] = FINGERS, touch_s: float = 1.2, fps: float = 30.0,
               hand: str = "right", options: FrameOptions | None = None,
               stretch: float = 1.0) -> list[TrackedFrame]:
    """Frames of thumb-to-finger opposition (see ``opposition_motion``)."""
    return to_frames(opposition_motion(fingers, touch_s, fps, stretch=stretch), hand, options)


def reach_motion(distance_m: float = 0.25, movement_s: float = 1.2, fps: float = 30.0,
                 rest_s: float = 0.5, peak_open_at: float = 0.6,
                 stretch: float = 1.0) -> list[HandState]:
    """Reach toward the camera and grasp: minimum-jerk wrist path over ``movement_s``.

    The hand opens from relaxed to fully open, peaking at ``peak_open_at`` of the movement time,
    then closes to a fist by the end. Peak wrist speed is 1.875 * distance / movement time.
    """
    start = np.array([0.0, 0.10, 0.70])
    direction = np.array([0.0, -0.2, -1.0]) / math.hypot(0.2, 1.0)
    a, b, c = relaxed(), open_hand(), fist()
    states = []
    for t in _times((2 * rest_s + movement_s) * stretch, fps):
        u = (t / stretch - rest_s) / movement_s
        pos = start + direction * distance_m * _smooth01(u)
        if u <= peak_open_at:
            pose = a.blend(b, _smooth01(u / peak_open_at))
        else:
            pose = b.blend(c, _smooth01((u - peak_open_at) / (1 - peak_open_at)))
        states.append(HandState(float(t), pose, (float(pos[0]), float(pos[1]), float(pos[2])),
                                (-50.0, 0.0, 0.0)))
    return states


def reach(distance_m: float = 0.25, movement_s: float = 1.2, fps: float = 30.0, hand: str = "right",
          options: FrameOptions | None = None, stretch: float = 1.0) -> list[TrackedFrame]:
    """Frames of a reach-and-grasp (see ``reach_motion``)."""
    return to_frames(reach_motion(distance_m, movement_s, fps, stretch=stretch), hand, options)


def wrist_flex_motion(cycles: int = 3, freq_hz: float = 0.5, amplitude_deg: float = 50.0,
                      fps: float = 30.0, rest_s: float = 0.5) -> list[HandState]:
    """Wrist flexion/extension: the open hand tips toward and away from the camera."""
    pose = open_hand()
    move_s = cycles / freq_hz
    states = []
    for t in _times(2 * rest_s + move_s, fps):
        u = t - rest_s
        angle = amplitude_deg * math.sin(2 * math.pi * freq_hz * u) if 0 < u < move_s else 0.0
        states.append(HandState(float(t), pose, orientation_deg=(angle, 0.0, 0.0)))
    return states


def free_motion(fps: float = 30.0, hold_s: float = 0.8, move_s: float = 0.6) -> list[HandState]:
    """A fixed tour of poses: open, fist, open, index pinch, point, relaxed, open."""
    tour = [open_hand(), fist(), open_hand(), pinch("index"), point(), relaxed(), open_hand()]
    step_s = hold_s + move_s

    def pose(t: float) -> HandPose:
        k = min(int(t // step_s), len(tour) - 1)
        if k == len(tour) - 1:
            return tour[-1]
        return tour[k].blend(tour[k + 1], _smooth01((t - k * step_s - hold_s) / move_s))

    return motion(pose, step_s * (len(tour) - 1) + hold_s, fps)


def still_motion(duration_s: float = 2.0, fps: float = 30.0,
                 pose: HandPose | None = None) -> list[HandState]:
    """A hand held perfectly still (for jitter measurements)."""
    p = pose or relaxed()
    return motion(lambda t: p, duration_s, fps)
