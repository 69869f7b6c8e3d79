"""Finger joint flexion angles from world landmarks, and active range of motion per joint."""

from __future__ import annotations

import numpy as np

# joint -> (proximal, centre, distal) landmark indices; flexion = angle between the two segments.
JOINTS: dict[str, tuple[int, int, int]] = {
    "thumb_mcp": (1, 2, 3), "thumb_ip": (2, 3, 4),
    "index_mcp": (0, 5, 6), "index_pip": (5, 6, 7), "index_dip": (6, 7, 8),
    "middle_mcp": (0, 9, 10), "middle_pip": (9, 10, 11), "middle_dip": (10, 11, 12),
    "ring_mcp": (0, 13, 14), "ring_pip": (13, 14, 15), "ring_dip": (14, 15, 16),
    "little_mcp": (0, 17, 18), "little_pip": (17, 18, 19), "little_dip": (18, 19, 20),
}


def segment_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle between segments a->b and b->c in degrees: 0 = straight (fully extended).

    theta = atan2(|u x v|, u . v) with u = b - a, v = c - b (atan2 is accurate near 0 and 180).
    Works on (..., 3) arrays; NaN in, NaN out.
    """
    u, v = b - a, c - b
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    dot = np.sum(u * v, axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def joint_angles(world: np.ndarray) -> dict[str, np.ndarray]:
    """Flexion angle of every joint in ``JOINTS`` for landmarks (N, 21, 3) or (21, 3), degrees.

    The MCP angle of a finger is measured against the wrist->MCP line (the landmarks carry no
    metacarpal base), so finger abduction adds to it slightly: cos(theta) = cos(flex) cos(abd).
    """
    w = np.asarray(world, float)
    return {name: segment_angle_deg(w[..., i, :], w[..., j, :], w[..., k, :])
            for name, (i, j, k) in JOINTS.items()}


def active_rom(angles: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Active range of motion per joint: {"min_deg", "max_deg", "range_deg"} over the trial.

    min/max are the 1st and 99th percentiles of the (low-passed) angle series, NaN ignored, so
    single-frame tracker glitches do not widen the range; range = max - min; None if no data.
    """
    out: dict[str, dict[str, float | None]] = {}
    for name, series in angles.items():
        s = np.asarray(series, float)
        s = s[~np.isnan(s)]
        if len(s) == 0:
            out[name] = {"min_deg": None, "max_deg": None, "range_deg": None}
            continue
        lo, hi = (float(p) for p in np.percentile(s, [1, 99]))
        out[name] = {"min_deg": round(lo, 1), "max_deg": round(hi, 1), "range_deg": round(hi - lo, 1)}
    return out
