"""The task registry: every movement task, every metric it reports, declared once.

Protocol validation and its JSON schema, the scorer and the live counter, ``rehab score``,
clip sidecars, the demonstration renderer, the engine's screens, the review, the export's
column documentation and the test fakes all read this package; none of them keeps a list of
task names, metric labels or per-task code of its own. Each task is one module here holding
its ``Task`` record (wording, metrics, counting, measuring, demonstration, a synthetic
example); adding a task is writing that module and naming it in ``TASK_LIST`` below.

Example:
    >>> TASKS["finger_tap"].counted
    True
    >>> metric("rom.index_mcp.range_deg").label
    'Index MCP range'
    >>> patient_line(TASKS["finger_tap"], {"repetitions": 12}, {"repetitions": 10})
    '12 taps - 2 more than last time'
"""

from __future__ import annotations

from rehab.tasks import finger_tap, free, open_close, opposition, reach_grasp, wrist_flex
from rehab.tasks.base import (
    COMMON_METRICS,
    NO_REPETITION,
    Counting,
    Demo,
    Measured,
    Metric,
    Movement,
    PatientResult,
    Task,
    metric,
    patient_line,
    value_at,
)

TASK_LIST: tuple[Task, ...] = (open_close.TASK, finger_tap.TASK, opposition.TASK,
                               reach_grasp.TASK, free.TASK)
TASKS: dict[str, Task] = {t.name: t for t in TASK_LIST}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
COUNTED_TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASK_LIST if t.counted)
# The task any movement is scored as when it has none of its own (a mirror step's unaffected
# hand, a clip-only movement); any demonstration suits a step of it.
ANY_MOVEMENT: str = free.TASK.name
# Movements a demonstration clip can show that are not scored tasks (no execute step asks for
# them; the mirror-therapy protocols show them).
CLIP_ONLY: tuple[Movement, ...] = (wrist_flex.MOVEMENT,)
CLIP_MOVEMENTS: tuple[str, ...] = TASK_NAMES + tuple(m.name for m in CLIP_ONLY)
# Every movement with a shipped rendered demonstration, in registry order.
DEMOS: dict[str, Demo] = {**{t.name: t.demo for t in TASK_LIST if t.demo is not None},
                          **{m.name: m.demo for m in CLIP_ONLY}}


def task(name: str) -> Task:
    """The task called ``name``; KeyError names the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r} (tasks: {', '.join(TASK_NAMES)})") from None


def any_metric(key: str) -> Metric | None:
    """The record of ``key`` for a column that holds every task's trials: the common record
    when there is one (``repetitions`` is "Repetitions", not one task's "Taps"), else the
    first task declaring it."""
    common = metric(key)
    if common is not None:
        return common
    for t in TASK_LIST:
        for m in t.metrics:
            if m.key == key:
                return m
    return None


__all__ = [
    "ANY_MOVEMENT", "CLIP_MOVEMENTS", "CLIP_ONLY", "COMMON_METRICS", "COUNTED_TASK_NAMES",
    "DEMOS", "NO_REPETITION", "TASKS", "TASK_LIST", "TASK_NAMES", "Counting", "Demo",
    "Measured", "Metric", "Movement", "PatientResult", "Task", "any_metric", "metric",
    "patient_line", "task", "value_at",
]
