"""End to end: every shipped protocol headless with real tracking, and the real pygame display
under scripted keys (mirror pixels, camera failure, pause, ESC, pain stop rule)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import sqlalchemy as sa
from conftest import fixture_path

from rehab.devices.base import Command, CommandKind, SilentAudio
from rehab.devices.clock import SimulatedClock
from rehab.devices.display import PygameDisplay
from rehab.engine import scenes as sc
from rehab.engine.session import Session
from rehab.engine.types import Devices, PatientInfo, SessionOptions
from rehab.paths import shipped_protocols_dir, shipped_videos_dir
from rehab.protocol import load_protocol
from rehab.protocol.models import Protocol
from rehab.runner import RunRequest, make_clock, run_session
from rehab.store import Store, queries, schema
from rehab.testing import FakeCamera, FakeTracker, MemoryWriter

PROTOCOLS = sorted(shipped_protocols_dir().glob("*.yaml"))
EXCERPT = (15, 60)  # frames of hand_reach_open.mp4: the hand opens, then reaches (all tracked)


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory) -> Path:
    """A 45-frame excerpt of the real fixture clip, used as the camera file.

    Every camera step of a fast run reads its camera file to the end, so a short excerpt keeps
    the 30-minute protocols to seconds while every frame is still real footage, really tracked.
    """
    src = cv2.VideoCapture(str(fixture_path("hand_reach_open.mp4")))
    out_path = tmp_path_factory.mktemp("camera") / "reach_open_excerpt.mp4"
    fps = src.get(cv2.CAP_PROP_FPS)
    writer = None
    for i in range(EXCERPT[1]):
        ok, img = src.read()
        assert ok
        if i < EXCERPT[0]:
            continue
        if writer is None:
            size = (img.shape[1], img.shape[0])
            writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        writer.write(img)
    writer.release()
    src.release()
    return out_path


def _expected_ratings(protocol) -> Counter:
    want: Counter = Counter()
    for p in protocol.flatten():
        if p.kind == "rate":
            want.update(r.key for r in p.step.ratings)
        elif p.kind == "imagine" and p.step.rate_vividness:
            want["vividness"] += 1
    return want


@pytest.mark.slow
@pytest.mark.parametrize("protocol_path", PROTOCOLS, ids=[p.stem for p in PROTOCOLS])
def test_every_shipped_protocol_runs_headless(protocol_path, camera_clip, tmp_path):
    store = Store()
    store.add_patient("E2E", "right")  # the fixture shows a right hand: the affected one
    shots = tmp_path / "shots"
    t0 = time.perf_counter()
    clock = make_clock(fast=True)
    display = PygameDisplay(fullscreen=False, size=(800, 450), clock=clock)  # small: less to draw
    try:
        result = run_session(RunRequest(protocol_path, "E2E", camera=str(camera_clip),
                                        autopilot=True, fast=True, screenshots_dir=shots,
                                        model="lite"), display=display, clock=clock)
    finally:
        display.close()
    wall_s = time.perf_counter() - t0
    planned = load_protocol(protocol_path).protocol.flatten()
    assert result.status == "completed", result.stop_reason
    with store.engine.connect() as conn:
        row = queries.get_session(conn, result.session_id)
        steps = queries.steps_of_session(conn, result.session_id)
        trials = queries.trials_of_session(conn, result.session_id)
        events = queries.events_of_session(conn, result.session_id)
        ratings = conn.execute(sa.select(schema.ratings.c.key).where(
            schema.ratings.c.session_id == result.session_id)).scalars().all()
    assert row.status == "completed" and row.total_steps == len(planned)
    # every step started, ended and was stored as completed (or cut short when the file
    # camera ran out before the step's time, with the reason), in order
    short = {e["step_index"]: e["data"] for e in events if e["kind"] == "step_not_as_planned"}
    assert all(d["cause"] == "camera_ran_out" for d in short.values())
    assert [(s["step_index"], s["kind"], s["status"]) for s in steps] == [
        (p.index, p.kind, "cut_short" if p.index in short else "completed") for p in planned]
    kinds = Counter(e["kind"] for e in events)
    assert kinds["step_started"] == kinds["step_ended"] == len(planned)
    # execute and mirror steps each produced a scored trial of really tracked frames
    camera_steps = [p.index for p in planned if p.kind in ("execute", "mirror")]
    assert [t["step_index"] for t in trials] == camera_steps
    assert all(t["frames"] > 0 for t in trials)
    for t in trials:
        if planned[t["step_index"]].kind == "execute":
            assert t["hand"] == "right" and t["tracked_fraction"] > 0.5, t
    assert Counter(ratings) == _expected_ratings(load_protocol(protocol_path).protocol)
    playbacks = [e["data"] for e in events if e["kind"] == "playback"]
    assert len(playbacks) == sum(p.kind == "observe" for p in planned)
    assert all(pb["frames_shown"] > 0 for pb in playbacks)
    assert len(list(shots.glob("*.png"))) >= len(planned)
    times = [e["t"] for e in events]
    assert times == sorted(times)  # one monotonic clock stamps every event
    assert kinds["session_started"] == kinds["session_ended"] == 1
    assert wall_s < 240, f"{protocol_path.name} took {wall_s:.0f} s"


# ---------------------------------------------------------------- real display, scripted keys
class ScriptedDisplay(PygameDisplay):
    """The real pygame display whose keys come from a script: each rule fires once, in order,
    the first time its predicate accepts the scene on screen."""

    def __init__(self, rules, clock, shots: Path | None = None) -> None:
        super().__init__(fullscreen=False, size=(1280, 720), clock=clock)
        self.shots = shots  # save the screen each time a rule fires (to look at)
        self.rules = list(rules)
        self.shown: list[object] = []
        self.polls = 0
        self.shot_rects: dict[str, tuple | None] = {}

    def show(self, scene: object) -> float:
        self.shown.append(scene)
        return super().show(scene)

    def screenshot(self, path) -> None:
        super().screenshot(path)
        self.shot_rects[Path(path).name] = self.image_rect

    def poll(self) -> list[Command]:
        super().poll()  # keep the window's event queue drained
        self.polls += 1
        if self.polls > 200_000:  # simulated time never blocks: fail rather than spin forever
            raise RuntimeError(f"script stuck at {type(self.last_scene).__name__}: {self.rules}")
        if self.rules and self.rules[0][0](self.last_scene):
            _, kinds = self.rules.pop(0)
            if self.shots is not None:
                self.screenshot(self.shots / f"rule_{len(self.shot_rects):02d}.png")
            return [k if isinstance(k, Command) else Command(k) for k in kinds]
        if not self.rules and _waits_for_space(self.last_scene):
            return [Command(CommandKind.CONTINUE)]  # script done: go through closing screens
        return []


def _waits_for_space(scene) -> bool:
    return isinstance(scene, sc.TextScene) and "SPACE" in (scene.footer or "")


def _title(scene) -> str:
    return getattr(scene, "title", "") or ""


def _protocol(steps: list[dict], **extra) -> Protocol:
    return Protocol.model_validate({"name": "scripted", "description": "test", "steps": steps,
                                    **extra})


def _session(protocol, display, clock, camera=None, autopilot=False, affected="right",
             screenshots=None):
    from rehab.devices.video import ClipSource

    writer = MemoryWriter()
    devices = Devices(clock=clock, display=display, audio=SilentAudio(), writer=writer, camera=camera,
                      tracker=FakeTracker(hands=("left", "right")),
                      clips=ClipSource(shipped_videos_dir()))
    options = SessionOptions(autopilot=autopilot, fast=True, screenshots_dir=screenshots,
                             camera_check=False)  # the camera check has its own tests
    session = Session(protocol, devices, PatientInfo("T1", affected), options)
    session.prepare()
    return session, writer


def _fixture_frames(n: int = 30) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(fixture_path("hand_reach_open.mp4")))
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    return frames


@pytest.mark.parametrize("mode", ["flip", "split"])
def test_mirror_modes_pixelwise_on_screenshots(mode, tmp_path):
    frames = _fixture_frames(10)
    clock = SimulatedClock()
    display = ScriptedDisplay([], clock)
    protocol = _protocol([{"kind": "mirror", "duration_s": 0.2, "mode": mode, "movement": "Open"}])
    session, _ = _session(protocol, display, clock, FakeCamera(frames, fps=25.0), autopilot=True,
                          screenshots=tmp_path)
    session.run()
    shot = cv2.imread(str(tmp_path / "01_mirror.png")).astype(int)
    x, y, w, h = display.shot_rects["01_mirror.png"]  # where the image was drawn
    region = shot[y : y + h, x : x + w]
    raw = cv2.resize(frames[0], (w, h), interpolation=cv2.INTER_LINEAR).astype(int)
    display.close()
    if mode == "flip":  # the unmirrored camera frame, as is
        assert np.abs(region - raw).mean() < 3
        assert np.abs(region - raw[:, ::-1]).mean() > 10
    else:  # split: the halves mirror each other; the kept half is the unaffected (left) side
        half = w // 2
        assert np.abs(region[:, :half] - region[:, w - half :][:, ::-1]).mean() < 3
        selfie = raw[:, ::-1]
        assert np.abs(region[:, :half] - selfie[:, :half]).mean() < 3
        assert np.abs(region - selfie).mean() > 3  # the affected half really is hidden


def test_camera_failure_mid_trial_pauses_and_recovers(tmp_path):
    clock = SimulatedClock()
    camera = FakeCamera(_fixture_frames(30), fps=25.0, fail_after=12)
    rules = [
        (lambda s: isinstance(s, sc.Overlay) and "camera" in _title(s).lower(),
         [CommandKind.CONTINUE]),
    ]
    display = ScriptedDisplay(rules, clock, tmp_path)
    protocol = _protocol([{"kind": "execute", "task": "open_close", "duration_s": 5,
                           "show_result": False}], defaults={"countdown_s": 0})
    session, writer = _session(protocol, display, clock, camera)
    result = session.run()
    overlay = [s for s in display.shown if isinstance(s, sc.Overlay)]
    display.screenshot(tmp_path / "after.png")
    display.close()
    kinds = [e.kind for e in result.events]
    assert result.status == "completed"
    assert kinds.index("camera_lost") < kinds.index("camera_restored") < kinds.index("trial_scored")
    assert overlay and "camera" in overlay[0].title.lower()
    assert result.trials[0]["frames"] == 30  # 12 before the failure, 18 after reopening


def test_pause_and_resume_freeze_the_rest_countdown(tmp_path):
    clock = SimulatedClock()
    rules = [
        (lambda s: isinstance(s, sc.TextScene) and s.seconds_left == 8, [CommandKind.PAUSE]),
        (lambda s: isinstance(s, sc.Overlay) and _title(s) == "Paused", [CommandKind.PAUSE]),
    ]
    display = ScriptedDisplay(rules, clock, tmp_path)
    session, _ = _session(_protocol([{"kind": "rest", "duration_s": 10}]), display, clock)
    result = session.run()
    display.close()
    kinds = [e.kind for e in result.events]
    assert result.status == "completed" and not display.rules
    assert kinds.index("paused") < kinds.index("resumed")
    countdown = [s.seconds_left for s in display.shown
                 if isinstance(s, sc.TextScene) and s.seconds_left is not None]
    after = countdown[countdown.index(8):]
    assert after[:2] == [8, 8] or 7 in after  # shown again after the pause, then counting on
    assert min(after) == 0


@pytest.mark.parametrize("answer", [CommandKind.YES, CommandKind.NO])
def test_esc_asks_before_ending(answer, tmp_path):
    clock = SimulatedClock()
    rules = [
        (lambda s: isinstance(s, sc.TextScene) and s.seconds_left == 5, [CommandKind.QUIT]),
        (lambda s: isinstance(s, sc.Overlay) and "End the session" in _title(s), [answer]),
    ]
    display = ScriptedDisplay(rules, clock, tmp_path)
    session, writer = _session(_protocol([{"kind": "rest", "duration_s": 6},
                                          {"kind": "rest", "duration_s": 2}]), display, clock)
    result = session.run()
    display.close()
    kinds = [e.kind for e in result.events]
    assert "quit_requested" in kinds
    if answer == CommandKind.YES:
        assert result.status == "aborted" and writer.status == "aborted"
        assert [s["status"] for s in result.steps] == ["aborted"]
    else:
        assert result.status == "completed" and "quit_cancelled" in kinds
        assert [s["status"] for s in result.steps] == ["completed", "completed"]


def test_pain_stop_rule_ends_calmly(tmp_path):
    clock = SimulatedClock()
    rating = lambda s: isinstance(s, sc.RatingScene)  # noqa: E731
    rules = [
        (rating, [Command(CommandKind.NUMBER, 2)]),
        (lambda s: rating(s) and s.selected == 2, [CommandKind.CONTINUE]),
        (lambda s: isinstance(s, sc.TextScene) and s.seconds_left is not None,
         [CommandKind.CONTINUE]),
        (rating, [Command(CommandKind.NUMBER, 7)]),
        (lambda s: rating(s) and s.selected == 7, [CommandKind.CONTINUE]),
    ]
    display = ScriptedDisplay(rules, clock, tmp_path)
    protocol = _protocol([{"kind": "rate", "ratings": [{"scale": "pain"}]},
                          {"kind": "rest", "duration_s": 1},
                          {"kind": "rate", "ratings": [{"scale": "pain"}]},
                          {"kind": "rest", "duration_s": 1}],
                         safety={"pain_stop_rise": 3})
    session, writer = _session(protocol, display, clock)
    result = session.run()
    display.screenshot(tmp_path / "stop.png")
    display.close()
    assert result.status == "stopped_by_safety_rule"
    assert "pain rose by 5" in result.stop_reason
    assert [r["value"] for r in result.ratings] == [2, 7]
    assert len(result.steps) == 3  # the last rest never started
    stop_screen = [s for s in display.shown if isinstance(s, sc.TextScene)][-1]
    assert stop_screen.title and stop_screen.seconds_left is None
    assert writer.status == "aborted"
