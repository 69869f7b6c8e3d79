"""Cameras: file camera fast/real-time/loop behaviour, bad files, a live camera dying."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from rehab.devices.camera import (
    CameraEnded,
    FileCamera,
    OpenCVCamera,
    iter_frames,
    make_camera,
    open_camera,
    probe_cameras,
)
from rehab.errors import CameraError

N_FRAMES = 10
FPS = 20.0


def _level(image: np.ndarray) -> int:
    """The grey level a synthetic frame was written with (frame i has level 20 * i + 10)."""
    return int(round((float(image.mean()) - 10) / 20))


@pytest.fixture
def tiny_video(tmp_path):
    path = tmp_path / "tiny.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (64, 48))
    for i in range(N_FRAMES):
        writer.write(np.full((48, 64, 3), 20 * i + 10, np.uint8))
    writer.release()
    return path


def test_fast_mode_reads_every_frame_in_order_then_ends(tiny_video):
    cam = FileCamera(tiny_video, realtime=False, loop=True)  # loop is ignored when fast
    cam.open()
    assert cam.fps == pytest.approx(FPS)
    assert cam.size == (64, 48)
    frames = [cam.read() for _ in range(N_FRAMES)]
    with pytest.raises(CameraEnded):
        cam.read()
    cam.close()
    assert [f.index for f in frames] == list(range(N_FRAMES))
    assert [f.captured_at for f in frames] == pytest.approx([i / FPS for i in range(N_FRAMES)])
    assert [_level(f.image) for f in frames] == list(range(N_FRAMES))


def test_camera_ended_is_the_shared_camera_error():
    import rehab.errors

    assert CameraEnded is rehab.errors.CameraEnded and issubclass(CameraEnded, CameraError)


def test_iter_frames_stops_at_the_end(tiny_video):
    with FileCamera(tiny_video, realtime=False) as cam:
        cam.open()
        assert len(list(iter_frames(cam))) == N_FRAMES


def test_missing_file_names_the_file(tmp_path):
    cam = FileCamera(tmp_path / "nope.mp4")
    with pytest.raises(CameraError, match="nope.mp4") as info:
        cam.open()
    assert "not found" in info.value.message


def test_text_file_is_not_a_readable_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    with pytest.raises(CameraError, match="notes.mp4.*not a readable video"):
        FileCamera(bad, realtime=False).open()


def test_read_before_open_is_a_clear_error(tiny_video):
    with pytest.raises(CameraError, match="not open"):
        FileCamera(tiny_video, realtime=False).read()


def test_realtime_paces_frames_at_file_rate_and_ends_without_loop(tiny_video):
    cam = FileCamera(tiny_video, realtime=True, loop=False)
    start = time.monotonic()
    cam.open()
    frames = list(iter_frames(cam))
    elapsed_s = time.monotonic() - start
    cam.close()
    # 10 frames at 20 fps: about 0.45 s from the first frame to the last.
    assert elapsed_s >= 0.8 * (N_FRAMES - 1) / FPS
    assert len(frames) >= N_FRAMES // 2  # a slow reader may miss some; latest wins
    assert all(b.index > a.index for a, b in zip(frames, frames[1:], strict=False))
    assert all(b.captured_at > a.captured_at for a, b in zip(frames, frames[1:], strict=False))
    assert frames[-1].index == N_FRAMES - 1


def test_realtime_loop_starts_over(tiny_video):
    cam = FileCamera(tiny_video, realtime=True, loop=True)
    cam.open()
    seen = {}
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and max(seen, default=0) < N_FRAMES + 3:
        frame = cam.read()
        if frame is not None:
            seen[frame.index] = _level(frame.image)
        time.sleep(0.002)
    cam.close()
    late = [i for i in seen if i >= N_FRAMES]
    assert late, "the file camera did not go on after the last frame"
    assert all(seen[i] == i % N_FRAMES for i in late)


def test_open_camera_dispatches_on_the_spec(tiny_video):
    cam = open_camera(str(tiny_video), realtime=False)
    try:
        assert isinstance(cam, FileCamera)
        assert cam.read().index == 0
    finally:
        cam.close()
    with pytest.raises(CameraError, match="camera 9"):
        open_camera("9")  # no such device on a test machine


class _FakeCapture:
    """A cv2.VideoCapture stand-in that gives ``good`` frames and then fails forever."""

    def __init__(self, good: int, opened: bool = True) -> None:
        self.good = good
        self.opened = opened
        self.reads = 0
        self.released = threading.Event()

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, prop, value) -> bool:
        return True

    def get(self, prop) -> float:
        return {cv2.CAP_PROP_FPS: 25.0, cv2.CAP_PROP_FRAME_WIDTH: 32.0}.get(prop, 24.0)

    def read(self):
        self.reads += 1
        time.sleep(0.001)
        if self.reads <= self.good:
            return True, np.zeros((24, 32, 3), np.uint8)
        return False, None

    def release(self) -> None:
        self.released.set()


def test_live_camera_gives_latest_frame_then_reports_death():
    fake = _FakeCapture(good=5)
    cam = OpenCVCamera(0, max_failed_reads=5, capture_factory=lambda index: fake)
    cam.open()
    assert cam.fps == 25.0 and cam.size == (32, 24)
    deadline = time.monotonic() + 5.0
    frames = []
    with pytest.raises(CameraError) as info:
        while time.monotonic() < deadline:
            frame = cam.read()
            if frame is not None:
                frames.append(frame)
            time.sleep(0.001)
    cam.close()
    assert "camera 0" in info.value.message and "stopped sending frames" in info.value.message
    assert info.value.hint
    assert len({f.index for f in frames}) == len(frames)  # never the same frame twice
    assert fake.released.is_set()


def test_live_camera_that_does_not_open():
    cam = OpenCVCamera(3, capture_factory=lambda index: _FakeCapture(0, opened=False))
    with pytest.raises(CameraError, match="camera 3 could not be opened"):
        cam.open()


def test_probe_cameras_reports_every_index():
    found = probe_cameras(max_index=2)
    assert [c["index"] for c in found] == [0, 1, 2]
    assert all({"opened", "width", "height", "fps"} <= set(c) for c in found)


def test_camera_module_does_not_import_mediapipe():
    code = "import sys, rehab.devices.camera; print('mediapipe' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _StallingCapture(_FakeCapture):
    """Gives ``good`` frames, then blocks in read() as some drivers do on unplugging."""

    def __init__(self, good: int) -> None:
        super().__init__(good)
        self.unblock = threading.Event()

    def read(self):
        self.reads += 1
        if self.reads <= self.good:
            time.sleep(0.001)
            return True, np.zeros((24, 32, 3), np.uint8)
        self.unblock.wait(5.0)
        return False, None


def test_live_camera_that_stalls_is_reported_dead():
    fake = _StallingCapture(good=3)
    cam = OpenCVCamera(1, stall_s=0.2, capture_factory=lambda index: fake)
    cam.open()
    deadline = time.monotonic() + 5.0
    with pytest.raises(CameraError, match="camera 1 stopped sending frames"):
        while time.monotonic() < deadline:
            cam.read()
            time.sleep(0.01)
    fake.unblock.set()
    cam.close()


def test_live_camera_that_never_sends_a_frame_is_reported_dead():
    fake = _StallingCapture(good=0)
    cam = OpenCVCamera(2, first_frame_s=0.2, capture_factory=lambda index: fake)
    cam.open()
    time.sleep(0.3)
    with pytest.raises(CameraError, match="sent no frame"):
        cam.read()
    fake.unblock.set()
    cam.close()


@pytest.mark.parametrize("spec", ["-1", " -2 "])
def test_a_negative_camera_number_is_named_as_such(spec):
    with pytest.raises(CameraError, match="is not a device number"):
        make_camera(spec)
