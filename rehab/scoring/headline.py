"""A trial's headline numbers as (label, formatted value) lines, from the task registry.

For clinicians (``rehab score``); patients see one sentence (``rehab.tasks.patient_line``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rehab.tasks import TASKS, value_at

if TYPE_CHECKING:
    from rehab.scoring.trial import TrialScore

# After the task's own headline: how well it matched a demonstration, and how well it was seen.
TRAILING_KEYS = ("similarity.score", "similarity.tempo_ratio", "tracked_fraction")


def headline(score: TrialScore) -> list[tuple[str, str]]:
    """Lines for ``score``: the task's headline metrics, then similarity and tracking."""
    task = TASKS[score.task]
    values = score.to_dict()
    lines = []
    for key in task.headline + TRAILING_KEYS:
        record, value = task.metric(key), value_at(values, key)
        if record is not None and value is not None:
            lines.append((record.label, record.format(value)))
    return lines
