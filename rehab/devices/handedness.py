"""Keeping each followed hand on one anatomical side despite MediaPipe's per-frame label flicker."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rehab.devices.base import HandObservation, other_side


def _log_odds_right(hand: HandObservation) -> float:
    """Evidence that ``hand`` is a right hand: log(p / (1 - p)) of this frame's label."""
    p = min(max(hand.confidence, 0.02), 0.98)  # one frame never decides alone
    log_odds = math.log(p / (1.0 - p))
    return log_odds if hand.hand == "right" else -log_odds


@dataclass
class _Track:
    centroid: np.ndarray  # (2,) mean normalised image xy
    log_odds_right: float
    last_t: float


class HandednessSmoother:
    """One side per continuously tracked hand, from the evidence of all its frames.

    MediaPipe classifies handedness frame by frame and flips it for a few frames when the hand
    changes shape (8 frames of the mirrored hand_reach_open.mp4 while the hand opens). A hand
    cannot change sides while we follow it, so each hand is matched to the previous frame's
    hands by position and its side is the sign of its summed log-odds (capped so that a track
    that started wrong recovers within about a second). When two hands end up on the same
    side, the one with weaker evidence takes the other side; ``confidence`` stays this frame's
    probability of the side reported (1 - p for a relabelled hand).
    """

    def __init__(self, max_gap_s: float = 0.5, max_jump: float = 0.25, cap: float = 30.0):
        self.max_gap_s = max_gap_s
        self.max_jump = max_jump  # normalised image units between consecutive sightings
        self.cap = cap
        self._tracks: list[_Track] = []

    def _match(self, centroids: list[np.ndarray]) -> dict[int, int]:
        pairs = sorted(
            (float(np.linalg.norm(c - tr.centroid)), i, j)
            for i, c in enumerate(centroids)
            for j, tr in enumerate(self._tracks)
        )
        matched: dict[int, int] = {}
        for dist, i, j in pairs:
            if dist <= self.max_jump and i not in matched and j not in matched.values():
                matched[i] = j
        return matched

    def update(self, t: float, hands: list[HandObservation]) -> tuple[HandObservation, ...]:
        self._tracks = [tr for tr in self._tracks if t - tr.last_t <= self.max_gap_s]
        centroids = [h.image[:, :2].mean(axis=0) for h in hands]
        matched = self._match(centroids)
        current: list[_Track] = []
        for i, hand in enumerate(hands):
            evidence = _log_odds_right(hand)
            if i in matched:
                tr = self._tracks[matched[i]]
                total = tr.log_odds_right + evidence
                tr.log_odds_right = max(-self.cap, min(self.cap, total))
                tr.centroid, tr.last_t = centroids[i], t
            else:
                tr = _Track(centroids[i], evidence, t)
            current.append(tr)
        self._tracks = current + [
            tr for j, tr in enumerate(self._tracks) if j not in matched.values()
        ]
        return self._assign_sides(hands, current)

    @staticmethod
    def _assign_sides(hands: list[HandObservation], tracks: list[_Track]):
        sides = ["right" if tr.log_odds_right >= 0 else "left" for tr in tracks]
        if len(hands) == 2 and sides[0] == sides[1]:
            weaker = min((0, 1), key=lambda k: abs(tracks[k].log_odds_right))
            sides[weaker] = other_side(sides[weaker])
        out = []
        for hand, side in zip(hands[:2], sides, strict=False):
            p_side = hand.confidence if hand.hand == side else 1.0 - hand.confidence
            out.append(replace(hand, hand=side, confidence=p_side))
        return tuple(out)


def sides_without_memory(hands: list[HandObservation]) -> tuple[HandObservation, ...]:
    """This frame's labels alone, with two same-side hands separated as the smoother does."""
    tracks = [_Track(np.zeros(2), _log_odds_right(h), 0.0) for h in hands]
    return HandednessSmoother._assign_sides(hands, tracks)
