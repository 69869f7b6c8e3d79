"""Camera video of ``record_video`` trials: owner-only MP4 files in the data folder.

Only built for a patient who consented (``rehab patients add ID --consent-video``); the engine
asks for one sink per execute step. Files: ``DATA/videos/<session id>/step<NN>.mp4`` (0600, in
0700 folders), listed by a ``video_recorded`` event and in the review.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rehab.errors import RehabError
from rehab.store.secure import FILE_MODE, ensure_private_dir, make_private, owner_only_umask


class TrialVideo:
    """A VideoSink writing BGR frames to ``path`` with OpenCV (mp4v)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import cv2

        self.path, self.size, self.frames = Path(path), (int(size[0]), int(size[1])), 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)  # exists owner-only before OpenCV writes a byte
        with owner_only_umask():
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                           float(fps) if fps > 0 else 30.0, self.size)
        if not self._writer.isOpened():
            self.path.unlink(missing_ok=True)
            raise RehabError(f"cannot write the trial video {self.path}",
                             hint="check the data folder is writable (rehab doctor)")

    def write(self, image: np.ndarray) -> None:
        import cv2

        frame = np.asarray(image)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        if (frame.shape[1], frame.shape[0]) != self.size:  # OpenCV drops wrong-sized frames
            frame = cv2.resize(frame, self.size)
        self._writer.write(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames += 1

    def close(self) -> None:
        self._writer.release()
        make_private(self.path)


def video_recorder(data_dir: Path, session_id: Callable[[], str | None]
                   ) -> Callable[[int, float, tuple[int, int]], TrialVideo]:
    """``Devices.recorder``: a TrialVideo for step ``index`` of the running session."""

    def open_sink(index: int, fps: float, size: tuple[int, int]) -> TrialVideo:
        folder = ensure_private_dir(Path(data_dir) / "videos" / (session_id() or "unknown"))
        path = folder / f"step{index + 1:02d}.mp4"
        n = 1
        while path.exists():  # a resumed step records again beside the first attempt
            n += 1
            path = folder / f"step{index + 1:02d}-{n}.mp4"
        return TrialVideo(path, fps, size)

    return open_sink
