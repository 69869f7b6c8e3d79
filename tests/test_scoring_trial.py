"""TrialScore / score_trial: keys and JSON, ROM, reach metrics, quality, errors, headline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rehab import synth
from rehab.devices.base import TrackedFrame
from rehab.errors import ScoringError
from rehab.scoring.trial import clean, score_trial
from rehab.tasks import TASK_NAMES


@pytest.fixture(scope="module")
def open_close_frames():
    return synth.open_close(3, 0.5, options=synth.FrameOptions(noise_px=1.0))


@pytest.mark.parametrize("task", TASK_NAMES)
def test_to_dict_key_order_and_json(task, open_close_frames):
    d = score_trial(open_close_frames, task, "right").to_dict()
    assert list(d)[:5] == ["task", "hand", "frames", "tracked_fraction", "repetitions"]
    assert list(d)[-5:] == ["rom", "smoothness", "quality", "similarity", "validity"]
    assert d["task"] == task and d["hand"] == "right" and d["frames"] == len(open_close_frames)
    text = json.dumps(d, allow_nan=False)  # no numpy types, no NaN
    assert json.loads(text) == d


def test_headline_metrics_come_first():
    d = score_trial(synth.finger_tap(3.0, 3.0), "finger_tap", "right").to_dict()
    assert list(d)[5:8] == ["taps", "rate_hz", "mean_interval_s"]


def test_clean_turns_nan_and_numpy_into_json_values():
    out = clean({"a": np.float32(1.5), "b": float("nan"), "c": np.arange(2), "d": (np.bool_(True),)})
    assert out == {"a": 1.5, "b": None, "c": [0, 1], "d": [True]}
    assert type(out["c"][0]) is int


@pytest.mark.parametrize(("noise_px", "tol_deg"), [(0.0, 1.0), (1.0, 8.0)])
def test_rom_matches_the_poses_visited(noise_px, tol_deg):
    frames = synth.open_close(3, 0.5, options=synth.FrameOptions(noise_px=noise_px))
    rom = score_trial(frames, "open_close", "right").rom
    fist, opened = synth.fist(), synth.open_hand()
    assert rom["index_pip"]["range_deg"] == pytest.approx(fist.pip_deg[0] - opened.pip_deg[0],
                                                          abs=tol_deg)
    assert rom["middle_mcp"]["max_deg"] == pytest.approx(fist.mcp_deg[1], abs=tol_deg)
    assert rom["thumb_ip"]["range_deg"] == pytest.approx(fist.thumb_ip_deg - opened.thumb_ip_deg,
                                                         abs=tol_deg)


def test_reach_grasp_metrics():
    distance_m, movement_s = 0.25, 1.2
    s = score_trial(synth.reach(distance_m, movement_s, options=synth.FrameOptions(noise_px=1.0)),
                    "reach_grasp", "right")
    m = s.metrics
    # minimum-jerk profile: speed >= 10 % of peak for 82.7 % of the movement time
    assert m["movement_time_s"] == pytest.approx(0.827 * movement_s, abs=0.1)
    peak = 1.875 * distance_m / movement_s / synth.HAND_SIZE_M
    assert m["peak_speed_hand_sizes_per_s"] == pytest.approx(peak, rel=0.1)
    assert 0.3 < m["time_to_peak_aperture_s"] < 0.8  # hand is widest 60 % into the movement
    assert s.repetitions == 1
    assert s.smoothness is not None and -2.5 < s.smoothness["sparc"] < -1.0


def test_open_close_smoothness_is_reported():
    s = score_trial(synth.open_close(3, 0.5), "open_close", "right")
    assert s.smoothness is not None
    assert -2.0 < s.smoothness["sparc"] < -1.0
    assert math.isfinite(s.smoothness["ldlj"])


def test_quality_jitter_and_tracked_fraction():
    opts = synth.FrameOptions(noise_px=2.0, drop_ranges_s=((1.0, 1.5),), seed=2)
    s = score_trial(synth.to_frames(synth.still_motion(3.0), options=opts), "free", "right")
    assert s.tracked_fraction == pytest.approx(75 / 90, abs=0.02)
    assert s.quality["longest_gap_s"] == pytest.approx(0.5, abs=0.1)
    # 2 px at 0.45 m with f = 600 px is 1.5 mm per axis
    assert s.quality["jitter_mm"] == pytest.approx(1.5, rel=0.2)


def test_auto_hand_picks_the_visible_one():
    s = score_trial(synth.open_close(2, 0.5, hand="left"), "open_close", "auto")
    assert s.hand == "left" and s.repetitions == 2


def test_errors_are_scoring_errors_with_hints(open_close_frames):
    with pytest.raises(ScoringError, match="unknown task"):
        score_trial(open_close_frames, "juggling", "right")
    with pytest.raises(ScoringError) as err:
        score_trial(open_close_frames, "open_close", "left")
    assert err.value.hint
    with pytest.raises(ScoringError):
        score_trial([TrackedFrame(t=i / 30, frame_index=i) for i in range(30)], "free", "right")
    with pytest.raises(ScoringError):
        score_trial([], "free", "right")
    same_time = [TrackedFrame(0.0, i, f.hands) for i, f in enumerate(open_close_frames[:20])]
    with pytest.raises(ScoringError, match="timestamps"):
        score_trial(same_time, "free", "right")


@pytest.mark.parametrize("task", TASK_NAMES)
def test_headline_lines_are_strings(task, open_close_frames):
    lines = score_trial(open_close_frames, task, "right").headline()
    assert lines and all(isinstance(a, str) and isinstance(b, str) for a, b in lines)
    assert lines[-1][0] == "Hand tracked"

