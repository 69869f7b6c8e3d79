"""The task registry: every movement task and every metric it reports, declared once.

Protocol validation and its JSON schema, the scorer, ``rehab score``, clip sidecars, the
engine's screens, the review, the export's column documentation and the test fakes all read
this module; none of them keeps a list of task names or metric labels of its own. Adding a
task is one ``Task`` record here (plus its scoring function, looked up by name in
``rehab.scoring.trial``).

Example:
    >>> TASKS["finger_tap"].counted
    True
    >>> metric("rom.index_mcp.range_deg").label
    'Index MCP range'
    >>> patient_line(TASKS["finger_tap"], {"repetitions": 12}, {"repetitions": 10})
    '12 taps - 2 more than last time'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

Better = Literal["higher", "lower"] | None


@dataclass(frozen=True)
class Metric:
    """One number of a trial score, under its flattened key (``similarity.score``).

    ``scale`` multiplies the stored value for display (a fraction shown in %); ``better`` says
    which direction is an improvement (None: neither, e.g. a rate that should match a target).
    """

    key: str
    label: str
    unit: str = ""
    fmt: str = ".1f"
    better: Better = None
    scale: float = 1.0

    def format(self, value: Any) -> str:
        """``value`` with its unit for a clinician ("89 deg", "3.1 /s", "-"); text as it is."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value)) or "none"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        shown = value * self.scale if self.scale != 1.0 else value
        text = f"{round(shown):d}" if self.fmt == "d" else f"{shown:{self.fmt}}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]  # -0.001 reads "0", not "-0"
        return f"{text} {self.unit}" if self.unit else text

    @property
    def heading(self) -> str:
        """Label with unit, for plot axes and table headers ("Opening range (deg)")."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class PatientResult:
    """How a patient is told about a trial: one number in one plain sentence.

    ``sentence`` takes ``{value}`` (with ``decimals`` decimals) and ``{noun}`` (the task's count
    word, singular or plural); the comparison with last time reads "- 2 more than last time"
    (``amount_unit`` after the amount, ``up``/``down`` for a larger/smaller value).
    """

    key: str | None
    sentence: str = "Well done."
    decimals: int = 0
    amount_unit: str = ""
    up: str = "more"
    down: str = "fewer"


@dataclass(frozen=True)
class Task:
    """A movement an execute step asks for and the scorer scores.

    Attributes:
        name: the protocol's ``task:`` value and the stored trial's task.
        title: what the movement is, for clinicians.
        instruction: the patient's instruction on the execute screen.
        counted: repetitions are counted (live, on the screen, and in the score), so
            ``target_reps`` can end a step and a demonstration is matched per repetition.
        counter_label: the live counter's label on the camera screen.
        count_words: (singular, plural) of one repetition in a patient sentence.
        metrics: the task's own metrics (every task also has ``COMMON_METRICS``).
        headline: the keys a clinician's review and ``rehab sessions`` lead with.
        patient: what a patient is told after a trial (one number, one sentence).
    """

    name: str
    title: str
    instruction: str
    counted: bool
    counter_label: str
    count_words: tuple[str, str]
    metrics: tuple[Metric, ...]
    headline: tuple[str, ...]
    patient: PatientResult

    def metric(self, key: str) -> Metric | None:
        """The record for ``key`` among this task's and the common metrics (ROM included)."""
        for m in self.metrics:
            if m.key == key:
                return m
        return metric(key)


COMMON_METRICS: tuple[Metric, ...] = (
    Metric("repetitions", "Repetitions", fmt="d", better="higher"),
    Metric("tracked_fraction", "Hand tracked", "%", ".0f", "higher", 100.0),
    Metric("smoothness.sparc", "Smoothness (SPARC)", fmt=".2f", better="higher"),
    Metric("smoothness.ldlj", "Smoothness (LDLJ)", fmt=".2f", better="higher"),
    Metric("quality.jitter_mm", "Tracking jitter", "mm", ".2f", "lower"),
    Metric("quality.longest_gap_s", "Longest tracking gap", "s", ".2f", "lower"),
    Metric("similarity.score", "Match to demonstration (uncalibrated)", "/ 100", ".0f", "higher"),
    Metric("similarity.tempo", "Duration vs demonstration", "x", ".2f"),
    Metric("similarity.amplitude_ratio", "Amplitude vs demonstration", fmt=".2f", better="higher"),
    Metric("valid", "Valid trial"),
    Metric("validity_reasons", "Why not valid"),
    Metric("validity.frames", "Frames"),
    Metric("validity.frames_tracked", "Frames with the hand", fmt="d"),
    Metric("validity.effective_fps", "Tracked frame rate", "/s", ".1f", "higher"),
    Metric("validity.frames_per_cycle", "Frames per cycle", fmt=".1f", better="higher"),
    Metric("validity.unreliable_fraction", "Unreliable frames", "%", ".0f", "lower", 100.0),
    Metric("validity.hands_seen.left", "Frames with a left hand", fmt="d"),
    Metric("validity.hands_seen.right", "Frames with a right hand", fmt="d"),
    Metric("validity.scored_hand", "Hand scored"),
    Metric("validity.second_hand_frames", "Frames with a second hand", fmt="d", better="lower"),
    Metric("validity.rom_exceeded", "Joints beyond anatomical range"),
    Metric("validity.warnings", "Validity warnings"),
)

COUNT_RESULT = PatientResult("repetitions", "{value} {noun}")
NO_REPETITION = "Thank you for trying - we will practise this one again."

_TAP_METRICS: tuple[Metric, ...] = (
    Metric("taps", "Taps", fmt="d", better="higher"),
    Metric("rate_hz", "Tapping rate", "/s", ".2f", "higher"),
    Metric("mean_interval_s", "Time between taps", "s", ".2f", "lower"),
    Metric("rhythm_cv", "Rhythm variability (CV)", "%", ".0f", "lower", 100.0),
    Metric("amplitude", "Tap amplitude", "hand sizes", ".2f", "higher"),
    Metric("amplitude_decrement", "Amplitude decrement", "%", ".0f", "lower", 100.0),
    Metric("amplitude_ratio_last_first", "Amplitude, last taps / first", fmt=".2f",
           better="higher"),
    Metric("hesitations", "Hesitations", fmt="d", better="lower"),
    Metric("halts", "Halts", fmt="d", better="lower"),
    Metric("longest_pause_s", "Longest pause", "s", ".2f", "lower"),
    Metric("slowing", "Slowing (intervals lengthen by)", "%", ".0f", "lower", 100.0),
)
# MDS-UPDRS 3.4 scores the first 10 taps: the same numbers over them
_FIRST10 = tuple(Metric(f"first10.{m.key}", f"{m.label}, first 10 taps", m.unit, m.fmt, m.better,
                        m.scale) for m in _TAP_METRICS)

TASK_LIST: tuple[Task, ...] = (
    Task(
        name="open_close", title="Open and close the hand",
        instruction="Open your hand wide, then close it into a fist.",
        counted=True, counter_label="Repetitions", count_words=("time", "times"),
        metrics=(
            Metric("repetitions", "Open-close cycles", fmt="d", better="higher"),
            Metric("openings", "Openings", fmt="d", better="higher"),
            Metric("closings", "Closings", fmt="d", better="higher"),
            Metric("opening_range", "Opening range", "hand sizes", ".2f", "higher"),
            Metric("mean_cycle_s", "Cycle time", "s", ".2f"),
            Metric("max_aperture", "Widest opening", "hand sizes", ".2f", "higher"),
            Metric("max_spread", "Widest finger spread", "hand sizes", ".2f", "higher"),
        ),
        headline=("repetitions", "openings", "opening_range", "closings"),
        patient=PatientResult("repetitions", "You opened and closed your hand {value} {noun}"),
    ),
    Task(
        name="finger_tap", title="Thumb-index finger tapping",
        instruction="Tap your index finger on your thumb, as fast and as big as you can.",
        counted=True, counter_label="Taps", count_words=("tap", "taps"),
        metrics=(
            Metric("repetitions", "Taps", fmt="d", better="higher"),
            *_TAP_METRICS,
            Metric("interruptions", "Interruptions (= hesitations)", fmt="d", better="lower"),
            *_FIRST10,
        ),
        headline=("repetitions", "rate_hz", "amplitude", "amplitude_decrement", "hesitations",
                  "slowing"),
        patient=COUNT_RESULT,
    ),
    Task(
        name="opposition", title="Thumb opposition to each fingertip",
        instruction="Touch each fingertip to your thumb in turn.",
        counted=True, counter_label="Touches", count_words=("touch", "touches"),
        metrics=(
            Metric("repetitions", "Touches", fmt="d", better="higher"),
            Metric("touches", "Touches", fmt="d", better="higher"),
            Metric("fingers_reached", "Fingers reached"),
            Metric("sequence", "Order of touches"),
        ),
        headline=("repetitions", "fingers_reached"),
        patient=COUNT_RESULT,
    ),
    Task(
        name="reach_grasp", title="Reach forward and grasp",
        instruction="Reach forward, grasp, and come back.",
        counted=False, counter_label="Reaches", count_words=("reach", "reaches"),
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
    ),
    Task(
        name="free", title="Free hand movement",
        instruction="Move your hand freely.",
        counted=False, counter_label="Repetitions", count_words=("movement", "movements"),
        metrics=(),
        headline=("rom.index_mcp.range_deg", "rom.middle_pip.range_deg", "rom.thumb_mcp.range_deg"),
        patient=PatientResult(None, "Your free movement practice is done."),
    ),
)
TASKS: dict[str, Task] = {t.name: t for t in TASK_LIST}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
COUNTED_TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASK_LIST if t.counted)
# Movements a demonstration clip can show that are not scored tasks (no execute step asks for
# them; the mirror-therapy protocols show them).
CLIP_ONLY_MOVEMENTS: tuple[str, ...] = ("wrist_flex",)
CLIP_MOVEMENTS: tuple[str, ...] = TASK_NAMES + CLIP_ONLY_MOVEMENTS

_ROM_STATS: dict[str, tuple[str, Better]] = {
    "range_deg": ("range", "higher"), "min_deg": ("min", None), "max_deg": ("max", None),
    "limit_deg": ("anatomical limit", None), "exceeds_limit": ("beyond limit", None)}


def task(name: str) -> Task:
    """The task called ``name``; KeyError names the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r} (tasks: {', '.join(TASK_NAMES)})") from None


def metric(key: str) -> Metric | None:
    """The record of a common or ROM metric key (``rom.<finger>_<joint>.<stat>_deg``)."""
    for m in COMMON_METRICS:
        if m.key == key:
            return m
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "rom" and parts[2] in _ROM_STATS:
        finger, _, joint = parts[1].partition("_")
        stat, better = _ROM_STATS[parts[2]]
        unit = "deg" if parts[2].endswith("_deg") else ""
        return Metric(key, f"{finger.capitalize()} {joint.upper()} {stat}", unit, ".0f", better)
    return None


def any_metric(key: str) -> Metric | None:
    """The record of ``key`` in any task (the first declaring it) or among the common ones."""
    for t in TASK_LIST:
        for m in t.metrics:
            if m.key == key:
                return m
    return metric(key)


def patient_line(t: Task, today: dict[str, Any], previous: dict[str, Any] | None,
                 compare: bool = False) -> str:
    """One plain sentence about a trial for the patient: "12 taps - 2 more than last time".

    Only ``t.patient``'s number is used, never a variability, a percentage loss or an
    uncalibrated score. ``previous`` is the last session's score of the same task (None: none
    yet, which ``compare`` says in words); no repetition at all is met with encouragement.
    """
    said = t.patient
    if said.key is None:
        return said.sentence
    value = today.get(said.key)
    if not _is_number(value):
        return "Well done."
    if said.key == "repetitions" and value == 0:
        return NO_REPETITION
    shown = round(float(value), said.decimals)
    noun = t.count_words[0 if shown == 1 else 1]
    text = said.sentence.format(value=f"{shown:.{said.decimals}f}", noun=noun)
    before = (previous or {}).get(said.key)
    if _is_number(before):
        diff = round(shown - round(float(before), said.decimals), said.decimals)
        if diff == 0:
            text += " - the same as last time"
        else:
            amount = f"{abs(diff):.{said.decimals}f}"
            amount += f" {said.amount_unit}" if said.amount_unit else ""
            text += f" - {amount} {said.up if diff > 0 else said.down} than last time"
    elif compare:
        text += " - your first time with this exercise"
    return text


def _is_number(value: Any) -> TypeGuard[int | float]:
    """A real number (not a bool, not NaN): what a patient sentence can say."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


def value_at(score: dict[str, Any], key: str) -> Any:
    """The value under a flattened key (``rom.index_mcp.range_deg``) of a nested score dict,
    None where any part is missing."""
    value: Any = score
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
