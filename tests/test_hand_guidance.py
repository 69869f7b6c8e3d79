"""Hand guidance: only the other hand in view -> say which hand is seen and which to use."""

from __future__ import annotations

import pytest
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
    assert result.lines == ("I only saw your right hand. This exercise is for your left hand.",)


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


# -- screens that name things right (end, home, mirror) ---------------------------------------
def test_end_screen_has_no_half_full_step_bar_and_says_when_next():
    from rehab.engine.scenes import TextScene

    r = rig(protocol({"kind": "rest", "duration_s": 1}, {"kind": "rate", "ratings": [
        {"scale": "pain", "default": 1}]}), closing_line="See you next time: 2 more sessions "
        "this week.")
    r.session.run()
    last = r.display.shown[-1].scene
    assert isinstance(last, TextScene) and last.title == "Session complete"
    assert last.progress is None
    assert last.body == ("Well done! You have finished today's session.\n"
                         "See you next time: 2 more sessions this week.")


def test_mirror_screens_name_the_moving_hand():
    from rehab.engine.scenes import MirrorScene, TextScene

    r = rig(protocol({"kind": "mirror", "duration_s": 2, "movement": "Open and close",
                      "text": "Put your right hand behind the mirror."}),
            affected="right", camera=FakeCamera(count=300), continue_screens=True,
            autopilot=False)
    r.session.run()
    mirrors = [s.scene for s in r.display.shown if isinstance(s.scene, MirrorScene)]
    assert mirrors and {m.progress.label for m in mirrors} == {"Mirror - move your left hand"}
    setup = [s.scene for s in r.display.shown if isinstance(s.scene, TextScene)][0]
    assert setup.title == "Mirror: move your left hand"


@pytest.mark.parametrize(("per_week", "done", "want"), [
    (5, 0, "See you next time: 4 more sessions this week."),
    (5, 3, "See you next time: 1 more session this week."),
    (5, 4, "That was your last session for this week. Well done!"),
    (7, 2, "See you tomorrow."),
    (7, 6, "That was your last session for this week. Well done!"),
    (3, 5, "That was your last session for this week. Well done!"),  # extra practice
])
def test_closing_line_follows_the_assignment(per_week, done, want):
    from pathlib import Path

    from rehab.home import AssignmentStatus, closing_line

    assert closing_line(AssignmentStatus("x", Path("x.yaml"), per_week, done)) == want


def test_home_screen_shows_only_what_the_patient_can_start_without_citation():
    from pathlib import Path

    from rehab.home import AssignmentStatus, HomePlan, home_scene, patient_title

    mirror = AssignmentStatus("Mirror therapy (after Yavuzer et al. 2008)", Path("m.yaml"), 3, 0)
    home = AssignmentStatus("Home session (about 12 minutes)", Path("h.yaml"), 5, 1)
    scene = home_scene(HomePlan("P1", (home, mirror), home))
    assert scene.body == "Home session (about 12 minutes)\n\nThis week: 1 of 5 sessions done"
    assert patient_title(mirror.protocol_name) == "Mirror therapy"
    assert patient_title("Action observation (after Ertelt et al. 2007)") == "Action observation"
