"""The synthetic hand's 3D surface: capsules and ellipsoids placed on the skeleton, per frame.

The 21 landmarks of ``rehab.synth.hand`` are joint centres; this module dresses them in flesh
with adult proportions: tapered phalanges whose capsules end at the fingertip landmarks, a palm
(a flattened ellipsoid blended with four metacarpals), knuckle bumps on the back of the hand,
the thenar and hypothenar eminences, a forearm of two blended bones, and a sleeve. Everything is
built in the right-hand frame and mirrored for a left hand, so a left hand is a true 3D mirror
image (no image flipping). Positions are in camera coordinates (metres, x right, y down,
z away from the camera), ready for ``rehab.clips.shade``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehab.synth.hand import (
    _MCP_M,
    _THUMB_BEND0,
    _THUMB_DIR0,
    _Z,
    _rot_batch,
    hand_points_batch,
    orientation_matrix,
)

SKIN, NAIL, SLEEVE, CREASED = 0, 1, 2, 3  # material ids (NAIL and CREASED: a palmar joint
# crease at the capsule's proximal end)

# Phalanx radii (m): proximal, middle, distal for index..little; thumb metacarpal, proximal, distal.
_FINGER_R = np.array([[0.0093, 0.0083, 0.0074], [0.0096, 0.0086, 0.0077],
                      [0.0090, 0.0080, 0.0071], [0.0078, 0.0070, 0.0063]])
_THUMB_R = np.array([0.0120, 0.0106, 0.0096])
# Metacarpal bases near the wrist (hand frame, m) and radii: the bones fan out to the knuckles.
_METACARPAL_BASE = np.array([[0.013, 0.014, 0.0], [0.003, 0.016, 0.0], [-0.008, 0.015, 0.0],
                             [-0.018, 0.013, 0.0]])
_METACARPAL_R = np.array([0.0110, 0.0112, 0.0105, 0.0098])
_PALM = ((-0.004, 0.044, 0.001), (0.035, 0.049, 0.0125))  # centre, semi-axes of the palm body
_HYPOTHENAR = ((-0.021, 0.018, 0.004), (-0.031, 0.062, 0.004), 0.0125)
_FOREARM = (((0.008, -0.010, 0.0), (0.013, -0.34, -0.004), 0.0205),
            ((-0.008, -0.010, 0.0), (-0.014, -0.34, -0.004), 0.0215))
_SLEEVE_FROM_M = 0.060  # the sleeve starts this far up the forearm from the wrist
_SLEEVE_GROW_M = 0.0065  # cloth stands off the skin


@dataclass(frozen=True)
class Body:
    """One frame's primitives in camera coordinates.

    Capsules: ``cap_a``/``cap_b`` (n, 3) segment ends, ``cap_r`` (n,) radii, ``cap_mat`` (n,)
    materials, ``cap_dorsal`` (n, 3) the back-of-finger direction (for nails). Ellipsoids:
    ``ell_c`` (m, 3) centres, ``ell_axes`` (m, 3, 3) local axes as columns, ``ell_r`` (m, 3).
    ``palmar`` is the direction out of the palm; ``rot``/``wrist`` place the (right-)hand frame
    in the camera (``p = q @ rot.T + wrist``; mirrored for a left hand).
    """

    cap_a: np.ndarray
    cap_b: np.ndarray
    cap_r: np.ndarray
    cap_mat: np.ndarray
    cap_dorsal: np.ndarray
    ell_c: np.ndarray
    ell_axes: np.ndarray
    ell_r: np.ndarray
    palmar: np.ndarray
    rot: np.ndarray
    wrist: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _thumb_plane_normal(cmc_flex: float, cmc_abd: float) -> np.ndarray:
    """Normal of the thumb's flexion plane (right-hand frame), as ``hand._thumb_batch`` builds it."""
    d0 = _unit(_THUMB_DIR0)
    b0 = _unit(_THUMB_BEND0 - (_THUMB_BEND0 @ d0) * d0)
    r = _rot_batch(_Z, np.array([cmc_flex]))[0] @ _rot_batch(np.cross(d0, _Z),
                                                             np.array([cmc_abd]))[0]
    return r @ np.cross(d0, b0)


def _finger_plane_normal(k: int, abd_deg: float) -> np.ndarray:
    u = _unit(_MCP_M[k])
    a = np.radians(abd_deg)
    d = np.array([u[0] * np.cos(a) + u[1] * np.sin(a), u[1] * np.cos(a) - u[0] * np.sin(a), 0.0])
    return np.cross(d, _Z)


def _chain_capsules(pts: np.ndarray, radii: np.ndarray, normal: np.ndarray, caps: list) -> None:
    """Capsules along a 4-point chain; the last one ends its own radius short of the tip landmark
    (the landmark sits at the fingertip, not inside it); the dorsal side is -(normal x segment)."""
    for j in range(3):
        a, b = pts[j], pts[j + 1]
        seg = b - a
        length = float(np.linalg.norm(seg))
        if j == 2:
            b = a + seg * max(0.2, 1.0 - 0.85 * radii[j] / max(length, 1e-6))
        dorsal = -_unit(np.cross(normal, seg / max(length, 1e-9)))
        caps.append((a, b, radii[j], (SKIN, CREASED, NAIL)[j], dorsal))


_WEB_AT = 0.32  # webs join the fingers this far along their proximal phalanges
_WEB_R = 0.0062
_THUMB_WEB = (0.22, 0.0068)  # fraction along the thumb's proximal phalanx, radius


def _webs(pts: np.ndarray, caps: list) -> None:
    """Skin between the fingers' bases (the palm reaches past the knuckles) and the thumb web."""
    base = [pts[5 + 4 * k] + _WEB_AT * (pts[6 + 4 * k] - pts[5 + 4 * k]) + 0.002 * _Z
            for k in range(4)]
    for k in range(3):
        caps.append((base[k], base[k + 1], _WEB_R, SKIN, -_Z))
    at, r = _THUMB_WEB
    caps.append((pts[2] + at * (pts[3] - pts[2]), pts[5] + 0.2 * (pts[6] - pts[5]), r, SKIN, -_Z))


def _hand_frame_capsules(pts: np.ndarray, pose: np.ndarray, sleeve: bool) -> list:
    """(a, b, r, material, dorsal) capsules of a right hand in its own frame."""
    caps: list = []
    thumb_n = _thumb_plane_normal(float(pose[16]), float(pose[17]))
    _chain_capsules(pts[1:5], _THUMB_R, thumb_n, caps)
    for k in range(4):
        n = _finger_plane_normal(k, float(pose[12 + k]))
        _chain_capsules(pts[5 + 4 * k: 9 + 4 * k], _FINGER_R[k], n, caps)
        mcp = pts[5 + 4 * k]
        caps.append((_METACARPAL_BASE[k], mcp, _METACARPAL_R[k], SKIN, -_Z))
        # knuckle: a bump on the back of the MCP joint
        caps.append((mcp - 0.0035 * _Z, mcp - 0.0035 * _Z, _FINGER_R[k, 0] * 1.08, SKIN, -_Z))
    _webs(pts, caps)
    # thenar eminence: along the thumb metacarpal, on the palm side
    cmc, mcp = pts[1], pts[2]
    caps.append((cmc * 0.55 + np.array([0.0, 0.0, 0.005]),
                 cmc + 0.55 * (mcp - cmc) + np.array([0.0, 0.0, 0.004]), 0.0145, SKIN, -_Z))
    a, b, r = _HYPOTHENAR
    caps.append((np.array(a), np.array(b), r, SKIN, -_Z))
    caps.append((np.array([0.016, 0.002, 0.0]), np.array([-0.017, 0.002, 0.0]), 0.0150, SKIN,
                 -_Z))  # wrist
    for a, b, r in _FOREARM:
        caps.append((np.array(a), np.array(b), r, SKIN, -_Z))
        if sleeve:
            a2, b2 = np.array(a), np.array(b)
            start = a2 + (b2 - a2) * (_SLEEVE_FROM_M / np.linalg.norm(b2 - a2))
            caps.append((start, b2, r + _SLEEVE_GROW_M, SLEEVE, -_Z))
    return caps


def build_body(pose: np.ndarray, hand: str, wrist_m: np.ndarray, orientation_deg: np.ndarray,
               sleeve: bool = True) -> Body:
    """The surface of one frame: ``HandPose.as_vector()`` (20,), side, wrist and orientation
    exactly as ``rehab.synth.landmarks_batch`` takes them, so the landmarks sit in the joints."""
    pose = np.asarray(pose, float)
    pts = hand_points_batch(pose[None])[0]
    mirror = np.array([-1.0, 1.0, 1.0]) if hand == "left" else np.ones(3)
    rot = orientation_matrix(tuple(float(o) for o in orientation_deg)) @ np.diag(mirror)
    wrist = np.asarray(wrist_m, float)

    def place(p: np.ndarray) -> np.ndarray:
        return p @ rot.T + wrist

    caps = _hand_frame_capsules(pts, pose, sleeve)
    cap_a = place(np.array([c[0] for c in caps]))
    cap_b = place(np.array([c[1] for c in caps]))
    dorsal = np.array([c[4] for c in caps]) @ rot.T
    centre, semi = _PALM
    return Body(cap_a=cap_a, cap_b=cap_b, cap_r=np.array([c[2] for c in caps]),
                cap_mat=np.array([c[3] for c in caps], int), cap_dorsal=_unit(dorsal),
                ell_c=place(np.array([centre])), ell_axes=rot[None].copy(),
                ell_r=np.array([semi]), palmar=rot @ _Z, rot=rot, wrist=wrist)
