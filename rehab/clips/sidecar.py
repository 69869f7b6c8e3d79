"""The clip sidecar (``videos/NAME.yaml``): its model, reading with clear messages, and writing.

Example sidecar::

    task: open_close
    hand: right
    view: third_person
    fps: 30.0
    duration_s: 6.0
    frames: 180
    width: 640
    height: 360
    source: rendered by rehab render-demo from the synthetic hand model (rehab 0.1.0)
    date: 2026-11-29
    rendered: true
    reference: open_close.landmarks.npz
    reference_note: ground truth - the synthetic landmarks the clip was drawn from
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rehab.errors import ClipError
from rehab.tasks import CLIP_MOVEMENTS

# Clips may show movements that are not scored tasks (wrist flexion for mirror therapy).
ClipTask = Literal[CLIP_MOVEMENTS]  # type: ignore[valid-type]
View = Literal["first_person", "third_person"]
HandSide = Literal["left", "right"]


class ClipSidecar(BaseModel):
    """What a clip shows and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: ClipTask
    hand: HandSide = Field(description="Anatomical hand shown in the clip.")
    view: View = Field("third_person", description="first_person: seen from the actor's eyes.")
    fps: float = Field(..., gt=0, le=240)
    duration_s: float = Field(..., gt=0)
    frames: int = Field(..., ge=1)
    width: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=1)
    source: str = Field(..., min_length=1)
    date: dt.date
    rendered: bool = False
    reference: str | None = Field(None, description="Landmark file beside the clip.")
    reference_note: str | None = None
    description: str | None = None


def _yaml_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" line {mark.line + 1}" if mark is not None else ""


def load_sidecar(path: Path) -> ClipSidecar:
    """Read and validate a sidecar; raises ClipError naming the file and every bad field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClipError(f"cannot read clip sidecar {path}: {exc.strerror}",
                        hint="check the file exists and is readable") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClipError(f"{path}{_yaml_line(exc)}: not valid YAML ({getattr(exc, 'problem', exc)})",
                        hint="fix the YAML syntax (indentation, colons)") from exc
    if not isinstance(data, dict):
        raise ClipError(f"{path}: a clip sidecar must be a mapping of fields (task:, hand:, ...)",
                        hint="see 'rehab clips --help' for an example sidecar")
    try:
        return ClipSidecar.model_validate(data)
    except ValidationError as exc:
        raise ClipError(f"{path}: invalid clip sidecar: {describe_errors(exc)}",
                        hint="fix the named fields; 'rehab clips check' lists every problem") from exc


def describe_errors(exc: ValidationError) -> str:
    """Pydantic errors as ``field: message; field: message``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        elif err["type"] == "literal_error":
            msg = f"{msg}, got {err.get('input')!r}"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def dump_sidecar(sidecar: ClipSidecar) -> str:
    """The sidecar as YAML text, fields in model order, no empty fields."""
    data = sidecar.model_dump(mode="python", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def write_sidecar(path: Path, sidecar: ClipSidecar) -> None:
    path.write_text(dump_sidecar(sidecar), encoding="utf-8")
