"""Recording a demonstration into the clip library and extracting its landmark trajectory.

The core, :func:`record_clip`, takes any Camera and HandTracker, so it runs headless in tests
with a file as the camera; the CLI adds the countdown and the live preview window.

Example:
    >>> cam = open_camera("demo.mp4", realtime=False, loop=False)     # doctest: +SKIP
    >>> result = record_clip(cam, MediaPipeTracker(), ClipLibrary("videos"), "my_open_close",
    ...                      task="open_close")                      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rehab import __version__
from rehab.clips.library import CLIP_SUFFIX, ClipInfo, ClipLibrary
from rehab.clips.sidecar import ClipSidecar, write_sidecar
from rehab.devices.base import Camera, Frame, HandTracker, TrackedFrame
from rehab.errors import CameraEnded, CameraError, ClipError
from rehab.tasks import CLIP_MOVEMENTS

# A live camera that gives nothing for this long has died (file cameras never wait).
STALL_TIMEOUT_S = 5.0
# A live camera's nominal fps is often wrong; past this relative error the clip is re-timed.
FPS_RETIME_TOLERANCE = 0.05

OnFrame = Callable[[Frame, TrackedFrame], bool]


@dataclass(frozen=True)
class RecordResult:
    """What a recording produced. ``warnings`` are for the person recording, not errors."""

    info: ClipInfo
    frames: list[TrackedFrame]
    hand_counts: dict[str, int]
    warnings: tuple[str, ...] = ()


def open_writer(path: Path, fps: float, size: tuple[int, int]):
    """An mp4 (MPEG-4 part 2, 'mp4v') writer; ClipError when OpenCV cannot write there."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
    if not writer.isOpened():
        raise ClipError(f"cannot write video {path}",
                        hint="check the folder is writable and OpenCV has FFMPEG support")
    return writer


def _renumber(tf: TrackedFrame, index: int, fps: float) -> TrackedFrame:
    """Put a tracked frame on the clip's own timeline (frame i at i/fps) so the reference
    lines up with playback, whatever the camera's timestamps were."""
    t = index / fps
    hands = tuple(dataclasses.replace(h, t=t, frame_index=index) for h in tf.hands)
    return TrackedFrame(t=t, frame_index=index, hands=hands)


def _end_types() -> tuple[type[Exception], ...]:
    """Exceptions that mean "the file camera has no more frames" (not a failure)."""
    from rehab.devices import camera

    return tuple({CameraEnded, getattr(camera, "CameraEnded", CameraEnded)})


def _read(camera: Camera, last_frame_at: float) -> Frame | None:
    """The next frame, None when it is not there yet; CameraError when a live camera stalls.

    Raises CameraEnded at the end of a file camera.
    """
    frame = camera.read()
    if frame is None and time.monotonic() - last_frame_at > STALL_TIMEOUT_S:
        raise CameraError(f"{camera.name} gave no frame for {STALL_TIMEOUT_S:g} s",
                          hint="check the camera is connected and not used by another program")
    return frame


def capture(camera: Camera, track: Callable[[Frame], TrackedFrame], video_path: Path, *,
            duration_s: float | None = None, on_frame: OnFrame | None = None,
            ) -> tuple[list[TrackedFrame], float, float]:
    """Write camera frames to ``video_path``, passing each through ``track``.

    Returns (tracked frames, fps written into the file, fps the frames really came at).

    Stops at the end of a file, after ``duration_s`` of clip time, when ``on_frame`` returns
    False, or on Ctrl-C (the part recorded so far is kept).
    """
    fps = float(camera.fps) if camera.fps and 1 <= camera.fps <= 240 else 30.0
    frames: list[TrackedFrame] = []
    stamps: list[float] = []
    writer = None
    last_at = time.monotonic()
    try:
        while True:
            try:
                frame = _read(camera, last_at)
            except _end_types():
                break
            if frame is None:
                time.sleep(0.003)  # live or real-time camera: the next frame is not there yet
                continue
            # Duration by the camera's own clock: a webcam slower than it claims still stops
            # after duration_s of real time (the clip is re-timed afterwards).
            if duration_s is not None and stamps and \
                    frame.captured_at - stamps[0] > duration_s - 0.5 / fps:
                break
            last_at = time.monotonic()
            if writer is None:
                h, w = frame.image.shape[:2]
                writer = open_writer(video_path, fps, (w, h))
            writer.write(frame.image)
            stamps.append(frame.captured_at)
            tf = _renumber(track(frame), len(frames), fps)
            frames.append(tf)
            if on_frame is not None and on_frame(frame, tf) is False:
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C ends a recording without a duration; keep what was recorded
    finally:
        if writer is not None:
            writer.release()
    return frames, fps, _measured_fps(stamps, fps)


def _measured_fps(stamps: Sequence[float], nominal: float) -> float:
    """The rate frames really came at, when it is clearly not the nominal one."""
    if len(stamps) < 10:
        return nominal
    span = stamps[-1] - stamps[0]
    if span <= 0:
        return nominal
    real = (len(stamps) - 1) / span
    return real if abs(real - nominal) > FPS_RETIME_TOLERANCE * nominal else nominal


def retime(video_path: Path, fps: float) -> None:
    """Rewrite ``video_path`` with a new frame rate (same frames) so playback speed is true."""
    import cv2

    tmp = video_path.with_name(video_path.stem + ".retime" + CLIP_SUFFIX)
    cap = cv2.VideoCapture(str(video_path))
    writer = None
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if writer is None:
                writer = open_writer(tmp, fps, (image.shape[1], image.shape[0]))
            writer.write(image)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    tmp.replace(video_path)


def track_file(path: Path, tracker: HandTracker, fps: float) -> list[TrackedFrame]:
    """Every frame of a video file tracked, on the clip's own timeline (frame i at i/fps)."""
    return [_renumber(tracker.track(f), i, fps) for i, f in enumerate(iter_clip_frames(path))]


def _live_track(preview: Any | None) -> Callable[[Frame], TrackedFrame]:
    """Per-frame tracking while recording a webcam: hand the frame to the preview tracker's
    worker and show its newest result; never wait for inference."""

    def track(frame: Frame) -> TrackedFrame:
        if preview is None:
            return TrackedFrame(frame.captured_at, frame.index)
        preview.submit(frame)
        return preview.latest() or TrackedFrame(frame.captured_at, frame.index)

    return track


def choose_hand(frames: Sequence[TrackedFrame], hand: str | None) -> tuple[str | None, dict[str, int]]:
    """The demonstrating hand: ``hand`` when given, else the side seen in most frames."""
    counts = Counter(h.hand for tf in frames for h in tf.hands)
    seen = {side: counts.get(side, 0) for side in ("left", "right")}
    if hand is not None:
        return hand, seen
    if not counts:
        return None, seen
    return max(seen, key=lambda side: (seen[side], side == "right")), seen


def record_clip(camera: Camera, tracker: HandTracker, library: ClipLibrary, name: str, *,
                task: str, hand: str | None = None, view: str = "third_person",
                duration_s: float | None = None, source: str | None = None, force: bool = False,
                on_frame: OnFrame | None = None, defer_tracking: bool = False,
                preview_tracker: HandTracker | None = None,
                today: dt.date | None = None) -> RecordResult:
    """Record (or convert) a demonstration into ``library`` as NAME.mp4/.yaml/.landmarks.npz.

    ``camera`` must be open; it is not closed here. ``on_frame`` (for a live preview) is called
    with every recorded frame and its tracking and stops the recording by returning False.

    By default every frame is tracked by ``tracker`` as it is recorded (right for files). With
    ``defer_tracking`` (for a webcam) frames are only written while recording and the finished
    clip is then tracked frame by frame, so a slow tracker never costs recorded frames; the
    preview then shows ``preview_tracker``'s newest result from a worker thread (or no hands).

    Files are written under temporary names and moved into place at the end, so a failed
    recording never leaves half a clip. Raises ClipError when the clip exists and not ``force``.
    """
    _check_choices(task, hand, view)
    clip_path, sidecar_path, ref_path = library.paths(name)
    if library.exists(name) and not force:
        raise ClipError(f"clip {clip_path.name} already exists in {library.dir}",
                        hint="choose another NAME, or add --force to replace it")
    library.dir.mkdir(parents=True, exist_ok=True)
    tmp_video = library.dir / f".{clip_path.stem}.recording{CLIP_SUFFIX}"
    try:
        frames, fps = _capture_and_track(camera, tracker, tmp_video, duration_s, on_frame,
                                         defer_tracking, preview_tracker)
        tmp_video.replace(clip_path)
    finally:
        tmp_video.unlink(missing_ok=True)
    side, counts = choose_hand(frames, hand)
    warnings, has_ref = _write_reference(frames, side, ref_path)
    note = (f"tracked by {tracker_label(tracker)} from the clip ({counts[side]} of {len(frames)} "
            f"frames with the {side} hand)") if has_ref and side else None
    sidecar = ClipSidecar(
        task=task, hand=side or "right", view=view, fps=round(fps, 3), frames=len(frames),
        duration_s=round(len(frames) / fps, 3), width=_size(camera)[0], height=_size(camera)[1],
        source=source or f"recorded from {camera.name} by rehab record (rehab {__version__})",
        date=today or dt.date.today(), rendered=False,
        reference=ref_path.name if has_ref else None, reference_note=note)
    if side is None:
        warnings.append("no hand seen: the sidecar says hand: right - correct it if needed")
    write_sidecar(sidecar_path, sidecar)
    return RecordResult(library.get(name), frames, counts, tuple(warnings))


def _check_choices(task: str, hand: str | None, view: str) -> None:
    """Bad arguments fail before anything is recorded, not in the sidecar afterwards."""
    if task not in CLIP_MOVEMENTS:
        raise ClipError(f"unknown task {task!r}", hint=f"use one of: {', '.join(CLIP_MOVEMENTS)}")
    if hand not in (None, "left", "right"):
        raise ClipError(f"unknown hand {hand!r}", hint="use left or right (the anatomical hand)")
    if view not in ("third_person", "first_person"):
        raise ClipError(f"unknown view {view!r}", hint="use third_person or first_person")


def _capture_and_track(camera: Camera, tracker: HandTracker, video_path: Path,
                       duration_s: float | None, on_frame: OnFrame | None, defer: bool,
                       preview_tracker: HandTracker | None) -> tuple[list[TrackedFrame], float]:
    """Record into ``video_path`` (re-timed if the camera lied about its rate); returns the
    tracked frames on the clip's timeline and the clip's fps."""
    from rehab.devices.async_tracking import AsyncTracker

    preview = None
    if defer and preview_tracker is not None:
        preview = AsyncTracker(preview_tracker, close_tracker=False)
    try:
        track = _live_track(preview) if defer else tracker.track
        frames, written_fps, fps = capture(camera, track, video_path, duration_s=duration_s,
                                           on_frame=on_frame)
    finally:
        if preview is not None:
            preview.close()
    if not frames:
        raise ClipError(f"{camera.name} gave no frames", hint="check the camera or file")
    if fps != written_fps:
        retime(video_path, fps)
    if defer:
        return track_file(video_path, tracker, fps), fps
    return [_renumber(tf, i, fps) for i, tf in enumerate(frames)], fps


def tracker_label(tracker: HandTracker) -> str:
    """Which tracker made a trajectory. It matters: MediaPipe's full and lite models give
    different landmarks, so a trial should be tracked with the model its reference was."""
    variant = getattr(tracker, "variant", None)
    return f"MediaPipe ({variant} model)" if variant else type(tracker).__name__


def _size(camera: Camera) -> tuple[int | None, int | None]:
    try:
        w, h = camera.size
        return (int(w) or None, int(h) or None)
    except (CameraError, TypeError, ValueError):  # size is informative only: a camera that
        return (None, None)  # cannot say, or says something that is not a number


def _write_reference(frames: Sequence[TrackedFrame], side: str | None,
                     ref_path: Path) -> tuple[list[str], bool]:
    """Save the demonstrating hand's trajectory; warnings instead of a file when there is none."""
    from rehab.scoring.reference import Reference

    ref_path.unlink(missing_ok=True)  # never leave a stale trajectory beside a new clip
    if side is None:
        return ["no hand was seen in any frame: no landmark trajectory written"], False
    ref = Reference.from_frames(list(frames), side)
    present = int(np.count_nonzero(ref.present))
    if present == 0:
        return [f"the {side} hand was never seen: no landmark trajectory written"], False
    ref.save(ref_path)
    warnings = []
    if present < 0.8 * len(frames):
        warnings.append(f"the {side} hand was seen in only {present} of {len(frames)} frames")
    return warnings, True


def iter_clip_frames(path: Path, step: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
    """Frames of a video file (every ``step``-th), timed by their index in the file."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ClipError(f"clip {path} cannot be decoded", hint="re-record or re-render it")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    try:
        i = yielded = 0
        while max_frames is None or yielded < max_frames:
            ok, image = cap.read()
            if not ok:
                break
            if i % step == 0:
                yield Frame(image=image, captured_at=i / fps, index=i)
                yielded += 1
            i += 1
    finally:
        cap.release()


def verify_hand(clip: ClipInfo, tracker: HandTracker, max_frames: int = 30) -> str | None:
    """A warning when the tracker sees a different hand than the sidecar says, else None.

    Rendered cartoon hands may not be detected at all: that gives a "cannot verify" warning,
    never an error.
    """
    step = max(1, clip.frames // max_frames)
    counts: Counter[str] = Counter()
    for frame in iter_clip_frames(clip.path, step=step, max_frames=max_frames):
        counts.update(h.hand for h in tracker.track(frame).hands)
    if not counts:
        return f"{clip.path.name}: no hand detected, cannot verify that it shows the {clip.hand} hand"
    seen, n = counts.most_common(1)[0]
    if seen != clip.hand:
        return (f"{clip.path.name}: the sidecar says hand: {clip.hand} but the tracker sees the "
                f"{seen} hand ({n} of {sum(counts.values())} detections); fix the sidecar's hand")
    return None
