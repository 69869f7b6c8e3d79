"""LiveScorer: causal counts agree with the offline score on clean movements."""

from __future__ import annotations

import pytest

from rehab import synth
from rehab.scoring import LiveScorer, score_trial
from rehab.scoring.live import SwingCounter


@pytest.mark.parametrize(("task", "frames"), [
    ("open_close", lambda: synth.open_close(4, 0.5, options=synth.FrameOptions(noise_px=1.5))),
    ("finger_tap", lambda: synth.finger_tap(3.0, 5.0, options=synth.FrameOptions(noise_px=1.5))),
    ("opposition", lambda: synth.opposition()),
])
def test_live_reps_match_offline(task, frames):
    fr = frames()
    live = LiveScorer(task, "right")
    states = [live.update(f) for f in fr]
    assert states[-1].reps == score_trial(fr, task, "right").repetitions
    assert all(s.visible and s.landmarks is not None and s.landmarks.shape == (21, 2) for s in states)
    assert [s.reps for s in states] == sorted(s.reps for s in states)  # never counts down


def test_opening_once_live_is_zero():
    live = LiveScorer("open_close", "right")
    for f in synth.to_frames(synth.open_once_motion()):
        state = live.update(f)
    assert state.reps == 0


def test_lost_hand_is_reported_and_count_kept():
    frames = synth.open_close(2, 0.5, options=synth.FrameOptions(drop_ranges_s=((5.0, 6.0),)))
    live = LiveScorer("open_close", "auto")
    states = [live.update(f) for f in frames]
    hidden = [s for f, s in zip(frames, states, strict=True) if 5.0 <= f.t < 6.0]
    assert hidden and all(not s.visible and s.landmarks is None for s in hidden)
    assert states[-1].reps == 2


def test_swing_counter_cycles():
    c = SwingCounter(min_swing=0.2)
    for v in [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.9, 0.8]:  # h = 0.3: the last dip is too small
        c.update(v)
    assert (c.rises, c.falls, c.cycles) == (2, 1, 1)
