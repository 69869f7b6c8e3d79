"""Wrist flexion and extension: a movement demonstration clips show (the mirror-therapy
protocols) that no execute step scores."""

from __future__ import annotations

import dataclasses

from rehab import synth
from rehab.tasks.base import Demo, Movement

# Seen from straight ahead, flexion only foreshortens the hand; turning the hand 35 degrees
# about the vertical axis shows the wrist bending while the palm stays visible (at 60 the
# tracker lost the flexed hand: similarity 23 against its own reference; at 35 it is 96).
_YAW_DEG = 35.0


def demo_states(fps: float) -> list[synth.HandState]:
    states = synth.wrist_flex_motion(cycles=2, freq_hz=0.5, amplitude_deg=45.0, fps=fps)
    return [dataclasses.replace(s, orientation_deg=(s.orientation_deg[0], _YAW_DEG, 0.0))
            for s in states]


MOVEMENT = Movement(
    name="wrist_flex", title="Bend the wrist forward and back",
    demo=Demo(demo_states, "Bend the wrist forward and back with the hand open; two slow cycles."),
)
