"""Fake time, scripted key presses and a display that records what it is asked to show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rehab.devices.base import Command, CommandKind


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
