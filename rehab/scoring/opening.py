"""Hand opening signals from world landmarks, normalised by hand size (wrist to middle MCP).

Used for similarity, reach aperture and opening sizes. Nothing counted uses them: world depth
is not mirror-consistent (counting uses ``signals``, in the image plane).
"""

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
