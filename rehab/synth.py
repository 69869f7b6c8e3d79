"""Synthetic hand: 21 MediaPipe-style landmarks from finger joint angles, with exact ground truth.

Used by tests (known angles, repetitions, tapping rates) and by the demo-clip renderer.

Geometry. The hand is built in a *hand frame* (metres, origin at the wrist): X points to the
radial (thumb) side, Y distally (wrist to middle-finger MCP), Z out of the palm (palmar). For a
right hand Z = X x Y; a left hand is the mirror image (X negated). ``orientation_deg`` = (0, 0, 0)
means fingers up, palm facing the camera. The camera is an *unmirrored* pinhole camera facing the
person (camera x right in the image, y down, z away from the camera). A person's right hand held
up with the palm to the camera therefore shows its thumb on the image RIGHT side (larger x), as
in ``shared/fixtures/hand_free_motions.mp4``; a left hand shows it on the image left. (A mirrored
selfie view shows the opposite.)

Landmark indices follow MediaPipe: 0 wrist; thumb 1 CMC, 2 MCP, 3 IP, 4 tip; index 5-8,
middle 9-12, ring 13-16, little 17-20 (MCP, PIP, DIP, tip).

Joint angles are flexion in degrees, 0 = straight. A finger's MCP/PIP/DIP flexion is exactly the
angle between consecutive landmark segments when its abduction is 0 (the MCP angle is measured
against the wrist->MCP line). Abduction is measured in the palm plane from the wrist->MCP line,
positive toward the thumb. Thumb MCP/IP flexion equal the landmark segment angles.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rehab.devices.base import HandObservation, TrackedFrame

Vec3 = tuple[float, float, float]
FINGERS = ("index", "middle", "ring", "little")

# Hand frame positions (m) of the finger MCPs and the thumb CMC; adult hand, wrist->middle MCP 9 cm.
_MCP_M = np.array([[0.022, 0.088, 0.0], [0.0, 0.090, 0.0], [-0.019, 0.084, 0.0], [-0.036, 0.076, 0.0]])
_THUMB_CMC_M = np.array([0.020, 0.026, 0.008])
# Proximal, middle, distal phalanx lengths (m) for index..little; thumb metacarpal, proximal, distal.
_PHALANX_M = np.array([[0.040, 0.024, 0.021], [0.045, 0.028, 0.022], [0.042, 0.027, 0.022],
                       [0.033, 0.019, 0.019]])
_THUMB_M = np.array([0.045, 0.032, 0.027])
HAND_SIZE_M = 0.090  # wrist to middle MCP, the scale the metrics normalise by


@dataclass(frozen=True)
class HandPose:
    """Joint angles in degrees (index, middle, ring, little order for the four-tuples)."""

    mcp_deg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    pip_deg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    dip_deg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    abd_deg: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    thumb_cmc_flex_deg: float = 0.0  # across the palm toward the little finger
    thumb_cmc_abd_deg: float = 0.0  # out of the palm plane (palmar abduction)
    thumb_mcp_deg: float = 0.0
    thumb_ip_deg: float = 0.0

    def as_vector(self) -> np.ndarray:
        """All 20 angles as one vector (for blending)."""
        thumb = [self.thumb_cmc_flex_deg, self.thumb_cmc_abd_deg, self.thumb_mcp_deg, self.thumb_ip_deg]
        return np.array([*self.mcp_deg, *self.pip_deg, *self.dip_deg, *self.abd_deg, *thumb], float)

    @staticmethod
    def from_vector(v: Sequence[float] | np.ndarray) -> HandPose:
        f = [float(x) for x in v]
        return HandPose((f[0], f[1], f[2], f[3]), (f[4], f[5], f[6], f[7]), (f[8], f[9], f[10], f[11]),
                        (f[12], f[13], f[14], f[15]), f[16], f[17], f[18], f[19])

    def blend(self, other: HandPose, s: float) -> HandPose:
        """Linear interpolation of every angle: s=0 gives self, s=1 gives other."""
        return HandPose.from_vector((1 - s) * self.as_vector() + s * other.as_vector())


def open_hand() -> HandPose:
    """Fingers extended and spread, thumb abducted."""
    return HandPose(abd_deg=(8.0, 0.0, -6.0, -12.0), thumb_cmc_flex_deg=-10.0,
                    thumb_cmc_abd_deg=10.0, thumb_mcp_deg=5.0, thumb_ip_deg=5.0)


def fist() -> HandPose:
    """Full fist, thumb wrapped over the middle phalanges."""
    return HandPose(mcp_deg=(85.0, 88.0, 88.0, 85.0), pip_deg=(100.0, 100.0, 100.0, 95.0),
                    dip_deg=(60.0, 60.0, 60.0, 55.0), abd_deg=(-4.0, 0.0, 4.0, 8.0),
                    thumb_cmc_flex_deg=55.0, thumb_cmc_abd_deg=5.0, thumb_mcp_deg=45.0,
                    thumb_ip_deg=35.0)


def relaxed() -> HandPose:
    """Resting hand, fingers gently curled."""
    return HandPose(mcp_deg=(25.0, 30.0, 35.0, 40.0), pip_deg=(30.0, 35.0, 40.0, 40.0),
                    dip_deg=(15.0, 15.0, 20.0, 20.0), thumb_cmc_flex_deg=10.0,
                    thumb_cmc_abd_deg=15.0, thumb_mcp_deg=15.0, thumb_ip_deg=15.0)


# Finger posture used when the thumb pinches that finger (mcp, pip, dip).
_PINCH_FINGER_DEG = {0: (45.0, 50.0, 25.0), 1: (50.0, 50.0, 25.0), 2: (55.0, 50.0, 25.0),
                     3: (60.0, 50.0, 25.0)}


def pinch(finger: str = "index") -> HandPose:
    """Thumb tip touching the tip of ``finger`` (index, middle, ring or little); others open.

    The thumb angles are solved by inverse kinematics so the two tips are 1 cm apart (pads touching).
    """
    k = FINGERS.index(finger)
    base = open_hand()
    mcp, pip, dip = list(base.mcp_deg), list(base.pip_deg), list(base.dip_deg)
    mcp[k], pip[k], dip[k] = _PINCH_FINGER_DEG[k]
    pose = replace(base, mcp_deg=_t4(mcp), pip_deg=_t4(pip), dip_deg=_t4(dip))
    th = _solve_thumb(pose.mcp_deg, pose.pip_deg, pose.dip_deg, pose.abd_deg, k)
    return replace(pose, thumb_cmc_flex_deg=th[0], thumb_cmc_abd_deg=th[1], thumb_mcp_deg=th[2],
                   thumb_ip_deg=th[3])


def point() -> HandPose:
    """Index extended, other fingers and thumb curled."""
    f = fist()
    return replace(f, mcp_deg=(0.0, *f.mcp_deg[1:]), pip_deg=(0.0, *f.pip_deg[1:]),  # type: ignore[arg-type]
                   dip_deg=(0.0, *f.dip_deg[1:]), abd_deg=(0.0, *f.abd_deg[1:]))


def _t4(v: Sequence[float]) -> tuple[float, float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]), float(v[3]))


# ---------------------------------------------------------------- kinematics

def _rot(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotation matrix about a unit axis (Rodrigues)."""
    return _rot_batch(axis, np.array([angle_deg]))[0]


def _rot_batch(axis: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations about one axis by N angles: I + sin(a) K + (1 - cos(a)) K^2."""
    a = np.radians(np.asarray(angle_deg, float))[:, None, None]
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def _chain(base: np.ndarray, d: np.ndarray, b: np.ndarray, lengths: np.ndarray,
           angles_deg: np.ndarray) -> np.ndarray:
    """(N, 4, 3) joint positions of a planar-flexion chain starting at ``base``.

    Each joint turns the segment direction d toward the bend direction b (an orthonormal pair
    per frame, (N, 3)) by its angle (N, 3), so the angle between segments is exactly that angle.
    """
    pts = [np.broadcast_to(base, d.shape)]
    for j in range(3):
        a = np.radians(angles_deg[:, j])[:, None]
        d, b = np.cos(a) * d + np.sin(a) * b, np.cos(a) * b - np.sin(a) * d
        pts.append(pts[-1] + lengths[j] * d)
    return np.stack(pts, axis=1)


_Z = np.array([0.0, 0.0, 1.0])
_THUMB_DIR0 = np.array([0.8, 0.6, 0.0])  # metacarpal at rest: radial-distal, in the palm plane
_THUMB_BEND0 = np.array([-0.35, 0.45, 0.82])  # flexion moves the tip palmar and ulnar


def _thumb_batch(cmc_flex: np.ndarray, cmc_abd: np.ndarray, mcp: np.ndarray,
                 ip: np.ndarray) -> np.ndarray:
    """Thumb CMC, MCP, IP, tip (N, 4, 3) in the right-hand frame."""
    d0 = _THUMB_DIR0 / np.linalg.norm(_THUMB_DIR0)
    b0 = _THUMB_BEND0 - (_THUMB_BEND0 @ d0) * d0
    b0 = b0 / np.linalg.norm(b0)
    # abduct toward +Z (about d0 x Z), then flex across the palm (about Z)
    r = _rot_batch(_Z, cmc_flex) @ _rot_batch(np.cross(d0, _Z), cmc_abd)
    angles = np.stack([np.zeros_like(mcp), mcp, ip], axis=1)
    return _chain(_THUMB_CMC_M, r @ d0, r @ b0, _THUMB_M, angles)


def _finger_batch(k: int, mcp: np.ndarray, pip: np.ndarray, dip: np.ndarray,
                  abd: np.ndarray) -> np.ndarray:
    """Finger k's MCP, PIP, DIP, tip (N, 4, 3) in the right-hand frame."""
    base = _MCP_M[k]
    u = base / np.linalg.norm(base)
    a = np.radians(abd)  # +abd turns the (distal-pointing) line toward +X, the thumb side
    d = np.stack([u[0] * np.cos(a) + u[1] * np.sin(a), u[1] * np.cos(a) - u[0] * np.sin(a),
                  np.zeros_like(a)], axis=1)
    b = np.broadcast_to(_Z, d.shape)
    return _chain(base, d, b, _PHALANX_M[k], np.stack([mcp, pip, dip], axis=1))


def _thumb_points(cmc_flex: float, cmc_abd: float, mcp: float, ip: float) -> np.ndarray:
    """Thumb CMC, MCP, IP, tip (4, 3) of one pose."""
    return _thumb_batch(*(np.array([v], float) for v in (cmc_flex, cmc_abd, mcp, ip)))[0]


def _finger_points(k: int, mcp: float, pip: float, dip: float, abd: float) -> np.ndarray:
    """Finger k's MCP, PIP, DIP, tip (4, 3) of one pose."""
    return _finger_batch(k, *(np.array([v], float) for v in (mcp, pip, dip, abd)))[0]


def hand_points_batch(poses: np.ndarray) -> np.ndarray:
    """(N, 21, 3) right-hand landmarks in the hand frame from (N, 20) ``HandPose.as_vector`` rows."""
    v = np.atleast_2d(np.asarray(poses, float))
    pts = np.zeros((len(v), 21, 3))
    pts[:, 1:5] = _thumb_batch(v[:, 16], v[:, 17], v[:, 18], v[:, 19])
    for k in range(4):
        pts[:, 5 + 4 * k: 9 + 4 * k] = _finger_batch(k, v[:, k], v[:, 4 + k], v[:, 8 + k],
                                                    v[:, 12 + k])
    return pts


def hand_points(pose: HandPose) -> np.ndarray:
    """(21, 3) landmarks of a right hand in the hand frame (metres, wrist at the origin)."""
    return hand_points_batch(pose.as_vector()[None])[0]


@functools.lru_cache(maxsize=64)
def _solve_thumb(mcp: tuple[float, ...], pip: tuple[float, ...], dip: tuple[float, ...],
                 abd: tuple[float, ...], k: int) -> tuple[float, float, float, float]:
    """Thumb angles putting its tip 1 cm palmar of finger k's tip (least squares, cached)."""
    from scipy.optimize import least_squares  # deferred: only pinch poses need it

    tip = _finger_points(k, mcp[k], pip[k], dip[k], abd[k])[3]
    target = tip + np.array([0.0, 0.0, 0.010])
    prior = np.array([30.0, 40.0, 20.0, 15.0])

    def residual(x: np.ndarray) -> np.ndarray:
        err = _thumb_points(*x)[3] - target
        return np.concatenate([err * 1000.0, (x - prior) * 0.01])  # mm error, weak prior

    sol = least_squares(residual, prior, bounds=([-30, -10, 0, -10], [90, 90, 80, 90]))
    return (float(sol.x[0]), float(sol.x[1]), float(sol.x[2]), float(sol.x[3]))


# ---------------------------------------------------------------- camera

@dataclass(frozen=True)
class PinholeCamera:
    """Unmirrored pinhole camera facing the person; focal length in pixels."""

    width: int = 640
    height: int = 480
    focal_px: float = 600.0


@functools.lru_cache(maxsize=4096)
def orientation_matrix(orientation_deg: Vec3 = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Hand frame -> camera frame. (0,0,0): fingers up (image -y), palm toward the camera (-z).

    The angles rotate the hand about the camera's x, y, z axes in that order (degrees); e.g.
    (60, 0, 0) tips the fingers toward the camera (wrist flexion seen from the front).
    """
    base = np.diag([1.0, -1.0, -1.0])
    rx, ry, rz = orientation_deg
    return _rot(np.array([0.0, 0.0, 1.0]), rz) @ _rot(np.array([0.0, 1.0, 0.0]), ry) @ \
        _rot(np.array([1.0, 0.0, 0.0]), rx) @ base


def landmarks(pose: HandPose, hand: str = "right", wrist_position: Vec3 = (0.0, 0.08, 0.45),
              orientation_deg: Vec3 = (0.0, 0.0, 0.0),
              camera: PinholeCamera | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Image and world landmarks of ``pose``.

    Args:
        pose: joint angles.
        hand: anatomical side, "right" or "left" (a left hand is the mirror image).
        wrist_position: wrist in camera coordinates, metres (x right, y down, z depth).
        orientation_deg: see ``orientation_matrix``.
        camera: projection; default 640x480, f = 600 px.

    Returns:
        ``(image, world)``: image (21, 3) = x/width, y/height, z = depth relative to the wrist
        in the same scale as x (MediaPipe's convention); world (21, 3) metres in camera axes with
        the origin at the mean of the wrist and the four finger MCPs.
    """
    image, world = landmarks_batch(pose.as_vector()[None], hand, np.array([wrist_position], float),
                                   np.array([orientation_deg], float), camera)
    return image[0], world[0]


def landmarks_batch(poses: np.ndarray, hand: str, wrist_m: np.ndarray, orientation_deg: np.ndarray,
                    camera: PinholeCamera | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``landmarks`` for N frames at once: poses (N, 20), wrist_m (N, 3), orientation_deg (N, 3)."""
    cam = camera or PinholeCamera()
    local = hand_points_batch(poses)
    if hand == "left":
        local = local * np.array([-1.0, 1.0, 1.0])
    elif hand != "right":
        raise ValueError(f"hand must be 'left' or 'right', not {hand!r}")
    rot = np.stack([orientation_matrix((float(o[0]), float(o[1]), float(o[2])))
                    for o in np.asarray(orientation_deg, float)])
    pts = np.einsum("nij,nkj->nki", rot, local) + np.asarray(wrist_m, float)[:, None, :]
    if np.any(pts[..., 2] <= 0.01):
        raise ValueError("hand is behind or at the camera; increase wrist_position z")
    z = pts[..., 2]
    image = np.empty_like(pts)
    image[..., 0] = (cam.focal_px * pts[..., 0] / z + cam.width / 2) / cam.width
    image[..., 1] = (cam.focal_px * pts[..., 1] / z + cam.height / 2) / cam.height
    image[..., 2] = (z - z[:, :1]) * cam.focal_px / z[:, :1] / cam.width
    world = pts - pts[:, [0, 5, 9, 13, 17]].mean(axis=1, keepdims=True)
    return image, world


# ---------------------------------------------------------------- motions

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
