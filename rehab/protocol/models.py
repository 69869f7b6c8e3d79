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

from pydantic import BaseModel, ConfigDict, Field, model_validator

TASKS = ("open_close", "finger_tap", "opposition", "reach_grasp", "free")
Task = Literal["open_close", "finger_tap", "opposition", "reach_grasp", "free"]
HandChoice = Literal["affected", "unaffected", "both"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Defaults(_Model):
    """Values every step inherits unless it sets its own."""

    feedback: bool = True
    countdown_s: float = Field(3.0, ge=0, le=30)
    hand: HandChoice = "affected"
    show_result: bool = True


class Safety(_Model):
    """Session-level stop rules, applied the moment a rating is given."""

    pain_stop_rise: int | None = Field(
        None, ge=1, le=10, description="Stop when pain rises by at least this much from its first rating."
    )
    pain_stop_at: int | None = Field(None, ge=1, le=10, description="Stop when pain reaches this value.")
    fatigue_stop_at: int | None = Field(
        None, ge=1, le=10, description="Stop when fatigue (Borg CR10) reaches this value."
    )


class ObserveStep(_Model):
    """Play an action-observation clip."""

    kind: Literal["observe"] = "observe"
    clip: str = Field(..., min_length=1, description="File in videos/ (e.g. open_close.mp4).")
    repeat: int = Field(1, ge=1, le=50)
    speed: float = Field(1.0, ge=0.1, le=2.0, description="Playback speed; 0.5 is slow motion.")
    match_affected_side: bool = False
    imagine: bool = Field(False, description="Ask the patient to imagine doing it while watching.")
    text: str | None = None


class ExecuteStep(_Model):
    """The patient performs the action with the webcam watching; scored live."""

    kind: Literal["execute"] = "execute"
    task: Task
    hand: HandChoice | None = None
    target_reps: int | None = Field(None, ge=1, le=500)
    duration_s: float | None = Field(None, gt=0, le=1800)
    demonstration: str | None = Field(None, description="Clip in videos/ whose movement is the reference.")
    feedback: bool | None = None
    show_result: bool | None = None
    compare_previous: bool = Field(False, description="Show the previous session's score (knowledge of results).")
    record_video: bool = Field(False, description="Store the camera video (needs the patient's consent).")
    text: str | None = None

    @model_validator(mode="after")
    def _needs_an_end(self) -> ExecuteStep:
        if self.target_reps is None and self.duration_s is None:
            raise ValueError("an execute step needs target_reps or duration_s (or both)")
        return self


class MirrorStep(_Model):
    """Mirror-therapy display for a fixed time."""

    kind: Literal["mirror"] = "mirror"
    duration_s: float = Field(..., gt=0, le=3600)
    mode: Literal["flip", "split"] = "flip"
    movement: str = Field(..., min_length=1, description="What to do with the unaffected hand.")
    text: str | None = None


class ImagineStep(_Model):
    """Motor-imagery prompt."""

    kind: Literal["imagine"] = "imagine"
    text: str = Field(..., min_length=1)
    duration_s: float = Field(..., gt=0, le=1800)
    eyes_closed: bool = False
    rate_vividness: bool = False


class RestStep(_Model):
    kind: Literal["rest"] = "rest"
    duration_s: float = Field(..., gt=0, le=3600)
    text: str | None = None


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

    scale: ScaleName
    name: str | None = Field(None, description="Column name for a custom scale.")
    question: str | None = None
    min: int | None = None
    max: int | None = None
    anchors: dict[int, str] | None = None
    default: int | None = Field(None, description="Answer used by --autopilot.")

    @model_validator(mode="after")
    def _fill_and_check(self) -> Rating:
        std = STANDARD_SCALES.get(self.scale, {})
        if self.scale == "custom":
            missing = [k for k in ("name", "question", "min", "max", "anchors") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a custom scale needs {', '.join(missing)}")
        lo = self.min if self.min is not None else std.get("min")
        hi = self.max if self.max is not None else std.get("max")
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"min ({lo}) must be below max ({hi})")
        for key in (self.anchors or {}):
            if not (lo <= key <= hi):
                raise ValueError(f"anchor {key} lies outside the scale {lo}-{hi}")
        if self.default is not None and not (lo <= self.default <= hi):
            raise ValueError(f"default {self.default} lies outside the scale {lo}-{hi}")
        return self

    @property
    def key(self) -> str:
        """Column name in logs and exports."""
        return self.name or self.scale

    @property
    def lo(self) -> int:
        return self.min if self.min is not None else STANDARD_SCALES[self.scale]["min"]

    @property
    def hi(self) -> int:
        return self.max if self.max is not None else STANDARD_SCALES[self.scale]["max"]

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
        return std["default"] if std else (self.lo + self.hi) // 2


class RateStep(_Model):
    kind: Literal["rate"] = "rate"
    ratings: list[Rating] = Field(..., min_length=1)
    text: str | None = None


class InstructionStep(_Model):
    kind: Literal["instruction"] = "instruction"
    text: str = Field(..., min_length=1)
    title: str | None = None
    duration_s: float | None = Field(None, gt=0, le=600, description="Go on by itself after this long.")


class Block(_Model):
    """A group of steps done ``repeat`` times."""

    kind: Literal["block"] = "block"
    name: str | None = None
    repeat: int = Field(1, ge=1, le=100)
    steps: list[Step] = Field(..., min_length=1)


Step = Annotated[
    Union[ObserveStep, ExecuteStep, MirrorStep, ImagineStep, RestStep, RateStep, InstructionStep, Block],
    Field(discriminator="kind"),
]
Block.model_rebuild()

STEP_KINDS = ("observe", "execute", "mirror", "imagine", "rest", "rate", "instruction", "block")
LeafStep = Union[ObserveStep, ExecuteStep, MirrorStep, ImagineStep, RestStep, RateStep, InstructionStep]


class Protocol(_Model):
    """A whole therapy session."""

    name: str = Field(..., min_length=1)
    description: str = Field(..., min_length=1)
    reference: str | None = Field(None, description="The paper or guideline the protocol follows.")
    version: int = Field(1, ge=1)
    defaults: Defaults = Defaults()
    safety: Safety = Safety()
    steps: list[Step] = Field(..., min_length=1)

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
