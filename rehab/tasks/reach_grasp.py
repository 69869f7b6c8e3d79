"""Reach forward and grasp: not counted; measured as one reach (``scoring.motion``).

The reach is timed between movement onset and offset of the hand centre's speed; its
repetition count is 1 when a whole reach was seen, else 0.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from rehab import synth
from rehab.scoring.motion import cut_by_gap, hand_speed, movement_bounds, reach_metrics
from rehab.scoring.smoothness import ldlj, sparc
from rehab.tasks.base import Demo, Measured, Metric, PatientResult, Task

if TYPE_CHECKING:
    from rehab.scoring.counting import TrialCounter
    from rehab.scoring.track import HandTrack


def measure(track: HandTrack, counter: TrialCounter) -> Measured:
    """Movement time, peak speed and grip aperture timing of the reach, and its smoothness."""
    m = reach_metrics(track)
    return Measured(m, int(m["movement_time_s"] is not None), reach_smoothness(track))


def reach_smoothness(track: HandTrack) -> dict[str, Any] | None:
    """SPARC and LDLJ of the hand-centre speed between movement onset and offset."""
    v = hand_speed(track)
    bounds = movement_bounds(v)
    if bounds is None or bounds[1] - bounds[0] < 3 or cut_by_gap(v, bounds):
        return None
    seg = v[bounds[0]:bounds[1] + 1]
    return {"sparc": round(sparc(seg, track.fs), 4), "ldlj": round(ldlj(seg, track.fs), 4),
            "signal": "hand speed over the reach"}


# The demonstration's reach comes toward the camera with the hand turned 30 degrees (thumb
# side nearer), the way a hand approaches a cup; square to the camera (yaw 0) the tracker
# called the tipped palm a left hand in 92 of 120 frames.
_REACH_ORIENTATION = (-50.0, -30.0, 0.0)


def demo_states(fps: float) -> list[synth.HandState]:
    return [dataclasses.replace(s, orientation_deg=_REACH_ORIENTATION)
            for s in synth.reach_motion(movement_s=2.0, rest_s=1.0, fps=fps)]


# The first-person reach: the hand starts near the eyes, low, and goes away from them and up a
# little, fingers pointing forward, the back of the hand seen: the third-person path reflected
# in depth about this plane, and the hand turned round.
_REACH_1P_DEPTH_M = 1.12
_REACH_1P_DROP_M = 0.05
_REACH_1P_ORIENTATION = (35.0, 180.0, 0.0)


def first_person_states(fps: float) -> list[synth.HandState]:
    out = []
    for s in demo_states(fps):
        x, y, z = s.wrist_m
        out.append(dataclasses.replace(s, wrist_m=(x, y + _REACH_1P_DROP_M, _REACH_1P_DEPTH_M - z),
                                       orientation_deg=_REACH_1P_ORIENTATION))
    return out


TASK = Task(
    name="reach_grasp", title="Reach forward and grasp",
    instruction="Reach forward, grasp, and come back.",
    counter_label="Reaches", count_words=("reach", "reaches"),
    metrics=(
        Metric("movement_time_s", "Movement time", "s", ".2f", "lower"),
        Metric("peak_speed_hand_sizes_per_s", "Peak speed", "hand sizes/s", ".1f", "higher"),
        Metric("time_to_peak_aperture_s", "Time to widest grip", "s", ".2f"),
        Metric("time_to_peak_aperture_pct", "Widest grip at", "% of reach", ".0f"),
        Metric("peak_aperture", "Widest grip", "hand sizes", ".2f", "higher"),
        Metric("movement_complete", "Whole reach seen"),
    ),
    headline=("movement_time_s", "peak_speed_hand_sizes_per_s", "time_to_peak_aperture_s"),
    patient=PatientResult("movement_time_s", "Your reach took {value} seconds", 1,
                          "seconds", "slower", "quicker"),
    measure=measure,
    demo=Demo(demo_states,
              "Reach forward, opening the hand, and close it around an imagined object.",
              first_person_states=first_person_states),
    example=lambda level, hand: synth.reach(movement_s=1.8 - 0.2 * level, hand=hand),
)
