"""Running a session for real: build the devices from the command line's options, prepare, offer
to resume, run, and turn every failure into a message (never a traceback in front of a patient).

``RunRequest`` says what to run and how; ``run_session`` does it and returns the engine's
``SessionResult``. Tests may pass their own display (for scripted keys); everything else is
built here from the options.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehab.devices.base import Clock, CommandKind, Display, SilentAudio
from rehab.devices.clock import MonotonicClock, SimulatedClock
from rehab.devices.stop_signal import StopSignal
from rehab.engine.scenes import TextScene
from rehab.errors import CameraError, RehabError
from rehab.paths import data_dir as default_data_dir
from rehab.safeio import atomic_open, private_dirs

DEMO_PATIENT = "DEMO"
POLL_S = 0.05
CRASH_MESSAGE_S = 8.0  # how long the "session stopped" screen stays up without a key
# --fast: simulated time moves in steps of this size, so clips are shown at 4 frames per
# simulated second (skipped frames are neither decoded twice nor drawn). Camera steps are
# unaffected: a file camera's every frame is still read and tracked.
FAST_STEP_S = 0.25


def make_clock(fast: bool) -> Clock:
    """The session clock: real monotonic time, or simulated time for ``--fast``."""
    return SimulatedClock(step_s=FAST_STEP_S) if fast else MonotonicClock()


@dataclass
class RunRequest:
    """What to run and how (the options of ``rehab run`` / ``rehab demo`` / ``rehab home``).

    Attributes:
        protocol_path: the protocol YAML file.
        patient_id: a registered pseudonymous patient id.
        window: a window instead of fullscreen.
        camera: "0" (device index) or a video file path used as the camera.
        autopilot: answer every prompt with the protocol's defaults.
        fast: simulated time; a file camera is read as fast as tracking allows.
        screenshots_dir: save a PNG of the first frame of every step.
        data_dir: the store's folder (default: ``$REHAB_DATA`` or the user data dir).
        resume: True resume, False start afresh, None ask on screen (autopilot: resume).
        affected_side: override the patient's affected side for this run (demo).
        create_patient: register ``patient_id`` when unknown (the demo's pseudonymous patient).
        model: hand-landmark model variant, "full" or "lite".
    """

    protocol_path: Path
    patient_id: str
    window: bool = False
    camera: str = "0"
    autopilot: bool = False
    fast: bool = False
    screenshots_dir: Path | None = None
    data_dir: Path | None = None
    resume: bool | None = None
    affected_side: str | None = None
    create_patient: bool = False
    model: str = "full"
    ask_affected: bool = False  # ask on screen which hand is affected (the demo, no --affected)
    closing_line: str | None = None  # the end screen's last line (home: per the assignment)
    library: Path | None = None  # --library DIR: clips (after the protocol's own videos/)
    extra: dict[str, Any] = field(default_factory=dict)


class _GuardedWriter:
    """Passes every call to the store's writer and remembers whether the session was ended,
    so a crash can still close it as aborted exactly once."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.begun = False
        self.ended = False
        self.session_id: str | None = None

    def begin(self, info: Any) -> str:
        self.session_id = self._inner.begin(info)
        self.begun = True
        return self.session_id

    def end(self, status: str, reason: str | None = None, detail: dict | None = None) -> None:
        if not self.ended:
            self.ended = True
            self._inner.end(status, reason, detail)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run_session(req: RunRequest, display: Display | None = None, clock: Clock | None = None):
    """Run ``req`` from start to end; returns the engine's ``SessionResult``.

    ``display`` and ``clock`` are built from ``req`` unless given (a given display is left
    open for the caller).

    Raises:
        RehabError: with a message and a hint; unexpected exceptions become one too, after the
            session was closed as aborted and the traceback written to a log in the data dir.
    """
    from rehab.store import Store

    store = Store(req.data_dir)
    opened: list[Any] = []
    # before pygame starts: SDL leaves a handler it finds in place (else SIGTERM = window closed)
    stop = StopSignal().__enter__()
    opened.append(stop)
    try:
        store.check_writable()
        _check_screenshots_dir(req.screenshots_dir)
        patient = _patient(store, req)
        loaded = load_protocol_file(req.protocol_path, req.library)
        clock = clock or make_clock(req.fast)
        if display is None:
            from rehab.devices.display import PygameDisplay
            from rehab.devices.visibility import require_visible

            require_visible(req.autopilot)
            display = PygameDisplay(fullscreen=not req.window, clock=clock)
            opened.append(display)
        if req.ask_affected and req.affected_side is None and not req.autopilot:
            side = ask_affected_side(display, clock)
            if side is None:
                raise RehabError("the window was closed before the session started",
                                 hint="run the command again when ready")
            patient = dataclasses.replace(patient, affected_side=side)
            req.affected_side = side
        display.show(TextScene(title="Getting ready", body="Starting the camera and the "
                               "hand tracking. This takes a few seconds.", footer=""))
        try:
            devices = _build_devices(req, loaded, store, patient, clock, display, opened)
            devices.stop_requested = stop.requested
            resume = _resume_choice(req, store, patient.id, loaded, display, clock)
            resumed_from, start_step = resume or (None, 0)
            prior = tuple(store.chain_ratings(resumed_from)) if resumed_from else ()
            session = _new_session(req, loaded, devices, patient, resumed_from, start_step, prior)
            session.prepare()
        except RehabError as exc:
            _quiet(show_message, display, clock, req.autopilot, "The session cannot start",
                   f"{exc.message}\n{exc.hint or ''}\nPlease tell your clinician.")
            raise
        return _guarded_run(session, devices, store.data_dir, req)
    finally:
        for thing in reversed(opened):
            _quiet(thing.close)
        store.close()


def _check_screenshots_dir(folder: Path | None) -> None:
    """--screenshots must be writable before the window opens, not halfway through a session."""
    if folder is None:
        return
    hint = "choose a folder you can write to with --screenshots DIR"
    try:
        private_dirs(Path(folder))
    except OSError as exc:
        raise RehabError(f"cannot create the screenshots folder {folder}: {exc.strerror or exc}",
                         hint=hint) from exc
    if not os.access(folder, os.W_OK):
        raise RehabError(f"the screenshots folder {folder} is not writable", hint=hint)


def _patient(store, req: RunRequest):
    from rehab.engine.types import PatientInfo

    p = store.get_patient(req.patient_id)
    if p is None and req.create_patient:
        p = store.add_patient(req.patient_id, req.affected_side or "left",
                              notes="demo patient created by rehab demo")
    if p is None:
        raise RehabError(
            f"no patient {req.patient_id!r} in {store.data_dir}",
            hint=f"add them first: rehab patients add {req.patient_id} --affected left "
            "(or --affected right), then run this command again",
        )
    return PatientInfo(id=p.id, affected_side=req.affected_side or p.affected_side,
                       consent_video=p.consent_video)


def load_protocol_file(path: Path, library: Path | None = None):
    """Load and validate ``path`` (a ``rehab.protocol.LoadedProtocol``; ProtocolError lists
    every problem with its line).

    Its clips come from the first folder of ``rehab.paths.clip_search_path`` that holds all of
    them: the protocol's own ``videos/``, then ``library`` (``--library DIR``), then the
    shipped clips, so a copied protocol still finds the shipped clips.
    """
    from rehab.errors import ProtocolError
    from rehab.paths import clip_search_path
    from rehab.protocol import load_protocol

    path = Path(path)
    if not path.is_file():
        raise RehabError(f"protocol file {path} not found",
                         hint="give the path of a protocol YAML file, e.g. protocols/demo.yaml")
    if library is not None and not Path(library).is_dir():
        raise RehabError(f"clip library {library} is not a folder",
                         hint="give the folder that holds the clips: --library DIR")
    folders = clip_search_path(path, library)
    first: ProtocolError | None = None
    for folder in folders:
        try:
            return load_protocol(path, videos_dir=folder)
        except ProtocolError as exc:
            if not exc.issues or any(i.code != "P008" for i in exc.issues):
                raise  # a problem other than missing clips: no other folder can fix it
            first = first or exc
    assert first is not None
    looked = ", ".join(str(f) for f in folders)
    raise ProtocolError(first.message, first.issues,
                        hint=f"no folder holds every clip of the protocol (looked in {looked}); "
                        "put them together in one folder and give it with --library DIR")


def _needs_camera(protocol) -> bool:
    return any(p.kind in ("execute", "mirror") for p in protocol.flatten())


def _build_devices(req, loaded, store, patient, clock, display, opened):
    from rehab.clips.library import ClipLibrary
    from rehab.devices.audio import PygameAudio
    from rehab.devices.video import ClipSource
    from rehab.engine.types import Devices

    camera = tracker = None
    if _needs_camera(loaded.protocol):
        camera = _open_camera(req)
        opened.append(camera)
        from rehab.devices.tracker import MediaPipeTracker

        tracker = MediaPipeTracker(req.model)
        opened.append(tracker)
    # Simulated time makes cues meaningless (a 30-minute protocol passes in seconds): stay quiet.
    audio = SilentAudio() if req.fast else PygameAudio()
    opened.append(audio)
    videos = loaded.videos_dir
    library = ClipLibrary(videos)
    writer = _GuardedWriter(store.writer())
    # clip_info=library.get: its ClipError (e.g. a broken sidecar) reaches the prepare report
    # with the reason, instead of "not in the clip library".

    def history(task: str, hand: str):
        # the engine asks after recording today's trial: "previous" means an earlier session
        return store.previous_trial(patient.id, task, hand, exclude_session=writer.session_id)

    recorder = None
    if patient.consent_video:  # the engine still asks the step (record_video) each time
        from rehab.devices.recording import video_recorder

        recorder = video_recorder(store.data_dir, lambda: writer.session_id)
    return Devices(clock=clock, display=display, audio=audio, writer=writer,
                   camera=camera, tracker=tracker,
                   clips=ClipSource(videos, cache_frames=req.fast), clip_info=library.get,
                   history=history, recorder=recorder)


class OpenOnceCamera:
    """Wraps a camera opened early (to report a missing webcam precisely) so the engine's own
    ``open()`` in prepare does not open the device a second time; after a ``close()`` (the
    engine reopening a failed camera) ``open()`` opens it again."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._open = False

    def open(self) -> None:
        if not self._open:
            self._inner.open()
            self._open = True

    def close(self) -> None:
        self._open = False
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _open_camera(req: RunRequest) -> OpenOnceCamera:
    from rehab.devices.camera import make_camera

    spec = str(req.camera).strip()
    camera = OpenOnceCamera(make_camera(spec, realtime=not req.fast, loop=not req.fast))
    try:
        camera.open()
    except CameraError as exc:
        if spec.isdigit():
            raise CameraError(
                f"no camera at index {spec} ({exc.message})",
                hint="connect a webcam, or use a video file as the camera: --camera FILE.mp4 "
                "(for example: rehab demo --camera my_hand.mp4)",
            ) from exc
        raise
    return camera


def _new_session(req, loaded, devices, patient, resumed_from: str | None = None,
                 start_step: int = 0, prior_ratings: tuple = ()):
    from rehab.engine.session import Session
    from rehab.engine.types import SessionOptions

    options = SessionOptions(autopilot=req.autopilot, fast=req.fast,
                             screenshots_dir=req.screenshots_dir, start_step=start_step,
                             resumed_from=resumed_from, prior_ratings=prior_ratings,
                             closing_line=req.closing_line)
    return Session(loaded, devices, patient, options)


def _resume_choice(req, store, patient_id, loaded, display, clock) -> tuple[str, int] | None:
    """(session id, step) to resume from, or None to start afresh; asks on screen when needed."""
    found = store.find_resumable(patient_id, loaded.sha256)
    if found is None or req.resume is False:
        return None
    if req.resume or req.autopilot:
        return found
    _, step = found
    total = len(loaded.protocol.flatten())
    scene = TextScene(
        title="Go on where you stopped?",
        body=f"Your last session stopped at step {step + 1} of {total}.\n\n"
        f"Y = yes, go on from step {step + 1}\nN = no, start again from the beginning",
        footer="Press Y or N",
    )
    answer = ask_yes_no(display, clock, scene)
    if answer is None:
        raise RehabError("the window was closed before the session started",
                         hint="run the command again when ready")
    return found if answer else None


AFFECTED_QUESTION = TextScene(
    title="Which hand is affected?",
    body="The exercises are for the affected hand (the weaker one).\n\n"
    "LEFT arrow = my left hand\nRIGHT arrow = my right hand",
    footer="Press LEFT or RIGHT",
)


def ask_affected_side(display: Display, clock: Clock) -> str | None:
    """Ask which hand is affected: "left", "right", or None when the window was closed."""
    display.show(AFFECTED_QUESTION)
    while True:
        for cmd in display.poll():
            if cmd.kind == CommandKind.LEFT:
                return "left"
            if cmd.kind == CommandKind.RIGHT:
                return "right"
            if cmd.kind in (CommandKind.CLOSE, CommandKind.QUIT):
                return None
        clock.sleep_until(clock.now() + POLL_S)


def ask_yes_no(display: Display, clock: Clock, scene: object) -> bool | None:
    """Show ``scene`` until Y (True) or N / ESC (False); None when the window was closed."""
    display.show(scene)
    while True:
        for cmd in display.poll():
            if cmd.kind == CommandKind.YES:
                return True
            if cmd.kind in (CommandKind.NO, CommandKind.QUIT):
                return False
            if cmd.kind == CommandKind.CLOSE:
                return None
        clock.sleep_until(clock.now() + POLL_S)


def _guarded_run(session, devices, data_dir: Path, req: RunRequest):
    """``session.run()``; any unexpected exception ends the session as aborted, is logged with
    its traceback, shown calmly on screen, and re-raised as a RehabError naming the log."""
    writer = devices.writer
    try:
        return session.run()
    except RehabError as exc:
        if writer.begun:  # saved so far; the next run offers to go on from here
            _quiet(writer.end, "interrupted", "interrupted", {"reason": exc.message})
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence before the patient
        log = _crash_log_or_error(data_dir, exc)
        if writer.begun:
            _quiet(writer.end, "interrupted", "interrupted",
                   {"reason": f"unexpected error {type(exc).__name__}", "log": str(log)})
        _quiet(show_stopped, devices.display, devices.clock, req.autopilot)
        raise RehabError(
            "the session stopped because of an unexpected problem; everything recorded "
            "until then is saved",
            hint=f"the details are in {log}: please send that file to whoever supports rehab"
            if isinstance(log, Path)
            else f"{log}; please tell whoever supports rehab",
        ) from exc


def show_message(display: Display, clock: Clock, autopilot: bool, title: str, body: str) -> None:
    """A calm closing screen; goes away on any key or after a few seconds (at once unattended)."""
    display.show(TextScene(title=title, body=body, footer="Press any key to close"))
    if autopilot or isinstance(clock, SimulatedClock):
        return
    end_t = clock.now() + CRASH_MESSAGE_S
    while clock.now() < end_t:
        if display.poll():
            return
        clock.sleep_until(clock.now() + POLL_S)


def show_stopped(display: Display, clock: Clock, autopilot: bool) -> None:
    """The screen after an unexpected failure."""
    show_message(display, clock, autopilot, "The session has stopped",
                 "Something went wrong on the computer. It is not your fault.\n"
                 "Everything you did until now is saved.\nPlease tell your clinician.")


def write_crash_log(data_dir: Path | None, exc: BaseException) -> Path:
    """Write ``exc``'s traceback to ``DATA/logs/crash-YYYYmmdd-HHMMSS.log`` (owner-only)."""
    folder = Path(data_dir or default_data_dir()) / "logs"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with atomic_open(path, "w", make_dirs=True, encoding="utf-8") as fh:
        fh.write(text)
    return path


def _crash_log_or_error(data_dir: Path | None, exc: BaseException) -> Path | str:
    """The crash log's path; when it cannot be written, the real error itself (one line), so
    that it is never replaced by the log's own failure."""
    try:
        return write_crash_log(data_dir, exc)
    except Exception as log_exc:  # noqa: BLE001 - reporting ``exc`` matters more
        where = Path(data_dir or default_data_dir()) / "logs"
        return (
            f"the error was {type(exc).__name__}: {exc} "
            f"(no crash log: cannot write to {where}: {getattr(log_exc, 'strerror', None) or log_exc})"
        )


def _quiet(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - already handling a failure; do not mask it
        pass
