"""Pydantic validation errors -> coded, clinician-readable Issues at their YAML line and column."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from rehab.protocol.issues import Issue, make_issue, printable
from rehab.protocol.models import STEP_KINDS, Protocol
from rehab.protocol.yamlpos import Located, Path_
from rehab.tasks import TASK_NAMES

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list (lines starting with '- ')",
    "dict": "a mapping (indented 'key: value' lines)",
    "model": "a mapping (indented 'key: value' lines)",
}
_RANGE_TYPES = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
}
_RANGE_WORDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def issues_from_validation(exc: ValidationError, located: Located, file: str) -> list[Issue]:
    """One Issue per pydantic error, placed where the offending key or value was written."""
    return [_issue(err, located, file) for err in exc.errors()]


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``word`` in spelling, if any is close enough."""
    found = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: object, choices: Iterable[str], what: str) -> str:
    """A hint like "did you mean 'clip'? valid keys: clip, repeat"."""
    choices = list(choices)
    guess = closest(word, choices)
    listing = f"{what}: {', '.join(choices)}"
    return f"did you mean '{guess}'? {listing}" if guess else listing


def show(value: Any) -> str:
    """A value as the clinician wrote it in YAML."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{printable(value)}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _issue(err: Any, located: Located, file: str) -> Issue:
    loc: Path_ = tuple(err["loc"])
    kind = err["type"]
    names = [p for p in loc if isinstance(p, str) and not p.startswith("[")]
    name = names[-1] if names else "file"
    if loc and loc[-1] == "[key]" and len(names) >= 2:
        name = f"each key of {names[-2]}"
    model = model_at(loc)
    on_key = kind in ("missing", "extra_forbidden", "execute_needs_end") or (
        loc and loc[-1] == "[key]"
    )
    at = located.pos(loc, prefer_key=bool(on_key))
    code, message, hint = _describe(kind, name, err, model)
    step = _step_kind(loc)
    if step and name != step:
        message = f"{step} step: {message}"
    return make_issue(code, file, at.line, at.col, message, hint)


def _describe(
    kind: str, name: str, err: Any, model: type[BaseModel] | None
) -> tuple[str, str, str | None]:
    value = err.get("input")
    if kind == "missing":
        return "P004", f"missing required key '{name}'", _field_hint(model, name)
    if kind == "extra_forbidden":
        valid = [f for f in (model.model_fields if model else {}) if f != "kind"]
        return "P002", f"unknown key '{name}'", did_you_mean(name, valid, "valid keys here")
    if kind == "literal_error":
        return _literal(name, value, err)
    if kind == "execute_needs_end":
        return "P009", err["msg"], None
    if kind == "rating_choices":
        return "P028", err["msg"], None
    if kind == "rating_scale" or (kind == "string_pattern_mismatch" and name == "name"):
        return (
            "P010",
            err["msg"]
            if kind == "rating_scale"
            else f"scale name {show(value)} is not a column name",
            None,
        )
    if kind in ("too_short", "string_too_short") and not value:
        what = "add at least one entry" if isinstance(value, list) else "write something here"
        return "P005", f"{name} is empty", what
    if kind in _RANGE_TYPES:
        return "P005", _range_message(kind, name, value, err), _range_hint(model, name)
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix):
            hint = _type_hint(prefix, value)
            return "P003", f"{name} must be {words}, not {show(value)}", hint
    return "P003", f"{name}: {err['msg']}", None


def _type_hint(prefix: str, value: Any) -> str | None:
    if prefix == "bool":
        return "write true or false, without quotes"
    if prefix == "string" and isinstance(value, (bool, int, float)):
        return "put the text in quotes (YAML reads yes/no/on/off as true/false, digits as numbers)"
    return None


def _literal(name: str, value: Any, err: Any) -> tuple[str, str, str | None]:
    if name == "task":
        return "P007", f"unknown task {show(value)}", did_you_mean(value, TASK_NAMES, "tasks")
    if name == "scale":
        return (
            "P010",
            f"unknown rating scale {show(value)}",
            did_you_mean(value, ("pain", "fatigue", "vividness", "custom"), "scales"),
        )
    expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
    hint = f"use one of: {expected}"
    if name == "hand":
        hint += " - the patient's affected or unaffected hand, not left/right"
    return "P012", f"{name} is {show(value)}, which is not allowed", hint


def _range_message(kind: str, name: str, value: Any, err: Any) -> str:
    ctx = err.get("ctx", {})
    if kind in ("too_short", "string_too_short"):
        return f"{name} is too short"
    if kind in ("too_long", "string_too_long"):
        return f"{name} is too long"
    for key, words in _RANGE_WORDS.items():
        if key in ctx:
            return f"{name} is {show(value)}, but must be {words} {ctx[key]}"
    return f"{name}: {err['msg']}"


def _range_hint(model: type[BaseModel] | None, name: str) -> str | None:
    if model is None or name not in model.model_fields:
        return None
    bounds = {}
    for meta in model.model_fields[name].metadata:
        for key in _RANGE_WORDS:
            if getattr(meta, key, None) is not None:
                bounds[key] = getattr(meta, key)
    if not bounds:
        return None
    low = next(
        (f"{'above ' if k == 'gt' else 'from '}{bounds[k]}" for k in ("ge", "gt") if k in bounds),
        "",
    )
    high = next(
        (f"{'up to ' if k == 'le' else 'below '}{bounds[k]}" for k in ("le", "lt") if k in bounds),
        "",
    )
    return f"use a value {low} {high}".replace("  ", " ").strip()


def _field_hint(model: type[BaseModel] | None, name: str) -> str | None:
    if model is None or name not in model.model_fields:
        return None
    description = (model.model_fields[name].description or "").rstrip(".")
    if not description:
        return f"add `{name}:`"
    return f"add `{name}:` - {description[0].lower()}{description[1:]}"


def _step_kind(loc: Path_) -> str | None:
    kinds = [
        p for i, p in enumerate(loc) if p in STEP_KINDS and i > 0 and isinstance(loc[i - 1], int)
    ]
    return str(kinds[-1]) if kinds else None


def model_at(loc: Path_) -> type[BaseModel] | None:
    """The model that holds the last element of a pydantic error location."""
    tp: Any = Protocol
    for part in loc[:-1]:
        tp = _step_into(tp, part)
        if tp is None:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and Optional[...] (``X | None``) down to X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            arms = [a for a in get_args(tp) if a is not type(None)]
            if len(arms) != 1:
                return tp
            tp = arms[0]
        else:
            return tp


def _step_into(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(part) if isinstance(part, str) else None
        return info.annotation if info else None
    origin = get_origin(tp)
    if origin is list and isinstance(part, int):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    if origin in (Union, types.UnionType):  # the step union: ``part`` is the kind tag
        for arm in map(_unwrap, get_args(tp)):
            fields = getattr(arm, "model_fields", {})
            if "kind" in fields and fields["kind"].default == part:
                return arm
    return None
