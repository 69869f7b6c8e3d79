"""Repetition counting against the synthetic hand's ground truth: open/close, tapping, opposition."""

from __future__ import annotations

import numpy as np
import pytest

from rehab import synth
from rehab.scoring import score_trial
from rehab.scoring.reps import swings

NOISY = synth.FrameOptions(noise_px=2.0, drop_fraction=0.15, seed=3)


def test_swings_ignore_wiggles_smaller_than_the_hysteresis():
    t = np.linspace(0, 4, 401)
    x = np.sin(2 * np.pi * 0.5 * t) + 0.2 * np.sin(2 * np.pi * 7 * t)
    found = swings(x, 0.5)
    assert [s.rising for s in found] == [True, False, True, False, True]


def test_swings_skip_nan():
    x = np.array([0.0, 1.0, np.nan, 2.0, 1.0, np.nan, 0.0])
    assert [(s.rising, s.start, s.end) for s in swings(x, 0.5)] == [(True, 0, 3), (False, 3, 6)]


@pytest.mark.parametrize(("cycles", "freq_hz", "fps"), [(1, 0.5, 30), (4, 1.0, 25), (6, 0.4, 30)])
def test_open_close_counts_complete_cycles(cycles, freq_hz, fps):
    score = score_trial(synth.open_close(cycles, freq_hz, fps), "open_close", "right")
    assert score.repetitions == cycles
    assert score.metrics["openings"] == cycles
    if cycles > 1:
        assert score.metrics["mean_cycle_s"] == pytest.approx(1 / freq_hz, rel=0.02)
    else:  # onset to offset of the one cycle: 10 % crossings of (1 - cos) / 2 are 0.795 periods
        assert score.metrics["mean_cycle_s"] == pytest.approx(0.795 / freq_hz, rel=0.1)


def test_open_close_with_noise_and_dropped_frames():
    score = score_trial(synth.open_close(5, 0.5, options=NOISY), "open_close", "right")
    assert score.repetitions == 5
    assert score.tracked_fraction == pytest.approx(0.85, abs=0.06)
    assert score.metrics["mean_cycle_s"] == pytest.approx(2.0, rel=0.05)


def test_opening_once_is_one_opening_and_no_repetition():
    frames = synth.to_frames(synth.open_once_motion(), options=synth.FrameOptions(noise_px=1.5))
    score = score_trial(frames, "open_close", "right")
    assert score.repetitions == 0
    assert score.metrics["openings"] == 1
    assert score.metrics["closings"] == 0
    assert [e["kind"] for e in score.metrics["events"]] == ["open"]
    assert 1.0 < score.metrics["events"][0]["t"] < 2.0  # the opening happens between 1 s and 2 s


def test_closing_from_open_is_not_a_cycle():
    states = synth.open_close_motion(1, 0.5)[60:]  # starts when the hand is fully open
    score = score_trial(synth.to_frames(states), "open_close", "right")
    assert score.repetitions == 0  # it never started from closed before this closing
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


def test_left_hand_scores_like_the_right():
    right = score_trial(synth.open_close(3, 0.5), "open_close", "right")
    left = score_trial(synth.open_close(3, 0.5, hand="left"), "open_close", "left")
    assert left.repetitions == right.repetitions == 3
    assert left.hand == "left"


def test_curled_fingers_cannot_be_opposed():
    from rehab.scoring.opening import CURLED_REACH, fingertip_reach, opposition_distances

    _, fist = synth.landmarks(synth.fist())
    _, pinch = synth.landmarks(synth.pinch("ring"))
    assert (fingertip_reach(fist) < CURLED_REACH).all()
    assert (fingertip_reach(pinch) > CURLED_REACH).all()
    assert np.isinf(opposition_distances(fist, 0.09)).all()
    assert opposition_distances(pinch, 0.09)[2] < 0.15


def test_touch_hysteresis_and_minimum_duration():
    from rehab.scoring.reps import touches

    far = [1.0, 1.0, 1.0, 1.0]
    d = np.array([far, [0.3, 1, 1, 1], far, far, [1, 0.3, 1, 1], [1, 0.5, 1, 1], [1, 0.3, 1, 1],
                  [1, 0.6, 1, 1], far])
    assert touches(d) == [(0, 1, 2), (1, 4, 7)]  # 0.5 stays inside the 0.55 exit band
    assert touches(d, min_samples=2) == [(1, 4, 7)]  # the one-sample brush is dropped
