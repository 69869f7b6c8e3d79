"""The engine with the real scoring module on synthetic hand movement (ReplayTracker)."""

from __future__ import annotations

from engine_helpers import protocol, rig

from rehab import synth
from rehab.testing import FakeCamera, ReplayTracker


def _rig_with_real_scoring(step: dict, cycles: int = 5):
    frames = synth.open_close(cycles=cycles, freq_hz=1.0, fps=30.0, hand="left")
    r = rig(protocol(step), camera=FakeCamera(count=len(frames)),
            tracker=ReplayTracker(frames), real_scoring=True)
    return r, frames


def test_real_scoring_counts_every_cycle_when_the_camera_ends_first():
    r, frames = _rig_with_real_scoring({"kind": "execute", "task": "open_close",
                                        "target_reps": 20, "duration_s": 60})
    result = r.session.run()
    assert result.status == "completed"
    trial = r.writer.trials[0]
    assert len(trial["frames"]) == len(frames)
    assert trial["score"]["repetitions"] == 5
    assert r.display.scenes("CameraScene")[-1].reps == 5  # the live count agrees
    assert r.display.scenes("ResultScene")[0].lines == ("You opened and closed your hand 5 times",)


def test_real_scoring_stops_at_target_reps():
    r, frames = _rig_with_real_scoring({"kind": "execute", "task": "open_close",
                                        "target_reps": 3, "duration_s": 60})
    r.session.run()
    trial = r.writer.trials[0]
    assert len(trial["frames"]) < len(frames)
    assert r.writer.of("target_reached")[0].data["reps"] == 3
    assert trial["score"]["repetitions"] >= 2  # the offline count may end a swing earlier
