"""Tracker agreement: how well the hand tracker reads a clip compared with the clip's own reference.

For a rendered clip the reference is exact ground truth, so these figures are the acceptance test
of the renderer: the tracker must find the hand in every frame, call it the hand it is, put its
image landmarks within a few pixels of the truth, and a tracked clip scored against its own
reference must reach a high similarity. For a recorded clip (whose reference came from the same
tracker) the figures show how repeatable the tracking is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rehab.clips.library import ClipInfo
from rehab.devices.base import HandTracker, TrackedFrame
from rehab.tasks import ANY_MOVEMENT, TASKS


@dataclass(frozen=True)
class Agreement:
    """Tracker vs reference on one clip.

    Attributes:
        frames: frames in the clip.
        detected: frames where the tracker found any hand.
        right_side: frames where it found the sidecar's hand (anatomical side).
        median_px / p95_px: per-frame mean distance of the 21 image landmarks to the reference,
            in pixels (median and 95th percentile over frames with both).
        similarity: the tracked clip scored against its own reference (0-100), None if unscored.
    """

    name: str
    hand: str
    frames: int
    detected: int
    right_side: int
    median_px: float | None
    p95_px: float | None
    similarity: float | None

    def line(self) -> str:
        """One line for ``rehab clips check --hands``."""
        err = ("no landmarks to compare" if self.median_px is None else
               f"landmark error median {self.median_px:.1f} px, 95% {self.p95_px:.1f} px")
        sim = "n/a" if self.similarity is None else f"{self.similarity:.1f}"
        return (f"{self.name}: hand found in {self.detected}/{self.frames} frames, "
                f"{self.hand} hand in {self.right_side}/{self.frames}; {err}; "
                f"similarity to its reference {sim}")


def scored_task(task: str) -> str:
    """The scoring task a clip's movement is compared as (``ANY_MOVEMENT`` for movements
    without one)."""
    return task if task in TASKS else ANY_MOVEMENT


def landmark_errors_px(tracked: Sequence[TrackedFrame], reference, hand: str,
                       size: tuple[int, int]) -> np.ndarray:
    """Per-frame mean image distance (px) of ``hand``'s landmarks to the reference, where both."""
    out = []
    for tf in tracked:
        obs = tf.hand(hand)
        i = tf.frame_index
        if obs is None or i >= len(reference.present) or not reference.present[i]:
            continue
        diff = (obs.image[:, :2] - reference.image[i, :, :2]) * size
        out.append(float(np.linalg.norm(diff, axis=1).mean()))
    return np.array(out)


def clip_agreement(info: ClipInfo, tracked: Sequence[TrackedFrame]) -> Agreement:
    """Agreement figures of ``info`` from its tracked frames (every frame of the clip, in order)."""
    from rehab.clips.library import load_reference
    from rehab.errors import ScoringError
    from rehab.scoring.trial import score_trial

    reference = load_reference(info.reference_path) if info.reference_path else None
    size = video_size(info.path)
    errors = (landmark_errors_px(tracked, reference, info.hand, size)
              if reference is not None else np.array([]))
    similarity = None
    if reference is not None:
        try:
            sim = score_trial(tracked, scored_task(info.task), info.hand, reference).similarity
            similarity = None if sim is None else sim.get("score")
        except ScoringError:
            similarity = None
    return Agreement(
        name=info.path.name, hand=info.hand, frames=len(tracked),
        detected=sum(1 for tf in tracked if tf.hands),
        right_side=sum(1 for tf in tracked if tf.hand(info.hand) is not None),
        median_px=round(float(np.median(errors)), 2) if len(errors) else None,
        p95_px=round(float(np.percentile(errors, 95)), 2) if len(errors) else None,
        similarity=similarity)


def video_size(path) -> tuple[int, int]:
    """(width, height) of a video file."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()


def track_clip(info: ClipInfo, tracker: HandTracker | None = None,
               variant: str = "lite") -> list[TrackedFrame]:
    """Every frame of the clip through the tracker (a new MediaPipe one unless given)."""
    from rehab.devices.tracker import track_video

    return track_video(info.path, tracker=tracker, variant=variant)
