"""Drawing a cartoon hand from 21 landmarks into a BGR image (OpenCV), for rendered demo clips.

Fingers are thick rounded strokes, the palm a filled polygon, the forearm a stroke leaving the
wrist with a sleeve. Parts are painted far-to-near using the landmarks' depth, each a little
darker the farther it is, so a curled finger in front of the palm hides it and stands out.
No dark outlines: with them MediaPipe's palm detector found the cartoon hand far less often
(0/25 instead of 25/25 frames of the tapping clip), and a detectable hand lets
``verify_hand`` and tracking tests run on the shipped clips.
"""

from __future__ import annotations

import cv2
import numpy as np

SKIN_BGR = (150, 185, 232)
SLEEVE_BGR = (150, 95, 55)
BACKGROUND_BGR = (238, 232, 226)
LABEL_BGR = (110, 110, 110)

FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
PALM = (0, 1, 2, 5, 9, 13, 17)  # thumb MCP included: the thenar bulge
# Stroke width of each finger relative to the palm length (wrist to middle knuckle).
FINGER_WIDTH = (0.30, 0.24, 0.25, 0.23, 0.20)
WRIST_HALF_WIDTH = 0.28  # of the palm length
FARTHEST_SHADE = 0.86  # brightness of the farthest part; the nearest is 1.0
SHIFT = 4  # sub-pixel precision for cv2 drawing: coordinates are multiplied by 2**SHIFT


def blank(size: tuple[int, int]) -> np.ndarray:
    """A plain background image of (width, height)."""
    w, h = size
    image = np.empty((h, w, 3), np.uint8)
    image[:] = BACKGROUND_BGR
    return image


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0] * (1 << SHIFT))), int(round(p[1] * (1 << SHIFT)))


def _stroke(image: np.ndarray, pts: np.ndarray, width_px: float, color: tuple) -> None:
    """A polyline of round-capped thick segments (joints rounded too)."""
    w = max(1, int(round(width_px)))
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        cv2.line(image, _pt(a), _pt(b), color, w, cv2.LINE_AA, SHIFT)
    for p in pts:
        cv2.circle(image, _pt(p), w // 2, color, -1, cv2.LINE_AA, SHIFT)


def _shade(color: tuple, k: float) -> tuple[int, int, int]:
    return (int(color[0] * k), int(color[1] * k), int(color[2] * k))


def _wrist_corners(pts: np.ndarray, scale_px: float) -> np.ndarray:
    """Two points either side of the wrist landmark: a real palm is wide at the wrist."""
    across = pts[5] - pts[17]  # index knuckle minus little knuckle: across the hand
    norm = float(np.hypot(*across))
    if norm < 1e-6:
        return np.empty((0, 2))
    across = across / norm * WRIST_HALF_WIDTH * scale_px
    return np.array([pts[0] + across, pts[0] - across])


def _palm(image: np.ndarray, pts: np.ndarray, scale_px: float, color: tuple) -> None:
    """The palm: hull of its landmarks and the wrist's edges, corners rounded."""
    corner_px = max(1, int(0.18 * scale_px))
    outline = np.vstack([pts[list(PALM)], _wrist_corners(pts, scale_px)])
    hull = cv2.convexHull(np.array([_pt(p) for p in outline], np.int32))
    cv2.polylines(image, [hull], True, color, corner_px, cv2.LINE_AA, SHIFT)
    cv2.fillPoly(image, [hull], color, cv2.LINE_AA, SHIFT)


def _forearm(image: np.ndarray, pts: np.ndarray, scale_px: float) -> None:
    """Forearm leaving the wrist away from the fingers, then a sleeve to the image edge."""
    wrist = pts[0]
    axis = wrist - pts[9]
    norm = float(np.hypot(*axis))
    if norm < 1e-6:
        return
    axis = axis / norm
    cuff = wrist + axis * 1.1 * scale_px
    far = wrist + axis * 6.0 * scale_px
    _stroke(image, np.array([wrist, cuff]), 2 * WRIST_HALF_WIDTH * scale_px, SKIN_BGR)
    _stroke(image, np.array([cuff, far]), 0.8 * scale_px, SLEEVE_BGR)


def draw_hand(image: np.ndarray, landmarks: np.ndarray) -> None:
    """Paint a hand into ``image`` in place.

    Args:
        image: BGR uint8 (H, W, 3).
        landmarks: (21, 3) normalised image landmarks (x, y in [0, 1]; z smaller = nearer).
    """
    h, w = image.shape[:2]
    pts = np.asarray(landmarks, float)[:, :2] * (w, h)
    z = np.asarray(landmarks, float)[:, 2]
    scale_px = float(np.hypot(*(pts[9] - pts[0])))
    _forearm(image, pts, scale_px)
    parts: list[tuple[float, int]] = [(float(z[list(PALM)].mean()), -1)]
    parts += [(float(z[list(f)].mean()), i) for i, f in enumerate(FINGERS)]
    order = sorted(parts, key=lambda p: -p[0])  # far first, near last
    for rank, (_, part) in enumerate(order):
        color = _shade(SKIN_BGR, FARTHEST_SHADE + (1 - FARTHEST_SHADE) * rank / (len(order) - 1))
        if part < 0:
            _palm(image, pts, scale_px, color)
        else:
            _stroke(image, pts[list(FINGERS[part])], FINGER_WIDTH[part] * scale_px, color)


def draw_label(image: np.ndarray, text: str) -> None:
    """A small caption in the bottom-left corner."""
    h = image.shape[0]
    scale = max(0.35, h / 900)
    cv2.putText(image, text, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_BGR, 1, cv2.LINE_AA)
