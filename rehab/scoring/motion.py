"""Hand position and speed in hand sizes from image + world landmarks; reach-to-grasp metrics.

World landmarks are centred on the hand, so translation comes from the image. Under weak
perspective the centred image landmarks are a scaled copy of the world ones:
x_img - x_c = kx * X_world, y_img - y_c = ky * Y_world, with kx = f / (W Z), ky = f / (H Z)
(MediaPipe's world axes are aligned with the camera's). Fitting kx, ky per frame gives the depth
Z = FOCAL_WIDTHS / kx (metres; focal length assumed = 0.9 x image width, a typical webcam) and
the lateral position X = (x_c - 0.5) / kx, Y = (y_c - 0.5) / ky, whatever the aspect ratio.
Dividing by the hand size in metres gives position in hand sizes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rehab.scoring.filters import lowpass
from rehab.scoring.opening import aperture
from rehab.scoring.track import HandTrack

FOCAL_WIDTHS = 0.9  # assumed focal length / image width
# Reaching has little above 3 Hz, while the depth estimate (from the fitted scale) is noisy.
POSITION_CUTOFF_HZ = 3.0
EDGE_SAMPLES = 2  # speeds this close to the ends come from filter start-up; copy their neighbour
ONSET_FRACTION = 0.1  # movement starts/ends where speed crosses 10 % of its peak


def hand_position(image: np.ndarray, world: np.ndarray, size_m: float) -> np.ndarray:
    """(M, 3) hand-centre position in hand sizes (camera axes) per frame; NaN where missing."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames (long gaps) stay NaN
        img_c = image[..., :2] - np.nanmean(image[..., :2], axis=-2, keepdims=True)
        wc = world[..., :2] - np.nanmean(world[..., :2], axis=-2, keepdims=True)
        kx = np.sum(img_c[..., 0] * wc[..., 0], axis=-1) / np.sum(wc[..., 0] ** 2, axis=-1)
        ky = np.sum(img_c[..., 1] * wc[..., 1], axis=-1) / np.sum(wc[..., 1] ** 2, axis=-1)
        centre = np.nanmean(image[..., :2], axis=-2)
        pos = np.stack([(centre[..., 0] - 0.5) / kx, (centre[..., 1] - 0.5) / ky,
                        FOCAL_WIDTHS / kx], axis=-1)
    return pos / size_m


def speed(pos: np.ndarray, fs: float) -> np.ndarray:
    """|d pos / dt| by central differences (np.gradient), same units per second."""
    if len(pos) < 2:
        return np.zeros(len(pos))
    return np.linalg.norm(np.gradient(pos, 1.0 / fs, axis=0), axis=-1)


def hand_speed(track: HandTrack) -> np.ndarray:
    """Hand-centre speed in hand sizes / s: position low-passed at 3 Hz, then differentiated;
    the first and last two samples copy their neighbours (filter start-up); gaps stay NaN."""
    pos = lowpass(hand_position(track.image, track.world, track.size_m), track.fs,
                  POSITION_CUTOFF_HZ)
    v = speed(pos, track.fs)
    if len(v) > 2 * EDGE_SAMPLES + 1:
        v[:EDGE_SAMPLES] = v[EDGE_SAMPLES]
        v[-EDGE_SAMPLES:] = v[-EDGE_SAMPLES - 1]
    return v


def movement_bounds(v: np.ndarray, fraction: float = ONSET_FRACTION) -> tuple[int, int] | None:
    """[onset, offset] indices around the speed peak where v >= fraction * peak; None if no motion.

    A gap (NaN) ends the movement like a slow sample: the bounds never span missing data.
    """
    if len(v) == 0 or not np.any(v > 0):
        return None
    peak = int(np.nanargmax(v))
    thr = fraction * v[peak]
    below = ~(v >= thr)
    on = peak
    while on > 0 and not below[on - 1]:
        on -= 1
    off = peak
    while off < len(v) - 1 and not below[off + 1]:
        off += 1
    return on, off


def cut_by_gap(v: np.ndarray, bounds: tuple[int, int]) -> bool:
    """Whether the movement [onset, offset] ends at a gap (NaN) rather than at slow speed."""
    on, off = bounds
    return bool((on > 0 and np.isnan(v[on - 1])) or (off < len(v) - 1 and np.isnan(v[off + 1])))


def reach_metrics(track: HandTrack) -> dict[str, Any]:
    """Reach-to-grasp: movement time, peak speed, time to peak aperture.

    - speed v(t) = |d p / dt| of the hand centre p (hand sizes, see module doc, ``hand_speed``).
    - movement: the run around the speed peak where v >= 10 % of the peak (onset..offset);
      movement_time_s = offset - onset; peak_speed = max v (hand sizes / s).
    - time_to_peak_aperture_s: from onset to the largest thumb-index aperture in the movement;
      also as a percentage of the movement time; peak_aperture in hand sizes.
    - movement_complete: False when the movement runs into a gap in tracking (its timing and
      smoothness are then not measured: None).
    """
    v = hand_speed(track)
    bounds = movement_bounds(v)
    out: dict[str, Any] = {"movement_time_s": None, "peak_speed_hand_sizes_per_s": None,
                              "time_to_peak_aperture_s": None, "time_to_peak_aperture_pct": None,
                              "peak_aperture": None, "movement_complete": None}
    if bounds is None:
        return out
    if cut_by_gap(v, bounds):
        out["movement_complete"] = False
        return out
    on, off = bounds
    ap = aperture(track.world[on:off + 1], track.size_m)
    k = int(np.nanargmax(ap))
    mt = float(track.t[off] - track.t[on])
    out.update(movement_time_s=round(mt, 3), peak_speed_hand_sizes_per_s=round(float(np.nanmax(v)), 3),
               time_to_peak_aperture_s=round(float(track.t[on + k] - track.t[on]), 3),
               time_to_peak_aperture_pct=round(100 * float(track.t[on + k] - track.t[on]) / mt, 1)
               if mt > 0 else None, peak_aperture=round(float(ap[k]), 3), movement_complete=True)
    return out
