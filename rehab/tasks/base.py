"""The vocabulary of a task: the records the registry (``rehab.tasks``) is made of.

A ``Task`` is everything the program knows about one movement: its name, the patient's
wording, the metrics it reports (``Metric``: label, unit, format, which direction is better),
what a clinician and a patient are shown, how its repetitions are counted (``Counting``), how
a trial of it is measured, how its demonstration moves (``Demo``) and a synthetic performance
of it for tests and benchmarks. Each task's record is written once, in its own module of this
package. This module holds the record types and the metrics every task shares; it imports no
scoring code (the types a record refers to are only named for the type checker).

Example:
    >>> from rehab.tasks import TASKS
    >>> patient_line(TASKS["finger_tap"], {"repetitions": 12}, {"repetitions": 10})
    '12 taps - 2 more than last time'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeGuard

if TYPE_CHECKING:
    from rehab.devices.base import TrackedFrame
    from rehab.scoring.counting import TrialCounter
    from rehab.scoring.reps import SwingParams, TouchParams
    from rehab.scoring.track import HandTrack
    from rehab.synth import HandState

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
        shown = self.in_unit(value)
        text = f"{round(shown):d}" if self.fmt == "d" else f"{shown:{self.fmt}}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]  # -0.001 reads "0", not "-0"
        return f"{text} {self.unit}" if self.unit else text

    def in_unit(self, value: Any) -> Any:
        """``value`` (a number or a pandas Series) as stored, in ``unit`` (x ``scale``)."""
        return value * self.scale if self.scale != 1.0 else value

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


class Measured(NamedTuple):
    """What measuring a trial of a task gives: its own metrics, the repetitions, smoothness."""

    metrics: dict[str, Any]
    repetitions: int
    smoothness: dict[str, Any] | None = None


@dataclass(frozen=True)
class Counting:
    """How a task's repetitions are counted, frame by frame (``scoring.counting.TrialCounter``,
    the one counter used live and for the stored score).

    ``signal`` maps one frame's image-plane landmarks (``scoring.signals.plane``) and hand size
    to what the detector follows: a number for a swing detector (``SwingParams``), the four
    thumb-to-fingertip distances for a touch detector (``TouchParams``). ``counts`` is what one
    repetition is: a cycle (two swings), a closing, or a touch.
    """

    detector: SwingParams | TouchParams
    signal: Callable[[Any, float], Any]
    counts: Literal["cycles", "closings", "touches"]


@dataclass(frozen=True)
class Demo:
    """How the shipped rendered demonstration of a movement moves (``rehab render-demo``).

    ``states`` gives the third-person trajectory (fps -> synthetic hand states);
    ``first_person_states`` the same movement seen from the actor's own eyes, when it differs
    from the hand simply turned round (a reach goes toward the camera in third person but away
    from the eyes in first person).
    """

    states: Callable[[float], list[HandState]]
    description: str
    first_person_states: Callable[[float], list[HandState]] | None = None


@dataclass(frozen=True)
class Movement:
    """A movement a demonstration clip can show that no execute step scores (``wrist_flex``:
    the mirror-therapy protocols show it)."""

    name: str
    title: str
    demo: Demo


def measure_nothing(track: HandTrack, counter: TrialCounter) -> Measured:
    """A task with no metrics of its own (ROM, quality and similarity are still measured)."""
    return Measured({}, 0)


@dataclass(frozen=True)
class Task:
    """A movement an execute step asks for and the scorer scores.

    Attributes:
        name: the protocol's ``task:`` value and the stored trial's task.
        title: what the movement is, for clinicians.
        instruction: the patient's instruction on the execute screen.
        counter_label: the live counter's label on the camera screen.
        count_words: (singular, plural) of one repetition in a patient sentence.
        metrics: the task's own metrics (every task also has ``COMMON_METRICS``).
        headline: the keys a clinician's review and ``rehab sessions`` lead with.
        patient: what a patient is told after a trial (one number, one sentence).
        counting: how repetitions are counted; None: not counted (see ``counted``).
        measure: the task's own metrics of a trial, from its hand track and its counter.
        demo: the shipped rendered demonstration's movement, if there is one.
        example: a synthetic performance (level of progress 0 = first weeks, hand) -> frames,
            more, faster and bigger with each level: the test fakes and benchmarks score it.
    """

    name: str
    title: str
    instruction: str
    counter_label: str
    count_words: tuple[str, str]
    metrics: tuple[Metric, ...]
    headline: tuple[str, ...]
    patient: PatientResult
    example: Callable[[int, str], Sequence[TrackedFrame]]
    counting: Counting | None = None
    measure: Callable[[HandTrack, TrialCounter], Measured] = measure_nothing
    demo: Demo | None = None

    @property
    def counted(self) -> bool:
        """Repetitions are counted (live, on the screen, and in the score), so ``target_reps``
        can end a step and a demonstration is matched per repetition."""
        return self.counting is not None

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
    Metric("smoothness.signal", "Signal the smoothness was measured on"),
    Metric("quality.tracked_fraction", "Hand tracked (tracking quality)", "%", ".0f", "higher",
           100.0),
    Metric("quality.jitter_mm", "Tracking jitter", "mm", ".2f", "lower"),
    Metric("quality.longest_gap_s", "Longest tracking gap", "s", ".2f", "lower"),
    Metric("similarity.score", "Match to demonstration, uncalibrated", "/ 100", ".0f", "higher"),
    Metric("similarity.tempo", "Duration vs demonstration", "x", ".2f"),
    Metric("similarity.amplitude_ratio", "Amplitude vs demonstration", fmt=".2f", better="higher"),
    Metric("similarity.reference_duration_s", "Demonstration's movement duration", "s", ".2f"),
    Metric("similarity.patient_duration_s", "Trial's movement duration", "s", ".2f"),
    Metric("similarity.dtw_cost", "Distance to demonstration (DTW cost)", fmt=".3f",
           better="lower"),
    Metric("similarity.reference_repeats", "Demonstration cycles matched", fmt="d"),
    Metric("error", "Why the trial could not be scored"),
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

_ROM_STATS: dict[str, tuple[str, Better]] = {
    "range_deg": ("range", "higher"), "min_deg": ("min", None), "max_deg": ("max", None),
    "limit_deg": ("anatomical limit", None), "exceeds_limit": ("beyond limit", None)}


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
