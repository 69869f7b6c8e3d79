"""MediaPipe hand tracking: frames in, anatomical hand observations out (the only mediapipe user).

``MediaPipeTracker`` wraps the Tasks-API HandLandmarker in VIDEO mode. ``AsyncTracker`` runs a
tracker on a worker thread so a display loop never waits for inference, and
``track_pipelined`` overlaps decoding and inference when a whole file is scored.

Handedness: see ``RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED`` below; ``track`` always reports the
person's own left/right hand.

Example:
    >>> tracker = MediaPipeTracker("lite")                         # doctest: +SKIP
    >>> tracked = tracker.track(Frame(image_bgr, captured_at=0.0))  # doctest: +SKIP
    >>> tracked.hand("right")                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rehab.devices.async_tracking import AsyncTracker, track_pipelined
from rehab.devices.base import (
    Frame,
    HandObservation,
    HandTracker,
    Side,
    TrackedFrame,
    other_side,
)
from rehab.devices.handmodel import ensure_hand_model
from rehab.errors import TrackerError

__all__ = [
    "AsyncTracker",
    "MediaPipeTracker",
    "HandednessSmoother",
    "RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED",
    "anatomical_side",
    "ensure_hand_model",
    "track_pipelined",
    "track_video",
]

# The ONE handedness convention. With the bundle built from the wheel's tflite files
# (handmodel.py) the Tasks API labels the hand in an *unmirrored* camera frame with the person's
# own side ("Right" for a right hand: 202/202 frames of hand_reach_open.mp4), and with the
# opposite side when the frame was flipped for display. (The legacy mp.solutions.hands graph
# does the reverse: it assumes a selfie image.) tests/test_tracker.py checks this on real footage.
RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED = True


def anatomical_side(raw_label: str, flipped: bool) -> Side:
    """The person's side for MediaPipe's ``raw_label`` on a frame that was (not) mirrored."""
    side = raw_label.strip().lower()
    if side not in ("left", "right"):
        raise TrackerError(f"MediaPipe returned an unknown handedness label {raw_label!r}")
    mirrored_view = flipped != (not RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED)
    return other_side(side) if mirrored_view else side


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's C++ start-up chatter (GPU/EGL, XNNPACK, feedback-tensor warnings),
    which is written straight to file descriptor 2 and would bury our own messages."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no real fd 2 (e.g. captured by a test runner): nothing to silence
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _as_array(landmarks, mirror_x: bool, world: bool) -> np.ndarray:
    arr = np.array([(p.x, p.y, p.z) for p in landmarks], dtype=np.float64)
    if mirror_x:
        # Map back to the unmirrored frame: image x -> 1 - x; world x (metres) -> -x.
        arr[:, 0] = -arr[:, 0] if world else 1.0 - arr[:, 0]
    return arr


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


class MediaPipeTracker:
    """HandTracker backed by MediaPipe's HandLandmarker (Tasks API, VIDEO running mode).

    Args:
        variant: "full" or "lite" hand-landmark model (``model`` is accepted as an alias).
        model_path: a ready ``.task`` bundle; default: built from the mediapipe wheel.
        num_hands: most hands to report (1 or 2).
        min_confidence: detection, presence and tracking thresholds (MediaPipe's default 0.5).
        flipped: the frames given to ``track`` are mirrored for display. Sides stay anatomical
            and landmarks are mapped back to unmirrored coordinates (x -> 1 - x).
        smooth_handedness: decide each followed hand's side from all its frames
            (``HandednessSmoother``) instead of frame by frame.

    Raises:
        TrackerError: no model or MediaPipe failed to start.
    """

    def __init__(
        self,
        variant: str = "full",
        model_path: str | os.PathLike | None = None,
        num_hands: int = 2,
        min_confidence: float = 0.5,
        flipped: bool = False,
        smooth_handedness: bool = True,
        *,
        model: str | None = None,
    ) -> None:
        if num_hands not in (1, 2):
            raise TrackerError(f"num_hands must be 1 or 2, not {num_hands}")
        self.variant = model or variant
        self.model_path: Path = ensure_hand_model(self.variant, model_path)
        self.num_hands = num_hands
        self.flipped = flipped
        self._smoother = HandednessSmoother() if smooth_handedness else None
        self._last_ts_ms = -1
        self._warm = False
        self._landmarker = self._create(min_confidence)

    def _create(self, min_confidence: float):
        try:
            with _quiet_native_stderr():
                from mediapipe.tasks.python import BaseOptions, vision

                options = vision.HandLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(self.model_path)),
                    running_mode=vision.RunningMode.VIDEO,
                    num_hands=self.num_hands,
                    min_hand_detection_confidence=min_confidence,
                    min_hand_presence_confidence=min_confidence,
                    min_tracking_confidence=min_confidence,
                )
                return vision.HandLandmarker.create_from_options(options)
        except (ImportError, RuntimeError, ValueError) as exc:
            raise TrackerError(
                f"MediaPipe could not start the hand tracker with {self.model_path}: {exc}",
                hint="check that mediapipe 0.10.21 is installed (rehab doctor) or try --model lite",
            ) from exc

    def _timestamp_ms(self, captured_at: float) -> int:
        # VIDEO mode rejects a timestamp that is not strictly greater than the previous one;
        # two frames within the same millisecond (or a clock hiccup) must not crash a trial.
        ts_ms = max(int(round(captured_at * 1000.0)), self._last_ts_ms + 1)
        self._last_ts_ms = ts_ms
        return ts_ms

    def track(self, frame: Frame) -> TrackedFrame:
        """Hands in ``frame`` with anatomical sides (see ``flipped``)."""
        if self._landmarker is None:
            raise TrackerError("the hand tracker is closed")
        import cv2
        import mediapipe as mp

        # OpenCV BGR -> MediaPipe SRGB; cvtColor is ~50x faster than a numpy channel flip copy.
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        ts_ms = self._timestamp_ms(frame.captured_at)
        try:
            if self._warm:
                result = self._landmarker.detect_for_video(image, ts_ms)
            else:  # the first call logs more native warnings
                with _quiet_native_stderr():
                    result = self._landmarker.detect_for_video(image, ts_ms)
                self._warm = True
        except (RuntimeError, ValueError) as exc:
            raise TrackerError(f"hand tracking failed on frame {frame.index}: {exc}") from exc
        return self._to_tracked(frame, result)

    def _to_tracked(self, frame: Frame, result) -> TrackedFrame:
        hands = []
        for labels, image_lms, world_lms in zip(
            result.handedness, result.hand_landmarks, result.hand_world_landmarks, strict=False
        ):
            top = labels[0]
            hands.append(
                HandObservation(
                    t=frame.captured_at,
                    hand=anatomical_side(top.category_name, self.flipped),
                    confidence=float(top.score),
                    image=_as_array(image_lms, self.flipped, world=False),
                    world=_as_array(world_lms, self.flipped, world=True),
                    frame_index=frame.index,
                )
            )
        if self._smoother is not None:
            resolved = self._smoother.update(frame.captured_at, hands)
        else:
            resolved = HandednessSmoother._assign_sides(
                hands, [_Track(np.zeros(2), _log_odds_right(h), 0.0) for h in hands]
            )
        return TrackedFrame(t=frame.captured_at, frame_index=frame.index, hands=resolved)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> MediaPipeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track_video(
    path: str | os.PathLike,
    tracker: HandTracker | None = None,
    variant: str = "full",
    model_path: str | os.PathLike | None = None,
) -> list[TrackedFrame]:
    """Track every frame of a video file in order (decoding overlapped with inference).

    Frame times are ``index / fps`` of the file, exactly as a fast ``FileCamera`` gives them.
    ``tracker`` defaults to a new ``MediaPipeTracker(variant, model_path)`` closed afterwards.

    Raises:
        CameraError: the file is missing or not a readable video.
        TrackerError: the hand model could not be loaded.
    """
    from rehab.devices.camera import FileCamera, iter_frames

    camera = FileCamera(path, realtime=False, loop=False)
    camera.open()
    own = tracker is None
    try:
        active = tracker if tracker is not None else MediaPipeTracker(variant, model_path)
        try:
            return list(track_pipelined(iter_frames(camera), active))
        finally:
            if own:
                active.close()
    finally:
        camera.close()
