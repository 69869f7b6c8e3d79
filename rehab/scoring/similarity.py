"""Similarity of a patient's movement to a demonstration: DTW on shape-normalised movement signals.

Why shape and not absolute values: the same movement seen by different sources (exact synthetic
landmarks, MediaPipe full or lite model, a cartoon or a real hand) gives joint angles that differ
by tens of degrees of constant bias and amplitudes that differ by up to ~40 %, but signals whose
*shape in time* agrees. So each signal is centred and scaled per movement, and only the signals
the demonstration actually moves take part.

Signals (``signals``; a left hand is mirrored to a right one first, so either hand can follow
either demonstration): finger extension |tip_f - wrist| / |middle MCP - wrist| for the 4 fingers
measured in the image (trackers' depth is poor: 3-D fingertips wobble where 2-D ones follow the
movement); thumb-tip to fingertip distances (4) and fingertip spread in 3-D, / hand size h;
and from the image: the direction of wrist -> middle MCP (unit vector, 2 components), palm width
|index MCP - little MCP| / image hand length (turning the hand), palm centre x, y in image hand
lengths, and ln(image hand length / its median) (tilting, or moving in depth).
Both movements are resampled to 15 Hz, low-passed at 4 Hz and cut to their active part (from the
first to the last run of >= 0.2 s where the speed of the 1.5 Hz low-passed signals taking part,
in reference units, exceeds 15 % of its 95th percentile, ignoring the first and last 0.2 s;
the weights below come from a first pass over all signals / MIN_SD).
For each signal k with reference standard deviation s_k (over the active part):
  weight  w_k = s_k / sum_j s_j over the signals with s_k >= 0.15 max_j s_j and s_k >= MIN_SD_k
          (signals the demonstration barely moves are tracker noise once scaled: they drop out);
  reference  r~_k = (r_k - mean r_k) / s_k;
  patient    p~_k = (p_k - mean p_k) / max(sd p_k, 0.4 s_k)
          (centred, so constant tracker bias vanishes; scaled by its own spread, so a source that
          sees a smaller amplitude still matches, but jitter is not blown up to a movement).
Local cost c(i, j) = min(d(r~_i, [p~_{j-1}, p~_j]), d(p~_j, [r~_{i-1}, r~_i])) with
d(x, y) = sqrt(sum_k w_k (x_k - y_k)^2); dynamic time warping whose path may skip up to 15 %
of either movement at each end gives the mean cost c along the path (with the reference also
repeated k = round(patient reps / reference reps) times for rhythmic tasks, the better match
kept). amplitude A = sum_k w_k min(sd p_k / s_k, 1);
  score = 100 / (1 + (c / 0.5)^6) * min(1, A / 0.4).
tempo_ratio = patient active duration / reference active duration (1.5 = 1.5x slower), per
repetition when the reference was repeated.

Measured (shipped rendered clips tracked by MediaPipe, scored against the exact landmarks they
were drawn from): open_close, finger_tap, opposition and reach_grasp score 92-100 against their
own reference with the full and the lite model, <= 23 against another task's. The real fixture
clips tracked with one model score 98-100 against a reference tracked with the other (the
former absolute-feature version: 43-48). The rendered wrist_flex clip scores only 72 (full) and
17-45 (lite): the flat cartoon does not show which way the hand tips, and the trackers guess.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab.scoring.filters import lowpass, resample, runs
from rehab.scoring.opening import fingertip_distances, hand_size_m, spread
from rehab.scoring.reference import Reference
from rehab.scoring.track import HandTrack

DTW_FS = 15.0
ACTIVE_FRACTION = 0.15
COST_AT_50 = 0.5  # DTW cost scored 50
STEEPNESS = 6.0  # how sharply the score falls around it (see ``score_from_cost``)
MAX_DTW_LEN = 400  # samples per sequence (27 s at 15 Hz); longer ones are resampled
FEATURE_CUTOFF_HZ = 4.0  # signals are low-passed (tracker noise) before matching
ACTIVE_CUTOFF_HZ = 1.5  # and more for finding where the movement starts and ends
MIN_ACTIVE_S = 0.2  # shorter bursts of signal speed are noise, not movement
EDGE_S = 0.2  # speed this close to either end is filter edge effect or tracker settling
MAX_GAP_S = 1.0  # longer gaps without the hand split the movement (the rest is matched as one)
WEIGHT_FRACTION = 0.15  # signals moving less than this fraction of the busiest one drop out
END_SLACK = 0.15  # DTW may skip this fraction of either movement at each end
AMPLITUDE_FLOOR = 0.4  # patient signals are scaled by at least this fraction of the reference's
WRIST, MIDDLE_MCP = 0, 9
FINGER_TIPS = (8, 12, 16, 20)
PALM = (0, 5, 9, 13, 17)
SIGNAL_NAMES = (
    "extension_index", "extension_middle", "extension_ring", "extension_little",
    "thumb_index", "thumb_middle", "thumb_ring", "thumb_little", "spread",
    "direction_x", "direction_y", "palm_width", "position_x", "position_y", "log_size",
)
# Smallest reference standard deviation that counts as movement, per signal (same order): about
# three times the low-passed jitter of a still hand.
MIN_SD = np.array([0.02] * 12 + [0.05, 0.05, 0.02])


def signals(world: np.ndarray, image: np.ndarray, hand: str) -> np.ndarray:
    """(M, 15) movement signals (see module doc) from world and image landmarks (M, 21, 3).

    A left hand is mirrored (x -> -x) first so its signals equal those of the right hand it
    mirrors. NaN rows stay NaN.
    """
    w = np.array(world, float)
    img = np.array(image, float)[..., :2]
    if hand == "left":
        w[..., 0] = -w[..., 0]
        img[..., 0] = 1.0 - img[..., 0]
    size_m = hand_size_m(w)
    axis = img[:, MIDDLE_MCP] - img[:, WRIST]
    length = np.maximum(np.linalg.norm(axis, axis=-1), 1e-9)
    ok = ~np.isnan(length)
    median_length = max(float(np.median(length[ok])) if ok.any() else 1.0, 1e-6)
    # Finger extension from the 2-D image: trackers estimate depth poorly, so 3-D fingertip
    # positions wobble (measured: r = 0.3-0.6 against ground truth on a reach) where the
    # image-plane ones follow it (r > 0.9). Thumb-tip distances are reliable in 3-D.
    extension = np.linalg.norm(img[:, FINGER_TIPS] - img[:, WRIST:WRIST + 1], axis=-1)
    return np.concatenate([
        extension / length[:, None], fingertip_distances(w, size_m), spread(w, size_m)[:, None],
        axis / length[:, None], (np.linalg.norm(img[:, 5] - img[:, 17], axis=-1) / length)[:, None],
        img[:, PALM].mean(axis=1) / median_length, np.log(length / median_length)[:, None],
    ], axis=-1)


def active_span(t: np.ndarray, f: np.ndarray) -> tuple[int, int]:
    """[first, last] index of the movement: runs of >= 0.2 s where the signal speed |df/dt|
    (1.5 Hz low-passed, ignoring the first and last 0.2 s) exceeds 15 % of its 95th
    percentile; everything when nothing moves."""
    if len(f) < 3:
        return 0, max(len(f) - 1, 0)
    v = np.nan_to_num(np.linalg.norm(np.gradient(lowpass(f, DTW_FS, ACTIVE_CUTOFF_HZ), t, axis=0),
                                     axis=-1))
    edge = int(round(EDGE_S * DTW_FS))
    v[:edge] = v[len(v) - edge:] = 0.0  # filter edges and a tracker settling on the hand
    thr = ACTIVE_FRACTION * np.percentile(v, 95)
    min_len = max(2, int(round(MIN_ACTIVE_S * DTW_FS)))
    moving = [(a, b) for a, b in runs(v > thr) if b - a >= min_len] if thr > 0 else []
    if not moving:
        return 0, len(f) - 1
    return moving[0][0], moving[-1][1] - 1


def segment_cost(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Local cost c(i, j) = min(d(a_i, [b_{j-1}, b_j]), d(b_j, [a_{i-1}, a_i])), with the
    weighted distance d(x, y) = sqrt(sum_k w_k (x_k - y_k)^2).

    Distances to the segment between neighbouring samples rather than to the samples, so a
    slower copy of a movement (whose samples fall between the other's) costs almost nothing.
    """
    scale = np.sqrt(weights)
    a, b = a * scale, b * scale

    def to_segments(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        q0 = np.concatenate([q[:1], q[:-1]])
        seg = q - q0
        rel = p[:, None, :] - q0[None, :, :]
        u = np.clip(np.sum(rel * seg, axis=-1) / np.maximum(np.sum(seg ** 2, axis=-1), 1e-12), 0, 1)
        return np.linalg.norm(rel - u[..., None] * seg, axis=-1)

    return np.minimum(to_segments(a, b), to_segments(b, a).T)


def dtw_cost(cost: np.ndarray, slack: float = END_SLACK) -> float:
    """Mean local cost along the optimal DTW path through a cost matrix (n, m).

    D[i, j] = c(i, j) + min(D[i-1, j-1], D[i-1, j], D[i, j-1]) (ties go to the first); the
    path length is tracked alongside so the mean is D / length. The path may start anywhere in
    the first ``slack`` of either sequence and end anywhere in its last ``slack`` (D[0, j] =
    D[i, 0] = 0 there): a tracker settling on the hand, or the edges of the active part found a
    little early or late, are not a different movement. O(n m) time and memory; the cells of
    one anti-diagonal i + j = d depend only on the two diagonals before it, so each diagonal is
    one vectorised step (n + m numpy steps instead of n m Python ones).
    """
    n, m = cost.shape
    sn, sm = int(slack * n), int(slack * m)
    acc = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1))
    acc[0, :sm + 1] = 0.0
    acc[:sn + 1, 0] = 0.0
    for d in range(2, n + m + 1):
        i = np.arange(max(1, d - m), min(n, d - 1) + 1)
        j = d - i
        best, length = acc[i - 1, j - 1], steps[i - 1, j - 1]
        for di, dj in ((1, 0), (0, 1)):  # from above, then from the left: strictly better wins
            other = acc[i - di, j - dj]
            better = other < best
            best = np.where(better, other, best)
            length = np.where(better, steps[i - di, j - dj], length)
        acc[i, j] = cost[i - 1, j - 1] + best
        steps[i, j] = length + 1
    last_row = np.arange(m - sm, m + 1)
    last_col = np.arange(n - sn, n)
    end_acc = np.concatenate([acc[n, last_row], acc[last_col, m]])
    end_len = np.concatenate([steps[n, last_row], steps[last_col, m]])
    reached = end_len > 0
    return float(np.min(end_acc[reached] / end_len[reached]))


def _uniform_signals(t: np.ndarray, world: np.ndarray, image: np.ndarray,
                     hand: str) -> tuple[np.ndarray, np.ndarray]:
    both = np.concatenate([world, image], axis=1)
    tu, bu = resample(t, both, DTW_FS, max_gap_s=MAX_GAP_S)
    if len(tu) == 0:
        return tu, np.zeros((0, len(SIGNAL_NAMES)))
    f = signals(bu[:, :21], bu[:, 21:], hand)
    ok = ~np.isnan(f).any(axis=1)
    return tu[ok], lowpass(f[ok], DTW_FS, FEATURE_CUTOFF_HZ)


def reference_weights(sd: np.ndarray) -> np.ndarray:
    """w_k = s_k / sum s_j over the signals that move (see module doc); zeros when none does."""
    moving = (sd >= MIN_SD) & (sd >= WEIGHT_FRACTION * np.max(sd))
    w = np.where(moving, sd, 0.0)
    total = float(w.sum())
    return w / total if total > 0 else w


def score_from_cost(cost: float) -> float:
    """score = 100 / (1 + (c / 0.5)^6), one decimal.

    Measured (module doc, tests/test_similarity_calibration.py): the same movement seen by
    another tracker costs 0.1-0.4 (score 86-100), a different movement 0.55-1.0 (score <= 36),
    so the score falls steeply between them.
    """
    return round(100.0 / (1.0 + (max(cost, 0.0) / COST_AT_50) ** STEEPNESS), 1)


def no_similarity(reason: str) -> dict[str, Any]:
    """The similarity dict when nothing could be compared (same keys, None values, ``error``)."""
    return {"score": None, "tempo_ratio": None, "reference_duration_s": None,
            "patient_duration_s": None, "dtw_cost": None, "amplitude_ratio": None,
            "reference_repeats": None,
            "error": reason}


def _shorten(f: np.ndarray, max_len: int = MAX_DTW_LEN) -> np.ndarray:
    """At most ``max_len`` samples (bounds DTW time on long trials): low-passed below the new
    Nyquist frequency, then resampled at evenly spaced times (striding would alias)."""
    if len(f) <= max_len:
        return f
    new_fs = DTW_FS * (max_len - 1) / (len(f) - 1)
    smooth = lowpass(f, DTW_FS, min(FEATURE_CUTOFF_HZ, 0.8 * new_fs / 2.0))
    where = np.linspace(0.0, len(f) - 1.0, max_len)
    return np.stack([np.interp(where, np.arange(len(f)), col) for col in smooth.T], axis=1)


def _match(ref_z: np.ndarray, pat_z: np.ndarray, weights: np.ndarray,
           candidates: set[int]) -> tuple[float, int]:
    """(cost, k): DTW of the patient against the reference repeated k times for each k in
    ``candidates``, the best k kept."""
    used = weights > 0
    pat = _shorten(pat_z[:, used])
    return min((dtw_cost(segment_cost(_shorten(np.tile(ref_z[:, used], (k, 1))), pat,
                                      weights[used])), k) for k in sorted(candidates))


def _active_parts(tr: np.ndarray, fr: np.ndarray, tp: np.ndarray, fp: np.ndarray
                  ) -> tuple[tuple[int, int], tuple[int, int], np.ndarray] | None:
    """(reference span, patient span, weights), or None when the demonstration does not move.

    Both spans are found in the signals the demonstration moves, in its units: jitter in
    signals that take no part must not stretch them, and the same data gives the same span
    whichever side it is on. The weights come from a first pass over all signals / MIN_SD.
    """
    r0, r1 = active_span(tr, fr / MIN_SD)
    sd_ref = fr[r0:r1 + 1].std(axis=0)
    weights = reference_weights(sd_ref)
    if not weights.any():
        return None
    scale = np.sqrt(weights) / np.where(sd_ref > 0, sd_ref, 1.0)
    return active_span(tr, fr * scale), active_span(tp, fp * scale), weights


def similarity(track: HandTrack, reference: Reference,
               repetitions: tuple[int, int] | None = None, hand: str = "right") -> dict[str, Any]:
    """Compare ``track`` (of anatomical ``hand``) with ``reference``; see the module doc.

    Args:
        repetitions: (patient, reference) repetition counts of a rhythmic task. When both are
            >= 1, the reference's active part is also tried repeated k = round(patient /
            reference) times (a patient doing 9 cycles after a 3-cycle demonstration is matched
            against it 3 times); the better match is kept (counts on tracked data can be off).
        hand: the side ``track`` shows ("left" or "right"); a left hand is mirrored.

    Returns:
        {"score": 0-100, "tempo_ratio" (patient / reference active duration, per
        repetition), "reference_duration_s", "patient_duration_s" (active parts),
        "dtw_cost", "amplitude_ratio", "reference_repeats"}; score None with an "error"
        when either movement is too short.
    """
    present = reference.present[:, None, None]
    tr, fr = _uniform_signals(reference.t, np.where(present, reference.world, np.nan),
                              np.where(present, reference.image, np.nan), reference.hand)
    tp, fp = _uniform_signals(track.t, track.world, track.image, hand)
    if len(fr) < 3 or len(fp) < 3:
        return no_similarity("too little movement data to compare")
    parts = _active_parts(tr, fr, tp, fp)
    if parts is None:
        return no_similarity("the demonstration does not move")
    (r0, r1), (p0, p1), weights = parts
    ref, pat = fr[r0:r1 + 1], fp[p0:p1 + 1]
    sd_ref, sd_pat = ref.std(axis=0), pat.std(axis=0)
    safe = np.where(sd_ref > 0, sd_ref, 1.0)
    amplitude = float(np.sum(weights * np.minimum(sd_pat / safe, 1.0)))
    counted = None
    if repetitions is not None and min(repetitions) >= 1:
        counted = max(1, round(repetitions[0] / repetitions[1]))
    ref_z = (ref - ref.mean(axis=0)) / safe
    pat_z = (pat - pat.mean(axis=0)) / np.maximum(sd_pat, AMPLITUDE_FLOOR * safe)
    cost, repeats = _match(ref_z, pat_z, weights, {1, counted or 1})
    # per repetition from the counts when the reference was repeated to match them
    per_rep = (repetitions[1] / repetitions[0]
               if repetitions is not None and repeats == counted and repeats > 1 else 1.0)
    ref_s, pat_s = float(tr[r1] - tr[r0]), float(tp[p1] - tp[p0])
    return {"score": round(score_from_cost(cost) * min(1.0, amplitude / AMPLITUDE_FLOOR), 1),
            "tempo_ratio": round(per_rep * pat_s / ref_s, 3) if ref_s > 0 else None,
            "reference_duration_s": round(ref_s, 3), "patient_duration_s": round(pat_s, 3),
            "dtw_cost": round(cost, 4), "amplitude_ratio": round(amplitude, 3),
            "reference_repeats": repeats}
