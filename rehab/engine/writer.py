"""The session-writer seam: how the engine hands everything it records to the store.

The store's real writer commits each call before returning, so what was recorded survives a
crash. ``MemoryWriter`` (in ``rehab.testing``) keeps it all in lists for tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rehab.devices.base import TrackedFrame


@dataclass(frozen=True)
class SessionInfo:
    patient_id: str
    protocol_name: str
    protocol_yaml: str  # exact text of the protocol file
    protocol_sha256: str
    protocol_path: str
    affected_side: str  # "left" | "right"
    total_steps: int
    resumed_from: str | None = None  # id of the interrupted session this one resumes
    start_step: int = 0


@dataclass(frozen=True)
class Event:
    """Anything that happened. ``t`` is monotonic seconds on the engine's clock."""

    t: float
    kind: str
    step_index: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


class SessionWriter(Protocol):
    def begin(self, info: SessionInfo) -> str:
        """Start a session; returns its id."""
        ...

    def event(self, event: Event) -> None: ...

    def step(self, step_index: int, kind: str, status: str, started_t: float, ended_t: float | None) -> None:
        """Record a step's outcome: "completed", "skipped", "aborted", "failed" or "cut_short"
        (ended before its planned time, e.g. a file camera ran out)."""
        ...

    def rating(self, step_index: int, key: str, value: int, t: float) -> None: ...

    def trial(
        self,
        step_index: int,
        task: str,
        hand: str,
        score: dict[str, Any],
        frames: Sequence[TrackedFrame],
    ) -> None:
        """A scored trial and every tracked frame of it (for replay and re-scoring)."""
        ...

    def end(self, status: str, reason: str | None = None,
            detail: dict[str, Any] | None = None) -> None:
        """status: "completed", "aborted" or "interrupted" (a crash leaves "running", read back
        as interrupted); reason: the end reason code (``rehab.engine.endings``), detail: its
        values (the sentence, a safety rule and its values)."""
        ...
