"""Data types and seam protocols shared by devices, engine and scoring (numpy only).

Conventions:
- Times are seconds on a monotonic clock (``captured_at``, ``t``); wall-clock time appears only
  in the store.
- Images are BGR ``uint8`` arrays of shape (H, W, 3), as OpenCV gives them, *unmirrored*
  (as the camera sees the person). Mirroring for display is the display's business.
- Landmarks are MediaPipe's 21 hand points. ``image`` landmarks are normalised x, y in [0, 1]
  of the unmirrored frame (z relative depth); ``world`` landmarks are metres, origin near the
  hand's centre.
- ``hand`` is always the *anatomical* hand of the person: "left" or "right".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

Side = str  # "left" | "right"


def other_side(side: Side) -> Side:
    """The opposite anatomical side."""
    return "right" if side == "left" else "left"


@dataclass(frozen=True)
class Frame:
    """One camera or clip frame.

    Attributes:
        image: BGR uint8 (H, W, 3), unmirrored.
        captured_at: monotonic seconds (for a file camera: its own timeline position).
        index: frame number from the source, 0-based.
    """

    image: np.ndarray
    captured_at: float
    index: int = 0


@dataclass(frozen=True)
class HandObservation:
    """One hand seen in one frame.

    Attributes:
        t: timestamp of the frame, seconds (same clock as ``Frame.captured_at``).
        hand: anatomical side, "left" or "right".
        confidence: handedness score in [0, 1].
        image: (21, 3) normalised image landmarks of the unmirrored frame.
        world: (21, 3) world landmarks in metres.
        frame_index: index of the frame it came from.
    """

    t: float
    hand: Side
    confidence: float
    image: np.ndarray
    world: np.ndarray
    frame_index: int = 0


@dataclass(frozen=True)
class TrackedFrame:
    """What the tracker made of one frame: the frame's time and every hand it saw."""

    t: float
    frame_index: int
    hands: tuple[HandObservation, ...] = ()

    def hand(self, side: Side) -> HandObservation | None:
        """The observation of anatomical ``side``, or None when it is not visible."""
        for h in self.hands:
            if h.hand == side:
                return h
        return None


class CommandKind(enum.Enum):
    """What a person asked for, whatever key or button they used."""

    CONTINUE = "continue"  # space / enter
    PAUSE = "pause"  # P toggles pause
    QUIT = "quit"  # ESC: asks to confirm ending the session
    YES = "yes"  # confirm (Y)
    NO = "no"  # decline (N)
    SKIP = "skip"  # clinician key (F8 / S with Ctrl): skip this step
    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    NUMBER = "number"  # value holds the digit
    CLOSE = "close"  # window closed


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    value: int | None = None
    t: float = 0.0


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def sleep_until(self, t: float) -> None:
        """Block (or, for a fake clock, jump) until ``now() >= t``."""
        ...


@runtime_checkable
class Camera(Protocol):
    """A source of frames. ``read`` returns None when no new frame is available yet;
    it raises CameraError when the camera has failed or ended for good."""

    name: str

    def open(self) -> None: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...

    @property
    def fps(self) -> float: ...

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        ...


@runtime_checkable
class HandTracker(Protocol):
    def track(self, frame: Frame) -> TrackedFrame:
        """Hands in ``frame`` (unmirrored), with anatomical handedness."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Display(Protocol):
    def show(self, scene: object) -> float:
        """Draw ``scene`` and flip; returns the clock time of the flip."""
        ...

    def poll(self) -> list[Command]:
        """Commands since the last poll."""
        ...

    def screenshot(self, path: str) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Audio(Protocol):
    def cue(self, name: str) -> None:
        """Play a named cue: "start", "stop", "step", "done", "warning", "tick"."""
        ...

    def close(self) -> None: ...


@dataclass
class SilentAudio:
    """Audio that plays nothing but remembers what it was asked to play (also a test fake)."""

    played: list[str] = field(default_factory=list)

    def cue(self, name: str) -> None:
        self.played.append(name)

    def close(self) -> None:
        pass


class Clip(Protocol):
    """A decoded action-observation clip, read sequentially (``OpenCVClip`` fits)."""

    @property
    def fps(self) -> float: ...

    @property
    def frame_count(self) -> int: ...

    @property
    def size(self) -> tuple[int, int]: ...

    def read(self) -> Any:
        """The next frame (BGR ndarray, or an object with ``.image``), or None at the end."""
        ...

    def seek(self, index: int) -> None: ...


class ClipSource(Protocol):
    def open(self, name: str) -> Clip:
        """Open clip ``name`` (a file name in videos/); raises ClipError when it cannot."""
        ...


class ClipMeta(Protocol):
    """What the engine needs from a clip's sidecar (``ClipInfo`` fits)."""

    hand: str  # anatomical hand shown in the clip
    reference_path: Path | None  # NAME.landmarks.npz, or None


class VideoSink(Protocol):
    """Where a trial's camera video goes (``record_video`` steps, with consent)."""

    def write(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...
