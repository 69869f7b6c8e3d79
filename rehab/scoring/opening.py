"""Hand opening signals from world landmarks, normalised by hand size (wrist to middle MCP)."""

from __future__ import annotations

import numpy as np

WRIST, THUMB_TIP, INDEX_TIP, MIDDLE_MCP = 0, 4, 8, 9
FINGER_TIPS = (8, 12, 16, 20)
ALL_TIPS = (4, 8, 12, 16, 20)


def hand_size_m(world: np.ndarray) -> float:
    """Hand size: median over frames of |wrist - middle-finger MCP| in metres (NaN ignored)."""
    w = np.asarray(world, float).reshape(-1, 21, 3)
    d = np.linalg.norm(w[:, MIDDLE_MCP] - w[:, WRIST], axis=-1)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        raise ValueError("no landmarks to measure the hand size from")
    return float(np.median(d))


def aperture(world: np.ndarray, size_m: float) -> np.ndarray:
    """Thumb-index aperture: |thumb tip - index tip| / hand size (hand sizes), per frame."""
    w = np.asarray(world, float)
    return np.linalg.norm(w[..., THUMB_TIP, :] - w[..., INDEX_TIP, :], axis=-1) / size_m


def spread(world: np.ndarray, size_m: float) -> np.ndarray:
    """Fingertip spread: mean distance of the five fingertips from their centroid / hand size."""
    tips = np.asarray(world, float)[..., ALL_TIPS, :]
    centre = tips.mean(axis=-2, keepdims=True)
    return np.linalg.norm(tips - centre, axis=-1).mean(axis=-1) / size_m


def extension(world: np.ndarray, size_m: float) -> np.ndarray:
    """Finger extension: mean distance of the four finger tips from the wrist / hand size.

    About 1.9 for an open hand and about 0.7 for a fist.
    """
    w = np.asarray(world, float)
    tips = w[..., FINGER_TIPS, :]
    return np.linalg.norm(tips - w[..., WRIST:WRIST + 1, :], axis=-1).mean(axis=-1) / size_m


def fingertip_distances(world: np.ndarray, size_m: float) -> np.ndarray:
    """Distance of the thumb tip to each finger tip (index..little) / hand size, shape (..., 4)."""
    w = np.asarray(world, float)
    return np.linalg.norm(w[..., FINGER_TIPS, :] - w[..., THUMB_TIP:THUMB_TIP + 1, :],
                          axis=-1) / size_m


FINGER_PIPS = (6, 10, 14, 18)
CURLED_REACH = 0.9  # tip-to-wrist below 0.9 x PIP-to-wrist: the finger is curled into the palm


def fingertip_reach(world: np.ndarray) -> np.ndarray:
    """|tip - wrist| / |PIP - wrist| per finger (index..little), shape (..., 4).

    About 1.3 for a straight finger, about 1 in a pinch, about 0.6-0.7 in a fist: below
    ``CURLED_REACH`` the tip is tucked into the palm, where the thumb may rest on it without any
    opposition movement.
    """
    w = np.asarray(world, float)
    wrist = w[..., WRIST:WRIST + 1, :]
    return (np.linalg.norm(w[..., FINGER_TIPS, :] - wrist, axis=-1)
            / np.linalg.norm(w[..., FINGER_PIPS, :] - wrist, axis=-1))


def opposition_distances(world: np.ndarray, size_m: float) -> np.ndarray:
    """``fingertip_distances`` with curled fingers (``fingertip_reach`` < 0.9) set to infinity."""
    d = fingertip_distances(world, size_m)
    with np.errstate(invalid="ignore"):
        return np.where(fingertip_reach(world) < CURLED_REACH, np.inf, d)
