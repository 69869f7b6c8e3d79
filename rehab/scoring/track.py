"""One hand's landmark trajectory from tracker frames: picked, resampled to uniform time, low-passed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.errors import ScoringError
from rehab.scoring.filters import DEFAULT_CUTOFF_HZ, MAX_GAP_S, lowpass, resample
from rehab.scoring.opening import hand_size_m


@dataclass
class HandTrack:
    """Uniformly sampled trajectory of one hand.

    Attributes:
        t: (M,) seconds, uniform at ``fs``, from the first to the last frame with the hand.
        fs: sampling rate, Hz (the source's median frame rate).
        world: (M, 21, 3) low-passed world landmarks, metres (NaN inside long gaps).
        image: (M, 21, 3) low-passed normalised image landmarks.
        raw_world: (M, 21, 3) resampled but unfiltered world landmarks (for jitter).
        size_m: hand size (wrist to middle MCP), metres.
        frames: number of frames given.
        tracked: number of those frames with this hand.
    """

    t: np.ndarray
    fs: float
    world: np.ndarray
    image: np.ndarray
    raw_world: np.ndarray
    size_m: float
    frames: int
    tracked: int

    @property
    def tracked_fraction(self) -> float:
        return self.tracked / self.frames if self.frames else 0.0

    @property
    def valid(self) -> np.ndarray:
        """(M,) True where landmarks exist (not inside a long gap)."""
        return ~np.isnan(self.world[:, 0, 0])


def frame_rate(frames: Sequence[TrackedFrame]) -> float:
    """Median frame rate of the frames' timestamps (30 when it cannot be told)."""
    t = np.array([f.t for f in frames], float)
    steps = np.diff(t)
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else 30.0


def pick_hand(frames: Sequence[TrackedFrame], hand: str) -> str:
    """``hand`` itself, or for "auto" the side seen in the most frames (right on a tie)."""
    if hand in ("left", "right"):
        return hand
    if hand != "auto":
        raise ScoringError(f"unknown hand {hand!r}", hint="use left, right or auto")
    counts = {s: sum(f.hand(s) is not None for f in frames) for s in ("right", "left")}
    return "left" if counts["left"] > counts["right"] else "right"


def hand_track(frames: Sequence[TrackedFrame], hand: str, fs: float | None = None,
               cutoff_hz: float = DEFAULT_CUTOFF_HZ, max_gap_s: float = MAX_GAP_S) -> HandTrack:
    """Trajectory of anatomical ``hand``; ScoringError when it is in fewer than 2 frames."""
    n = len(frames)
    t = np.array([f.t for f in frames], float)
    world = np.full((n, 21, 3), np.nan)
    image = np.full((n, 21, 3), np.nan)
    tracked = 0
    for i, f in enumerate(frames):
        obs = f.hand(hand)
        if obs is not None:
            world[i], image[i] = obs.world, obs.image
            tracked += 1
    if tracked < 2:
        raise ScoringError(f"the {hand} hand was seen in {tracked} of {n} frames; nothing to score",
                           hint="check the camera shows the hand and the trial's hand side")
    rate = fs or frame_rate(frames)
    tu, wu = resample(t, world, rate, max_gap_s)
    _, iu = resample(t, image, rate, max_gap_s)
    if len(tu) < 3:
        raise ScoringError(f"the {hand} hand's frames span {len(tu)} sample(s) in time; "
                           "nothing to score", hint="frame timestamps must increase")
    return HandTrack(t=tu, fs=rate, world=lowpass(wu, rate, cutoff_hz),
                     image=lowpass(iu, rate, cutoff_hz), raw_world=wu,
                     size_m=hand_size_m(world), frames=n, tracked=tracked)
