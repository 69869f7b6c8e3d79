"""Finger tapping: count, rate, rhythm, amplitude decrement and interruptions vs ground truth."""

from __future__ import annotations

import pytest

from rehab import synth
from rehab.scoring.trial import score_trial


def _tap(**kw):
    options = kw.pop("options", None)
    return score_trial(synth.finger_tap(options=options, **kw), "finger_tap", "right").metrics


@pytest.mark.parametrize(("freq_hz", "fps"), [(2.0, 30), (4.0, 25), (6.0, 30)])
def test_tap_count_and_rate(freq_hz, fps):
    m = _tap(freq_hz=freq_hz, duration_s=5.0, fps=fps)
    assert m["taps"] == round(freq_hz * 5.0)
    assert m["rate_hz"] == pytest.approx(freq_hz, rel=0.02)
    assert m["rhythm_cv"] < 0.08  # 6 Hz at 30 fps is 5 samples per tap
    assert m["interruptions"] == 0


@pytest.mark.parametrize(("freq_hz", "fps"), [(8.0, 30), (4.0, 15)])
def test_too_few_frames_per_tap_makes_the_trial_invalid(freq_hz, fps):
    """Under 4 frames per cycle taps are lost; the score says so instead of a wrong count."""
    score = score_trial(synth.finger_tap(freq_hz=freq_hz, duration_s=5.0, fps=fps),
                        "finger_tap", "right")
    assert score.validity["valid"] is False
    assert "frames per cycle" in score.validity["reasons"][0]
    assert score.validity["frames_per_cycle"] == pytest.approx(fps / freq_hz, abs=0.3)


def test_noise_and_dropped_frames():
    m = _tap(freq_hz=3.0, duration_s=8.0,
             options=synth.FrameOptions(noise_px=2.0, drop_fraction=0.1, seed=5))
    assert m["taps"] == 24
    assert m["rate_hz"] == pytest.approx(3.0, rel=0.03)
    assert m["rhythm_cv"] < 0.1
    assert abs(m["amplitude_decrement"]) < 0.08


@pytest.mark.parametrize("decrement", [0.0, 0.3, 0.6])
def test_amplitude_decrement(decrement):
    m = _tap(freq_hz=3.0, duration_s=8.0, decrement=decrement,
             options=synth.FrameOptions(noise_px=1.0))
    assert m["taps"] == 24
    # the truth is a linear loss of the pose blend; the aperture is nearly linear in it
    assert m["amplitude_decrement"] == pytest.approx(decrement, abs=0.1)
    if decrement:
        assert m["amplitude_ratio_last_first"] < 1 - decrement / 2


def test_a_freeze_is_one_interruption():
    m = _tap(freq_hz=3.0, duration_s=6.0, freezes_s=((2.0, 1.0),))
    assert m["taps"] == 18
    assert m["interruptions"] == 1
    assert m["longest_pause_s"] == pytest.approx(1.0 + 1 / 3, abs=0.05)
    assert m["rate_hz"] < 3.0
    assert m["rhythm_cv"] > 0.3


def test_amplitude_is_in_hand_sizes():
    m = _tap(freq_hz=2.0, duration_s=3.0)
    assert 1.0 < m["amplitude"] < 1.5  # open aperture ~1.36, touching ~0.1
