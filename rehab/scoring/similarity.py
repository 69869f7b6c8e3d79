"""Similarity of a patient's movement to a demonstration: DTW on normalised hand-shape features.

Features per sample (mirror-invariant, so a left hand can follow a right-hand demonstration):
the 14 joint flexion angles / 30 deg, and thumb-index aperture, finger extension, fingertip
spread and the four thumb-fingertip distances, each / 0.2 hand sizes (fixed units rather than
z-scores, so a small movement is not blown up to look like a full one). Both movements are
resampled to 15 Hz, low-passed at 4 Hz, and cut to their *active* part: from the first to the
last run of >= 0.2 s where the 1.5 Hz low-passed feature speed exceeds 15 % of its 95th
percentile (rests before and after do not count). Dynamic time warping with the Euclidean point-to-segment cost / sqrt(n features) gives the mean cost c along the optimal path; score = 100 * exp(-c / SCORE_SCALE).
tempo_ratio = patient active duration / reference active duration (1.5 = 1.5x slower), per
repetition for rhythmic tasks (see ``similarity``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab.scoring.angles import joint_angles
from rehab.scoring.filters import lowpass, resample, runs
from rehab.scoring.opening import aperture, extension, fingertip_distances, hand_size_m, spread
from rehab.scoring.reference import Reference
from rehab.scoring.track import HandTrack

DTW_FS = 15.0
ACTIVE_FRACTION = 0.15
SCORE_SCALE = 0.5
MAX_DTW_LEN = 400  # samples per sequence (27 s at 15 Hz); longer ones are thinned
FEATURE_CUTOFF_HZ = 4.0  # features are low-passed (tracker noise) before matching
ACTIVE_CUTOFF_HZ = 1.5  # and more for finding where the movement starts and ends
MIN_ACTIVE_S = 0.2  # shorter bursts of feature speed are noise, not movement
ANGLE_UNIT_DEG = 30.0
DISTANCE_UNIT = 0.2  # hand sizes


def features(world: np.ndarray, size_m: float) -> np.ndarray:
    """(M, 22) feature matrix (see module doc) from world landmarks (M, 21, 3)."""
    ang = np.stack(list(joint_angles(world).values()), axis=-1) / ANGLE_UNIT_DEG
    dist = np.concatenate([aperture(world, size_m)[:, None], extension(world, size_m)[:, None],
                           spread(world, size_m)[:, None], fingertip_distances(world, size_m)],
                          axis=-1) / DISTANCE_UNIT
    return np.concatenate([ang, dist], axis=-1)


def active_span(t: np.ndarray, f: np.ndarray) -> tuple[int, int]:
    """[first, last] index of the movement: runs of >= 0.2 s where the feature speed |df/dt|
    (1.5 Hz low-passed) exceeds 15 % of its 95th percentile; everything when nothing moves."""
    if len(f) < 3:
        return 0, max(len(f) - 1, 0)
    v = np.nan_to_num(np.linalg.norm(np.gradient(lowpass(f, DTW_FS, ACTIVE_CUTOFF_HZ), t, axis=0),
                                     axis=-1))
    thr = ACTIVE_FRACTION * np.percentile(v, 95)
    min_len = max(2, int(round(MIN_ACTIVE_S * DTW_FS)))
    moving = [(a, b) for a, b in runs(v > thr) if b - a >= min_len] if thr > 0 else []
    if not moving:
        return 0, len(f) - 1
    return moving[0][0], moving[-1][1] - 1


def segment_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Local cost c(i, j) = min(dist(a_i, [b_{j-1}, b_j]), dist(b_j, [a_{i-1}, a_i])) / sqrt(d).

    Distances to the segment between neighbouring samples rather than to the samples, so a
    slower copy of a movement (whose samples fall between the other's) costs almost nothing.
    """
    def to_segments(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        q0 = np.concatenate([q[:1], q[:-1]])
        seg = q - q0
        rel = p[:, None, :] - q0[None, :, :]
        u = np.clip(np.sum(rel * seg, axis=-1) / np.maximum(np.sum(seg ** 2, axis=-1), 1e-12), 0, 1)
        return np.linalg.norm(rel - u[..., None] * seg, axis=-1)

    return np.minimum(to_segments(a, b), to_segments(b, a).T) / np.sqrt(a.shape[1])


def dtw_cost(a: np.ndarray, b: np.ndarray) -> float:
    """Mean local cost along the optimal DTW path between sequences a (n, d) and b (m, d).

    D[i, j] = c(i, j) + min(D[i-1, j], D[i, j-1], D[i-1, j-1]) with c from ``segment_cost``;
    the path length is tracked alongside so the mean is D / length. O(n m) time and memory.
    """
    n, m = len(a), len(b)
    cost = segment_cost(a, b)
    acc = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1))
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        row, prev = acc[i], acc[i - 1]
        srow, sprev = steps[i], steps[i - 1]
        crow = cost[i - 1]
        for j in range(1, m + 1):
            best, s = prev[j - 1], sprev[j - 1]
            if prev[j] < best:
                best, s = prev[j], sprev[j]
            if row[j - 1] < best:
                best, s = row[j - 1], srow[j - 1]
            row[j] = crow[j - 1] + best
            srow[j] = s + 1
    return float(acc[n, m] / steps[n, m])


def _uniform_features(t: np.ndarray, world: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    tu, wu = resample(t, world, DTW_FS, max_gap_s=1.0)
    f = features(wu, size_m)
    ok = ~np.isnan(f).any(axis=1)
    return tu[ok], lowpass(f[ok], DTW_FS, FEATURE_CUTOFF_HZ)


def no_similarity(reason: str) -> dict[str, Any]:
    """The similarity dict when nothing could be compared (same keys, None values, ``error``)."""
    return {"score": None, "tempo_ratio": None, "reference_duration_s": None,
            "patient_duration_s": None, "dtw_cost": None, "reference_repeats": None,
            "error": reason}


def _thin(f: np.ndarray, max_len: int = MAX_DTW_LEN) -> np.ndarray:
    """Every k-th sample so at most ``max_len`` remain (bounds DTW time on long trials)."""
    return f[:: int(np.ceil(len(f) / max_len))] if len(f) > max_len else f


def similarity(track: HandTrack, reference: Reference,
               repetitions: tuple[int, int] | None = None) -> dict[str, Any]:
    """Compare ``track`` with ``reference``; see the module doc.

    Args:
        repetitions: (patient, reference) repetition counts of a rhythmic task. When both are
            >= 1, the reference's active part is repeated k = round(patient / reference) times
            before matching (a patient doing 9 cycles after a 3-cycle demonstration is matched
            against it 3 times), and tempo_ratio compares durations per repetition.

    Returns:
        {"score": 0-100, "tempo_ratio", "reference_duration_s", "patient_duration_s",
        "dtw_cost", "reference_repeats"} (values None when either movement is too short).
    """
    ref_world = np.where(reference.present[:, None, None], reference.world, np.nan)
    tr, fr = _uniform_features(reference.t, ref_world, hand_size_m(ref_world))
    tp, fp = _uniform_features(track.t, track.world, track.size_m)
    if len(fr) < 3 or len(fp) < 3:
        return no_similarity("too little movement data to compare")
    r0, r1 = active_span(tr, fr)
    p0, p1 = active_span(tp, fp)
    ref_s, pat_s = float(tr[r1] - tr[r0]), float(tp[p1] - tp[p0])
    repeats, per_rep = 1, 1.0
    if repetitions is not None and min(repetitions) >= 1:
        repeats = max(1, round(repetitions[0] / repetitions[1]))
        per_rep = repetitions[1] / repetitions[0]
    cost = dtw_cost(_thin(np.tile(fr[r0:r1 + 1], (repeats, 1))), _thin(fp[p0:p1 + 1]))
    return {"score": round(100.0 * float(np.exp(-cost / SCORE_SCALE)), 1),
            "tempo_ratio": round(per_rep * pat_s / ref_s, 3) if ref_s > 0 else None,
            "reference_duration_s": round(ref_s, 3), "patient_duration_s": round(pat_s, 3),
            "dtw_cost": round(cost, 4), "reference_repeats": repeats}
