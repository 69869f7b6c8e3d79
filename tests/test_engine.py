"""Session engine on fakes: lifecycle, events, timing, pause, quit, skip, safety, prepare."""

from __future__ import annotations

import pytest
from engine_helpers import protocol, rig, step_duration

from rehab.devices.base import CommandKind
from rehab.engine import State
from rehab.errors import RehabError
from rehab.testing import FakeCamera, ScriptedInput, is_scene

FULL = (
    {"kind": "instruction", "text": "Welcome"},
    {"kind": "rate", "ratings": [{"scale": "pain"}, {"scale": "fatigue"}]},
    {"kind": "observe", "clip": "clip.mp4", "repeat": 2, "imagine": True},
    {"kind": "execute", "task": "open_close", "target_reps": 3, "duration_s": 20},
    {"kind": "mirror", "duration_s": 5, "mode": "flip", "movement": "Open and close"},
    {"kind": "imagine", "text": "Imagine opening", "duration_s": 10, "eyes_closed": True,
     "rate_vividness": True},
    {"kind": "rest", "duration_s": 30},
    {"kind": "rate", "ratings": [{"scale": "pain"}]},
)


def test_full_protocol_autopilot_runs_fast_with_exact_timing():
    r = rig(protocol(*FULL))
    result = r.session.run()
    assert result.status == "completed" and r.session.state == State.FINISHED
    assert r.writer.status == "completed"
    assert [s["status"] for s in r.writer.steps] == ["completed"] * len(FULL)
    assert step_duration(r.writer, 2) == pytest.approx(6.0)  # 90 frames at 30 fps, twice
    assert step_duration(r.writer, 4) == pytest.approx(5.0)  # mirror on the camera timeline
    assert step_duration(r.writer, 5) == pytest.approx(10.0)  # eyes-closed imagery
    assert step_duration(r.writer, 6) == pytest.approx(30.0)  # rest
    # execute: 3 s countdown, then 3 reps x 15 visible frames at 30 fps (last frame at 44/30 s)
    assert step_duration(r.writer, 3) == pytest.approx(3.0 + 44 / 30)
    assert [t["task"] for t in result.trials] == ["open_close", "free"]


def test_writer_gets_every_event_in_order_with_monotonic_times():
    r = rig(protocol(*FULL))
    result = r.session.run()
    assert r.writer.events == result.events
    times = [e.t for e in r.writer.events]
    assert times == sorted(times)
    kinds = r.writer.kinds()
    assert kinds[0] == "session_started" and kinds[-1] == "session_ended"
    assert kinds.count("step_started") == kinds.count("step_ended") == len(FULL)
    for kind in ("frame_shown", "rating_given", "trial_scored", "cue"):
        assert kind in kinds
    # every step's events lie between its start and end
    for s in r.writer.steps:
        inside = [e for e in r.writer.events if e.step_index == s["index"]]
        assert all(s["started_t"] <= e.t <= s["ended_t"] for e in inside)


def test_rest_of_30_s_takes_exactly_30_s_of_simulated_time():
    r = rig(protocol({"kind": "rest", "duration_s": 30}))
    r.session.run()
    assert step_duration(r.writer, 0) == 30.0
    lefts = [s.seconds_left for s in r.display.scenes("TextScene") if s.title == "Rest"]
    assert lefts[0] == 30.0 and lefts[-1] == 0.0
    assert sorted(set(lefts), reverse=True) == [float(i) for i in range(30, -1, -1)]
    # each new second is drawn the moment it begins, not up to a tick later
    for shown in r.display.shown:
        if getattr(shown.scene, "title", "") == "Rest":
            assert shown.t == pytest.approx(30.0 - shown.scene.seconds_left, abs=1e-6)


def test_pause_freezes_the_countdown():
    keys = ScriptedInput().at(2.0, CommandKind.PAUSE).at(7.0, CommandKind.PAUSE)
    r = rig(protocol({"kind": "rest", "duration_s": 10}), keys=keys)
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(15.0)
    assert "paused" in r.writer.kinds() and "resumed" in r.writer.kinds()
    overlays = r.display.scenes("Overlay")
    assert overlays and overlays[0].title == "Paused" and "P to resume" in overlays[0].footer
    # after resuming, the countdown goes on from where it stopped (8 s left), not from 3 s
    after = [s for s in r.display.shown if s.t > 6.5 and type(s.scene).__name__ == "TextScene"]
    assert after[0].scene.seconds_left == 8.0


def test_state_is_paused_while_paused():
    states = []
    keys = ScriptedInput().at(1.0, CommandKind.PAUSE).at(2.0, CommandKind.PAUSE)
    r = rig(protocol({"kind": "rest", "duration_s": 3}), keys=keys)
    original = r.display.show

    def spy(scene):
        states.append(r.session.state)
        return original(scene)

    r.display.show = spy
    r.session.run()
    assert State.PAUSED in states and State.RUNNING in states


def test_esc_then_yes_aborts():
    keys = ScriptedInput().at(5.0, CommandKind.QUIT)
    keys.when(is_scene("Overlay", title="End the session now?"), CommandKind.YES)
    r = rig(protocol({"kind": "rest", "duration_s": 30}, {"kind": "rest", "duration_s": 30}),
            keys=keys)
    result = r.session.run()
    assert result.status == "aborted" and r.session.state == State.ABORTED
    assert r.writer.status == "aborted"
    assert [s["status"] for s in r.writer.steps] == ["aborted"]
    assert "quit_requested" in r.writer.kinds()


def test_esc_then_no_goes_on():
    keys = ScriptedInput().at(5.0, CommandKind.QUIT)
    keys.when(is_scene("Overlay", title="End the session now?"), CommandKind.NO)
    r = rig(protocol({"kind": "rest", "duration_s": 30}), keys=keys)
    result = r.session.run()
    assert result.status == "completed"
    assert "quit_cancelled" in r.writer.kinds()
    assert step_duration(r.writer, 0) == pytest.approx(30.0)


def test_window_close_aborts_without_asking():
    keys = ScriptedInput().at(1.0, CommandKind.CLOSE)
    r = rig(protocol({"kind": "rest", "duration_s": 30}), keys=keys)
    assert r.session.run().status == "aborted"
    assert not r.display.scenes("Overlay")


def test_skip_ends_the_step_as_skipped():
    keys = ScriptedInput().at(4.0, CommandKind.SKIP)
    r = rig(protocol({"kind": "rest", "duration_s": 30}, {"kind": "rest", "duration_s": 2}),
            keys=keys)
    result = r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["skipped", "completed"]
    assert step_duration(r.writer, 0) == pytest.approx(4.0)
    assert result.status == "completed"


def test_without_autopilot_screens_wait_for_space():
    keys = ScriptedInput().at(12.5, CommandKind.CONTINUE).at(20.0, CommandKind.CONTINUE)
    r = rig(protocol({"kind": "instruction", "text": "Read me"}), autopilot=False, keys=keys)
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(12.5)


def test_instruction_with_duration_goes_on_by_itself():
    keys = ScriptedInput().at(20.0, CommandKind.CONTINUE)
    r = rig(protocol({"kind": "instruction", "text": "Read me", "duration_s": 5}),
            autopilot=False, keys=keys)
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(5.0)


def test_progress_on_every_scene():
    r = rig(protocol(*FULL))
    r.session.run()
    for shown in r.display.shown:
        scene = shown.scene
        if type(scene).__name__ == "Overlay" or getattr(scene, "title", "") == "Session complete":
            continue
        assert scene.progress is not None and scene.progress.total == len(FULL)


def test_start_step_skips_earlier_steps():
    r = rig(protocol({"kind": "rest", "duration_s": 30}, {"kind": "rest", "duration_s": 3}),
            start_step=1)
    r.session.run()
    assert [s["index"] for s in r.writer.steps] == [1]
    assert r.writer.info.start_step == 1 and r.writer.info.total_steps == 2


def test_screenshots_of_first_frame_of_each_step_and_result(tmp_path):
    steps = ({"kind": "instruction", "text": "Hi"},
             {"kind": "observe", "clip": "clip.mp4"},
             {"kind": "execute", "task": "open_close", "duration_s": 2})
    r = rig(protocol(*steps), screenshots_dir=tmp_path)
    r.session.run()
    names = [p.rsplit("/", 1)[-1] for p, _scene in r.display.screenshots]
    assert names == ["01_instruction.png", "02_observe.png", "03_execute.png",
                     "03_execute_camera.png", "03_execute_result.png"]
    kinds = [type(scene).__name__ for _path, scene in r.display.screenshots]
    assert kinds == ["TextScene", "VideoScene", "TextScene", "CameraScene", "ResultScene"]


def test_audio_cues():
    r = rig(protocol(*FULL))
    r.session.run()
    played = r.audio.played
    assert played.count("step") == len(FULL)
    assert played[-1] == "done"
    assert played.count("start") >= 3 and played.count("stop") >= 3  # execute, mirror, imagery


# -- prepare -------------------------------------------------------------------------------

def test_prepare_lists_every_problem_before_any_screen():
    steps = ({"kind": "observe", "clip": "missing.mp4"},
             {"kind": "execute", "task": "open_close", "duration_s": 5})
    r = rig(protocol(*steps), camera=None)
    r.session.devices.tracker = None
    with pytest.raises(RehabError) as info:
        r.session.prepare()
    text = str(info.value)
    assert "missing.mp4" in text and "camera" in text and "tracker" in text
    assert r.display.shown == [] and r.writer.info is None


def test_prepare_reports_a_camera_that_does_not_open():
    r = rig(protocol({"kind": "mirror", "duration_s": 5, "movement": "wave"}),
            camera=FakeCamera(count=10, open_failures=1, name="webcam 0"))
    with pytest.raises(RehabError, match="webcam 0"):
        r.session.run()
    assert r.display.shown == []


def test_prepare_needs_no_camera_without_camera_steps():
    r = rig(protocol({"kind": "rest", "duration_s": 1}), camera=None)
    assert r.session.run().status == "completed"


def test_failed_prepare_closes_the_camera_it_opened():
    steps = ({"kind": "observe", "clip": "missing.mp4"},
             {"kind": "mirror", "duration_s": 5, "movement": "wave"})
    r = rig(protocol(*steps))
    with pytest.raises(RehabError, match="missing.mp4"):
        r.session.prepare()
    assert r.camera.opened == 1 and r.camera.closed == 1


def test_camera_is_closed_after_the_session():
    r = rig(protocol({"kind": "mirror", "duration_s": 1, "movement": "wave"}))
    r.session.run()
    assert r.camera.closed >= 1 and not r.camera.is_open


def test_esc_while_paused_asks_and_yes_aborts():
    keys = ScriptedInput().at(2.0, CommandKind.PAUSE).at(3.0, CommandKind.QUIT)
    keys.when(is_scene("Overlay", title="End the session now?"), CommandKind.YES)
    r = rig(protocol({"kind": "rest", "duration_s": 30}), keys=keys)
    assert r.session.run().status == "aborted"
    kinds = r.writer.kinds()
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("quit_requested")


def test_skip_while_paused_skips_the_step():
    keys = ScriptedInput().at(2.0, CommandKind.PAUSE).at(3.0, CommandKind.SKIP)
    r = rig(protocol({"kind": "rest", "duration_s": 30}, {"kind": "rest", "duration_s": 1}),
            keys=keys)
    r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["skipped", "completed"]


def test_pause_during_a_fast_camera_step_loses_no_frames():
    keys = ScriptedInput().at(4.0, CommandKind.PAUSE).at(9.0, CommandKind.PAUSE)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 2}), keys=keys)
    r.session.run()
    frames = [f.frame_index for f in r.writer.trials[0]["frames"]]
    assert frames == list(range(60))
    assert step_duration(r.writer, 0) == pytest.approx(3.0 + 2.0 + 5.0, abs=0.06)


def test_every_key_is_logged():
    keys = ScriptedInput().at(1.0, CommandKind.LEFT).at(2.0, CommandKind.PAUSE).at(
        2.5, CommandKind.PAUSE)
    r = rig(protocol({"kind": "rest", "duration_s": 3}), keys=keys)
    r.session.run()
    pressed = [e.data["command"] for e in r.writer.of("key_pressed")]
    assert pressed == ["left", "pause", "pause"]


def test_resumed_session_is_stored_as_such():
    r = rig(protocol({"kind": "rest", "duration_s": 1}, {"kind": "rest", "duration_s": 1}),
            start_step=1, resumed_from="abc123")
    r.session.run()
    assert r.writer.info.resumed_from == "abc123" and r.writer.info.start_step == 1


def test_fake_camera_frames_from_a_function_or_a_list():
    import numpy as np

    from rehab.errors import CameraEnded

    made = FakeCamera(lambda i: np.full((4, 4, 3), i, np.uint8), count=3)
    listed = FakeCamera([np.zeros((4, 4, 3), np.uint8)] * 2)
    values = {}
    for cam, n in ((made, 3), (listed, 2)):
        cam.open()
        frames = [cam.read() for _ in range(n)]
        assert [f.index for f in frames] == list(range(n))
        values[n] = [int(f.image[0, 0, 0]) for f in frames]
        with pytest.raises(CameraEnded):
            cam.read()
    assert values == {3: [0, 1, 2], 2: [0, 0]}


def test_prepare_rejects_a_clip_without_frames():
    from rehab.testing import FakeClip

    r = rig(protocol({"kind": "observe", "clip": "empty.mp4"}),
            clips={"empty.mp4": FakeClip(0, 30.0)})
    with pytest.raises(RehabError, match="empty.mp4 reports 30.0 fps and 0 frames"):
        r.session.prepare()


def test_a_crash_mid_step_is_not_recorded_as_completed():
    r = rig(protocol({"kind": "rest", "duration_s": 30}))
    original = r.display.show

    def broken(scene):
        if r.clock.now() > 5:
            raise RuntimeError("display died")
        return original(scene)

    r.display.show = broken
    with pytest.raises(RuntimeError):
        r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["aborted"]
    assert r.writer.status == "running"  # left for the store to read back as interrupted
    assert r.session.state == State.ABORTED


def test_screenshots_without_countdown_still_name_the_step(tmp_path):
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1},
                     defaults={"countdown_s": 0}), screenshots_dir=tmp_path)
    r.session.run()
    shots = [(p.rsplit("/", 1)[-1], type(scene).__name__) for p, scene in r.display.screenshots]
    assert shots == [("01_execute.png", "CameraScene"), ("01_execute_camera.png", "CameraScene"),
                     ("01_execute_result.png", "ResultScene")]
