"""Step-form conversion and the checks pydantic cannot do: step shape, clips, tasks, safety.

A clinician writes ``- observe: {clip: ...}``; the models want ``{"kind": "observe", ...}``.
:class:`Checker` converts every step (blocks included), reports entries that are not steps,
and checks what needs the file system or the whole protocol: clip files in the videos folder,
demonstrations that show the step's task, repetition targets the live scorer can count, and
safety rules that have a rating to act on.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from rehab.clips.library import ClipLibrary
from rehab.errors import ClipError
from rehab.protocol.issues import Issue, make_issue
from rehab.protocol.limits import (
    MAX_CLIP_NAME_BYTES,
    MAX_PLANNED_STEPS,
    MAX_SESSION_S,
    MAX_TEXT_CHARS,
    SHOWN_KEYS,
    bad_character,
    long_word,
    planned_size,
)
from rehab.protocol.models import STEP_KINDS, Protocol
from rehab.protocol.translate import did_you_mean, show
from rehab.protocol.yamlpos import Located, Path_
from rehab.tasks import ANY_MOVEMENT, TASKS

# Stands in for a step too malformed to validate, so that the rest of the file still is.
_PLACEHOLDER_STEP = {"kind": "rest", "duration_s": 1.0}
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
# (code, path, message, hint, report at the key rather than the value)
Problem = tuple[str, Path_, str, "str | None", bool]


class Checker:
    """Converts the clinician's step form; collects every problem in ``issues``."""

    def __init__(self, file: str, located: Located, videos_dir: Path) -> None:
        self.file = file
        self.located = located
        self.videos_dir = videos_dir
        self.issues: list[Issue] = []

    def _add(
        self, code: str, path: Path_, message: str, hint: str | None = None, on_key: bool = False
    ) -> None:
        at = self.located.pos(path, prefer_key=on_key)
        self.issues.append(make_issue(code, self.file, at.line, at.col, message, hint))

    def convert(self, data: dict[Any, Any]) -> dict[Any, Any]:
        """``data`` with every step in the models' form (malformed ones replaced)."""
        out = dict(data)
        if isinstance(out.get("steps"), list):
            out["steps"] = self._steps(out["steps"], ("steps",))
        return out

    def _steps(self, items: list[Any], prefix: Path_) -> list[Any]:
        return [self._step(item, prefix + (i,)) for i, item in enumerate(items)]

    def _step(self, item: Any, path: Path_) -> dict[str, Any]:
        problem = step_shape_problem(item, path)
        if problem is not None:
            code, where, message, hint, on_key = problem
            self._add(code, where, message, hint, on_key)
            return dict(_PLACEHOLDER_STEP)
        kind = str(next(iter(item)))
        here = path + (kind,)
        settings = self._settings(kind, item[kind], here)
        if settings is None:
            return dict(_PLACEHOLDER_STEP)
        if kind == "block" and isinstance(settings.get("steps"), list):
            settings["steps"] = self._steps(settings["steps"], here + ("steps",))
        elif kind == "execute":
            self._execute(settings, here)
        elif kind == "observe":
            self._clip(settings.get("clip"), here + ("clip",))
        return {"kind": kind, **settings}

    def _settings(self, kind: str, settings: Any, here: Path_) -> dict[Any, Any] | None:
        """A copy of the step's settings, or None after reporting that they are not a mapping."""
        if settings is None:
            return {}  # `- observe:` alone: pydantic then names each missing key
        if not isinstance(settings, dict):
            message = (
                f"the settings of a {kind} step must be indented 'key: value' lines, "
                f"not {show(settings)}"
            )
            self._add("P003", here, message)
            return None
        out = dict(settings)
        if "kind" in out:
            hint = f"the kind is the key above: `- {kind}:`"
            self._add("P002", here + ("kind",), "unknown key 'kind'", hint, on_key=True)
            del out["kind"]
        return out

    def _execute(self, settings: dict[Any, Any], here: Path_) -> None:
        task = settings.get("task")
        if settings.get("target_reps") is None and settings.get("duration_s") is None:
            message = (
                "this execute step has neither target_reps nor duration_s, so it would never end"
            )
            self._add("P009", here, message, on_key=True)
        elif (
            settings.get("target_reps") is not None and task in TASKS and not TASKS[task].counted
        ):
            message = (
                f"{task} repetitions are not counted while the patient moves, "
                "so target_reps would never be reached"
            )
            self._add("P021", here + ("target_reps",), message, on_key=True)
        demo = settings.get("demonstration")
        if demo is not None and self._clip(demo, here + ("demonstration",)):
            shown = _clip_task(self.videos_dir, demo)
            if task in TASKS and task != ANY_MOVEMENT and shown is not None and shown != task:
                message = f"demonstration '{demo}' shows {shown}, but this step's task is {task}"
                self._add("P022", here + ("demonstration",), message)

    def _clip(self, name: Any, path: Path_) -> bool:
        """True when the clip is in the videos folder; else reports why not."""
        if not isinstance(name, str) or not name:
            return False  # pydantic reports the wrong type or the empty name
        if Path(name).name != name or name in (".", ".."):
            hint = f"copy the clip into {self.videos_dir} and write only its file name"
            self._add("P020", path, f"clip {show(name)} is a path", hint)
            return False
        if len(name.encode("utf-8", "surrogatepass")) > MAX_CLIP_NAME_BYTES:
            message = f"clip name {show(name)} is longer than {MAX_CLIP_NAME_BYTES} bytes"
            self._add("P020", path, message, "no file system allows such a name; rename the clip")
            return False
        if _is_file(self.videos_dir / name):
            return True
        hint = f"put {name} into {self.videos_dir}"
        guess = _closest_clip(name, self.videos_dir)
        if guess:
            hint = f"did you mean '{guess}'? or {hint}"
        self._add("P008", path, f"clip '{name}' not found in {self.videos_dir}", hint)
        return False

    def check_texts(self, value: Any, path: Path_ = ()) -> Any:
        """Every text and key: no control characters, not longer than the screens can show.

        Returns ``value`` with each refused text replaced by a harmless one, so that pydantic
        does not report the same text again as of the wrong type.
        """
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and not self._text(key, path + (key,), on_key=True):
                    continue
                out[key] = self.check_texts(item, path + (key,))
            return out
        if isinstance(value, list):
            return [self.check_texts(item, path + (i,)) for i, item in enumerate(value)]
        if isinstance(value, str) and not self._text(value, path):
            return "-"
        return value

    def _text(self, text: str, path: Path_, on_key: bool = False) -> bool:
        """Reports what is wrong with one text; False when it holds a refused character."""
        bad = bad_character(text)
        if bad is not None:
            self._add("P027", path, f"{show(text)} contains {bad}", on_key=on_key)
            return False
        if on_key:
            return True  # an unknown or overlong key is reported as unknown by pydantic
        if len(text) > MAX_TEXT_CHARS:
            message = f"this text has {len(text):,} characters (at most {MAX_TEXT_CHARS:,})"
            self._add("P026", path, message)
        shown = _shown_setting(path)
        word = long_word(text) if shown else None
        if word is not None:
            message = f"the word {show(word)} ({len(word):,} letters) is too long for one line"
            self._add("P026", path, message)
        return True

    def check_size(self, protocol: Protocol) -> bool:
        """True when the expanded session stays within the step and time limits."""
        count, seconds = planned_size(protocol.steps)
        if count > MAX_PLANNED_STEPS:
            message = (
                f"the steps expand to {count:,} steps after repeating blocks "
                f"(at most {MAX_PLANNED_STEPS:,})"
            )
            self._add("P025", ("steps",), message, on_key=True)
        if seconds > MAX_SESSION_S:
            message = (
                f"the timed steps add up to {seconds / 3600:,.1f} hours "
                f"(at most {MAX_SESSION_S / 3600:g})"
            )
            self._add("P025", ("steps",), message, on_key=True)
        return count <= MAX_PLANNED_STEPS and seconds <= MAX_SESSION_S

    def check_safety(self, protocol: Protocol) -> None:
        """Each stop rule needs the rating it acts on (pain twice for a rise)."""
        counts = {"pain": 0, "fatigue": 0}
        for planned in protocol.flatten():
            for rating in getattr(planned.step, "ratings", ()):
                if rating.scale in counts:
                    counts[rating.scale] += 1
        rules = (
            ("pain_stop_rise", "pain", 2, "it needs pain rated at least twice"),
            ("pain_stop_at", "pain", 1, "no step rates pain"),
            ("fatigue_stop_at", "fatigue", 1, "no step rates fatigue"),
        )
        for rule, scale, needed, why in rules:
            if getattr(protocol.safety, rule) is not None and counts[scale] < needed:
                message = f"safety rule {rule} can never trigger: {why}"
                hint = f"add a rate step with `- scale: {scale}` or remove {rule}"
                self._add("P018", ("safety", rule), message, hint, on_key=True)


def step_shape_problem(item: Any, path: Path_) -> Problem | None:
    """Why ``item`` is not a step (one key naming a known kind), or None when it is one."""
    if not isinstance(item, dict) or not item:
        hint = (
            f"write `- {item}: ...` with its settings indented below"
            if item in STEP_KINDS
            else None
        )
        return (
            "P016",
            path,
            f"a step must be one key naming its kind, not {show(item)}",
            hint,
            False,
        )
    named = [k for k in item if k in STEP_KINDS]
    if len(item) == 1 and not named:
        key = next(iter(item))
        hint = did_you_mean(key, STEP_KINDS, "step kinds")
        return "P006", path + (key,), f"unknown step kind '{key}'", hint, True
    if len(named) == 1 and len(item) > 1:
        extra = next(k for k in item if k != named[0])
        message = f"'{extra}' is not indented under `{named[0]}:`, so it is not part of the step"
        return "P017", path + (extra,), message, None, True
    if len(named) > 1:
        message = f"two step kinds in one entry ({', '.join(map(str, named))})"
        return "P016", path, message, "start each step with its own '- '", False
    if not named:
        said = item.get("kind")
        hint = (
            f"write the kind as the key: `- {said}:`, not `kind: {said}`"
            if "kind" in item
            else None
        )
        keys = ", ".join(map(str, item))
        return (
            "P016",
            path,
            f"a step must be one key naming its kind; it has keys {keys}",
            hint,
            False,
        )
    return None


def _shown_setting(path: Path_) -> bool:
    """True for a setting the screens show (a text, title, question, anchor label...)."""
    strings = [p for p in path if isinstance(p, str)]
    if not strings:
        return False
    return strings[-1] in SHOWN_KEYS or (len(path) >= 2 and path[-2] == "anchors")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # name too long for this file system, NUL in the name
        return False


def _clip_task(videos_dir: Path, name: str) -> str | None:
    """The task a clip's sidecar says it shows; None when there is no readable sidecar."""
    try:
        return str(ClipLibrary(videos_dir).get(name).task)
    except ClipError:  # no or broken sidecar: `rehab clips check` reports that, not us
        return None


def _closest_clip(name: str, videos_dir: Path) -> str | None:
    if not videos_dir.is_dir():
        return None
    clips = sorted(p.name for p in videos_dir.iterdir() if p.suffix.lower() in _VIDEO_SUFFIXES)
    found = difflib.get_close_matches(name, clips, n=1, cutoff=0.6)
    return found[0] if found else None
