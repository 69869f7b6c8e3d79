"""Steps that could not run as planned say why: a file camera that ran out, no sound device."""

from __future__ import annotations

from engine_helpers import protocol, rig

from rehab.engine.session import NO_SOUND_TITLE
from rehab.testing import FakeCamera


def test_mirror_step_longer_than_the_file_camera_is_cut_short_with_the_reason():
    # 8 frames at 32 fps: 0.25 s of camera for a 15 s mirror step
    r = rig(protocol({"kind": "mirror", "duration_s": 15, "movement": "Open and close"}),
            camera=FakeCamera(count=8, fps=32.0))
    result = r.session.run()
    assert result.status == "completed"
    assert [s["status"] for s in r.writer.steps] == ["cut_short"]
    (ev,) = r.writer.of("step_not_as_planned")
    assert ev.step_index == 0
    assert ev.data == {"reason": "the camera (fake camera) ran out after 0.25 s of the planned "
                                 "15 s", "cause": "camera_ran_out", "planned_s": 15.0,
                       "ran_s": 0.25}


def test_a_camera_that_lasts_the_step_is_not_flagged():
    r = rig(protocol({"kind": "mirror", "duration_s": 2, "movement": "Open and close"}),
            camera=FakeCamera(count=300))
    r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["completed"]
    assert r.writer.of("step_not_as_planned") == []


class NoSound:
    """An audio device that failed to open (like PygameAudio without a sound card)."""

    problem = "no audio device (dsp: No available audio device); cues will be silent"

    def __init__(self) -> None:
        self.played: list[str] = []

    def cue(self, name: str) -> None:
        self.played.append(name)

    def close(self) -> None:
        pass


def test_no_sound_is_said_on_screen_first_and_eyes_closed_imagery_runs_eyes_open():
    r = rig(protocol({"kind": "imagine", "duration_s": 5, "text": "Imagine opening your hand",
                      "eyes_closed": True}))
    r.session.devices.audio = NoSound()
    r.session.run()
    titles = [getattr(s.scene, "title", None) for s in r.display.shown]
    assert titles[0] == NO_SOUND_TITLE
    assert "Eyes closed" not in titles
    (ev,) = r.writer.of("audio_unavailable")
    assert ev.data == {"reason": NoSound.problem} and ev.step_index is None
    (step_ev,) = r.writer.of("step_not_as_planned")
    assert step_ev.step_index == 0
    assert step_ev.data == {"reason": f"eyes open instead of closed: {NoSound.problem}",
                            "cause": "no_sound"}
    assert [s["status"] for s in r.writer.steps] == ["completed"]


def test_with_sound_there_is_no_notice():
    r = rig(protocol({"kind": "imagine", "duration_s": 5, "text": "Imagine", "eyes_closed": True}))
    r.session.run()
    titles = [getattr(s.scene, "title", None) for s in r.display.shown]
    assert NO_SOUND_TITLE not in titles and "Eyes closed" in titles
    assert r.writer.of("audio_unavailable") == [] == r.writer.of("step_not_as_planned")


def test_review_lists_what_did_not_run_as_planned(tmp_path):
    from rehab.engine.writer import Event
    from rehab.report.review import build_review
    from rehab.store import Store
    from rehab.testing.store_data import fake_info

    store = Store(tmp_path / "d")
    store.add_patient("P001", "left")
    w = store.writer()
    sid = w.begin(fake_info())
    w.event(Event(t=1.0, kind="step_not_as_planned", step_index=3,
                  data={"reason": "the camera (/home/clinic/clips/x.mp4) ran out after 0.25 s "
                                  "of the planned 15 s"}))
    w.step(3, "mirror", "cut_short", 0.0, 0.25)
    w.end("completed")
    page = build_review(store, "P001")
    part = page[page.index("<h2>Not as planned</h2>"):]
    part = part[:part.index("<h2>", 5)]
    assert "1 step(s) or session(s) did not run as planned" in part
    assert "<td>4</td>" in part and sid in part
    # the file's name, not its folder (which pushed the reason out of view)
    assert "<td>the camera (x.mp4) ran out after 0.25 s of the planned 15 s</td>" in part
