"""Cameras: a live OpenCV webcam and a video file played as a camera (OpenCV only, no mediapipe).

``OpenCVCamera`` captures on its own thread and hands out the latest frame; ``FileCamera``
either plays a file in real time (a stand-in webcam for demos and tests) or reads it as fast as
possible, one frame per ``read``, for scoring. ``open_camera("0")`` opens device 0;
any other spec is a file path.

Example:
    >>> cam = open_camera("clip.mp4", realtime=False)   # doctest: +SKIP
    >>> for frame in iter_frames(cam): ...              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2

from rehab.devices.base import Frame
from rehab.devices.quiet import quiet_native_stderr
from rehab.errors import CameraEnded, CameraError

__all__ = [
    "CameraEnded",  # re-exported: the one end-of-file class lives in rehab.errors
    "FileCamera",
    "OpenCVCamera",
    "iter_frames",
    "open_camera",
    "probe_cameras",
]

DEFAULT_FPS = 30.0  # when a file or driver does not report a usable frame rate


def _usable_fps(value: float) -> float:
    return value if value and math.isfinite(value) and 1.0 <= value <= 1000.0 else DEFAULT_FPS


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log and the V4L/FFmpeg warnings written straight to fd 2."""
    old_level = None
    with contextlib.suppress(AttributeError, cv2.error):
        old_level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        with quiet_native_stderr():
            yield
    finally:
        if old_level is not None:
            cv2.utils.logging.setLogLevel(old_level)


class _CaptureThread:
    """What both cameras share: an OpenCV capture, a thread feeding it, and their shutdown.

    Subclasses set ``_cap``, ``_thread``, ``_stop``, ``_fps`` and ``_size`` in ``__init__``.
    """

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size


class OpenCVCamera(_CaptureThread):
    """A webcam read on a capture thread; ``read`` returns the newest frame not yet returned.

    Args:
        index: OpenCV device index (0 is usually the built-in webcam).
        width, height: requested size; the driver may pick another (see ``size``).
        max_failed_reads: consecutive failed grabs after which the camera counts as dead.
        stall_s: no new frame for this long (after the first) also counts as dead: some
            drivers block in ``read`` forever when a USB camera is unplugged.
        first_frame_s: how long the first frame may take (webcams need a moment to start).
        capture_factory: builds the ``cv2.VideoCapture``-like object (tests inject a fake).
    """

    def __init__(
        self,
        index: int,
        width: int = 1280,
        height: int = 720,
        max_failed_reads: int = 30,
        stall_s: float = 3.0,
        first_frame_s: float = 10.0,
        capture_factory: Callable[[int], object] = cv2.VideoCapture,
    ) -> None:
        self.index = index
        self.name = f"camera {index}"
        self._want = (width, height)
        self.max_failed_reads = max_failed_reads
        self.stall_s = stall_s
        self.first_frame_s = first_frame_s
        self._opened_at = 0.0
        self._factory = capture_factory
        self._cap = None
        self._fps = DEFAULT_FPS
        self._size = (width, height)
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._returned_index = -1
        self._dead: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        with _quiet_opencv():
            cap = self._factory(self.index)
            opened = cap.isOpened()
        if not opened:
            raise CameraError(
                f"{self.name} could not be opened",
                hint="check it is plugged in and not used by another program, or pick another "
                "index (rehab doctor lists cameras)",
            )
        # MJPG lets most USB webcams deliver 720p at 30 fps (raw YUYV often manages ~10 fps);
        # a driver that does not support it ignores the request.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._want[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._want[1])
        self._fps = _usable_fps(cap.get(cv2.CAP_PROP_FPS))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._size = (w, h) if w > 0 and h > 0 else self._want
        self._cap = cap
        self._opened_at = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._capture, name=self.name, daemon=True)
        self._thread.start()

    def _capture(self) -> None:
        failed = 0
        index = 0
        while not self._stop.is_set():
            ok, image = self._cap.read()
            if not ok or image is None:
                failed += 1
                if failed >= self.max_failed_reads:
                    with self._lock:
                        self._dead = f"{self.name} stopped sending frames ({failed} failed reads)"
                    return
                time.sleep(0.01)
                continue
            failed = 0
            frame = Frame(image=image, captured_at=time.monotonic(), index=index)
            index += 1
            with self._lock:
                self._latest = frame

    def _check_stalled(self) -> None:
        now = time.monotonic()
        if self._latest is None:
            if now - self._opened_at > self.first_frame_s:
                self._dead = f"{self.name} opened but sent no frame in {self.first_frame_s:.0f} s"
        elif now - self._latest.captured_at > self.stall_s:
            self._dead = f"{self.name} stopped sending frames (none for {self.stall_s:.0f} s)"

    def read(self) -> Frame | None:
        """The newest frame since the last call, None if none arrived yet.

        Raises:
            CameraError: the camera is not open or has died (failed reads or stalled).
        """
        with self._lock:
            if self._cap is not None and not self._dead:
                self._check_stalled()
            if self._dead:
                raise CameraError(
                    self._dead,
                    hint="check the cable and that no other program took the camera, then "
                    "resume the session (it continues from this step)",
                )
            if self._cap is None:
                raise CameraError(f"{self.name} is not open", hint="call open() first")
            frame = self._latest
            if frame is None or frame.index == self._returned_index:
                return None
            self._returned_index = frame.index
            return frame



class FileCamera(_CaptureThread):
    """A video file used as a camera.

    ``realtime=True``: a thread plays the file at its own frame rate (``captured_at`` is the
    monotonic time each frame was presented, ``index`` counts frames shown across loops);
    ``read`` returns the newest unseen frame or None; with ``loop`` it starts over at the end,
    otherwise ``read`` raises ``CameraEnded`` once the last frame was returned.
    ``realtime=False`` ("fast"): each ``read`` decodes the next frame, ``captured_at`` is
    ``index / fps`` and the end raises ``CameraEnded`` (``loop`` applies to real time only).

    Raises (from ``open``):
        CameraError: the file is missing or is not a video OpenCV can decode.
    """

    def __init__(self, path: str | os.PathLike, realtime: bool = True, loop: bool = True) -> None:
        self.path = Path(path)
        self.name = f"video file {self.path}"
        self.realtime = realtime
        self.loop = loop
        self.frame_count = 0
        self._cap = None
        self._fps = DEFAULT_FPS
        self._size = (0, 0)
        self._first: Frame | None = None
        self._next_index = 0
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._returned_index = -1
        self._ended = False
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open_capture(self):
        with _quiet_opencv():
            cap = cv2.VideoCapture(str(self.path))
            ok, image = cap.read() if cap.isOpened() else (False, None)
        if not ok or image is None:
            cap.release()
            raise CameraError(
                f"{self.path} is not a readable video",
                hint="give a video file OpenCV can decode (for example .mp4 with H.264 or .avi)",
            )
        return cap, image

    def open(self) -> None:
        if not self.path.is_file():
            raise CameraError(f"video file {self.path} not found", hint="check the path and name")
        cap, image = self._open_capture()
        self._cap = cap
        self._fps = _usable_fps(cap.get(cv2.CAP_PROP_FPS))
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._size = (image.shape[1], image.shape[0])
        self._first = Frame(image=image, captured_at=0.0, index=0)
        self._next_index = 1
        self._ended = False
        if self.realtime:
            self._stop.clear()
            self._thread = threading.Thread(target=self._play, name=self.name, daemon=True)
            self._thread.start()

    def _read_fast(self) -> Frame:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, image = self._cap.read()
        if not ok or image is None:
            self._ended = True
            raise CameraEnded(f"end of {self.path}", hint="the whole video has been read")
        index = self._next_index
        self._next_index += 1
        return Frame(image=image, captured_at=index / self._fps, index=index)

    def _next_image(self):
        """Next decoded image for real-time play, rewinding when looping; None at the end."""
        if self._first is not None:
            image, self._first = self._first.image, None
            return image
        ok, image = self._cap.read()
        if ok and image is not None:
            return image
        if not self.loop:
            return None
        # Reopening is more reliable than seeking to frame 0 across codecs and containers.
        self._cap.release()
        self._cap, image = self._open_capture()
        return image

    def _play(self) -> None:
        period_s = 1.0 / self._fps
        next_t = time.monotonic()
        shown = 0
        while not self._stop.is_set():
            try:
                image = self._next_image()
            except CameraError as exc:
                with self._lock:
                    self._error = exc.message
                return
            if image is None:
                with self._lock:
                    self._ended = True
                return
            delay = next_t - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            # When decoding falls behind, play on from now rather than bursting to catch up.
            next_t = max(next_t + period_s, time.monotonic())
            with self._lock:
                self._latest = Frame(image=image, captured_at=time.monotonic(), index=shown)
            shown += 1

    def _read_realtime(self) -> Frame | None:
        with self._lock:
            if self._error:
                raise CameraError(self._error, hint="check the file")
            frame = self._latest
            if frame is None or frame.index == self._returned_index:
                if self._ended:
                    raise CameraEnded(f"end of {self.path}", hint="the whole video has been played")
                return None
            self._returned_index = frame.index
            return frame

    def read(self) -> Frame | None:
        """The next frame (fast) or the newest unseen frame (real time); see the class doc."""
        if self._cap is None:
            raise CameraError(f"{self.name} is not open", hint="call open() first")
        return self._read_realtime() if self.realtime else self._read_fast()

    def __enter__(self) -> FileCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_camera(spec: str, realtime: bool = True, loop: bool = True) -> OpenCVCamera | FileCamera:
    """The camera ``spec`` names, not yet opened: a device index ("0") or a video file path."""
    spec = str(spec).strip()
    if spec.startswith("-") and spec[1:].isdigit():
        raise CameraError(f"camera {spec} is not a device number",
                          hint="give 0 for the built-in webcam, 1 or 2 for others, or a video file")
    return OpenCVCamera(int(spec)) if spec.isdigit() else FileCamera(spec, realtime, loop)


def open_camera(spec: str, realtime: bool = True, loop: bool = True) -> OpenCVCamera | FileCamera:
    """Open ``spec``: a digit string is a device index ("0"), anything else a video file path.

    Returns the camera already opened (close it when done).
    """
    cam = make_camera(spec, realtime, loop)
    cam.open()
    return cam


def iter_frames(camera, poll_s: float = 0.001) -> Iterator[Frame]:
    """Every frame ``camera.read()`` gives until it raises ``CameraEnded`` (polls on None)."""
    while True:
        try:
            frame = camera.read()
        except CameraEnded:
            return
        if frame is None:
            time.sleep(poll_s)
            continue
        yield frame


def probe_cameras(max_index: int = 3) -> list[dict]:
    """Which device indexes 0..max_index open, with their size and frame rate (for doctor).

    Quiet: OpenCV's warnings about absent devices are suppressed; on Linux indexes without a
    /dev/videoN node are skipped without asking the driver.
    """
    found = []
    for index in range(max_index + 1):
        info = {"index": index, "opened": False, "width": 0, "height": 0, "fps": 0.0}
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
            found.append(info)
            continue
        with _quiet_opencv():
            cap = cv2.VideoCapture(index)
            try:
                if cap.isOpened():
                    info.update(
                        opened=True,
                        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                        fps=float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                    )
            finally:
                cap.release()
        found.append(info)
    return found
