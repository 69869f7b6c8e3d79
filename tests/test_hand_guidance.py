"""Hand guidance: only the other hand in view -> say which hand is seen and which to use."""

from __future__ import annotations

from engine_helpers import protocol, rig

from rehab.devices.base import Command
from rehab.engine.scenes import CameraScene, ResultScene
from rehab.engine.steps.execute import only_other_hand_share, wrong_hand_hint
from rehab.testing import FakeCamera, FakeTracker

STEP = {"kind": "execute", "task": "open_close", "duration_s": 5}


def _hints(r) -> list[str | None]:
    return [s.scene.hint for s in r.display.shown if isinstance(s.scene, CameraScene)]


def test_only_the_other_hand_seen_names_both_hands():
    # affected (and exercised) hand: left; the camera only ever sees the right one
    r = rig(protocol(STEP), affected="left", tracker=FakeTracker(("right",)),
            camera=FakeCamera(count=300))
    r.session.run()
    hints = set(_hints(r))
    assert hints == {None, "I can see your right hand - please use your left hand"}
    (ev,) = r.writer.of("wrong_hand_seen")
    assert ev.data == {"seen": "right", "wanted": "left", "share": 1.0}
    result = [s.scene for s in r.display.shown if isinstance(s.scene, ResultScene)][-1]
    assert result.lines == ("We only saw your right hand.", "This exercise is for your left hand.")


def test_no_hand_at_all_keeps_the_plain_hint():
    r = rig(protocol(STEP), affected="left", tracker=FakeTracker(("right",), lambda _i: False),
            camera=FakeCamera(count=300))
    r.session.run()
    assert set(_hints(r)) == {None, "Hand not visible - move it into view"}
    assert r.writer.of("wrong_hand_seen") == []


def test_the_right_hand_gets_no_hint():
    r = rig(protocol(STEP), affected="left", tracker=FakeTracker(("left",)),
            camera=FakeCamera(count=300))
    r.session.run()
    assert set(_hints(r)) == {None}
    assert r.writer.of("wrong_hand_seen") == []


def test_wrong_hand_wording_and_share():
    assert wrong_hand_hint("left", "right") == "I can see your left hand - please use your right hand"
    assert only_other_hand_share([], "left") == 0.0


def test_demo_asks_which_hand_before_the_first_trial():
    from rehab.devices.base import CommandKind
    from rehab.devices.clock import SimulatedClock
    from rehab.paths import shipped_protocols_dir
    from rehab.runner import AFFECTED_QUESTION, RunRequest, run_session
    from rehab.store import Store
    from rehab.testing import RecordingDisplay, ScriptedInput

    mi = shipped_protocols_dir() / "motor_imagery.yaml"  # no camera: quick
    clock = SimulatedClock()
    keys = (ScriptedInput()
            .when(lambda s: s == AFFECTED_QUESTION, CommandKind.RIGHT)
            .when(lambda s: "SPACE" in (getattr(s, "footer", "") or ""), CommandKind.CONTINUE,
                  once=False)
            .when(lambda s: type(s).__name__ == "RatingScene", Command(CommandKind.NUMBER, 3),
                  CommandKind.CONTINUE, once=False))
    display = RecordingDisplay(clock, keys)
    req = RunRequest(mi, "DEMO", fast=True, create_patient=True, resume=False,
                     ask_affected=True)
    result = run_session(req, display=display, clock=clock)
    scenes = display.scenes()
    assert scenes[0] == AFFECTED_QUESTION  # before anything else
    assert result.status == "completed"
    assert Store().get_session(result.session_id) is not None
    with Store().engine.connect() as conn:
        side = conn.exec_driver_sql("select affected_side from sessions").scalar()
    assert side == "right"


def test_demo_help_says_the_side_is_asked():
    from click.testing import CliRunner

    from rehab.cli import main

    out = CliRunner().invoke(main, ["demo", "--help"]).output
    assert "asked on screen" in out and "[default: left]" not in out
