"""A valid protocol in one line: how many steps of each kind and roughly how long it takes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rehab.protocol.models import (
    ExecuteStep,
    ImagineStep,
    InstructionStep,
    LeafStep,
    MirrorStep,
    ObserveStep,
    Protocol,
    RestStep,
)

ClipDuration = Callable[[str], "float | None"]


def step_duration_s(step: LeafStep, clip_duration_s: ClipDuration) -> float | None:
    """Planned length of one step in seconds; None when it depends on the patient."""
    if isinstance(step, (MirrorStep, ImagineStep, RestStep)):
        return step.duration_s
    if isinstance(step, (ExecuteStep, InstructionStep)):
        return step.duration_s
    if isinstance(step, ObserveStep):
        one = clip_duration_s(step.clip)
        return None if one is None else one * step.repeat / step.speed
    return None  # rate steps: as long as the patient takes


def summarize(protocol: Protocol, clip_duration_s: ClipDuration = lambda name: None) -> str:
    """E.g. ``"14 steps (4 observe, 4 execute, 6 rest); about 12.5 min planned + 3 untimed"``.

    Execute steps with a repetition target but no time limit, rate steps, instructions without
    a duration and clips of unknown length count as "untimed".
    """
    planned = protocol.flatten()
    counts = Counter(p.kind for p in planned)
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
    total_s = 0.0
    untimed = 0
    for p in planned:
        duration = step_duration_s(p.step, clip_duration_s)
        if duration is None:
            untimed += 1
        else:
            total_s += duration
    count = f"{len(planned)} step{'s' if len(planned) != 1 else ''}"
    text = f"{count} ({kinds}); about {total_s / 60:.1f} min planned"
    return text + (f" + {untimed} untimed" if untimed else "")
