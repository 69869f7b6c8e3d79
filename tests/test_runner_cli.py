"""``rehab run`` / ``demo`` / ``home`` and the runner library: patients, store checks, resume,
crash guard, camera messages."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.devices.base import Command, CommandKind
from rehab.devices.clock import SimulatedClock
from rehab.engine.scenes import TextScene
from rehab.home import home_plan, home_scene
from rehab.runner import RunRequest, ask_yes_no, run_session, write_crash_log
from rehab.store import Store
from rehab.testing import RecordingDisplay, ScriptedInput

MI = Path(__file__).resolve().parent.parent / "protocols" / "motor_imagery.yaml"  # no camera


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_every_command_has_an_example_in_its_help():
    for name in ("run", "demo", "home"):
        result = _cli(name, "--help")
        assert result.exit_code == 0 and "Example" in result.output, name


def test_run_unknown_patient_says_how_to_add_them():
    result = _cli("run", str(MI), "--patient", "P404", "--autopilot", "--fast", "--window")
    assert result.exit_code == 1
    assert "no patient 'P404'" in result.output
    assert "rehab patients add P404 --affected" in result.output


def test_run_missing_protocol_file_is_a_message():
    Store().add_patient("P1", "left")
    result = _cli("run", "nowhere.yaml", "--patient", "P1", "--autopilot", "--fast")
    assert result.exit_code == 1 and "nowhere.yaml not found" in result.output


def test_run_read_only_data_dir_is_reported_before_the_session(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    data = tmp_path / "ro"
    Store(data).add_patient("P1", "left")
    os.chmod(data, 0o500)
    try:
        result = _cli("run", str(MI), "--patient", "P1", "--data", str(data), "--fast",
                      "--autopilot", "--window")
    finally:
        os.chmod(data, 0o700)
    assert result.exit_code == 1 and "read-only" in result.output


def test_run_without_camera_protocol_completes_and_is_stored(tmp_path):
    Store().add_patient("P1", "left")
    result = _cli("run", str(MI), "--patient", "P1", "--autopilot", "--fast", "--window",
                  "--screenshots", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    sessions = Store().sessions("P1")
    assert [s.status for s in sessions] == ["completed"]
    assert len(list(tmp_path.glob("*.png"))) >= 9


def test_demo_without_a_webcam_says_how_to_use_a_file(monkeypatch):
    import rehab.devices.camera as camera_mod

    class NoDevice:
        def __init__(self, index, *a, **k):
            self.name = f"camera {index}"

        def open(self):
            from rehab.errors import CameraError

            raise CameraError("camera 0 could not be opened")

    monkeypatch.setattr(camera_mod, "OpenCVCamera", NoDevice)
    result = _cli("demo", "--autopilot", "--fast", "--window")
    assert result.exit_code == 1
    assert "no camera at index 0" in result.output and "--camera FILE" in result.output


@pytest.mark.slow
def test_demo_runs_headless_with_a_file_camera(reach_open_clip, tmp_path):
    result = _cli("demo", "--autopilot", "--fast", "--window", "--affected", "right",
                  "--camera", str(reach_open_clip), "--model", "lite", "--screenshots",
                  str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "completed (2 trials, 2 ratings)" in result.output
    assert Store().get_patient("DEMO").affected_side == "right"
    assert (tmp_path / "03_execute_result.png").is_file()


def _interrupted_session(store: Store, stop_after: int) -> str:
    """A session of MI for P1 that died (left 'running') after ``stop_after`` steps."""
    from rehab.engine.writer import SessionInfo
    from rehab.protocol import load_protocol

    loaded = load_protocol(MI)
    w = store.writer()
    sid = w.begin(SessionInfo("P1", loaded.protocol.name, loaded.text, loaded.sha256, str(MI),
                              "left", len(loaded.protocol.flatten())))
    for i in range(stop_after):
        w.step(i, loaded.protocol.flatten()[i].kind, "completed", float(i), float(i) + 1)
    with store.engine.begin() as conn:  # as if the process had been killed
        from rehab.store import schema

        conn.execute(schema.sessions.update().where(schema.sessions.c.id == sid)
                     .values(owner="killed"))
    return sid


@pytest.mark.parametrize("resume, first_step", [(None, 3), (False, 0)])
def test_autopilot_resumes_an_interrupted_session_unless_told_not_to(resume, first_step):
    store = Store()
    store.add_patient("P1", "left")
    old_id = _interrupted_session(store, 3)
    clock = SimulatedClock()
    display = RecordingDisplay(clock)
    result = run_session(RunRequest(MI, "P1", autopilot=True, fast=True, resume=resume),
                         display=display, clock=clock)
    assert result.status == "completed"
    assert result.steps[0]["index"] == first_step
    row = Store().get_session(result.session_id)
    assert row.start_step == first_step
    assert row.resumed_from == (old_id if first_step else None)


@pytest.mark.parametrize("key, first_step", [(CommandKind.YES, 2), (CommandKind.NO, 0)])
def test_resume_is_offered_on_screen(key, first_step):
    store = Store()
    store.add_patient("P1", "left")
    _interrupted_session(store, 2)
    clock = SimulatedClock()
    keys = (ScriptedInput()
            .when(lambda s: "Go on where you stopped" in getattr(s, "title", ""), key)
            .when(lambda s: "SPACE" in (getattr(s, "footer", "") or ""), CommandKind.CONTINUE,
                  once=False)
            .when(lambda s: type(s).__name__ == "RatingScene", Command(CommandKind.NUMBER, 3),
                  CommandKind.CONTINUE, once=False))
    display = RecordingDisplay(clock, keys)
    result = run_session(RunRequest(MI, "P1", fast=True), display=display, clock=clock)
    assert any("Go on where you stopped" in getattr(s, "title", "") for s in display.scenes())
    assert result.steps[0]["index"] == first_step


def test_ask_yes_no_treats_esc_as_no_and_close_as_none():
    clock = SimulatedClock()
    keys = ScriptedInput().press(Command(CommandKind.QUIT))
    assert ask_yes_no(RecordingDisplay(clock, keys), clock, TextScene("Q?")) is False
    keys = ScriptedInput().press(Command(CommandKind.CLOSE))
    assert ask_yes_no(RecordingDisplay(clock, keys), clock, TextScene("Q?")) is None


def test_unexpected_crash_ends_the_session_and_logs_the_traceback(monkeypatch, tmp_path):
    store = Store()
    store.add_patient("P1", "left")
    import rehab.engine.steps.screens as screens

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(screens, "run_rest", boom)
    import rehab.engine.session as session_mod

    monkeypatch.setattr(session_mod, "run_rest", boom)
    result = _cli("run", str(MI), "--patient", "P1", "--autopilot", "--fast", "--window")
    assert result.exit_code == 1
    assert "unexpected problem" in result.output and "Traceback" not in result.output
    logs = list((store.data_dir / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and "ZeroDivisionError: simulated bug" in logs[0].read_text()
    assert oct(logs[0].stat().st_mode & 0o777) == "0o600"
    assert [s.status for s in Store().sessions("P1")] == ["aborted"]


def test_crash_log_goes_to_the_data_dir(tmp_path):
    try:
        raise ValueError("x")
    except ValueError as exc:
        path = write_crash_log(tmp_path, exc)
    assert path.parent == tmp_path / "logs" and "ValueError: x" in path.read_text()


def test_home_plan_counts_this_weeks_sessions():
    store = Store()
    store.add_patient("P1", "left")
    assert home_plan(store, "P1").today is None
    assert "No session assigned" in home_scene(home_plan(store, "P1")).title
    store.assign("P1", MI, per_week=3)
    plan = home_plan(store, "P1", date.today())
    assert plan.today.protocol_name and plan.today.done_this_week == 0
    scene = home_scene(plan)
    assert "0 of 3 sessions done" in scene.body and "SPACE" in scene.footer


def test_home_starts_todays_session_with_one_key():
    Store().add_patient("P1", "left")
    Store().assign("P1", MI, per_week=2)
    result = _cli("home", "--patient", "P1", "--autopilot", "--fast", "--window")
    assert result.exit_code == 0, result.output and "completed" in result.output
    plan = home_plan(Store(), "P1")
    assert plan.today.done_this_week == 1 and "1 of 2" in home_scene(plan).body


def test_home_unknown_patient_is_a_message():
    result = _cli("home", "--patient", "NOPE", "--window")
    assert result.exit_code == 1 and "rehab patients add NOPE" in result.output


def test_run_full_disk_is_reported_before_the_session(monkeypatch):
    import shutil
    from collections import namedtuple

    Store().add_patient("P1", "left")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**5, 10**5))
    result = _cli("run", str(MI), "--patient", "P1", "--autopilot", "--fast", "--window")
    assert result.exit_code == 1 and "MB free" in result.output
    assert Store().sessions("P1") == []  # nothing started


@pytest.mark.slow
def test_knowledge_of_results_compares_with_the_previous_session(reach_open_clip, tmp_path):
    from rehab.engine.scenes import ResultScene

    protocol = tmp_path / "kr.yaml"
    protocol.write_text("name: kr\ndescription: knowledge of results\n"
                        "defaults: {countdown_s: 0}\n"
                        "steps:\n  - execute: {task: reach_grasp, duration_s: 8, "
                        "compare_previous: true}\n")
    Store().add_patient("P1", "right")

    def result() -> str:
        clock = SimulatedClock()
        display = RecordingDisplay(clock)
        result = run_session(RunRequest(protocol, "P1", camera=str(reach_open_clip),
                                        autopilot=True, fast=True, model="lite"),
                             display=display, clock=clock)
        assert result.status == "completed" and result.trials[0]["frames"] == 200
        (line,) = [s for s in display.scenes() if isinstance(s, ResultScene)][0].lines
        return line

    first = re.fullmatch(r"Your reach took (\d+\.\d) seconds - your first time with this exercise",
                         result())
    assert first is not None
    # the same clip again: the same time, said as such
    assert result() == f"Your reach took {first[1]} seconds - the same as last time"


def test_prepare_problems_are_shown_on_screen_too(tmp_path):
    protocol = tmp_path / "p.yaml"
    protocol.write_text("name: p\ndescription: d\nsteps:\n  - mirror: {duration_s: 5, "
                        "movement: open}\n")
    Store().add_patient("P1", "left")
    clock = SimulatedClock()
    display = RecordingDisplay(clock)
    with pytest.raises(Exception) as info:
        run_session(RunRequest(protocol, "P1", camera=str(tmp_path / "missing.mp4"),
                               autopilot=True, fast=True), display=display, clock=clock)
    assert "missing.mp4" in str(info.value)
    last = display.scenes()[-1]
    assert last.title == "The session cannot start" and "missing.mp4" in last.body


def test_broken_demonstration_sidecar_is_named_before_the_session(reach_open_clip, tmp_path):
    (tmp_path / "protocols").mkdir()
    videos = tmp_path / "videos"
    videos.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "videos"
    for suffix in (".mp4", ".landmarks.npz"):
        (videos / f"open_close{suffix}").write_bytes((shipped / f"open_close{suffix}").read_bytes())
    (videos / "open_close.yaml").write_text("task: open_close\nhand: [\n")
    protocol = tmp_path / "protocols" / "p.yaml"
    protocol.write_text("name: p\ndescription: d\nsteps:\n  - execute: {task: open_close, "
                        "duration_s: 5, demonstration: open_close.mp4}\n")
    Store().add_patient("P1", "left")
    clock = SimulatedClock()
    with pytest.raises(Exception) as info:
        run_session(RunRequest(protocol, "P1", camera=str(reach_open_clip), autopilot=True,
                               fast=True, model="lite"),
                    display=RecordingDisplay(clock), clock=clock)
    message = str(info.value)
    assert "open_close.yaml" in message and "not valid YAML" in message
    assert "not in the clip library" not in message


def test_unwritable_screenshots_folder_is_reported_before_the_session(tmp_path):
    Store().add_patient("P1", "left")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = _cli("run", str(MI), "--patient", "P1", "--autopilot", "--fast", "--window",
                  "--screenshots", str(blocker / "shots"))
    assert result.exit_code == 1 and "screenshots folder" in result.output
    assert Store().sessions("P1") == []  # nothing started
