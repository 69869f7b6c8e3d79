"""Public data types of the session engine: options, devices, patient, result, lifecycle.

The CLI builds real devices and passes them in ``Devices``; tests pass the fakes from
``rehab.testing``. Nothing here opens anything.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rehab.devices.base import (
    Audio,
    Camera,
    ClipMeta,
    ClipSource,
    Clock,
    Display,
    HandTracker,
    TrackedFrame,
    VideoSink,
)
from rehab.engine.writer import Event, SessionWriter


class State(enum.Enum):
    """Lifecycle of a session."""

    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # completed, or stopped calmly by a safety rule
    ABORTED = "aborted"  # ended early by the person (ESC + YES, window closed) or by a failure


@dataclass(frozen=True)
class PatientInfo:
    """Who the session is for. ``consent_video``: camera video may be stored (record_video)."""

    id: str
    affected_side: str  # "left" | "right"
    consent_video: bool = False


@dataclass
class SessionOptions:
    """How to run (not what): the protocol says what.

    Attributes:
        autopilot: answer every prompt with the protocol's defaults, continue screens at once.
        fast: simulated time. The clock passed in must jump on ``sleep_until``; a file camera is
            read as fast as tracking allows and its own timestamps are that step's clock.
        screenshots_dir: save ``NN_kind.png`` of the first frame of every step (and
            ``NN_kind_result.png`` of the trial result screen).
        start_step: 0-based index into ``protocol.flatten()`` to start from (resuming).
        resumed_from: id of the interrupted session this one resumes (stored with it).
        prior_ratings: (key, value) of every rating stored by the earlier fragments of a
            resumed session chain, oldest first: the safety rules apply to them too.
        closing_line: the last line of the "Session complete" screen (``rehab home`` says
            when the next session is due, from the assignment's sessions per week).
        camera_check: before the first movement trial, show the camera until the hand is in
            frame, large enough and lit (``rehab.engine.steps.camera_check``).
        background_tracking: track camera frames on a worker thread (newest frame wins) so the
            camera view stays fluid; None means "in real time, not in fast mode". False tracks
            every frame in order before showing it.
    """

    autopilot: bool = False
    fast: bool = False
    screenshots_dir: Path | None = None
    start_step: int = 0
    resumed_from: str | None = None
    background_tracking: bool | None = None
    prior_ratings: tuple[tuple[str, int], ...] = ()
    camera_check: bool = True
    closing_line: str | None = None

    @property
    def track_in_background(self) -> bool:
        if self.background_tracking is None:
            return not self.fast
        return self.background_tracking


class LiveState(Protocol):
    """What the screen shows after each frame (read-only: a frozen dataclass fits)."""

    @property
    def reps(self) -> int: ...

    @property
    def visible(self) -> bool: ...

    @property
    def landmarks(self) -> np.ndarray | None: ...


class LiveScorer(Protocol):
    def update(self, tf: TrackedFrame) -> LiveState: ...


class TrialScore(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Scoring(Protocol):
    """The scoring seam: the real one wraps ``rehab.scoring``; tests may pass a fake."""

    def live(self, task: str, hand: str) -> LiveScorer: ...

    def score(
        self, frames: Sequence[TrackedFrame], task: str, hand: str, reference: object | None
    ) -> TrialScore: ...

    def load_reference(self, path: Path) -> object | None: ...


@dataclass
class Devices:
    """Every seam the engine talks to.

    ``clip_info(name)`` gives a clip's sidecar (hand, reference_path); ``history(task, hand)``
    gives the previous session's score dict for knowledge of results. ``scoring`` defaults to
    ``rehab.scoring`` (imported when first needed). ``recorder(step_index, fps, size)`` opens
    a VideoSink for an execute step with ``record_video: true`` when the patient consented.
    ``stop_requested()`` returns why the system asks the session to stop (SIGTERM), else None;
    the engine asks at every input poll, then saves and ends the session resumably.
    """

    clock: Clock
    display: Display
    audio: Audio
    writer: SessionWriter
    camera: Camera | None = None
    tracker: HandTracker | None = None
    clips: ClipSource | None = None
    clip_info: Callable[[str], ClipMeta | None] | None = None
    history: Callable[[str, str], dict | None] | None = None
    scoring: Scoring | None = None
    recorder: Callable[[int, float, tuple[int, int]], VideoSink] | None = None
    stop_requested: Callable[[], str | None] | None = None


@dataclass
class SessionResult:
    """What ``Session.run`` returns.

    status: "completed", "aborted", "stopped_by_safety_rule" or "terminated".
    end_reason: the code in ``rehab.engine.endings.END_REASONS`` stored with the session;
    end_detail: what the store keeps with it (the reason sentence; a safety stop's rule and values).
    """

    status: str
    session_id: str | None = None
    events: list[Event] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    end_reason: str = "completed"
    end_detail: dict[str, Any] = field(default_factory=dict)

    def events_of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]
