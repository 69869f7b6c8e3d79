"""The running session as step runners see it: events, screens, input, pause and pause-aware time.

Step runners never read the clock, the display or the input directly; they go through a
``StepContext``, which
- stamps every event with the clock and hands it to the writer at once,
- handles the keys that work everywhere (P pauses, ESC asks to confirm, the clinician key skips),
- keeps *active* time: the clock minus every paused interval, so countdowns freeze while paused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehab.devices.base import Command, CommandKind
from rehab.engine.safety import SafetyFiring, SafetyMonitor
from rehab.engine.scenes import Overlay, Progress, TextScene
from rehab.engine.scoring_seam import RehabScoring
from rehab.engine.types import Devices, PatientInfo, SessionOptions, State
from rehab.engine.writer import Event
from rehab.errors import CameraError
from rehab.protocol.models import Protocol
from rehab.safeio import private_dirs

TICK_S = 0.05  # how often waiting screens poll input: 20 Hz feels instant to a person
CAMERA_RETRY_S = 1.0  # autopilot: wait between attempts to reopen a failed camera
AUTOPILOT_CAMERA_RETRIES = 3


class StepSkipped(Exception):
    """The clinician skipped the current step."""


class StepFailed(Exception):
    """The step cannot go on (for example the camera stayed dead under autopilot)."""


class SessionAborted(Exception):
    """The session ends early: ``code`` is its end reason (``rehab.engine.endings``):
    ended_by_patient (ESC + YES), window_closed, camera_lost or terminated (SIGTERM)."""

    def __init__(self, reason: str, code: str = "ended_by_patient") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SafetyStop(Exception):
    """A safety rule fired; the session ends calmly."""

    def __init__(self, reason: str, firing: SafetyFiring | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.firing = firing


GLOBAL_KINDS = {CommandKind.PAUSE, CommandKind.QUIT, CommandKind.SKIP, CommandKind.CLOSE}


@dataclass
class StepInfo:
    index: int  # 0-based index in protocol.flatten()
    kind: str
    started_t: float
    cut_short: bool = False  # the step ended before its planned time (the camera ran out)


class StepContext:
    """Shared services for step runners (one per session)."""

    def __init__(
        self,
        protocol: Protocol,
        devices: Devices,
        patient: PatientInfo,
        options: SessionOptions,
        total_steps: int,
        set_state: Callable[[State], None],
    ) -> None:
        self.protocol = protocol
        self.devices = devices
        self.patient = patient
        self.options = options
        self.total_steps = total_steps
        self._set_state = set_state
        self.clock = devices.clock
        self.paused_total_s = 0.0
        self.events: list[Event] = []
        self.step: StepInfo | None = None
        self.progress: Progress | None = None
        self.last_scene: object | None = None
        self._screenshot_names: list[str] = []  # saved from the next frame shown
        self.ratings: list[dict[str, Any]] = []
        self.trials: list[dict[str, Any]] = []
        self.camera_checked = not options.camera_check  # done before the first movement trial
        self.safety = SafetyMonitor(protocol.safety, list(options.prior_ratings))
        self.scoring: Any = devices.scoring or RehabScoring()

    # -- time -------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def active_now(self) -> float:
        """Clock time minus every paused interval: what countdowns and clip pacing run on."""
        return self.clock.now() - self.paused_total_s

    def sleep_active_until(self, active_t: float) -> None:
        self.clock.sleep_until(active_t + self.paused_total_s)

    @property
    def autopilot(self) -> bool:
        return self.options.autopilot

    # -- events -----------------------------------------------------------------------------
    def event(self, kind: str, /, **data: Any) -> Event:
        """Record an event now and hand it to the writer at once."""
        index = self.step.index if self.step else None
        ev = Event(t=self.clock.now(), kind=kind, step_index=index, data=data)
        self.events.append(ev)
        self.devices.writer.event(ev)
        return ev

    def cue(self, name: str) -> None:
        self.devices.audio.cue(name)
        self.event("cue", name=name)

    # -- records ----------------------------------------------------------------------------
    def record_rating(self, key: str, value: int) -> None:
        """Store a rating, then apply the safety rules at once (raises SafetyStop)."""
        index = self.step.index if self.step else -1
        t = self.clock.now()
        self.devices.writer.rating(index, key, value, t)
        self.ratings.append({"step_index": index, "key": key, "value": value, "t": t})
        self.event("rating_given", key=key, value=value)
        firing = self.safety.check_firing(key, value)
        if firing is not None:
            raise SafetyStop(firing.reason, firing)

    def not_as_planned(self, reason: str, *, cut_short: bool = False, **data: Any) -> None:
        """The current step could not run as planned (a ``step_not_as_planned`` event saying
        why; ``cut_short`` also stores the step as "cut_short" instead of "completed")."""
        if self.step is not None and cut_short:
            self.step.cut_short = True
        self.event("step_not_as_planned", reason=reason, **data)

    @property
    def audio_problem(self) -> str | None:
        """Why the cues cannot be heard (no sound device), or None."""
        problem = getattr(self.devices.audio, "problem", None)
        return str(problem) if problem else None

    def record_trial(self, task: str, hand: str, score: dict[str, Any], frames: list) -> None:
        index = self.step.index if self.step else -1
        self.devices.writer.trial(index, task, hand, score, frames)
        self.trials.append({"step_index": index, "task": task, "hand": hand, "score": score,
                            "frames": len(frames)})
        self.event("trial_scored", task=task, hand=hand, frames=len(frames),
                   repetitions=score.get("repetitions"), error=score.get("error"))

    # -- steps ------------------------------------------------------------------------------
    def begin_step(self, index: int, kind: str, label: str) -> StepInfo:
        self.step = StepInfo(index=index, kind=kind, started_t=self.clock.now())
        self.progress = Progress(step=index + 1, total=self.total_steps, label=label)
        self._screenshot_names = [f"{index + 1:02d}_{kind}.png"]
        return self.step

    def end_step(self) -> None:
        self.step = None
        self._screenshot_names = []

    # -- screens ----------------------------------------------------------------------------
    def show(self, scene: object) -> float:
        """Draw ``scene``; returns the flip time. The first frame of each step is screenshot."""
        flip_t = self.devices.display.show(scene)
        self.last_scene = scene
        for name in self._screenshot_names:
            self._take_screenshot(name)
        self._screenshot_names = []
        return flip_t

    def screenshot_next(self, suffix: str) -> None:
        """Screenshot the next frame shown, as ``NN_kind_SUFFIX.png``."""
        if self.step is not None:
            self._screenshot_names.append(f"{self.step.index + 1:02d}_{self.step.kind}_{suffix}.png")

    def _take_screenshot(self, name: str) -> None:
        folder = self.options.screenshots_dir
        if folder is None:
            return
        private_dirs(Path(folder))  # camera screens show the patient: 0700 from creation
        path = Path(folder) / name
        self.devices.display.screenshot(str(path))
        self.event("screenshot", path=str(path))

    # -- input ------------------------------------------------------------------------------
    def _raw_poll(self) -> list[Command]:
        self.check_stop_request()
        commands = self.devices.display.poll()
        for c in commands:
            self.event("key_pressed", command=c.kind.value, value=c.value)
        return commands

    def check_stop_request(self) -> None:
        """Raise SessionAborted("terminated") once the system asked the process to stop."""
        asked = self.devices.stop_requested
        why = asked() if asked is not None else None
        if why:
            raise SessionAborted(why, code="terminated")

    def poll(self) -> list[Command]:
        """Commands for the current screen; pause, quit and skip are handled here.

        Raises:
            StepSkipped: the clinician key was pressed.
            SessionAborted: ESC confirmed, or the window was closed.
        """
        out: list[Command] = []
        for c in self._raw_poll():
            if c.kind not in GLOBAL_KINDS:
                out.append(c)
            else:
                self._handle_global(c)
        return out

    def _handle_global(self, c: Command) -> None:
        if c.kind == CommandKind.CLOSE:
            raise SessionAborted("window closed", code="window_closed")
        if c.kind == CommandKind.SKIP:
            self.event("step_skip_requested")
            raise StepSkipped()
        if c.kind == CommandKind.QUIT:
            self.confirm_quit()
        elif c.kind == CommandKind.PAUSE:
            self.pause()

    def _hold_paused(self, title: str, body: str, footer: str, resume_kinds: set[CommandKind]) -> Command:
        """Show an overlay and wait, time frozen, for a command in ``resume_kinds`` (or QUIT)."""
        under = self.last_scene
        self._set_state(State.PAUSED)
        self.devices.display.show(Overlay(under=under, title=title, body=body, footer=footer))
        began = self.clock.now()
        try:
            while True:
                for c in self._raw_poll():
                    if c.kind in resume_kinds or c.kind in (CommandKind.CLOSE, CommandKind.SKIP):
                        return c
                self.clock.sleep_until(self.clock.now() + TICK_S)
        finally:
            self.paused_total_s += self.clock.now() - began
            self._set_state(State.RUNNING)
            if under is not None:
                self.devices.display.show(under)

    def pause(self) -> None:
        """P: freeze everything until P (or SPACE) again."""
        self.event("paused")
        c = self._hold_paused(
            "Paused", "Take your time.", "Press P to resume",
            {CommandKind.PAUSE, CommandKind.CONTINUE, CommandKind.QUIT},
        )
        self.event("resumed")
        if c.kind in (CommandKind.QUIT, CommandKind.CLOSE, CommandKind.SKIP):
            self._handle_global(c)

    def confirm_quit(self) -> None:
        """ESC: ask before ending. YES ends the session; NO (or ESC again) goes on."""
        self.event("quit_requested")
        c = self._hold_paused(
            "End the session now?", "What you have done so far is saved.",
            "Press Y to end the session, N to go on",
            {CommandKind.YES, CommandKind.NO, CommandKind.QUIT, CommandKind.CONTINUE},
        )
        if c.kind == CommandKind.YES:
            raise SessionAborted("ended by the user")
        if c.kind == CommandKind.CLOSE:
            raise SessionAborted("window closed", code="window_closed")
        self.event("quit_cancelled")
        if c.kind == CommandKind.SKIP:
            self._handle_global(c)

    def camera_lost(self, error: CameraError) -> None:
        """A camera failed mid-step: pause with a message, reopen it on SPACE (or end).

        Returns once the camera is open again. Under autopilot it retries a few times, then
        raises StepFailed so an unattended run never hangs.
        """
        camera = self.devices.camera
        name = getattr(camera, "name", "camera")
        self.event("camera_lost", camera=name, error=str(error))
        attempts = 0
        message = str(error)
        while True:
            if self.autopilot:
                if attempts >= AUTOPILOT_CAMERA_RETRIES:
                    raise StepFailed(f"camera {name} failed: {message}")
                began = self.clock.now()
                self.clock.sleep_until(began + CAMERA_RETRY_S)
                self.paused_total_s += self.clock.now() - began
            else:
                c = self._hold_paused(
                    f"The camera ({name}) stopped",
                    f"{message}\nCheck that the camera is plugged in and no other program is "
                    "using it.",
                    "Press SPACE to try again, ESC to end the session",
                    {CommandKind.CONTINUE, CommandKind.QUIT},
                )
                if c.kind != CommandKind.CONTINUE:
                    try:
                        self._handle_global(c)
                    except SessionAborted as exc:
                        if exc.code != "ended_by_patient":
                            raise
                        raise SessionAborted(f"camera {name} lost: {message}",
                                             code="camera_lost") from exc
                    continue  # ESC answered NO: ask again
            attempts += 1
            try:
                _reopen(camera)
            except CameraError as exc:
                message = str(exc)
                self.event("camera_retry_failed", camera=name, error=message)
                continue
            self.event("camera_restored", camera=name)
            return

    # -- waiting screens --------------------------------------------------------------------
    def hold(
        self,
        render: Callable[[float | None], object],
        duration_s: float | None = None,
        *,
        until_continue: bool = False,
        on_command: Callable[[Command], bool] | None = None,
    ) -> str:
        """Show a (non-video) screen until its time is up or the person goes on.

        ``render(seconds_left)`` builds the scene; it is shown again only when it changes.
        ``on_command`` sees every other command and returns True to end the screen.
        Under autopilot a screen that waits for SPACE ends at once.

        Returns:
            "elapsed", "continue" or "done" (``on_command`` ended it).
        """
        start = self.active_now()
        shown: object | None = None
        while True:
            left = None if duration_s is None else max(0.0, start + duration_s - self.active_now())
            scene = render(None if left is None else float(math.ceil(left - 1e-9)))
            if scene != shown:
                if shown is None:
                    self.event("screen_shown", scene=type(scene).__name__,
                               title=getattr(scene, "title", None) or getattr(scene, "question", None))
                self.show(scene)
                shown = scene
            if left is not None and left <= 0:
                return "elapsed"
            if until_continue and self.autopilot:
                return "continue"
            for c in self.poll():
                if c.kind == CommandKind.CONTINUE and until_continue and on_command is None:
                    return "continue"
                if on_command is not None and on_command(c):
                    return "done"
            next_t = self.active_now() + TICK_S
            if left is not None and duration_s is not None:
                # wake exactly when the shown whole second changes (and at the end)
                next_second = start + duration_s - (math.ceil(left - 1e-9) - 1)
                next_t = min(next_t, next_second, start + duration_s)
            self.sleep_active_until(next_t)

    def message(self, title: str, body: str, footer: str = "Press SPACE to continue") -> None:
        """A screen that waits for SPACE (autopilot: goes on at once)."""
        scene = TextScene(title=title, body=body, footer=footer, progress=self.progress)
        self.hold(lambda _left: scene, until_continue=True)


def _reopen(camera: object) -> None:
    close = getattr(camera, "close", None)
    if close is not None:
        try:
            close()
        except CameraError:
            pass  # a dead camera may fail to close; opening it again is what matters
    camera.open()  # type: ignore[attr-defined]
