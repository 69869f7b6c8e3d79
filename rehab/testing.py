"""Fakes shipped with the library, so the engine (and anything built on it) runs without hardware.

- ``FakeClock``: simulated monotonic time; ``sleep_until`` jumps, so a 30-minute protocol runs
  in well under a second with exact timing.
- ``ScriptedInput`` + ``RecordingDisplay``: key presses at given times or when a scene appears;
  every scene shown is recorded with its flip time (optionally costing simulated time).
- ``FakeCamera``: frames from a list or generated (the frame index is written into the pixels),
  can fail after N frames (a live camera unplugged) or end (a file camera).
- ``ReplayTracker`` (pre-recorded TrackedFrames by frame index) and ``FakeTracker`` (a synthetic
  open hand whenever it is "visible").
- ``FakeScoring``: counts one repetition every N visible frames.
- ``MemoryWriter``: a SessionWriter keeping everything in lists.
- ``FakeClipSource``: clips whose frames carry their own index in the pixels.

Example:
    >>> clock = FakeClock()
    >>> display = RecordingDisplay(clock, ScriptedInput().at(5.0, CommandKind.PAUSE))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rehab.devices.base import Command, CommandKind, Frame, HandObservation, TrackedFrame
from rehab.engine.writer import Event, SessionInfo
from rehab.errors import CameraEnded, CameraError, ClipError, ScoringError


class SimulatedTimeout(RuntimeError):
    """A FakeClock ran past its limit: the code under test waits for something never coming."""


class FakeClock:
    """Simulated monotonic clock. ``sleep_until`` jumps forward at once (never backwards).

    ``limit_s`` turns a test that would wait forever (a screen nobody answers) into an error.
    """

    def __init__(self, start: float = 0.0, limit_s: float | None = None) -> None:
        self.t = float(start)
        self.sleeps = 0
        self.limit_s = limit_s

    def now(self) -> float:
        return self.t

    def sleep_until(self, t: float) -> None:
        self.sleeps += 1
        if t > self.t:
            self.t = float(t)
        if self.limit_s is not None and self.t > self.limit_s:
            raise SimulatedTimeout(f"simulated time passed {self.limit_s} s")

    def advance(self, dt: float) -> None:
        self.t += max(0.0, dt)


CommandLike = Command | CommandKind


def _as_command(c: CommandLike, t: float = 0.0) -> Command:
    return c if isinstance(c, Command) else Command(c, None, t)


def number(value: int) -> Command:
    """A number key press."""
    return Command(CommandKind.NUMBER, value)


class ScriptedInput:
    """Key presses scripted by time or triggered by the scenes shown.

    Example:
        >>> keys = ScriptedInput().at(3.0, CommandKind.PAUSE).at(10.0, CommandKind.PAUSE)
        >>> keys = keys.when(lambda s: type(s).__name__ == "RatingScene", number(4),
        ...                  CommandKind.CONTINUE, once=False)
    """

    def __init__(self) -> None:
        self._timed: list[tuple[float, Command]] = []
        self._rules: list[dict[str, Any]] = []
        self._queue: list[Command] = []
        self.delivered: list[Command] = []

    def at(self, t: float, *commands: CommandLike) -> ScriptedInput:
        """Deliver ``commands`` at the first poll at or after clock time ``t``."""
        for c in commands:
            self._timed.append((t, _as_command(c, t)))
        self._timed.sort(key=lambda item: item[0])
        return self

    def when(self, predicate: Callable[[object], bool], *commands: CommandLike,
             once: bool = True) -> ScriptedInput:
        """Deliver ``commands`` at the next poll after a scene matching ``predicate`` is shown."""
        self._rules.append({"pred": predicate, "cmds": [_as_command(c) for c in commands],
                            "once": once, "done": False})
        return self

    def press(self, *commands: CommandLike) -> ScriptedInput:
        """Deliver ``commands`` at the next poll."""
        self._queue.extend(_as_command(c) for c in commands)
        return self

    def scene_shown(self, scene: object) -> None:
        for rule in self._rules:
            if rule["done"] or not rule["pred"](scene):
                continue
            self._queue.extend(rule["cmds"])
            rule["done"] = rule["once"]

    def poll(self, now: float) -> list[Command]:
        out = list(self._queue)
        self._queue.clear()
        while self._timed and self._timed[0][0] <= now + 1e-12:
            out.append(self._timed.pop(0)[1])
        self.delivered.extend(out)
        return out


def is_scene(name: str, **attrs: Any) -> Callable[[object], bool]:
    """Predicate for ``ScriptedInput.when``: scene class name and attribute values."""

    def pred(scene: object) -> bool:
        if type(scene).__name__ != name:
            return False
        return all(getattr(scene, k, None) == v for k, v in attrs.items())

    return pred


@dataclass
class Shown:
    t: float  # flip time
    scene: object


class RecordingDisplay:
    """A display that records every scene (with its flip time) and reads a ScriptedInput.

    ``show_cost_s`` advances a FakeClock on each show, to simulate a slow display.
    """

    def __init__(self, clock: Any, keys: ScriptedInput | None = None, show_cost_s: float = 0.0):
        self.clock = clock
        self.keys = keys or ScriptedInput()
        self.show_cost_s = show_cost_s
        self.shown: list[Shown] = []
        self.screenshots: list[tuple[str, object]] = []
        self.closed = False

    def show(self, scene: object) -> float:
        if self.show_cost_s and hasattr(self.clock, "advance"):
            self.clock.advance(self.show_cost_s)
        t = self.clock.now()
        self.shown.append(Shown(t, scene))
        self.keys.scene_shown(scene)
        return t

    def poll(self) -> list[Command]:
        return self.keys.poll(self.clock.now())

    def screenshot(self, path: str) -> None:
        self.screenshots.append((path, self.shown[-1].scene if self.shown else None))

    def close(self) -> None:
        self.closed = True

    def scenes(self, name: str | None = None) -> list[object]:
        return [s.scene for s in self.shown if name is None or type(s.scene).__name__ == name]


def index_image(index: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A BGR image whose pixels encode ``index`` (blue = index % 256, green = index // 256)
    with a left-to-right ramp in red, so a left-right flip is visible."""
    width, height = size
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = index % 256
    img[..., 1] = (index // 256) % 256
    img[..., 2] = _ramp(width)
    return img


_RAMPS: dict[int, np.ndarray] = {}


def _ramp(width: int) -> np.ndarray:
    if width not in _RAMPS:
        _RAMPS[width] = np.linspace(0, 255, width).astype(np.uint8)
    return _RAMPS[width]


def image_index(img: np.ndarray) -> int:
    """Inverse of ``index_image``."""
    return int(img[0, 0, 0]) + 256 * int(img[0, 0, 1])


class FakeCamera:
    """Frames from a list, or generated by ``index_image``.

    Args:
        frames: images to deliver; None generates ``count`` frames (None: endless).
        fps: frame rate (and spacing of the timestamps).
        clock: None -> a file camera in fast mode: every read gives the next frame, timestamps
            index/fps. A clock -> a live camera: a new frame only every 1/fps of clock time,
            stamped with the clock.
        fail_after: raise CameraError once this many frames were delivered (until reopened).
        stall_after: return None (no new frame) once this many were delivered (until reopened).
        open_failures: how many calls to ``open`` fail before one succeeds.
    At the end of the frames ``read`` raises CameraEnded; ``open`` then rewinds to frame 0.
    """

    def __init__(self, frames: Sequence[np.ndarray] | None = None, *, count: int | None = None,
                 size: tuple[int, int] = (64, 48), fps: float = 30.0, clock: Any = None,
                 fail_after: int | None = None, stall_after: int | None = None,
                 open_failures: int = 0, name: str = "fake camera") -> None:
        self.frames = frames
        self.count = len(frames) if frames is not None else count
        self._size = size
        self._fps = fps
        self.clock = clock
        self.fail_after = fail_after
        self.stall_after = stall_after
        self.stalled = False
        self.open_failures = open_failures
        self.name = name
        self.opened = 0
        self.closed = 0
        self.is_open = False
        self.delivered = 0
        self.position = 0
        self.failed = False
        self._next_t: float | None = None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def open(self) -> None:
        if self.open_failures > 0:
            self.open_failures -= 1
            raise CameraError(f"{self.name} could not be opened", "plug it in")
        self.opened += 1
        self.is_open = True
        self.failed = False
        self.stalled = False
        if self.count is not None and self.position >= self.count:
            self.position = 0  # a file camera starts again when reopened after its end
        self._next_t = None

    def close(self) -> None:
        self.closed += 1
        self.is_open = False

    def read(self) -> Frame | None:
        if not self.is_open or self.failed:
            raise CameraError(f"{self.name} is not open")
        if self.fail_after is not None and self.delivered == self.fail_after:
            self.fail_after = None
            self.failed = True
            raise CameraError(f"{self.name} stopped sending frames")
        if self.stall_after is not None and self.delivered == self.stall_after:
            self.stall_after = None
            self.stalled = True
        if self.stalled:
            return None
        if self.count is not None and self.position >= self.count:
            raise CameraEnded(f"{self.name} has no more frames")
        if self.clock is not None:
            now = self.clock.now()
            if self._next_t is None:
                self._next_t = now
            if now < self._next_t:
                return None
            self._next_t += 1.0 / self._fps
            captured_at = now
        else:
            captured_at = self.position / self._fps
        i = self.position
        image = self.frames[i] if self.frames is not None else index_image(i, self._size)
        self.position += 1
        self.delivered += 1
        return Frame(image=image, captured_at=captured_at, index=i)


def synthetic_landmarks(cx: float = 0.5, cy: float = 0.6, scale: float = 0.25) -> np.ndarray:
    """(21, 3) normalised image landmarks of an open hand, fingers up (wrist at the bottom)."""
    pts = [(0.0, 0.0)]
    for finger, angle in enumerate(np.radians([-50, -20, 0, 20, 40])):
        for joint in range(1, 5):
            r = 0.25 * joint * (0.8 if finger == 0 else 1.0)
            pts.append((np.sin(angle) * r, -np.cos(angle) * r))
    xy = np.array(pts) * scale + np.array([cx, cy])
    return np.column_stack([xy, np.zeros(21)]).astype(np.float32)


class FakeTracker:
    """Sees a synthetic open ``hands`` whenever ``visible(frame_index)`` says so."""

    def __init__(self, hands: Sequence[str] = ("right",),
                 visible: Callable[[int], bool] | None = None) -> None:
        self.hands = tuple(hands)
        self.visible = visible or (lambda _i: True)
        self.calls = 0
        self.closed = False
        self._points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for side in self.hands:  # computed once: a long simulated session tracks many frames
            image = synthetic_landmarks(cx=0.35 if side == "right" else 0.65)
            self._points[side] = (image, (image - image[0]) * np.float32(0.1))

    def track(self, frame: Frame) -> TrackedFrame:
        self.calls += 1
        if not self.visible(frame.index):
            return TrackedFrame(frame.captured_at, frame.index, ())
        obs = tuple(HandObservation(frame.captured_at, side, 0.95, image, world, frame.index)
                    for side, (image, world) in self._points.items())
        return TrackedFrame(frame.captured_at, frame.index, obs)

    def close(self) -> None:
        self.closed = True


class ReplayTracker:
    """Returns pre-recorded TrackedFrames by frame index, re-stamped with the frame's time."""

    def __init__(self, recorded: Sequence[TrackedFrame]) -> None:
        self.by_index = {tf.frame_index: tf for tf in recorded}
        self.calls = 0
        self.closed = False

    def track(self, frame: Frame) -> TrackedFrame:
        self.calls += 1
        tf = self.by_index.get(frame.index)
        if tf is None:
            return TrackedFrame(frame.captured_at, frame.index, ())
        hands = tuple(dataclasses.replace(h, t=frame.captured_at, frame_index=frame.index)
                      for h in tf.hands)
        return TrackedFrame(frame.captured_at, frame.index, hands)

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeLiveState:
    reps: int
    visible: bool
    landmarks: np.ndarray | None


class FakeLiveScorer:
    """One repetition per ``frames_per_rep`` frames in which the hand is visible."""

    def __init__(self, hand: str, frames_per_rep: int) -> None:
        self.hand = hand
        self.frames_per_rep = frames_per_rep
        self.seen = 0

    def update(self, tf: TrackedFrame) -> FakeLiveState:
        obs = tf.hand(self.hand)
        if obs is not None:
            self.seen += 1
        lm = None if obs is None else np.asarray(obs.image)[:, :2]
        return FakeLiveState(self.seen // self.frames_per_rep, obs is not None, lm)


@dataclass
class FakeScore:
    task: str
    hand: str
    frames: int
    tracked_fraction: float
    repetitions: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def headline(self) -> list[tuple[str, str]]:
        return [("Repetitions", str(self.repetitions)),
                ("Hand seen", f"{self.tracked_fraction:.0%}")]


class FakeScoring:
    """Scoring seam for tests: same repetition rule live and after the trial."""

    def __init__(self, frames_per_rep: int = 15) -> None:
        self.frames_per_rep = frames_per_rep
        self.references_loaded: list[Path] = []

    def live(self, task: str, hand: str) -> FakeLiveScorer:
        return FakeLiveScorer(hand, self.frames_per_rep)

    def score(self, frames: Sequence[TrackedFrame], task: str, hand: str,
              reference: object | None) -> FakeScore:
        seen = sum(1 for f in frames if f.hand(hand) is not None)
        if seen == 0:
            raise ScoringError(f"the {hand} hand was not seen in any of {len(frames)} frames")
        return FakeScore(task, hand, len(frames), seen / len(frames), seen // self.frames_per_rep)

    def load_reference(self, path: Path) -> object | None:
        self.references_loaded.append(Path(path))
        return {"reference": str(path)}


@dataclass
class MemoryWriter:
    """A SessionWriter that keeps everything in lists (for tests and dry runs)."""

    info: SessionInfo | None = None
    events: list[Event] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None

    def begin(self, info: SessionInfo) -> str:
        self.info = info
        self.status = "running"
        return "memory-session"

    def event(self, event: Event) -> None:
        self.events.append(event)

    def step(self, step_index: int, kind: str, status: str, started_t: float,
             ended_t: float | None) -> None:
        self.steps.append({"index": step_index, "kind": kind, "status": status,
                           "started_t": started_t, "ended_t": ended_t})

    def rating(self, step_index: int, key: str, value: int, t: float) -> None:
        self.ratings.append({"step_index": step_index, "key": key, "value": value, "t": t})

    def trial(self, step_index: int, task: str, hand: str, score: dict[str, Any],
              frames: Sequence[TrackedFrame]) -> None:
        self.trials.append({"step_index": step_index, "task": task, "hand": hand,
                            "score": score, "frames": list(frames)})

    def end(self, status: str) -> None:
        self.status = status

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


class FakeClip:
    """A clip of ``frame_count`` generated frames (``index_image``), read sequentially."""

    def __init__(self, frame_count: int = 90, fps: float = 30.0,
                 size: tuple[int, int] = (64, 48)) -> None:
        self._frame_count = frame_count
        self._fps = fps
        self._size = size
        self.position = 0
        self.decoded = 0
        self.grabbed = 0
        self.closed = False

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return self._frame_count

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def seek(self, index: int) -> None:
        self.position = index

    def grab(self) -> bool:
        self.position += 1
        self.grabbed += 1
        return self.position <= self._frame_count

    def read(self) -> np.ndarray | None:
        if self.position >= self._frame_count:
            return None
        self.decoded += 1
        img = index_image(self.position, self._size)
        self.position += 1
        return img

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class FakeClipMeta:
    hand: str
    reference_path: Path | None = None


class FakeClipSource:
    """Clips by name; ``info(name)`` plays the role of ``Devices.clip_info``."""

    def __init__(self, clips: dict[str, FakeClip] | None = None,
                 hands: dict[str, str] | None = None,
                 references: dict[str, Path] | None = None) -> None:
        self.clips = clips or {}
        self.hands = hands or {}
        self.references = references or {}
        self.opened: list[str] = []

    def open(self, name: str) -> FakeClip:
        if name not in self.clips:
            raise ClipError(f"clip {name} not found", "render it with rehab render-demo")
        self.opened.append(name)
        return self.clips[name]

    def info(self, name: str) -> FakeClipMeta | None:
        if name not in self.clips:
            return None
        return FakeClipMeta(self.hands.get(name, "right"), self.references.get(name))
