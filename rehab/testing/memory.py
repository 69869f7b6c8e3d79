"""A SessionWriter that keeps everything in lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rehab.devices.base import TrackedFrame
from rehab.engine.writer import Event, SessionInfo


@dataclass
class MemoryWriter:
    """A SessionWriter that keeps everything in lists (for tests and dry runs)."""

    info: SessionInfo | None = None
    events: list[Event] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    end_reason: str | None = None
    end_detail: dict[str, Any] = field(default_factory=dict)

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

    def end(self, status: str, reason: str | None = None,
            detail: dict[str, Any] | None = None) -> None:
        self.status = status
        self.end_reason = reason
        self.end_detail = dict(detail or {})

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]
