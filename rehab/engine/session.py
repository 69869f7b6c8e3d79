"""The session state machine: prepare everything, then walk the protocol's steps in order.

Lifecycle (``Session.state``): PREPARING -> RUNNING <-> PAUSED -> FINISHED | ABORTED.

Every ending has an end reason (``rehab.engine.endings``), passed to ``writer.end`` with the
store status it implies:
- "completed" -> completed;
- "stopped_by_safety_rule" -> safety_stop (rule and values kept, plus a ``safety_stop`` event);
- "aborted" -> ended_by_patient (ESC + YES), window_closed, or camera_lost;
- "terminated" (SIGTERM, seen through ``Devices.stop_requested``) -> terminated: saved, resumable.
A resumed session first applies the safety rules to the ratings of the earlier fragments
(``SessionOptions.prior_ratings``). An unexpected error leaves the store's session "running"
(read back as interrupted, so it can be resumed) and is raised again.

Example:
    >>> session = Session(protocol, devices, PatientInfo("P001", "left"), SessionOptions())
    >>> session.prepare()            # raises RehabError listing everything missing
    >>> result = session.run()       # SessionResult(status="completed", ...)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rehab.clips.library import clip_label
from rehab.engine.context import (
    SafetyStop,
    SessionAborted,
    StepContext,
    StepFailed,
    StepSkipped,
)
from rehab.engine.endings import end_reason
from rehab.engine.safety import STOP_BODY, STOP_TITLE
from rehab.engine.scenes import TextScene
from rehab.engine.scoring_seam import check_available
from rehab.engine.steps import (
    CAMERA_KINDS,
    LABELS,
    run_execute,
    run_imagine,
    run_instruction,
    run_mirror,
    run_observe,
    run_rate,
    run_rest,
)
from rehab.engine.types import Devices, PatientInfo, SessionOptions, SessionResult, State
from rehab.engine.writer import SessionInfo
from rehab.errors import CameraError, ClipError, RehabError, TrackerError
from rehab.protocol.models import PlannedStep, Protocol

ENDED_MESSAGE_S = 3.0  # how long "The session has ended" stays after ESC + Y
NO_SOUND_TITLE = "No sound: watch for the screen cue"
NO_SOUND_BODY = ("This computer cannot play the start and stop tones today.\n"
                 "Keep your eyes on the screen: it shows when to start and stop.")


class Session:
    """Runs one therapy session of ``protocol`` for ``patient`` through ``devices``.

    ``protocol`` is a ``Protocol`` or a loaded protocol carrying one (``.protocol``) plus its
    source text, sha256 and path, which are stored with the session.
    """

    def __init__(self, protocol: Any, devices: Devices, patient: PatientInfo,
                 options: SessionOptions | None = None) -> None:
        self.protocol: Protocol = protocol if isinstance(protocol, Protocol) else protocol.protocol
        self._source = protocol
        self.devices = devices
        self.patient = patient
        self.options = options or SessionOptions()
        self.steps: list[PlannedStep] = self.protocol.flatten()
        self.state = State.PREPARING
        self._prepared = False
        self._clips: dict[str, Any] = {}
        self._clip_hands: dict[str, str | None] = {}
        self._clip_labels: dict[str, str] = {}
        self._references: dict[str, object | None] = {}
        self.ctx = StepContext(self.protocol, devices, patient, self.options, len(self.steps),
                               self._set_state)

    def _set_state(self, state: State) -> None:
        self.state = state

    # -- prepare ----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Open every clip, the camera and check the tracker before the first screen.

        Raises:
            RehabError: listing every problem found (not just the first).
        """
        self.state = State.PREPARING
        todo = self.steps[self.options.start_step:]
        problems: list[str] = []
        if self.patient.affected_side not in ("left", "right"):
            problems.append(f"patient {self.patient.id}: affected side must be left or right, "
                            f"not {self.patient.affected_side!r}")
        if not 0 <= self.options.start_step < len(self.steps):
            problems.append(f"start step {self.options.start_step} is outside the protocol's "
                            f"{len(self.steps)} steps")
        problems += self._prepare_clips(todo)
        problems += self._prepare_camera(todo)
        if problems:
            self._close()  # release what did open; nothing is left half-prepared
            listing = "\n".join(f"  - {p}" for p in problems)
            raise RehabError(f"the session cannot start:\n{listing}",
                             "fix the items above (rehab doctor checks the camera and clips)")
        self._prepared = True

    def _prepare_clips(self, todo: list[PlannedStep]) -> list[str]:
        problems: list[str] = []
        names = {p.step.clip for p in todo if p.kind == "observe"}  # type: ignore[union-attr]
        if names and self.devices.clips is None:
            return ["observe steps need clips but no clip source was given"]
        for name in sorted(names):
            try:
                clip = self.devices.clips.open(name)  # type: ignore[union-attr]
            except (ClipError, OSError) as exc:
                problems.append(str(exc) if name in str(exc) else f"clip {name}: {exc}")
                continue
            if not (float(clip.fps) > 0 and int(clip.frame_count) > 0):
                problems.append(f"clip {name} reports {clip.fps} fps and {clip.frame_count} "
                                "frames: it cannot be played (re-encode it, e.g. as H.264 mp4)")
            self._clips[name] = clip
            meta = self._meta(name)
            self._clip_hands[name] = getattr(meta, "hand", None) if meta else None
            self._clip_labels[name] = clip_label(meta)
        demos = {p.step.demonstration for p in todo if p.kind == "execute"}  # type: ignore[union-attr]
        for name in sorted(n for n in demos if n):
            problems += self._prepare_reference(name)
        return problems

    def _meta(self, name: str) -> Any:
        if self.devices.clip_info is None:
            return None
        try:
            return self.devices.clip_info(name)
        except RehabError:
            return None

    def _prepare_reference(self, name: str) -> list[str]:
        if self.devices.clip_info is None:
            self._references[name] = None
            return []
        try:
            meta = self.devices.clip_info(name)
        except RehabError as exc:
            return [f"demonstration clip {name}: {exc}"]
        path = getattr(meta, "reference_path", None) if meta else None
        if meta is None:
            return [f"demonstration clip {name} is not in the clip library"]
        try:
            self._references[name] = self.ctx.scoring.load_reference(path) if path else None
        except (RehabError, OSError, ImportError, ValueError) as exc:
            return [f"reference landmarks of {name} ({path}): {exc}"]
        return []

    def _prepare_camera(self, todo: list[PlannedStep]) -> list[str]:
        kinds = sorted({p.kind for p in todo if p.kind in CAMERA_KINDS})
        if not kinds:
            return []
        problems: list[str] = []
        needs = f"the protocol has {' and '.join(kinds)} steps"
        if self.devices.tracker is None:
            problems.append(f"{needs} but no hand tracker was given")
        if "execute" in kinds and self.devices.scoring is None:
            missing = check_available()
            if missing:
                problems.append(f"{needs} but {missing}")
        camera = self.devices.camera
        if camera is None:
            problems.append(f"{needs} but no camera was given (use --camera 0 or --camera FILE)")
        else:
            try:
                camera.open()
            except CameraError as exc:
                problems.append(f"camera {getattr(camera, 'name', '')}: {exc}")
        return problems

    # -- run --------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        """Run from ``options.start_step`` to the end (or until aborted / stopped)."""
        if not self._prepared:
            self.prepare()
        ctx = self.ctx
        try:
            session_id = self.devices.writer.begin(self._session_info())
        except BaseException:
            self.state = State.ABORTED
            self._close()
            raise
        self.state = State.RUNNING
        ctx.event("session_started", session_id=session_id, patient=self.patient.id,
                  protocol=self.protocol.name, start_step=self.options.start_step,
                  total_steps=len(self.steps), autopilot=self.options.autopilot,
                  fast=self.options.fast)
        result = SessionResult(status="completed", session_id=session_id)
        try:
            self._sound_notice()
            firing = ctx.safety.replay()  # a rule fired before the crash this session resumes
            if firing is not None:
                raise SafetyStop(firing.reason, firing)
            self._walk(result)
        except SessionAborted as exc:
            result.status = "terminated" if exc.code == "terminated" else "aborted"
            result.stop_reason, result.end_reason = exc.reason, exc.code
            result.end_detail = {"reason": exc.reason}
        except SafetyStop as exc:
            result.status, result.stop_reason = "stopped_by_safety_rule", exc.reason
            result.end_reason = "safety_stop"
            result.end_detail = {"reason": exc.reason}
            if exc.firing is not None:
                result.end_detail.update(rule=exc.firing.rule, values=exc.firing.values)
            self._safety_screen(result.end_detail)
        except BaseException:
            self.state = State.ABORTED
            self._close()
            raise
        self._finish(result)
        return result

    def _walk(self, result: SessionResult) -> None:
        ctx = self.ctx
        for planned in self.steps[self.options.start_step:]:
            ctx.check_stop_request()
            info = ctx.begin_step(planned.index, planned.kind, LABELS.get(planned.kind, ""))
            ctx.event("step_started", kind=planned.kind)
            ctx.cue("step")
            status = "completed"
            try:
                self._run_step(planned)
                if info.cut_short:
                    status = "cut_short"
            except StepSkipped:
                status = "skipped"
            except (StepFailed, TrackerError, ClipError) as exc:
                # a device that fails mid-step costs that step, never the session
                status = "failed"
                ctx.event("step_failed", reason=str(exc), error=type(exc).__name__)
            except SafetyStop:
                raise  # the rating that fired the rule was given: the step did its job
            except BaseException:
                status = "aborted"  # ended by the person, or a crash: resume redoes this step
                raise
            finally:
                ended = ctx.now()
                self.devices.writer.step(planned.index, planned.kind, status, info.started_t, ended)
                ctx.event("step_ended", kind=planned.kind, status=status)
                result.steps.append({"index": planned.index, "kind": planned.kind,
                                     "status": status, "started_t": info.started_t,
                                     "ended_t": ended})
                ctx.end_step()

    def _run_step(self, planned: PlannedStep) -> None:
        step: Any = planned.step
        ctx = self.ctx
        if planned.kind == "observe":
            run_observe(ctx, step, self._clips[step.clip], self._clip_hands.get(step.clip),
                        self._clip_labels.get(step.clip, ""))
        elif planned.kind == "execute":
            run_execute(ctx, step, self._references.get(step.demonstration or ""))
        elif planned.kind == "mirror":
            run_mirror(ctx, step)
        elif planned.kind == "imagine":
            run_imagine(ctx, step)
        elif planned.kind == "rest":
            run_rest(ctx, step)
        elif planned.kind == "rate":
            run_rate(ctx, step)
        elif planned.kind == "instruction":
            run_instruction(ctx, step)
        else:  # the protocol model admits no other kinds
            raise RehabError(f"unknown step kind {planned.kind!r}")

    def _sound_notice(self) -> None:
        """No sound device: say so on screen before the first step (cues become screen cues)."""
        problem = self.ctx.audio_problem
        if problem is None:
            return
        self.ctx.event("audio_unavailable", reason=problem)
        self.ctx.message(NO_SOUND_TITLE, NO_SOUND_BODY)

    def _safety_screen(self, detail: dict[str, Any]) -> None:
        ctx = self.ctx
        ctx.event("safety_stop", **detail)
        ctx.cue("warning")
        ctx.progress = None
        try:
            ctx.message(STOP_TITLE, STOP_BODY)
        except (SessionAborted, StepSkipped):
            pass  # any key ending this last screen is fine

    def _finish(self, result: SessionResult) -> None:
        ctx = self.ctx
        ctx.progress = None  # the last screens are no step: no "Step 7 of 7" with a part bar
        if result.status == "completed":
            ctx.cue("done")
            body = "Well done! You have finished today's session."
            if self.options.closing_line:
                body += f"\n{self.options.closing_line}"
            try:
                ctx.message("Session complete", body)
            except (SessionAborted, StepSkipped):
                pass
        elif result.end_reason in ("ended_by_patient", "camera_lost"):  # not for a closed window
            scene = TextScene(title="The session has ended",
                              body="Everything you did is saved.\nThank you.", footer="")
            try:
                ctx.hold(lambda _left: scene, ENDED_MESSAGE_S)
            except (SessionAborted, StepSkipped):
                pass
        elif result.status == "terminated":  # the system is stopping: say so, wait for nothing
            ctx.devices.display.show(TextScene(
                title="The session was saved", body="The computer asked rehab to close.\n"
                "Next time you can go on where you stopped.", footer=""))
        ctx.event("session_ended", status=result.status, reason=result.stop_reason,
                  end_reason=result.end_reason)
        self.devices.writer.end(end_reason(result.end_reason).status, result.end_reason,
                                result.end_detail)
        ended_early = result.status in ("aborted", "terminated")
        self.state = State.ABORTED if ended_early else State.FINISHED
        result.events = list(ctx.events)
        result.trials = list(ctx.trials)
        result.ratings = list(ctx.ratings)
        self._close()

    def _close(self) -> None:
        """Close what prepare opened (clips, camera); the caller owns the other devices."""
        for clip in self._clips.values():
            close = getattr(clip, "close", None)
            if close is not None:
                close()
        self._clips.clear()
        if self.devices.camera is not None:
            try:
                self.devices.camera.close()
            except CameraError:
                pass

    def _session_info(self) -> SessionInfo:
        src = self._source
        text = _first_attr(src, ("text", "yaml_text", "source", "raw")) if src is not self.protocol else None
        if not isinstance(text, str):
            text = json.dumps(self.protocol.model_dump(mode="json"), indent=1)
        sha = _first_attr(src, ("sha256",)) or hashlib.sha256(text.encode()).hexdigest()
        path = _first_attr(src, ("path",))
        return SessionInfo(
            patient_id=self.patient.id,
            protocol_name=self.protocol.name,
            protocol_yaml=text,
            protocol_sha256=str(sha),
            protocol_path=str(path or ""),
            affected_side=self.patient.affected_side,
            total_steps=len(self.steps),
            start_step=self.options.start_step,
            resumed_from=self.options.resumed_from,
        )


def _first_attr(obj: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


__all__ = ["Devices", "PatientInfo", "Session", "SessionOptions", "SessionResult", "State"]
