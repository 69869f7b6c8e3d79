"""Benchmark: real-time playback of a 60 s, 30 fps, 1280x720 clip through the observe step.

Generates the clip (OpenCV mp4v) in a temporary folder, then runs a one-step protocol with the
real engine, the real ``MonotonicClock``, ``OpenCVClip`` decoding and ``PygameDisplay`` (dummy
video driver when headless). Reports frames dropped, final drift against the clip's timeline,
how late each flip was against its frame's due time, and decode and draw time per frame.
Targets: drift < 1 frame, no frame dropped.

Run:  SDL_VIDEODRIVER=dummy python bench/playback.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

FPS = 30.0
SIZE = (1280, 720)


def make_clip(path: Path, seconds: float) -> None:
    """A moving, textured clip (so the codec has real work, like filmed hands)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 60, (SIZE[1], SIZE[0] + 400, 3), dtype=np.uint8)
    for i in range(int(seconds * FPS)):
        x = (i * 7) % 400
        img = texture[:, x : x + SIZE[0]].copy()
        cx = int(SIZE[0] / 2 + 400 * np.sin(i / 20))
        cv2.circle(img, (cx, SIZE[1] // 2), 120, (80, 160, 230), -1)
        cv2.putText(img, f"{i}", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 6)
        writer.write(img)
    writer.release()


class TimedClip:
    """Wraps an ``OpenCVClip`` and times every decode (read) and skip (grab)."""

    def __init__(self, clip) -> None:
        self._clip = clip
        self.read_ms: list[float] = []

    def read(self):
        t0 = time.perf_counter()
        image = self._clip.read()
        self.read_ms.append((time.perf_counter() - t0) * 1000)
        return image

    def __getattr__(self, name: str):
        return getattr(self._clip, name)


class TimedSource:
    def __init__(self, source) -> None:
        self._source = source
        self.clips: list[TimedClip] = []

    def open(self, name: str) -> TimedClip:
        clip = TimedClip(self._source.open(name))
        self.clips.append(clip)
        return clip


class TimedDisplay:
    """Wraps the real display and times drawing plus flip."""

    def __init__(self, display) -> None:
        self._display = display
        self.show_ms: list[float] = []

    def show(self, scene) -> float:
        t0 = time.perf_counter()
        flip_t = self._display.show(scene)
        self.show_ms.append((time.perf_counter() - t0) * 1000)
        return flip_t

    def __getattr__(self, name: str):
        return getattr(self._display, name)


def run(clip_dir: Path, name: str):
    from rehab.devices.base import SilentAudio
    from rehab.devices.clock import MonotonicClock
    from rehab.devices.display import PygameDisplay
    from rehab.devices.video import ClipSource
    from rehab.engine.session import Session
    from rehab.engine.types import Devices, PatientInfo, SessionOptions
    from rehab.protocol.models import Protocol
    from rehab.testing import MemoryWriter

    protocol = Protocol.model_validate({
        "name": "playback bench", "description": "one observe step",
        "steps": [{"kind": "observe", "clip": name}],
    })
    clock = MonotonicClock()
    display = TimedDisplay(PygameDisplay(fullscreen=False, size=SIZE, clock=clock))
    source = TimedSource(ClipSource(clip_dir))
    devices = Devices(clock=clock, display=display, audio=SilentAudio(), writer=MemoryWriter(),
                      clips=source)
    session = Session(protocol, devices, PatientInfo("BENCH", "left"),
                      SessionOptions(autopilot=True))
    session.prepare()
    result = session.run()
    display.close()
    return result, display, source


def report(result, display, source) -> None:
    playback = result.events_of("playback")[-1].data
    shown = [e for e in result.events_of("frame_shown")]
    flips = np.array([e.data["flip_t"] for e in shown])
    frames = np.array([e.data["frame"] for e in shown])
    # Frame k is due at start + k / fps; the most punctual flip estimates start.
    offset_s = flips - frames / FPS
    late_ms = (offset_s - offset_s.min()) * 1000
    read_ms = np.array(source.clips[0].read_ms[1:])  # the first read is prepare's probe
    show_ms = np.array(display.show_ms)
    drift_frames = playback["drift_s"] * FPS
    dropped = playback["frames_dropped"]
    print(f"clip: {SIZE[0]}x{SIZE[1]} {FPS:.0f} fps, {len(shown) + dropped} frames due; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"frames shown {playback['frames_shown']}, dropped {dropped} (target 0)")
    print(f"final drift {playback['drift_s'] * 1000:+.1f} ms = {drift_frames:+.3f} frames "
          f"(target < 1 frame; ratio {abs(drift_frames):.3f})")
    print(f"flip lateness vs the most punctual frame: median {np.median(late_ms):.2f} ms, "
          f"p95 {np.percentile(late_ms, 95):.2f} ms, max {late_ms.max():.2f} ms")
    print(f"decode per frame: median {np.median(read_ms):.2f} ms, p95 {np.percentile(read_ms, 95):.2f} ms")
    print(f"draw+flip per frame: median {np.median(show_ms):.2f} ms, p95 {np.percentile(show_ms, 95):.2f} ms")
    budget_ms = 1000 / FPS
    total = np.median(read_ms) + np.median(show_ms)
    print(f"decode+draw median {total:.2f} ms of the {budget_ms:.1f} ms frame budget "
          f"(ratio {total / budget_ms:.2f})")
    gaps = np.diff(frames) - 1
    stalls = gaps[gaps > 0]
    if len(stalls):
        print(f"drops came in {len(stalls)} gaps; largest {stalls.max()} frames "
              f"({stalls.max() / FPS * 1000:.0f} ms without a flip)")
    ok = dropped == 0 and abs(drift_frames) < 1
    print(f"targets: {'MET' if ok else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    with tempfile.TemporaryDirectory() as tmp:
        clip_dir = Path(tmp)
        t0 = time.perf_counter()
        make_clip(clip_dir / "bench.mp4", args.seconds)
        print(f"generated {args.seconds:.0f} s clip in {time.perf_counter() - t0:.1f} s")
        usage0, cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
        outcome = run(clip_dir, "bench.mp4")
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        report(*outcome)
        print(f"process: {time.process_time() - cpu0:.1f} s CPU in {time.perf_counter() - wall0:.1f} s, "
              f"{usage1.ru_nivcsw - usage0.ru_nivcsw} involuntary context switches "
              "(the scheduler taking the CPU away: other jobs on the machine)")


if __name__ == "__main__":
    main()
