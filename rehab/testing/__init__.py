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

from rehab.testing.clock_input import (
    FakeClock,
    RecordingDisplay,
    ScriptedInput,
    Shown,
    SimulatedTimeout,
    is_scene,
    number,
)
from rehab.testing.hands import (
    FakeLiveScorer,
    FakeLiveState,
    FakeScore,
    FakeScoring,
    FakeTracker,
    ReplayTracker,
    synthetic_landmarks,
)
from rehab.testing.memory import MemoryWriter
from rehab.testing.sources import (
    FakeCamera,
    FakeClip,
    FakeClipMeta,
    FakeClipSource,
    image_index,
    index_image,
)

__all__ = [
    "FakeCamera", "FakeClip", "FakeClipMeta", "FakeClipSource", "FakeClock", "FakeLiveScorer",
    "FakeLiveState", "FakeScore", "FakeScoring", "FakeTracker", "MemoryWriter", "RecordingDisplay",
    "ReplayTracker", "ScriptedInput", "Shown", "SimulatedTimeout", "image_index", "index_image",
    "is_scene", "number", "synthetic_landmarks",
]
