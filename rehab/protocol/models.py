"""The protocol format as frozen, typed models (pydantic); the YAML loader builds these.

A protocol file is YAML. Each entry of ``steps`` is a mapping with exactly one key naming the
step kind (``observe``, ``execute``, ``mirror``, ``imagine``, ``rest``, ``rate``,
``instruction``, or ``block`` for a repeated group). The loader turns ``{observe: {...}}`` into
``{"kind": "observe", ...}`` before validation; these models see the latter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from rehab.protocol.limits import MAX_RATING_CHOICES
from rehab.tasks import TASK_NAMES

# The registry's names as a Literal: pydantic reports an unknown task (P007) and the JSON
# schema lists them, without a second copy of the list.
Task = Literal[TASK_NAMES]  # type: ignore[valid-type]
HandChoice = Literal["affected", "unaffected", "both"]
# YAML already has booleans (true/false); a quoted "yes" or a 1 is a mistake, not a boolean.
YamlBool = Annotated[bool, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Defaults(_Model):
    """Values every step inherits unless it sets its own."""

    feedback: YamlBool = Field(
        default=True,
        description="Show live feedback (repetition count, hand outline) while executing.",
    )
    countdown_s: float = Field(
        default=3.0, ge=0, le=30, description="Countdown before each execute step, seconds."
    )
    hand: HandChoice = Field(
        default="affected",
        description="Which hand execute steps use: affected, unaffected or both.",
    )
    show_result: YamlBool = Field(
        default=True, description="Show the trial's score after each execute step."
    )


class Safety(_Model):
    """Session-level stop rules, applied the moment a rating is given."""

    pain_stop_rise: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Stop when pain rises by at least this much from its first rating.",
    )
    pain_stop_at: int | None = Field(
        default=None, ge=1, le=10, description="Stop when pain reaches this value."
    )
    fatigue_stop_at: int | None = Field(
        default=None, ge=1, le=10, description="Stop when fatigue (Borg CR10) reaches this value."
    )


class ObserveStep(_Model):
    """Play an action-observation clip."""

    kind: Literal["observe"] = "observe"
    clip: str = Field(..., min_length=1, description="File in videos/ (e.g. open_close.mp4).")
    repeat: int = Field(default=1, ge=1, le=50, description="How many times the clip is played.")
    speed: float = Field(
        default=1.0, ge=0.1, le=2.0, description="Playback speed; 0.5 is slow motion."
    )
    match_affected_side: YamlBool = Field(
        default=False,
        description="Mirror the clip when its hand is not the patient's affected side.",
    )
    imagine: YamlBool = Field(
        default=False, description="Ask the patient to imagine doing it while watching."
    )
    text: str | None = Field(default=None, description="Instruction shown with the clip.")


class ExecuteStep(_Model):
    """The patient performs the action with the webcam watching; scored live."""

    kind: Literal["execute"] = "execute"
    task: Task = Field(..., description="What is scored: " + ", ".join(TASK_NAMES) + ".")
    hand: HandChoice | None = Field(
        default=None, description="affected, unaffected or both (default: defaults.hand)."
    )
    target_reps: int | None = Field(
        default=None, ge=1, le=500, description="Stop after this many repetitions."
    )
    duration_s: float | None = Field(
        default=None, gt=0, le=1800, description="Stop after this many seconds."
    )
    demonstration: str | None = Field(
        default=None, description="Clip in videos/ whose movement is the reference."
    )
    feedback: YamlBool | None = Field(
        default=None, description="Live feedback on or off (default: defaults.feedback)."
    )
    show_result: YamlBool | None = Field(
        default=None, description="Show the score afterwards (default: defaults.show_result)."
    )
    compare_previous: YamlBool = Field(
        default=False, description="Show the previous session's score (knowledge of results)."
    )
    record_video: YamlBool = Field(
        default=False, description="Store the camera video (needs the patient's consent)."
    )
    text: str | None = Field(default=None, description="Instruction shown before the trial.")

    @model_validator(mode="after")
    def _needs_an_end(self) -> ExecuteStep:
        if self.target_reps is None and self.duration_s is None:
            raise PydanticCustomError(
                "execute_needs_end", "an execute step needs target_reps or duration_s (or both)"
            )
        return self


class MirrorStep(_Model):
    """Mirror-therapy display for a fixed time."""

    kind: Literal["mirror"] = "mirror"
    duration_s: float = Field(
        ..., gt=0, le=3600, description="How long the mirror display runs, seconds."
    )
    mode: Literal["flip", "split"] = Field(
        default="flip",
        description="flip: the whole camera image mirrored; "
        "split: the unaffected side of the image mirrored onto the affected side.",
    )
    movement: str = Field(..., min_length=1, description="What to do with the unaffected hand.")
    text: str | None = Field(
        default=None, description="Extra instruction shown before the mirror starts."
    )


class ImagineStep(_Model):
    """Motor-imagery prompt."""

    kind: Literal["imagine"] = "imagine"
    text: str = Field(..., min_length=1, description="What to imagine (read out or shown).")
    duration_s: float = Field(..., gt=0, le=1800, description="Imagery time, seconds.")
    eyes_closed: YamlBool = Field(
        default=False, description="Eyes closed, with audio start and stop cues."
    )
    rate_vividness: YamlBool = Field(
        default=False, description="Ask for a vividness rating (1-5) afterwards."
    )


class RestStep(_Model):
    """A rest with a countdown."""

    kind: Literal["rest"] = "rest"
    duration_s: float = Field(..., gt=0, le=3600, description="Rest time, seconds.")
    text: str | None = Field(default=None, description="Shown during the rest.")


ScaleName = Literal["pain", "fatigue", "vividness", "custom"]

STANDARD_SCALES: dict[str, dict] = {
    "pain": {
        "question": "How much pain do you feel right now?",
        "min": 0,
        "max": 10,
        "anchors": {0: "no pain", 10: "worst pain imaginable"},
        "default": 0,
    },
    "fatigue": {
        "question": "How tired do you feel right now?",
        "min": 0,
        "max": 10,
        "anchors": {0: "nothing at all", 3: "moderate", 5: "strong", 10: "extremely strong"},
        "default": 2,
    },
    "vividness": {
        "question": "How clearly could you feel the movement in your mind?",
        "min": 1,
        "max": 5,
        "anchors": {1: "no image at all", 3: "moderately clear", 5: "as clear as doing it"},
        "default": 3,
    },
}


class Rating(_Model):
    """One rating scale. Standard scales fill in their question, range and anchors."""

    scale: ScaleName = Field(
        ..., description="pain (0-10), fatigue (Borg CR10, 0-10), vividness (1-5) or custom."
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Column name for a custom scale (lower case, digits, underscores).",
    )
    question: str | None = Field(
        default=None, description="The question shown (standard scales have one)."
    )
    min: int | None = Field(default=None, description="Lowest answer (standard scales have one).")
    max: int | None = Field(default=None, description="Highest answer (standard scales have one).")
    anchors: dict[int, str] | None = Field(
        default=None,
        description="Labels for some answers, e.g. {0: no pain, 10: worst pain imaginable}.",
    )
    default: int | None = Field(default=None, description="Answer used by --autopilot.")

    @model_validator(mode="after")
    def _fill_and_check(self) -> Rating:
        if self.scale == "custom":
            missing = [
                k for k in ("name", "question", "min", "max", "anchors") if getattr(self, k) is None
            ]
            if missing:
                raise _scale_error(f"a custom scale needs {', '.join(missing)}")
        lo, hi = self.lo, self.hi
        if lo >= hi:
            raise _scale_error(f"min ({lo}) must be below max ({hi})")
        if hi - lo + 1 > MAX_RATING_CHOICES:
            raise PydanticCustomError(
                "rating_choices",
                "a scale from {lo} to {hi} has {n} answers; at most {most} can be shown",
                {"lo": lo, "hi": hi, "n": hi - lo + 1, "most": MAX_RATING_CHOICES},
            )
        for key in self.anchors or {}:
            if not lo <= key <= hi:
                raise _scale_error(f"anchor {key} lies outside the scale {lo}-{hi}")
        if self.default is not None and not lo <= self.default <= hi:
            raise _scale_error(f"default {self.default} lies outside the scale {lo}-{hi}")
        return self

    @property
    def key(self) -> str:
        """Column name in logs and exports."""
        return self.name or self.scale

    @property
    def lo(self) -> int:
        return self.min if self.min is not None else int(STANDARD_SCALES[self.scale]["min"])

    @property
    def hi(self) -> int:
        return self.max if self.max is not None else int(STANDARD_SCALES[self.scale]["max"])

    @property
    def prompt(self) -> str:
        return self.question or STANDARD_SCALES[self.scale]["question"]

    @property
    def anchor_labels(self) -> dict[int, str]:
        if self.anchors is not None:
            return dict(self.anchors)
        return dict(STANDARD_SCALES.get(self.scale, {}).get("anchors", {}))

    @property
    def autopilot_value(self) -> int:
        if self.default is not None:
            return self.default
        std = STANDARD_SCALES.get(self.scale)
        return int(std["default"]) if std else (self.lo + self.hi) // 2


def _scale_error(message: str) -> PydanticCustomError:
    # A custom error type lets the loader give this its own code (P010) without parsing text.
    return PydanticCustomError("rating_scale", message)


class RateStep(_Model):
    """One screen asking one or more ratings."""

    kind: Literal["rate"] = "rate"
    ratings: list[Rating] = Field(..., min_length=1, description="The scales asked, in order.")
    text: str | None = Field(default=None, description="Shown above the ratings.")

    @model_validator(mode="after")
    def _distinct_columns(self) -> RateStep:
        keys = [r.key for r in self.ratings]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise _scale_error(f"the scale {', '.join(doubled)} is asked twice in one rate step")
        return self


class InstructionStep(_Model):
    """A text screen; the patient (or therapist) presses a key to go on."""

    kind: Literal["instruction"] = "instruction"
    text: str = Field(..., min_length=1, description="The text shown.")
    title: str | None = Field(default=None, description="Heading above the text.")
    duration_s: float | None = Field(
        default=None, gt=0, le=600, description="Go on by itself after this long."
    )


class Block(_Model):
    """A group of steps done ``repeat`` times."""

    kind: Literal["block"] = "block"
    name: str | None = Field(
        default=None, description="A label for the group, e.g. 'action 1: reach and grasp'."
    )
    repeat: int = Field(default=1, ge=1, le=100, description="How many times the steps are done.")
    steps: list[Step] = Field(..., min_length=1, description="The steps of the group.")


Step = Annotated[
    Union[
        ObserveStep,
        ExecuteStep,
        MirrorStep,
        ImagineStep,
        RestStep,
        RateStep,
        InstructionStep,
        Block,
    ],
    Field(discriminator="kind"),
]
Block.model_rebuild()

STEP_KINDS = ("observe", "execute", "mirror", "imagine", "rest", "rate", "instruction", "block")
LeafStep = Union[
    ObserveStep, ExecuteStep, MirrorStep, ImagineStep, RestStep, RateStep, InstructionStep
]


class Protocol(_Model):
    """A whole therapy session."""

    name: str = Field(..., min_length=1, description="Short title shown at the start.")
    description: str = Field(
        ..., min_length=1, description="What the session is and who it is for."
    )
    reference: str | None = Field(
        default=None, description="The paper or guideline the protocol follows."
    )
    version: int = Field(default=1, ge=1, description="Raise it when you change the protocol.")
    defaults: Defaults = Field(default_factory=Defaults, description="Values every step inherits.")
    safety: Safety = Field(default_factory=Safety, description="Rules that stop the session.")
    steps: list[Step] = Field(..., min_length=1, description="What happens, in order.")

    def flatten(self) -> list[PlannedStep]:
        """Every leaf step in the order it runs, blocks expanded."""
        out: list[PlannedStep] = []
        for path, step in _walk(self.steps, ()):
            out.append(PlannedStep(index=len(out), step=step, path=path))
        return out


@dataclass(frozen=True)
class PlannedStep:
    """One leaf step of the expanded session.

    Attributes:
        index: 0-based position in the whole session.
        step: the step model.
        path: where it came from, e.g. ``(("steps", 2), ("repeat", 1), ("steps", 0))``.
    """

    index: int
    step: LeafStep
    path: tuple

    @property
    def kind(self) -> str:
        return self.step.kind


def _walk(steps: list, prefix: tuple) -> Iterator[tuple[tuple, LeafStep]]:
    for i, step in enumerate(steps):
        here = prefix + (("steps", i),)
        if isinstance(step, Block):
            for r in range(step.repeat):
                yield from _walk(step.steps, here + (("repeat", r),))
        else:
            yield here, step
