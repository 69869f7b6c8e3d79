"""LiveScorer: the live count is the stored count (one counter, fed frame by frame)."""

from __future__ import annotations

import pytest

from rehab import synth
from rehab.scoring.live import LiveScorer
from rehab.scoring.trial import score_trial
from rehab.synth import robustness

TRIALS = [
    ("open_close", lambda: synth.open_close(4, 0.5, options=synth.FrameOptions(noise_px=1.5))),
    ("open_close", lambda: synth.to_frames(robustness.open_start_open_close(3))),
    ("open_close", lambda: synth.to_frames(robustness.with_blip(
        synth.open_close_motion(3, 0.5), 2.0, 0.1))),
    ("finger_tap", lambda: synth.finger_tap(3.0, 5.0, options=synth.FrameOptions(noise_px=1.5))),
    ("finger_tap", lambda: synth.finger_tap(3.0, 5.0, decrement=0.8,
                                            freezes_s=((2.0, 1.0),),
                                            options=synth.FrameOptions(drop_fraction=0.1))),
    ("opposition", lambda: synth.opposition()),
]


@pytest.mark.parametrize(("task", "frames"), TRIALS)
def test_live_count_at_the_end_equals_the_stored_count(task, frames):
    fr = frames()
    live = LiveScorer(task, "right")
    states = [live.update(f) for f in fr]
    stored = score_trial(fr, task, "right").repetitions
    assert states[-1].reps == stored
    assert stored > 0
    assert [s.reps for s in states] == sorted(s.reps for s in states)  # never counts down


def test_live_counts_as_the_movement_happens():
    """Each open/close cycle shows on the screen within 0.5 s of the hand closing again."""
    fr = synth.open_close(3, 0.5, rest_s=1.0)
    live = LiveScorer("open_close", "right")
    reps = {round(f.t, 3): live.update(f).reps for f in fr}
    # closings (fully closed) at 1 + 2k s; the 2nd swing of cycle k ends there
    for k in range(1, 4):
        assert reps[round(1.0 + 2 * k + 0.5, 3)] == k


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
    assert all(s.visible and s.landmarks.shape == (21, 2)
               for f, s in zip(frames, states, strict=True) if not 5.0 <= f.t < 6.0)
    assert states[-1].reps == 2
