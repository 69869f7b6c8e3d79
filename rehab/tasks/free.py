"""Free hand movement: nothing counted, no metrics of its own (range of motion, quality and
similarity are measured for every task). Mirror steps score the unaffected hand as this task."""

from __future__ import annotations

from rehab import synth
from rehab.tasks.base import PatientResult, Task

TASK = Task(
    name="free", title="Free hand movement",
    instruction="Move your hand freely.",
    counter_label="Repetitions", count_words=("movement", "movements"),
    metrics=(),
    headline=("rom.index_mcp.range_deg", "rom.middle_pip.range_deg", "rom.thumb_mcp.range_deg"),
    patient=PatientResult(None, "Your free movement practice is done."),
    example=lambda level, hand: synth.to_frames(synth.free_motion(move_s=0.9 - 0.1 * level), hand),
)
