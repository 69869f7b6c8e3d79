"""Transformed copies of a video (mirror, brightness, downscale, slow-down) tracked for invariance.

Used by the scoring invariance tests and ``bench/accuracy.py``: the same clip, changed in a way
that must not change a repetition count, tracked by the real MediaPipe tracker. Landmark-level
transforms (``mirror_frames``, ``slow_frames``) need no video at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rehab.devices.base import Frame, HandObservation, TrackedFrame, other_side

Transform = Callable[[np.ndarray], np.ndarray]


def flip(image: np.ndarray) -> np.ndarray:
    """Left-right mirror image."""
    return np.ascontiguousarray(image[:, ::-1])


def brighter(image: np.ndarray) -> np.ndarray:
    """Brightness +40 and contrast x 0.8 (a dimmer, washed-out room)."""
    import cv2

    return cv2.convertScaleAbs(image, alpha=0.8, beta=40)


def downscale(image: np.ndarray) -> np.ndarray:
    """The frame resized to 640x360."""
    import cv2

    return cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)


TRANSFORMS: dict[str, Transform | None] = {"original": None, "mirrored": flip,
                                           "brightness": brighter, "640x360": downscale}


def read_frames(path: Path, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
    """Frames [start, stop) of a video, timed index / fps from the first one given."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    try:
        i = 0
        while stop is None or i < stop:
            ok, image = cap.read()
            if not ok:
                return
            if i >= start:
                yield Frame(image, (i - start) / fps, i - start)
            i += 1
    finally:
        cap.release()


def track_transformed(path: Path, transform: Transform | None = None, start: int = 0,
                      stop: int | None = None, variant: str = "full") -> list[TrackedFrame]:
    """Track frames [start, stop) of ``path`` after ``transform`` with a new MediaPipeTracker."""
    from rehab.devices.async_tracking import track_pipelined
    from rehab.devices.tracker import MediaPipeTracker

    frames = (replace(f, image=transform(f.image)) if transform else f
              for f in read_frames(path, start, stop))
    tracker = MediaPipeTracker(variant)
    try:
        return list(track_pipelined(frames, tracker))
    finally:
        tracker.close()


def mirror_observation(obs: HandObservation) -> HandObservation:
    """The observation a mirrored frame would give: image x -> 1 - x, world x -> -x, other side."""
    image = np.asarray(obs.image, float).copy()
    world = np.asarray(obs.world, float).copy()
    image[:, 0] = 1.0 - image[:, 0]
    world[:, 0] = -world[:, 0]
    return replace(obs, hand=other_side(obs.hand), image=image, world=world)


def mirror_frames(frames: Sequence[TrackedFrame]) -> list[TrackedFrame]:
    """Exact landmark-level mirror of tracked frames (what an ideal tracker gives on a flip)."""
    return [replace(f, hands=tuple(mirror_observation(h) for h in f.hands)) for f in frames]


def slow_frames(frames: Sequence[TrackedFrame], factor: int = 2) -> list[TrackedFrame]:
    """A copy ``factor`` times slower at the same frame rate: each frame repeated, times stretched.

    Frame k of the source becomes frames factor*k .. factor*k + factor - 1, at the source's
    frame interval, as a video slowed by frame duplication would be tracked.
    """
    if len(frames) < 2:
        return list(frames)
    dt = float(np.median(np.diff([f.t for f in frames])))
    out = []
    for k, f in enumerate(frames):
        for j in range(factor):
            i = factor * k + j
            t = frames[0].t + i * dt
            out.append(TrackedFrame(t, i, tuple(replace(h, t=t, frame_index=i) for h in f.hands)))
    return out
