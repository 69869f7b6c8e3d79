"""Mirror-consistent per-frame hand signals from image-plane landmarks, with a reliability flag.

Why the image plane: MediaPipe's depth estimates (image z and world z) change when the same
frame is mirrored, so distances and joint angles computed from them change the repetition
count between a video and its flipped copy. Image x, y do not: a horizontal flip maps x to
1 - x, which leaves every 2-D distance and unsigned angle as it was. Signed quantities (the
palm polygon's orientation) flip sign, and so does the handedness, so sign x handedness is
invariant too.

Units. Normalised image landmarks measure x in image widths and y in image heights. Distances
are taken in the plane ``(x * aspect, y)`` (image heights, aspect = width / height) and divided
by the hand size measured in the same plane, so the signals are in *hand sizes*. The frame
size is not part of a ``TrackedFrame``; the aspect is recovered from the landmarks themselves:
under weak perspective the centred image landmarks are a scaled copy of the (camera-aligned)
world ones, x_img = kx X, y_img = ky Y with ky / kx = width / height. The estimate (median over
the hand's first 15 frames: 1.64-1.82 on the 16:9 shared fixtures, a frame and its mirror
alike) is snapped to the nearest common camera aspect within 8 %.

Hand size: per frame, the longest of wrist -> index, middle and little MCP (the metacarpals do
not bend when the fingers move, and the longest one survives foreshortening about one axis).

Reliability: a frame can make no event when the hand is edge-on (palm polygon area below
``EDGE_ON_AREA`` hand sizes squared, palm or back facing alike) or when the hand size is under
``MIN_SIZE`` of the frame height (too small to measure). ``HandObservation.confidence`` is not
used: it is MediaPipe's handedness score (the tracker already drops hands it is unsure are
there), and it differs between a frame and its mirror.
"""

from __future__ import annotations

import numpy as np

WRIST, THUMB_TIP, INDEX_TIP = 0, 4, 8
SIZE_MCPS = (5, 9, 17)
PALM = (0, 5, 9, 13, 17)  # wrist and the four finger MCPs, in order around the palm
FINGER_TIPS = (8, 12, 16, 20)
FINGER_PIPS = (6, 10, 14, 18)
COMMON_ASPECTS = (16 / 9, 4 / 3, 1.0, 9 / 16, 3 / 4)  # webcam and phone frames
SNAP_TOLERANCE = 0.08
ASPECT_FRAMES = 15  # the aspect is the median over the hand's first 15 frames, then fixed
EDGE_ON_AREA = 0.05  # palm (or back) facing: about 0.30; within about 10 deg of edge-on: < 0.05
MIN_SIZE = 0.02  # of the frame height: 14 pixels in a 720-pixel frame
CURLED_REACH = 0.76  # image-plane tip-to-wrist / PIP-to-wrist: fists 0.58-0.72, pinches 0.8-1.1


def frame_aspect(image: np.ndarray, world: np.ndarray) -> float:
    """Width / height of the frame from one observation (weak-perspective fit); NaN if flat."""
    ic = image[:, :2] - image[:, :2].mean(axis=0)
    wc = world[:, :2] - world[:, :2].mean(axis=0)
    den = np.sum(wc ** 2, axis=0)
    if np.any(den <= 0):
        return float("nan")
    kx, ky = np.sum(ic * wc, axis=0) / den
    return float(ky / kx) if kx > 0 and ky > 0 else float("nan")


def snap_aspect(estimates: list[float]) -> float:
    """Median of the estimates, snapped to the nearest common aspect within 8 % (16/9 if none)."""
    v = np.array([e for e in estimates if np.isfinite(e)])
    if len(v) == 0:
        return 16 / 9
    est = float(np.median(v))
    best = min(COMMON_ASPECTS, key=lambda a: abs(np.log(est / a)))
    return best if abs(est / best - 1) <= SNAP_TOLERANCE else est


def plane(image: np.ndarray, aspect: float) -> np.ndarray:
    """(..., 21, 2) landmarks in image heights: (x * aspect, y)."""
    p = np.asarray(image, float)[..., :2].copy()
    p[..., 0] *= aspect
    return p


def _dist(p: np.ndarray, i: int | tuple[int, ...], j: int | tuple[int, ...]) -> np.ndarray:
    return np.linalg.norm(p[..., i, :] - p[..., j, :], axis=-1)


def hand_size(p: np.ndarray) -> np.ndarray:
    """Per frame: the longest wrist -> index / middle / little MCP distance (image heights)."""
    return _dist(p, SIZE_MCPS, (WRIST,) * len(SIZE_MCPS)).max(axis=-1)


def aperture(p: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """Thumb tip to index tip / hand size."""
    return _dist(p, THUMB_TIP, INDEX_TIP) / size


def extension(p: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """Median over the four fingers of fingertip-to-wrist distance / hand size.

    About 1.8 for an open hand, about 0.6-0.9 in a fist. The median makes the hand closed only
    when most fingers curl: one flexed finger or a pinch is not a fist, pointing is.
    """
    return np.median(_dist(p, FINGER_TIPS, (WRIST,) * 4), axis=-1) / size


def fingertip_distances(p: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """Thumb tip to each finger tip (index..little) / hand size, shape (..., 4)."""
    return _dist(p, FINGER_TIPS, (THUMB_TIP,) * 4) / np.asarray(size)[..., None]


def opposition_distances(p: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """``fingertip_distances`` with curled fingers (tip nearer the wrist than 0.76 x its PIP) = inf."""
    d = fingertip_distances(p, size)
    reach = _dist(p, FINGER_TIPS, (WRIST,) * 4) / _dist(p, FINGER_PIPS, (WRIST,) * 4)
    with np.errstate(invalid="ignore"):
        return np.where(reach < CURLED_REACH, np.inf, d)


def palm_area(p: np.ndarray, size: np.ndarray | float, hand: str) -> np.ndarray:
    """Signed palm polygon area / size^2, positive when the palm faces the camera.

    The shoelace area of wrist and finger MCPs changes sign under a mirror, and so does the
    hand's side: area * (+1 right, -1 left) is mirror-invariant. For an unmirrored camera a
    right palm facing it has its thumb on the image right, which is a clockwise polygon in
    image coordinates (y down) and a negative shoelace sum here.
    """
    q = p[..., PALM, :]
    x, y = q[..., 0], q[..., 1]
    area = 0.5 * np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1)
    sign = -1.0 if hand == "right" else 1.0
    return sign * area / np.asarray(size) ** 2


def reliable(area: float, size: float) -> bool:
    """Whether a frame may create an event (see the module doc)."""
    return abs(area) >= EDGE_ON_AREA and size >= MIN_SIZE
