"""Synthetic hand kinematics: joint angles -> 21 landmarks, projected by a pinhole camera.

See ``rehab.synth`` for the geometry and conventions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

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
