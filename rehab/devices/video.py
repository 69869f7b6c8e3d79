"""Decoding action-observation clips for playback (OpenCV), and the clip source the engine uses.

Playback decodes sequentially: asking for frame ``i`` after frame ``j < i`` grabs the frames in
between without converting them (``VideoCapture.grab`` skips the colour conversion and copy that
``retrieve`` does), so dropping frames to stay on schedule is cheap. Going backwards seeks.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from rehab.devices.quiet import quiet_native_stderr
from rehab.errors import ClipError

# Past this many frames ahead, a seek is cheaper than grabbing through (keyframe decode).
_MAX_GRAB_AHEAD = 90


class OpenCVClip:
    """One video file opened for frame-accurate reading.

    Attributes:
        path: the file.
        fps: frames per second from the container (30.0 when the container does not say).
        frame_count: number of frames (as the container reports it).
        size: (width, height).

    Example:
        >>> clip = OpenCVClip("videos/open_close.mp4")     # doctest: +SKIP
        >>> image = clip.frame(0); clip.close()            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ClipError(f"clip {self.path} not found", hint="check the file name in the protocol")
        with quiet_native_stderr():  # FFmpeg prints "moov atom not found" for a damaged file
            self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise ClipError(f"clip {self.path} cannot be decoded", hint="re-encode it as H.264/MP4V .mp4")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._next = 0  # index of the frame the next grab() returns
        self._last: np.ndarray | None = None
        self._last_index = -1
        self.grabbed_only = 0  # frames skipped without retrieve (for benchmarks and tests)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0

    def read(self) -> np.ndarray | None:
        """The next frame (BGR uint8), or None at the end of the file."""
        ok, image = self._cap.read()
        if not ok:
            return None
        self._last, self._last_index = image, self._next
        self._next += 1
        return image

    def grab(self) -> bool:
        """Skip the next frame without decoding it to an image; False at the end of the file."""
        if not self._cap.grab():
            return False
        self._next += 1
        self.grabbed_only += 1
        return True

    def seek(self, index: int) -> None:
        """Position so that the next ``read()`` returns frame ``index``.

        A short jump forward (dropping frames to stay on schedule) grabs the frames in between
        without decoding them to images; a jump back or far ahead asks the container to seek.
        """
        index = max(0, int(index))
        if self._next <= index <= self._next + _MAX_GRAB_AHEAD:
            while self._next < index:
                if not self.grab():
                    return  # past the end: the next read() returns None
            return
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def frame(self, index: int) -> np.ndarray | None:
        """Frame ``index`` (the last one again when ``index`` repeats it); None past the end."""
        if index == self._last_index and self._last is not None:
            return self._last
        self.seek(index)
        return self.read()

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> OpenCVClip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CachedClip:
    """An ``OpenCVClip`` that keeps the frames it decoded, for clips played many times.

    ``grab()`` only moves the position (nothing is decoded until a frame is wanted), and a
    frame read once is served from memory on every later repetition. Used for ``--fast`` runs,
    where a 30-minute protocol replays each short clip dozens of times. At most
    ``max_bytes`` of frames are kept; past that, frames are decoded again each time.
    """

    def __init__(self, clip: OpenCVClip, max_bytes: int = 256 * 2**20) -> None:
        self._clip = clip
        self._frames: dict[int, np.ndarray] = {}
        self._bytes = 0
        self._max_bytes = max_bytes
        self._next = 0
        self.fps, self.frame_count, self.size = clip.fps, clip.frame_count, clip.size
        self.decoded = 0  # frames actually decoded (for tests)

    @property
    def path(self) -> Path:
        return self._clip.path

    def seek(self, index: int) -> None:
        self._next = max(0, int(index))

    def grab(self) -> bool:
        if self.frame_count and self._next >= self.frame_count:
            return False
        self._next += 1
        return True

    def read(self) -> np.ndarray | None:
        index = self._next
        image = self._frames.get(index)
        if image is None:
            image = self._clip.frame(index)
            if image is None:
                return None
            self.decoded += 1
            if self._bytes + image.nbytes <= self._max_bytes:
                self._frames[index] = image
                self._bytes += image.nbytes
        self._next = index + 1
        return image

    def frame(self, index: int) -> np.ndarray | None:
        self.seek(index)
        return self.read()

    def close(self) -> None:
        self._frames.clear()
        self._clip.close()

    def __enter__(self) -> CachedClip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ClipSource:
    """Opens clips by file name from a protocol's ``videos/`` folder (the engine's seam).

    Example:
        >>> src = ClipSource(Path("videos"))               # doctest: +SKIP
        >>> clip = src.open("open_close.mp4")              # doctest: +SKIP
    """

    def __init__(self, videos_dir: str | os.PathLike, cache_frames: bool = False) -> None:
        self.videos_dir = Path(videos_dir)
        self.cache_frames = cache_frames  # keep decoded frames (CachedClip): for --fast runs

    def path(self, name: str) -> Path:
        """Where clip ``name`` lives; raises ClipError when it is absent."""
        path = self.videos_dir / name
        if not path.is_file():
            raise ClipError(
                f"clip {name} not found in {self.videos_dir}",
                hint="put the clip in the videos/ folder next to protocols/ or fix the protocol",
            )
        return path

    def open(self, name: str) -> OpenCVClip | CachedClip:
        """Open clip ``name`` (raises ClipError when it is missing or does not decode)."""
        clip = OpenCVClip(self.path(name))
        return CachedClip(clip) if self.cache_frames else clip

    def check(self, name: str) -> tuple[float, int]:
        """(fps, frame_count) of clip ``name`` after decoding its first frame (for prepare)."""
        with self.open(name) as clip:
            if clip.read() is None:
                raise ClipError(f"clip {name} has no decodable frame", hint="re-encode the clip")
            return clip.fps, clip.frame_count
