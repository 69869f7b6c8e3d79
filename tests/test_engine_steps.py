"""Step runners on fakes: observe pacing, execute trials, camera failure, ratings, safety, imagery."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import protocol, rig, step_duration

from rehab.devices.base import CommandKind
from rehab.engine.mirror import mirror_image
from rehab.testing import (
    FakeCamera,
    FakeClip,
    FakeTracker,
    ScriptedInput,
    image_index,
    is_scene,
    number,
)

# -- observe -------------------------------------------------------------------------------


def _shown_frames(r):
    return [image_index(s.image) for s in r.display.scenes("VideoScene")]


def test_observe_plays_every_frame_on_schedule_with_a_fast_display():
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4", "repeat": 2}))
    r.session.run()
    assert _shown_frames(r) == list(range(90)) * 2
    assert step_duration(r.writer, 0) == pytest.approx(6.0)
    flips = [s.t for s in r.display.shown if type(s.scene).__name__ == "VideoScene"][:90]
    assert np.allclose(np.diff(flips), 1 / 30)
    playback = r.writer.of("playback")[0].data
    assert playback["frames_dropped"] == 0 and abs(playback["drift_s"]) < 1e-9


def test_observe_drops_frames_instead_of_drifting_under_a_slow_display():
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4"}), show_cost_s=0.05)
    r.session.run()
    frames = _shown_frames(r)
    assert frames == sorted(frames) and len(set(frames)) == len(frames)
    assert 50 <= len(frames) <= 65  # one frame every 50 ms of a 3 s clip
    playback = r.writer.of("playback")[0].data
    assert playback["frames_dropped"] == 90 - len(frames)
    # it still ends on the clip's timeline: within one display cost of 3 s
    assert 3.0 - 1e-6 <= step_duration(r.writer, 0) <= 3.0 + 0.05 + 1e-9
    assert r.clips.clips["clip.mp4"].grabbed > 0  # skipped frames were grabbed, not decoded


def test_observe_speed_slows_the_clip_down():
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4", "speed": 0.5}))
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(6.0)
    assert _shown_frames(r) == list(range(90))


@pytest.mark.parametrize("match, clip_hand, affected, mirrored", [
    (True, "right", "left", True),
    (True, "left", "left", False),
    (False, "right", "left", False),
])
def test_observe_mirrors_when_clip_hand_differs_from_affected_side(match, clip_hand, affected,
                                                                  mirrored):
    step = {"kind": "observe", "clip": "clip.mp4", "match_affected_side": match}
    r = rig(protocol(step), affected=affected, clip_hands={"clip.mp4": clip_hand})
    r.session.run()
    assert {s.mirror for s in r.display.scenes("VideoScene")} == {mirrored}


def test_observe_caption_asks_to_imagine():
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4", "imagine": True},
                     {"kind": "observe", "clip": "clip.mp4"}))
    r.session.run()
    captions = [s.caption for s in r.display.scenes("VideoScene")]
    assert captions[0] == "Watch and imagine doing it yourself" and captions[-1] == "Watch"


def test_observe_pause_keeps_the_clip_on_its_timeline():
    keys = ScriptedInput().at(1.0, CommandKind.PAUSE).at(4.0, CommandKind.PAUSE)
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4"}), keys=keys)
    r.session.run()
    frames = _shown_frames(r)
    # the frame under the pause overlay is drawn again on resume; no frame is lost or skipped
    assert [f for i, f in enumerate(frames) if i == 0 or f != frames[i - 1]] == list(range(90))
    assert step_duration(r.writer, 0) == pytest.approx(6.0, abs=0.06)


# -- execute -------------------------------------------------------------------------------

def test_execute_ends_at_target_reps_and_shows_result():
    r = rig(protocol({"kind": "execute", "task": "open_close", "target_reps": 2,
                      "duration_s": 30}))
    result = r.session.run()
    trial = r.writer.trials[0]
    assert trial["task"] == "open_close" and trial["hand"] == "left"
    assert len(trial["frames"]) == 30 and trial["score"]["repetitions"] == 2
    scenes = r.display.scenes("CameraScene")
    assert scenes[-1].reps == 2 and scenes[-1].target_reps == 2
    assert scenes[0].landmarks.shape == (21, 2)
    res = r.display.scenes("ResultScene")[0]
    assert res.lines == ("You opened and closed your hand 2 times",)
    assert result.trials[0]["score"]["repetitions"] == 2


@pytest.mark.parametrize("task, counted", [("reach_grasp", False), ("free", False),
                                           ("finger_tap", True)])
def test_repetition_counter_only_for_tasks_counted_live(task, counted):
    r = rig(protocol({"kind": "execute", "task": task, "duration_s": 1}))
    r.session.run()
    reps = {s.reps for s in r.display.scenes("CameraScene")}
    assert (None not in reps) if counted else (reps == {None})


@pytest.mark.parametrize("task, label", [("opposition", "Touches"), ("open_close", "Repetitions")])
def test_counter_says_what_it_counts(task, label):
    r = rig(protocol({"kind": "execute", "task": task, "duration_s": 1}))
    r.session.run()
    assert {s.reps_label for s in r.display.scenes("CameraScene")} == {label}


def test_execute_ends_at_duration_on_the_frames_timeline():
    r = rig(protocol({"kind": "execute", "task": "finger_tap", "duration_s": 2}))
    r.session.run()
    assert len(r.writer.trials[0]["frames"]) == 60
    assert step_duration(r.writer, 0) == pytest.approx(3.0 + 2.0)
    lefts = [s.seconds_left for s in r.display.scenes("CameraScene")]
    assert lefts[0] == pytest.approx(2.0) and lefts[-1] == pytest.approx(1 / 30)


def test_execute_ends_with_the_file_camera_and_the_next_step_rewinds_it():
    steps = [{"kind": "execute", "task": "open_close", "duration_s": 60}] * 2
    r = rig(protocol(*steps), camera=FakeCamera(count=40))
    result = r.session.run()
    assert result.status == "completed"
    assert [len(t["frames"]) for t in r.writer.trials] == [40, 40]
    assert [f.frame_index for f in r.writer.trials[1]["frames"]][:3] == [0, 1, 2]


def test_execute_in_real_time_with_a_live_camera():
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 2}), fast=False,
            background_tracking=False)
    r.camera.clock = r.clock
    r.session.run()
    n = len(r.writer.trials[0]["frames"])
    assert 59 <= n <= 61
    assert step_duration(r.writer, 0) == pytest.approx(5.0, abs=0.01)


@pytest.mark.parametrize("choice, scored", [("affected", "left"), ("unaffected", "right"),
                                            ("both", "left")])
def test_execute_hand_choice_maps_to_anatomical_side(choice, scored):
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1, "hand": choice}))
    r.session.run()
    assert r.writer.trials[0]["hand"] == scored
    # both hands stay in the tracked frames
    assert {h.hand for h in r.writer.trials[0]["frames"][0].hands} == {"left", "right"}


def test_execute_default_hand_comes_from_protocol_defaults():
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1},
                     defaults={"hand": "unaffected"}))
    r.session.run()
    assert r.writer.trials[0]["hand"] == "right"


def test_hand_not_visible_hint_after_a_second():
    tracker = FakeTracker(("left",), visible=lambda i: i < 30)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 4}), tracker=tracker)
    r.session.run()
    hints = [s.hint for s in r.display.scenes("CameraScene")]
    assert hints[:60] == [None] * 60  # visible until 1 s, then hidden for under a second
    assert hints[-1] is not None and "not visible" in hints[-1]


def test_result_compares_with_previous_session_when_asked():
    step = {"kind": "execute", "task": "open_close", "target_reps": 2, "duration_s": 10,
            "compare_previous": True}
    asked = []

    def history(task, hand):
        asked.append((task, hand))
        return {"task": task, "hand": hand, "repetitions": 1}

    r = rig(protocol(step), history=history)
    r.session.run()
    assert asked == [("open_close", "left")]
    lines = r.display.scenes("ResultScene")[0].lines
    assert lines == ("You opened and closed your hand 2 times - 1 more than last time",)


def test_no_result_screen_when_show_result_is_false():
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1,
                      "show_result": False}))
    r.session.run()
    assert r.display.scenes("ResultScene") == [] and len(r.writer.trials) == 1


def test_unscorable_trial_is_still_stored_with_its_frames():
    tracker = FakeTracker(("left",), visible=lambda i: False)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1}), tracker=tracker)
    assert r.session.run().status == "completed"
    trial = r.writer.trials[0]
    assert "error" in trial["score"] and len(trial["frames"]) == 30
    result = r.display.scenes("ResultScene")[0]
    assert "could not see" in result.lines[0] and result.title == "Thank you"


def test_praise_only_a_result():
    """'Well done' over a count; over 'Thank you for trying' (no repetition) it would
    contradict the sentence under it."""
    from rehab.tasks import NO_REPETITION

    titles = {}
    for seconds in (0.3, 2.0):  # 9 frames: no repetition (the fake scorer: one per 15)
        r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": seconds}))
        r.session.run()
        result = r.display.scenes("ResultScene")[0]
        titles[seconds] = (result.title, result.lines)
    assert titles[0.3] == ("Thank you", (NO_REPETITION,))
    assert titles[2.0] == ("Well done", ("You opened and closed your hand 4 times",))


# -- camera failure ------------------------------------------------------------------------

def test_camera_failure_mid_trial_pauses_and_resumes_keeping_frames():
    keys = ScriptedInput()
    keys.when(lambda s: type(s).__name__ == "Overlay" and s.title.startswith("The camera"),
              CommandKind.CONTINUE)
    camera = FakeCamera(count=3000, fail_after=20, name="webcam 0")
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 2}),
            camera=camera, keys=keys, autopilot=False, continue_screens=True)
    result = r.session.run()
    assert result.status == "completed"
    kinds = r.writer.kinds()
    assert kinds.index("camera_lost") < kinds.index("camera_restored")
    overlay = next(s for s in r.display.scenes("Overlay") if s.title.startswith("The camera"))
    assert "webcam 0" in overlay.title and "SPACE" in overlay.footer
    frames = r.writer.trials[0]["frames"]
    assert [f.frame_index for f in frames[:20]] == list(range(20))  # kept from before
    assert len(frames) == 60  # and the trial ran its full 2 s of camera time
    assert camera.opened == 2


def test_camera_that_stays_dead_fails_the_step_under_autopilot():
    camera = FakeCamera(count=3000, fail_after=5)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 2},
                     {"kind": "rest", "duration_s": 1}), camera=camera)
    camera_open = camera.open

    def broken_after_first():
        if camera.opened >= 1:
            from rehab.errors import CameraError
            raise CameraError("unplugged")
        camera_open()

    camera.open = broken_after_first
    result = r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["failed", "completed"]
    assert result.status == "completed"


def test_camera_failure_then_esc_yes_aborts():
    keys = ScriptedInput()
    keys.when(lambda s: type(s).__name__ == "Overlay" and s.title.startswith("The camera"),
              CommandKind.QUIT)
    keys.when(is_scene("Overlay", title="End the session now?"), CommandKind.YES)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 2}),
            camera=FakeCamera(count=3000, fail_after=10), keys=keys, autopilot=False,
            continue_screens=True)
    assert r.session.run().status == "aborted"


# -- mirror --------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["flip", "split"])
def test_mirror_step_shows_processed_frames_and_logs_unaffected_hand(mode):
    r = rig(protocol({"kind": "mirror", "duration_s": 1, "mode": mode, "movement": "Wave"}),
            affected="left")
    result = r.session.run()
    scenes = r.display.scenes("MirrorScene")
    assert len(scenes) == 30
    from rehab.testing import index_image
    expected = mirror_image(index_image(7, r.camera.size), mode, "right")
    assert np.array_equal(scenes[7].shown(), expected)
    assert (scenes[7].mode, scenes[7].keep) == (mode, "right")
    assert result.trials[0]["task"] == "free" and result.trials[0]["hand"] == "right"
    assert r.display.scenes("ResultScene") == []
    assert scenes[0].caption == "Wave"


def test_mirror_text_comes_first_and_the_movement_stays_under_the_image():
    r = rig(protocol({"kind": "mirror", "duration_s": 1, "mode": "flip", "movement": "Wave",
                      "text": "Put your affected hand in your lap."}), affected="left")
    r.session.run()
    first = r.display.scenes()[0]
    assert type(first).__name__ == "TextScene"
    assert "in your lap" in first.body and "Wave" in first.body
    assert {s.caption for s in r.display.scenes("MirrorScene")} == {"Wave"}


# -- ratings and safety --------------------------------------------------------------------

def test_autopilot_answers_rating_defaults():
    step = {"kind": "rate", "ratings": [
        {"scale": "pain"}, {"scale": "fatigue"},
        {"scale": "custom", "name": "mood", "question": "Mood?", "min": 1, "max": 7,
         "anchors": {1: "bad", 7: "good"}, "default": 6}]}
    r = rig(protocol(step))
    r.session.run()
    assert [(x["key"], x["value"]) for x in r.writer.ratings] == [("pain", 0), ("fatigue", 2),
                                                                  ("mood", 6)]


def test_rating_with_arrows_and_numbers():
    keys = ScriptedInput()
    keys.when(is_scene("RatingScene", selected=None), CommandKind.UP, CommandKind.UP,
              CommandKind.UP, CommandKind.DOWN, CommandKind.CONTINUE)  # 0 -> 1 -> 2 -> 1
    keys.when(is_scene("RatingScene", question="How tired do you feel right now?"),
              number(7), CommandKind.CONTINUE)
    step = {"kind": "rate", "ratings": [{"scale": "pain"}, {"scale": "fatigue"}]}
    r = rig(protocol(step), keys=keys, autopilot=False, continue_screens=True)
    r.session.run()
    assert [x["value"] for x in r.writer.ratings] == [1, 7]


def test_typing_1_then_0_gives_10_on_a_0_to_10_scale():
    keys = ScriptedInput()
    keys.when(is_scene("RatingScene", selected=None), number(1), number(0), CommandKind.CONTINUE)
    keys.when(is_scene("RatingScene", question="How tired do you feel right now?"),
              number(0), CommandKind.CONTINUE)  # 0 alone stays 0
    step = {"kind": "rate", "ratings": [{"scale": "pain"}, {"scale": "fatigue"}]}
    r = rig(protocol(step), keys=keys, autopilot=False, continue_screens=True)
    r.session.run()
    assert [x["value"] for x in r.writer.ratings] == [10, 0]


def test_rating_needs_a_value_before_space():
    keys = ScriptedInput().at(1.0, CommandKind.CONTINUE).at(2.0, number(4)).at(
        3.0, CommandKind.CONTINUE).at(4.0, CommandKind.CONTINUE)  # the last for the end screen
    r = rig(protocol({"kind": "rate", "ratings": [{"scale": "pain"}]}), keys=keys,
            autopilot=False)
    r.session.run()
    assert r.writer.ratings[0]["value"] == 4 and r.writer.ratings[0]["t"] == pytest.approx(3.0)


def _pain_session(first: int, second: int, safety: dict):
    keys = ScriptedInput()
    keys.when(is_scene("RatingScene", selected=None), number(first), CommandKind.CONTINUE)
    keys.when(lambda s: type(s).__name__ == "RatingScene" and s.progress.step == 3
              and s.selected is None, number(second), CommandKind.CONTINUE)
    steps = ({"kind": "rate", "ratings": [{"scale": "pain"}]}, {"kind": "rest", "duration_s": 5},
             {"kind": "rate", "ratings": [{"scale": "pain"}, {"scale": "fatigue"}]},
             {"kind": "rest", "duration_s": 5})
    keys.when(is_scene("RatingScene", question="How tired do you feel right now?",
                       selected=None), number(1), CommandKind.CONTINUE)
    r = rig(protocol(*steps, safety=safety), keys=keys, autopilot=False, continue_screens=True)
    return r, r.session.run()


def test_pain_rise_of_two_stops_the_session_calmly():
    r, result = _pain_session(2, 4, {"pain_stop_rise": 2})
    assert result.status == "stopped_by_safety_rule"
    assert "rose by 2" in result.stop_reason
    assert r.writer.status == "aborted"  # the store's status; the reason is in the event
    assert r.writer.of("safety_stop")[0].data["reason"] == result.stop_reason
    assert [s["index"] for s in r.writer.steps] == [0, 1, 2]  # the last rest never ran
    assert [x["key"] for x in r.writer.ratings] == ["pain", "pain"]  # fatigue not asked
    calm = [s for s in r.display.scenes("TextScene") if s.title.startswith("We will stop")]
    assert calm and "therapist" in calm[0].body


def test_pain_rise_of_one_does_not_stop():
    r, result = _pain_session(2, 3, {"pain_stop_rise": 2})
    assert result.status == "completed"
    assert [x["value"] for x in r.writer.ratings] == [2, 3, 1]


def test_pain_stop_at_and_fatigue_stop_at():
    _r, result = _pain_session(6, 6, {"pain_stop_at": 6})
    assert result.status == "stopped_by_safety_rule" and "reached 6" in result.stop_reason
    r, result = _pain_session(0, 0, {"fatigue_stop_at": 1})
    assert result.status == "stopped_by_safety_rule" and "fatigue" in result.stop_reason


# -- imagery -------------------------------------------------------------------------------

def test_eyes_closed_imagery_tones_dim_screen_and_vividness():
    step = {"kind": "imagine", "text": "Imagine opening your hand", "duration_s": 8,
            "eyes_closed": True, "rate_vividness": True}
    r = rig(protocol(step))
    r.session.run()
    cues = [e.data["name"] for e in r.writer.of("cue")]
    assert cues[:3] == ["step", "start", "stop"]
    start, stop = (e.t for e in r.writer.of("cue")[1:3])
    assert stop - start == pytest.approx(8.0)
    dim = [s for s in r.display.scenes("TextScene") if s.dim]
    assert dim and dim[0].seconds_left == 8.0
    assert r.writer.ratings[0]["key"] == "vividness" and r.writer.ratings[0]["value"] == 3


def test_open_eyes_imagery_shows_the_prompt():
    r = rig(protocol({"kind": "imagine", "text": "Imagine a fist", "duration_s": 4}))
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(4.0)
    assert any(s.body == "Imagine a fist" for s in r.display.scenes("TextScene"))
    assert r.writer.ratings == []


def test_clip_source_missing_frames_still_ends_on_time():
    r = rig(protocol({"kind": "observe", "clip": "short.mp4"}),
            clips={"short.mp4": _LyingClip(60, 30.0)})
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(2.0)
    assert "clip_ended_early" in r.writer.kinds()


class _LyingClip(FakeClip):
    """Claims 60 frames but holds 45 (containers often overstate the count)."""

    def read(self):
        return None if self.position >= 45 else super().read()


@pytest.mark.parametrize("kind", ["mirror", "execute"])
def test_real_time_tracks_off_the_display_thread(kind):
    step = ({"kind": "mirror", "duration_s": 1, "mode": "split", "movement": "Wave"}
            if kind == "mirror" else {"kind": "execute", "task": "open_close", "duration_s": 1})
    r = rig(protocol(step), fast=False)
    r.camera.clock = r.clock
    r.session.run()
    shown = len(r.display.scenes("MirrorScene" if kind == "mirror" else "CameraScene"))
    logged = [f.frame_index for f in r.writer.trials[0]["frames"]]
    assert 29 <= shown <= 31
    assert 1 <= len(logged) <= shown  # newest-frame-wins tracking may skip frames, never adds
    assert logged == sorted(logged)
    assert step_duration(r.writer, 0) == pytest.approx(1.0 + (3.0 if kind == "execute" else 0),
                                                       abs=0.01)


def test_a_tracker_that_breaks_fails_only_its_step():
    from rehab.errors import TrackerError

    class Broken:
        def track(self, frame):
            raise TrackerError("MediaPipe stopped")

        def close(self):
            pass

    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 1},
                     {"kind": "rest", "duration_s": 1}), tracker=Broken())
    result = r.session.run()
    assert [s["status"] for s in r.writer.steps] == ["failed", "completed"]
    assert result.status == "completed"
    assert r.writer.of("step_failed")[0].data["error"] == "TrackerError"


def test_a_live_camera_that_stalls_counts_as_lost():
    keys = ScriptedInput()
    keys.when(lambda s: type(s).__name__ == "Overlay" and s.title.startswith("The camera"),
              CommandKind.CONTINUE)
    camera = FakeCamera(count=None, stall_after=15, name="webcam 1")
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 6}), fast=False,
            camera=camera, keys=keys, autopilot=False, continue_screens=True,
            background_tracking=False)
    camera.clock = r.clock
    assert r.session.run().status == "completed"
    lost = r.writer.of("camera_lost")[0]
    assert "no picture from webcam 1" in lost.data["error"]
    # 0.5 s of frames, 3 s of silence (step time runs: nobody knew yet), then frames again
    # for the remaining 2.5 s; the time spent on the message is not counted
    assert 88 <= len(r.writer.trials[0]["frames"]) <= 92


def test_an_unanswered_screen_hits_the_simulated_time_limit():
    from rehab.testing import SimulatedTimeout

    r = rig(protocol({"kind": "instruction", "text": "Nobody presses anything"}),
            autopilot=False)
    r.clock.limit_s = 60
    with pytest.raises(SimulatedTimeout):
        r.session.run()


class _Sink:
    def __init__(self, step_index, fps, size):
        self.args = (step_index, fps, size)
        self.images = []
        self.closed = False
        self.path = f"trial_{step_index}.mp4"

    def write(self, image):
        self.images.append(image)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("consent", [True, False])
def test_record_video_only_with_consent(consent):
    sinks = []

    def recorder(step_index, fps, size):
        sinks.append(_Sink(step_index, fps, size))
        return sinks[-1]

    r = rig(protocol({"kind": "instruction", "text": "hi"},
                     {"kind": "execute", "task": "open_close", "duration_s": 1,
                      "record_video": True}), consent_video=consent, recorder=recorder)
    r.session.run()
    if consent:
        assert len(sinks) == 1 and sinks[0].closed and len(sinks[0].images) == 30
        assert sinks[0].args == (1, 30.0, (64, 48))
        assert r.writer.of("video_recorded")[0].data["path"] == "trial_1.mp4"
    else:
        assert sinks == [] and "video_not_recorded" in r.writer.kinds()


def test_a_trial_with_only_target_reps_still_ends(monkeypatch):
    from rehab.engine.steps import execute

    monkeypatch.setattr(execute, "OPEN_TRIAL_MAX_S", 20.0)  # 10 minutes of frames is slow
    tracker = FakeTracker(("left",), visible=lambda i: False)  # never any repetition
    r = rig(protocol({"kind": "execute", "task": "open_close", "target_reps": 5}),
            tracker=tracker, camera=FakeCamera(count=None))
    r.session.run()
    assert step_duration(r.writer, 0) == pytest.approx(3.0 + 20.0)
    assert r.display.scenes("CameraScene")[0].seconds_left is None


class _SlowDecodeClip(FakeClip):
    """Each decode costs 20 ms of simulated time."""

    def __init__(self, clock, *args):
        super().__init__(*args)
        self.clock = clock

    def read(self):
        self.clock.advance(0.02)
        return super().read()


def test_observe_decodes_ahead_so_flips_land_on_time():
    r = rig(protocol({"kind": "observe", "clip": "slow.mp4"}), clips={})
    clip = _SlowDecodeClip(r.clock, 60, 30.0)
    r.clips.clips["slow.mp4"] = clip
    r.session.run()
    flips = [s.t for s in r.display.shown if type(s.scene).__name__ == "VideoScene"]
    assert len(flips) == 60  # nothing dropped although each decode takes 60% of a frame
    start = r.writer.of("step_started")[0].t
    # frame 0 costs its decode; frame 1's decode starts only after frame 0 is shown; from then
    # on each frame is decoded while waiting for it and shown exactly when due
    assert flips[0] - start == pytest.approx(0.02)
    assert np.allclose(np.array(flips[2:]) - start, np.arange(2, 60) / 30.0)


def test_observe_marks_a_rendered_clip_at_playback_not_in_its_pixels():
    from rehab.clips.library import RENDERED_LABEL
    from rehab.testing import FakeClip, FakeClipSource

    r = rig(protocol({"kind": "observe", "clip": "drawn.mp4", "match_affected_side": True},
                     {"kind": "observe", "clip": "filmed.mp4"}),
            clips={"drawn.mp4": FakeClip(30, 30.0), "filmed.mp4": FakeClip(30, 30.0)},
            clip_hands={"drawn.mp4": "right"}, affected="left")
    r.session.devices.clip_info = FakeClipSource(r.clips.clips, r.clips.hands,
                                                 rendered=frozenset({"drawn.mp4"})).info
    r.session.run()
    scenes = r.display.scenes("VideoScene")
    drawn = [s for s in scenes if s.progress.step == 1]
    filmed = [s for s in scenes if s.progress.step == 2]
    assert {(s.label, s.mirror) for s in drawn} == {(RENDERED_LABEL, True)}
    assert {s.label for s in filmed} == {""}
    started = [e.data for e in r.writer.events if e.kind == "observe_started"]
    assert [d["rendered"] for d in started] == [True, False]
