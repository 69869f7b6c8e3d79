"""MediaPipe hand tracking: frames in, anatomical hand observations out (the only mediapipe user).

``MediaPipeTracker`` wraps the Tasks-API HandLandmarker in VIDEO mode (a one-hand landmarker
follows a lone hand, see ``ScanSchedule``). ``AsyncTracker`` runs a
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

import os
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
from rehab.devices.handedness import HandednessSmoother, sides_without_memory
from rehab.devices.handmodel import ensure_hand_model
from rehab.devices.quiet import quiet_native_stderr
from rehab.errors import TrackerError

__all__ = [
    "AsyncTracker",
    "MediaPipeTracker",
    "HandednessSmoother",
    "RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED",
    "ScanSchedule",
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


def _as_array(landmarks, mirror_x: bool, world: bool) -> np.ndarray:
    arr = np.array([(p.x, p.y, p.z) for p in landmarks], dtype=np.float64)
    if mirror_x:
        # Map back to the unmirrored frame: image x -> 1 - x; world x (metres) -> -x.
        arr[:, 0] = -arr[:, 0] if world else 1.0 - arr[:, 0]
    return arr


class ScanSchedule:
    """When a two-hand tracker may run MediaPipe with ``num_hands=1`` instead (about 2x faster).

    With ``num_hands=2`` and one hand in view, MediaPipe runs its palm detector on *every*
    frame looking for the second hand (27 vs 12 CPU ms/frame on hand_reach_open.mp4). So after
    ``settle`` frames in a row with fewer than two hands, the one-hand landmarker is started
    alongside ("handoff") until it has caught the hand(s) too, then follows alone ("one"),
    while every ``scan_every``-th frame the two-hand landmarker also looks for a second hand.
    When that scan finds two, the two-hand landmarker takes over on every frame ("two").
    A second hand entering the view is therefore picked up within ``scan_every`` frames.
    Landmarkers are named by the number of hands they look for (1 or 2).
    """

    def __init__(self, scan_every: int = 10, settle: int = 15) -> None:
        self.scan_every = scan_every
        self.settle = settle
        self.mode = "two"  # "two" | "handoff" | "one"
        self._few = 0  # consecutive two-hand frames with fewer than two hands
        self._since_scan = 0

    def plan(self) -> tuple[int, ...]:
        """The landmarkers to run on the next frame."""
        if self.scan_every <= 0 or self.mode == "two":
            return (2,)
        if self.mode == "handoff":
            return (2, 1)
        self._since_scan += 1
        if self._since_scan >= self.scan_every:
            self._since_scan = 0
            return (1, 2)
        return (1,)

    def choose(self, found: dict[int, int]) -> int:
        """Given the hands each planned landmarker found, the one whose result to use."""
        if self.scan_every <= 0:
            return 2
        if found.get(2, 0) >= 2:
            self.mode, self._few = "two", 0
            return 2
        if self.mode == "two":
            self._few += 1
            if self._few >= self.settle:
                self.mode = "handoff"
            return 2
        if self.mode == "handoff":
            if found[1] >= found[2]:  # the one-hand landmarker has caught up
                self.mode, self._few, self._since_scan = "one", 0, 0
            return 2
        return 1


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
        scan_every: with ``num_hands=2``, while only one hand is in view follow it with a
            one-hand landmarker and look for a second hand every this many frames
            (``ScanSchedule``); 0 always runs the two-hand landmarker.

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
        scan_every: int = 10,
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
        self._warm: set[int] = set()  # landmarkers past their first (chatty) call
        self._schedule = ScanSchedule(scan_every)
        # hands looked for -> landmarker; each keeps its own (increasing) timestamps
        self._landmarkers = {num_hands: self._create(num_hands, min_confidence)}
        if num_hands == 2 and scan_every > 0:
            self._landmarkers[1] = self._create(1, min_confidence)

    def _create(self, num_hands: int, min_confidence: float):
        try:
            with quiet_native_stderr():
                from mediapipe.tasks.python import BaseOptions, vision

                options = vision.HandLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(self.model_path)),
                    running_mode=vision.RunningMode.VIDEO,
                    num_hands=num_hands,
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
        if not self._landmarkers:
            raise TrackerError("the hand tracker is closed")
        import cv2
        import mediapipe as mp

        # OpenCV BGR -> MediaPipe SRGB; cvtColor is ~50x faster than a numpy channel flip copy.
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        ts_ms = self._timestamp_ms(frame.captured_at)
        if len(self._landmarkers) == 2:
            found = {n: self._detect(n, image, ts_ms, frame.index) for n in self._schedule.plan()}
            use = self._schedule.choose({n: len(r.handedness) for n, r in found.items()})
            result = found[use]
        else:
            result = self._detect(self.num_hands, image, ts_ms, frame.index)
        return self._to_tracked(frame, result)

    def _detect(self, looked_for: int, image, ts_ms: int, frame_index: int):
        landmarker = self._landmarkers[looked_for]
        try:
            if looked_for in self._warm:
                return landmarker.detect_for_video(image, ts_ms)
            with quiet_native_stderr():  # a landmarker's first call logs native warnings
                result = landmarker.detect_for_video(image, ts_ms)
            self._warm.add(looked_for)
            return result
        except (RuntimeError, ValueError) as exc:
            raise TrackerError(f"hand tracking failed on frame {frame_index}: {exc}") from exc

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
            resolved = sides_without_memory(hands)
        return TrackedFrame(t=frame.captured_at, frame_index=frame.index, hands=resolved)

    def close(self) -> None:
        for landmarker in self._landmarkers.values():
            landmarker.close()
        self._landmarkers = {}

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
