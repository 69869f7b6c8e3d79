"""Validity of every trial, tapping metrics as MDS-UPDRS 3.4 rates them, and gap-safe metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehab import synth
from rehab.scoring.smoothness import sparc
from rehab.scoring.tapping import tap_metrics
from rehab.scoring.trial import score_trial
from rehab.scoring.validity import flag_rom
from rehab.synth import robustness


def test_hesitations_of_known_length():
    """Freezes of 1.5 s and 0.6 s at 3 Hz: two hesitations, one of them a halt."""
    m = score_trial(synth.finger_tap(3.0, 10.0, freezes_s=((2.0, 1.5), (5.0, 0.6))),
                    "finger_tap", "right").metrics
    assert m["taps"] == 30
    assert (m["hesitations"], m["halts"]) == (2, 1)
    assert m["longest_pause_s"] == pytest.approx(1 / 3 + 1.5, abs=0.04)
    assert m["rate_hz"] == pytest.approx(29 / (29 / 3 + 2.1), rel=0.01)
    assert m["slowing"] == pytest.approx(0.0, abs=0.02)  # pauses are not slowing


def test_decrement_to_20_percent_and_the_first_ten_taps():
    m = score_trial(synth.finger_tap(3.0, 10.0, decrement=0.8), "finger_tap", "right").metrics
    assert m["taps"] == 30
    assert m["amplitude_decrement"] == pytest.approx(0.8, abs=0.1)
    assert m["amplitude_ratio_last_first"] == pytest.approx(0.33, abs=0.1)
    first = m["first10"]
    assert first["taps"] == 10 and first["rate_hz"] == pytest.approx(3.0, rel=0.01)
    assert first["amplitude_decrement"] == pytest.approx(0.8 * 9 / 29, abs=0.08)
    assert m["slowing"] == pytest.approx(0.0, abs=0.02)


def test_slowing_is_the_lengthening_of_the_intervals():
    intervals = np.linspace(0.25, 0.5, 11)  # the last interval twice the first
    times = np.r_[0.0, np.cumsum(intervals)]
    m = tap_metrics(times, np.ones(len(times)))
    assert m["slowing"] == pytest.approx(1.0, abs=1e-6)
    assert m["mean_interval_s"] == pytest.approx(intervals.mean(), abs=1e-3)


def test_a_pronation_blip_is_unreliable_and_counts_nothing():
    states = robustness.with_blip(synth.open_close_motion(3, 0.5), 2.0, 0.1)
    score = score_trial(synth.to_frames(states), "open_close", "right")
    assert score.repetitions == 3
    assert score.validity["unreliable_fraction"] == pytest.approx(3 / len(states), abs=1e-4)
    assert score.validity["valid"] is True


def test_a_second_hand_is_reported_and_the_scored_one_named():
    frames = robustness.with_second_hand(synth.open_close(3, 0.5))
    v = score_trial(frames, "open_close", "right").validity
    assert v["hands_seen"] == {"right": len(frames), "left": len(frames)}
    assert v["scored_hand"] == "right" and v["second_hand_frames"] == len(frames)
    assert v["warnings"] == [f"a second hand (left) was in {len(frames)} of {len(frames)} "
                             "frames; the right hand was scored"]


def test_too_few_frames_or_a_mostly_unseen_hand_is_invalid():
    drops = synth.FrameOptions(drop_fraction=0.7, seed=1)
    v = score_trial(synth.open_close(3, 0.5, options=drops), "open_close", "right").validity
    assert v["valid"] is False and "was tracked in only" in v["reasons"][0]
    v = score_trial(synth.finger_tap(4.0, 5.0, fps=15), "finger_tap", "right").validity
    assert v["valid"] is False and v["effective_fps"] == 15.0


def test_impossible_ranges_of_motion_are_flagged():
    rom = {"ring_mcp": {"min_deg": 0.0, "max_deg": 132.0, "range_deg": 132.0},
           "little_dip": {"min_deg": 0.0, "max_deg": 118.0, "range_deg": 118.0},
           "index_pip": {"min_deg": 0.0, "max_deg": 100.0, "range_deg": 100.0}}
    assert flag_rom(rom) == ["ring_mcp", "little_dip"]
    assert rom["ring_mcp"]["exceeds_limit"] and not rom["index_pip"]["exceeds_limit"]
    assert rom["ring_mcp"]["limit_deg"] == 110.0


def test_a_dropout_does_not_corrupt_smoothness():
    """A 0.4 s gap mid-swing: that swing is skipped, the others are scored as without the gap."""
    clean = score_trial(synth.open_close(5, 0.5), "open_close", "right").smoothness
    gap = synth.FrameOptions(drop_ranges_s=((4.3, 4.7),))
    gapped = score_trial(synth.open_close(5, 0.5, options=gap), "open_close", "right")
    assert gapped.repetitions == 5
    assert gapped.smoothness["ldlj"] == pytest.approx(clean["ldlj"], abs=0.2)
    assert gapped.smoothness["sparc"] == pytest.approx(clean["sparc"], abs=0.05)


def test_a_reach_cut_by_a_gap_is_not_timed():
    gap = synth.FrameOptions(drop_ranges_s=((1.0, 1.4),))
    score = score_trial(synth.reach(options=gap), "reach_grasp", "right")
    assert score.metrics["movement_complete"] is False
    assert score.metrics["movement_time_s"] is None and score.smoothness is None


def test_sparc_is_nan_when_undefined():
    assert math.isnan(sparc(np.zeros(20), 30.0))
    assert math.isnan(sparc(np.r_[np.ones(5), np.nan, np.ones(5)], 30.0))
