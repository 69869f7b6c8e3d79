"""Thumb opposition to each fingertip: counted as touches, measured as the fingers reached.

Counting follows ``scoring.signals.opposition_distances`` (thumb tip to each fingertip, hand
sizes, image plane) with the touch detector's hysteresis (``scoring.reps.TouchDetector``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rehab import synth
from rehab.scoring import signals as sig
from rehab.scoring.reps import TouchParams
from rehab.tasks.base import COUNT_RESULT, Counting, Demo, Measured, Metric, Task

if TYPE_CHECKING:
    from rehab.scoring.counting import TrialCounter
    from rehab.scoring.track import HandTrack

FINGER_NAMES = ("index", "middle", "ring", "little")  # the order of the touch distances

COUNTING = Counting(TouchParams(), sig.opposition_distances, "touches")


def measure(track: HandTrack, counter: TrialCounter) -> Measured:
    """Thumb-to-fingertip touches, how many of the four fingers were reached and which, and
    the order of the touches."""
    found = counter.touches.touches if counter.touches is not None else []
    t = counter.frames.t
    seq = [FINGER_NAMES[k] for k, _ in found]
    reached = [f for f in FINGER_NAMES if f in seq]
    return Measured({"touches": len(found),
                     "fingers_reached_n": len(reached),
                     "fingers_reached": reached,
                     "sequence": seq,
                     "touch_times_s": [round(float(t[i]), 3) for _, i in found]},
                    counter.count)


TASK = Task(
    name="opposition", title="Thumb opposition to each fingertip",
    instruction="Touch each fingertip to your thumb in turn.",
    counter_label="Touches", count_words=("touch", "touches"),
    metrics=(
        Metric("repetitions", "Touches", fmt="d", better="higher"),
        Metric("touches", "Touches", fmt="d", better="higher"),
        Metric("fingers_reached_n", "Fingers reached", "of 4", "d", "higher"),
        Metric("fingers_reached", "Fingers reached, which"),
        Metric("sequence", "Order of touches"),
        Metric("touch_times_s", "Times of the touches", "s"),
    ),
    # the count is what the review can plot across sessions; which ones, for the readout
    headline=("repetitions", "fingers_reached_n", "fingers_reached"),
    patient=COUNT_RESULT,
    counting=COUNTING,
    measure=measure,
    demo=Demo(lambda fps: synth.opposition_motion(touch_s=1.2, fps=fps),
              "Touch the thumb to each fingertip in turn, index to little finger."),
    example=lambda level, hand: synth.opposition(touch_s=1.8 - 0.2 * level, hand=hand),
)
