"""The event detector (rehab.scoring.reps) on signals, and repetition counts on synthetic hands."""

from __future__ import annotations

import numpy as np
import pytest

from rehab import synth
from rehab.scoring.reps import SwingDetector, SwingParams, TouchDetector, TouchParams
from rehab.scoring.trial import score_trial

NOISY = synth.FrameOptions(noise_px=2.0, drop_fraction=0.15, seed=3)
PARAMS = SwingParams(min_swing=0.3, window_s=3.0, hold_s=0.12, refractory_s=0.15)


def _detect(x, fs=30.0, ok=None, params=PARAMS) -> SwingDetector:
    det = SwingDetector(params)
    for i, v in enumerate(x):
        det.update(i / fs, float(v), True if ok is None else bool(ok[i]))
    return det


def _kinds(det: SwingDetector) -> str:
    return "".join("O" if e.rising else "C" for e in det.events)


def test_swings_ignore_wiggles_smaller_than_the_hysteresis():
    t = np.arange(0, 4, 1 / 30)
    x = np.sin(2 * np.pi * 0.5 * t) + 0.2 * np.sin(2 * np.pi * 7 * t)
    assert _kinds(_detect(x)) == "OCOC" or _kinds(_detect(x)) == "COCO"
    assert _detect(x).cycles == 2


@pytest.mark.parametrize(("frames", "events"), [(1, 0), (2, 0), (3, 0), (4, 2), (6, 2)])
def test_a_blip_shorter_than_the_hold_never_counts(frames, events):
    """120 ms at 30 fps is 3.6 frames: a blip of 3 frames (100 ms) is nothing, 4 is an event."""
    x = np.full(90, 1.0)
    x[40:40 + frames] = 0.0
    assert len(_detect(x).events) == events


def test_the_hold_follows_the_frame_rate():
    x = np.full(40, 1.0)
    x[20:22] = 0.0  # two frames: 200 ms at 10 fps, 67 ms at 30 fps
    assert len(_detect(x, fs=10.0).events) == 2
    assert len(_detect(x, fs=30.0).events) == 0


def test_unreliable_frames_never_create_events():
    x = np.full(90, 1.0)
    x[30:60] = 0.0  # a full second "closed", but every one of those frames is unreliable
    ok = np.ones(90, bool)
    ok[30:60] = False
    assert _detect(x, ok=ok).events == []


def test_nan_samples_are_skipped():
    x = np.r_[np.zeros(20), np.full(5, np.nan), np.ones(20), np.zeros(20)]
    assert _kinds(_detect(x)) == "OC"


@pytest.mark.parametrize(("start_open", "kinds"), [(True, "CO"), (False, "OC")])
def test_either_start_state_counts_one_cycle(start_open, kinds):
    t = np.arange(0, 3, 1 / 30)
    x = (1 + np.cos(2 * np.pi * t / 2)) / 2  # open -> closed -> open over 2 s, then closing
    x = np.where(t < 2, x, 1.0)
    det = _detect(x if start_open else 1 - x)
    assert _kinds(det) == kinds
    assert det.cycles == 1


def test_decrementing_swings_are_kept_down_to_the_floor():
    """Amplitude falling linearly to 20 % of the first: every one of 12 closings counts."""
    params = SwingParams(min_swing=0.08, window_s=1.0, hold_s=0.05, refractory_s=0.05)
    t = np.arange(0, 4, 1 / 30)
    amp = 1.0 - 0.8 * t / t[-1]
    x = np.r_[amp * (1 - np.cos(2 * np.pi * 3 * t)) / 2, np.zeros(10)]
    det = _detect(x, params=params)
    assert det.closings == 12
    assert det.amplitude(len(det.events) - 1) == pytest.approx(0.2, abs=0.05)


def test_swings_below_the_floor_of_the_first_amplitude_do_not_count():
    params = SwingParams(min_swing=0.01, window_s=1.0, hold_s=0.05, refractory_s=0.05)
    t = np.arange(0, 2, 1 / 30)
    big = (1 - np.cos(2 * np.pi * 2 * t)) / 2  # 4 taps of amplitude 1
    x = np.r_[big, 0.05 * big]  # then 4 of 5 %: under the 10 % floor
    assert _detect(x, params=params).closings == 4


def _touches(rows, fs=30.0):
    det = TouchDetector(TouchParams())
    for i, row in enumerate(rows):
        det.update(i / fs, np.asarray(row, float))
    return det.touches


FAR = [1.0, 1.0, 1.0, 1.0]


def test_touch_is_counted_when_the_thumb_lets_go_and_held_long_enough():
    rows = [FAR] * 5 + [[0.2, 1, 1, 1]] * 2 + [FAR] * 5 + [[1, 0.2, 1, 1]] * 4 + [FAR] * 5
    assert _touches(rows) == [(1, 12)]  # the 2-frame brush (67 ms) is no touch


def test_sliding_across_fingertips_without_letting_go_is_one_touch():
    rows = ([FAR] * 5 + [[0.3, 0.5, 1, 1]] * 4 + [[0.5, 0.1, 0.5, 1]] * 4
            + [[1, 0.5, 0.3, 1]] * 4 + [FAR] * 5)
    assert _touches(rows) == [(1, 5)]  # credited to the middle finger, which came nearest


def test_fingertips_meeting_the_thumb_on_the_way_into_a_fist_are_no_touch():
    curled = [np.inf] * 4
    rows = [FAR] * 5 + [[0.2, 1, 1, 1]] * 5 + [curled] * 10
    assert _touches(rows) == []


@pytest.mark.parametrize(("cycles", "freq_hz", "fps"), [(1, 0.5, 30), (4, 1.0, 25), (6, 0.4, 30)])
def test_open_close_counts_complete_cycles(cycles, freq_hz, fps):
    score = score_trial(synth.open_close(cycles, freq_hz, fps), "open_close", "right")
    assert score.repetitions == cycles
    assert score.metrics["openings"] == score.metrics["closings"] == cycles
    if cycles > 1:  # one definition: the mean time from one closing to the next
        assert score.metrics["mean_cycle_s"] == pytest.approx(1 / freq_hz, rel=0.02)
    else:
        assert score.metrics["mean_cycle_s"] is None


def test_open_close_with_noise_and_dropped_frames():
    score = score_trial(synth.open_close(5, 0.5, options=NOISY), "open_close", "right")
    assert score.repetitions == 5
    assert score.tracked_fraction == pytest.approx(0.85, abs=0.06)
    assert score.metrics["mean_cycle_s"] == pytest.approx(2.0, rel=0.05)


def test_opening_once_is_one_opening_and_no_repetition():
    frames = synth.to_frames(synth.open_once_motion(), options=synth.FrameOptions(noise_px=1.5))
    score = score_trial(frames, "open_close", "right")
    assert score.repetitions == 0
    assert (score.metrics["openings"], score.metrics["closings"]) == (1, 0)
    assert [e["kind"] for e in score.metrics["events"]] == ["open"]
    assert 1.0 < score.metrics["events"][0]["t"] < 2.0  # the opening happens between 1 s and 2 s


def test_closing_from_open_is_half_a_cycle():
    states = synth.open_close_motion(1, 0.5)[60:]  # starts when the hand is fully open
    score = score_trial(synth.to_frames(states), "open_close", "right")
    assert score.repetitions == 0
    assert score.metrics["closings"] == 1


def test_a_still_hand_counts_nothing():
    frames = synth.to_frames(synth.still_motion(3.0), options=synth.FrameOptions(noise_px=3))
    for task in ("open_close", "finger_tap", "opposition"):
        assert score_trial(frames, task, "right").repetitions == 0


@pytest.mark.parametrize("fingers", [synth.FINGERS, ("index", "ring"), ("little", "middle", "index")])
def test_opposition_touches_and_fingers_reached(fingers):
    score = score_trial(synth.opposition(fingers, options=synth.FrameOptions(noise_px=1.5)),
                        "opposition", "right")
    assert score.repetitions == len(fingers)
    assert score.metrics["sequence"] == list(fingers)
    assert set(score.metrics["fingers_reached"]) == set(fingers)
    assert score.metrics["fingers_reached_n"] == len(fingers)


def test_left_hand_scores_like_the_right():
    right = score_trial(synth.open_close(3, 0.5), "open_close", "right")
    left = score_trial(synth.open_close(3, 0.5, hand="left"), "open_close", "left")
    assert left.repetitions == right.repetitions == 3
    assert left.hand == "left"


def test_curled_fingers_cannot_be_opposed():
    from rehab.scoring import signals as sig

    for pose, curled in ((synth.fist(), [True] * 4), (synth.pinch("ring"), [False] * 4)):
        image, _ = synth.landmarks(pose)
        p = sig.plane(image, 4 / 3)
        d = sig.opposition_distances(p, sig.hand_size(p))
        assert list(np.isinf(d)) == curled
    image, _ = synth.landmarks(synth.pinch("ring"))
    p = sig.plane(image, 4 / 3)
    assert sig.opposition_distances(p, sig.hand_size(p))[2] < 0.25


@pytest.mark.parametrize("fps", [15, 25, 30, 60])
def test_no_false_fist_shorter_than_120_ms_counts_at_any_frame_rate(fps):
    """The longest blip under 120 ms at each frame rate, palm facing (reliable frames)."""
    from rehab.synth import robustness

    frames_under = int(np.ceil(0.12 * fps)) - 1
    still = synth.still_motion(3.0, fps=fps, pose=synth.open_hand())
    blip = robustness.flexion_glitch(still, 1.5, frames_under / fps)
    m = score_trial(synth.to_frames(blip), "open_close", "right").metrics
    assert (m["openings"], m["closings"]) == (0, 0)
    longer = robustness.flexion_glitch(still, 1.5, (frames_under + 1.5) / fps)
    m = score_trial(synth.to_frames(longer), "open_close", "right").metrics
    assert (m["closings"], m["openings"]) == (1, 1)  # 120 ms and more is a movement
