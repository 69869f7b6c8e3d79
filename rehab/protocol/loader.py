"""Protocol file -> validated, frozen Protocol, or every problem in it at once.

Steps (in order): read the file; parse YAML keeping positions (:mod:`yamlpos`); turn each step
``- observe: {...}`` into ``{"kind": "observe", ...}``; check what pydantic cannot see (clip
files, step shape, safety rules that can never fire); validate with pydantic and translate its
errors (:mod:`translate`). Nothing is reported as a traceback.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rehab.errors import ProtocolError
from rehab.paths import videos_dir_for
from rehab.protocol.issues import Issue, make_issue
from rehab.protocol.models import COUNTED_TASKS, STEP_KINDS, TASKS, Protocol
from rehab.protocol.translate import did_you_mean, issues_from_validation, show
from rehab.protocol.yamlpos import Located, Path_, parse

# Stands in for a step too malformed to validate, so that the rest of the file still is.
_PLACEHOLDER_STEP = {"kind": "rest", "duration_s": 1.0}
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass(frozen=True)
class LoadedProtocol:
    """A valid protocol and where it came from.

    Attributes:
        protocol: the validated, frozen model.
        path: the file it was read from.
        text: the file's text (stored with each session, so results can be traced to it).
        sha256: hex digest of the file's bytes (used to resume the same protocol).
        videos_dir: folder its clips were found in.
    """

    protocol: Protocol
    path: Path
    text: str
    sha256: str
    videos_dir: Path

    def clip_path(self, name: str) -> Path:
        """Full path of a clip named in the protocol."""
        return self.videos_dir / name


def load_protocol(
    path: str | os.PathLike[str], videos_dir: str | os.PathLike[str] | None = None
) -> LoadedProtocol:
    """Load and validate a protocol file.

    Args:
        path: the YAML file.
        videos_dir: where clips are looked up; default ``rehab.paths.videos_dir_for(path)``.

    Raises:
        ProtocolError: with ``issues`` listing every problem found.

    Example:
        >>> loaded = load_protocol("protocols/demo.yaml")  # doctest: +SKIP
        >>> loaded.protocol.name  # doctest: +SKIP
    """
    loaded, issues = _load(path, videos_dir)
    if loaded is None:
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        lines = "\n".join(f"  {issue}" for issue in issues)
        raise ProtocolError(
            f"protocol {path} has {count}:\n{lines}",
            issues=issues,
            hint=f"fix them, then check again with: rehab validate {path}",
        )
    return loaded


def check_protocol(
    path: str | os.PathLike[str], videos_dir: str | os.PathLike[str] | None = None
) -> list[Issue]:
    """Every problem in a protocol file (an empty list when it is valid)."""
    return _load(path, videos_dir)[1]


def _load(
    path: str | os.PathLike[str], videos_dir: str | os.PathLike[str] | None
) -> tuple[LoadedProtocol | None, list[Issue]]:
    file = str(path)
    raw, problem = _read(Path(path), file)
    if raw is None:
        return None, [problem] if problem else []
    text = raw.decode("utf-8")
    located, issues = parse(text, file)
    if located is None:
        return None, _tidy(issues)
    if not isinstance(located.data, dict):
        at = located.pos(())
        issues.append(
            make_issue(
                "P015",
                file,
                at.line,
                at.col,
                f"the file holds {show(located.data)}, not a protocol",
            )
        )
        return None, _tidy(issues)
    vdir = Path(videos_dir) if videos_dir is not None else videos_dir_for(path)
    checker = _Checker(file, located, vdir)
    data = checker.convert(located.data)
    protocol = None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation(exc, located, file)
    if protocol is not None:
        checker.check_safety(protocol)
    issues = _tidy(issues + checker.issues)
    if issues or protocol is None:
        return None, issues
    return LoadedProtocol(protocol, Path(path), text, hashlib.sha256(raw).hexdigest(), vdir), []


def _read(path: Path, file: str) -> tuple[bytes | None, Issue | None]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, make_issue("P019", file, 1, 1, "no such file")
    except IsADirectoryError:
        return None, make_issue("P019", file, 1, 1, "this is a folder, not a protocol file")
    except OSError as exc:
        return None, make_issue("P019", file, 1, 1, f"cannot read the file: {exc.strerror}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, make_issue(
            "P019", file, line, 1, "the file is not UTF-8 text", "save it as UTF-8 text"
        )
    return raw, None


def _tidy(issues: list[Issue]) -> list[Issue]:
    """Drop repeats of the same problem at the same place; order by position."""
    seen: dict[tuple[str, int, int], Issue] = {}
    for issue in issues:
        seen.setdefault((issue.code, issue.line, issue.col), issue)
    return sorted(seen.values(), key=lambda i: (i.line, i.col, i.code))


class _Checker:
    """Converts the clinician's step form and checks what pydantic cannot know."""

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
        out = dict(data)
        if isinstance(out.get("steps"), list):
            out["steps"] = self._steps(out["steps"], ("steps",))
        return out

    def _steps(self, items: list[Any], prefix: Path_) -> list[Any]:
        return [self._step(item, prefix + (i,)) for i, item in enumerate(items)]

    def _step(self, item: Any, path: Path_) -> dict[str, Any]:
        kind = self._step_kind(item, path)
        if kind is None:
            return dict(_PLACEHOLDER_STEP)
        settings = item[kind]
        here = path + (kind,)
        if settings is None:
            settings = {}  # `- observe:` alone: pydantic then names each missing key
        if not isinstance(settings, dict):
            self._add(
                "P003",
                here,
                f"the settings of a {kind} step must be indented 'key: value' lines, "
                f"not {show(settings)}",
            )
            return dict(_PLACEHOLDER_STEP)
        settings = dict(settings)
        if "kind" in settings:
            self._add(
                "P002",
                here + ("kind",),
                "unknown key 'kind'",
                f"the kind is the key above: `- {kind}:`",
                on_key=True,
            )
            del settings["kind"]
        if kind == "block" and isinstance(settings.get("steps"), list):
            settings["steps"] = self._steps(settings["steps"], here + ("steps",))
        if (
            kind == "execute"
            and settings.get("target_reps") is None
            and settings.get("duration_s") is None
        ):
            self._add(
                "P009",
                here,
                "this execute step has neither target_reps nor duration_s, so it would never end",
                on_key=True,
            )
        if kind == "execute":
            self._counted(settings, here)
        if kind == "observe":
            self._clip(settings.get("clip"), here + ("clip",))
        if kind == "execute" and settings.get("demonstration") is not None:
            if self._clip(settings.get("demonstration"), here + ("demonstration",)):
                self._same_task(settings, here + ("demonstration",))
        return {"kind": kind, **settings}

    def _counted(self, settings: dict[Any, Any], here: Path_) -> None:
        """target_reps on a task whose repetitions are not counted live would never be reached."""
        task = settings.get("task")
        if settings.get("target_reps") is None or task not in TASKS or task in COUNTED_TASKS:
            return
        self._add(
            "P021",
            here + ("target_reps",),
            f"{task} repetitions are not counted while the patient moves, "
            "so target_reps would never be reached",
            on_key=True,
        )

    def _step_kind(self, item: Any, path: Path_) -> str | None:
        """The step's kind, or None after reporting why the entry is not a step."""
        kinds = list(STEP_KINDS)
        if not isinstance(item, dict) or not item:
            hint = (
                f"write `- {item}: ...` with its settings indented below"
                if item in STEP_KINDS
                else None
            )
            self._add(
                "P016", path, f"a step must be one key naming its kind, not {show(item)}", hint
            )
            return None
        named = [k for k in item if k in STEP_KINDS]
        if len(item) == 1 and not named:
            key = next(iter(item))
            self._add(
                "P006",
                path + (key,),
                f"unknown step kind '{key}'",
                did_you_mean(key, kinds, "step kinds"),
                on_key=True,
            )
            return None
        if len(named) == 1 and len(item) > 1:
            extra = next(k for k in item if k != named[0])
            self._add(
                "P017",
                path + (extra,),
                f"'{extra}' is not indented under `{named[0]}:`, so it is not part of the step",
                on_key=True,
            )
            return None
        if len(named) > 1:
            self._add(
                "P016",
                path,
                f"two step kinds in one entry ({', '.join(map(str, named))})",
                "start each step with its own '- '",
            )
            return None
        if len(named) == 0:
            keys = ", ".join(map(str, item))
            said = item.get("kind")
            hint = (
                f"write the kind as the key: `- {said}:`, not `kind: {said}`"
                if "kind" in item
                else None
            )
            self._add(
                "P016",
                path,
                f"a step must be one key naming its kind; this one has keys {keys}",
                hint,
            )
            return None
        return str(named[0])

    def _same_task(self, settings: dict[Any, Any], path: Path_) -> None:
        """A demonstration is the reference movement: it must show the step's task."""
        task, clip = settings.get("task"), settings["demonstration"]
        shown = _clip_task(self.videos_dir, clip)
        if task not in TASKS or task == "free" or shown is None or shown == task:
            return
        self._add(
            "P022",
            path,
            f"demonstration '{clip}' shows {shown}, but this step's task is {task}",
        )

    def _clip(self, name: Any, path: Path_) -> bool:
        """True when the clip is there; else reports why not."""
        if not isinstance(name, str) or not name:
            return False  # pydantic reports the wrong type or the empty name
        if Path(name).name != name or name in (".", ".."):
            self._add(
                "P020",
                path,
                f"clip {show(name)} is a path",
                f"copy the clip into {self.videos_dir} and write only its file name",
            )
            return False
        if (self.videos_dir / name).is_file():
            return True
        hint = f"put {name} into {self.videos_dir}"
        guess = _closest_clip(name, self.videos_dir)
        if guess:
            hint = f"did you mean '{guess}'? or {hint}"
        self._add("P008", path, f"clip '{name}' not found in {self.videos_dir}", hint)
        return False

    def check_safety(self, protocol: Protocol) -> None:
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
                self._add(
                    "P018",
                    ("safety", rule),
                    f"safety rule {rule} can never trigger: {why}",
                    f"add a rate step with `- scale: {scale}` or remove {rule}",
                    on_key=True,
                )


def _clip_task(videos_dir: Path, name: str) -> str | None:
    """The task a clip's sidecar says it shows; None when there is no readable sidecar."""
    try:
        library = importlib.import_module("rehab.clips.library")
        return str(library.ClipLibrary(videos_dir).get(name).task)
    except Exception:  # no or broken sidecar: `rehab clips check` reports that, not us
        return None


def _closest_clip(name: str, videos_dir: Path) -> str | None:
    if not videos_dir.is_dir():
        return None
    clips = sorted(p.name for p in videos_dir.iterdir() if p.suffix.lower() in _VIDEO_SUFFIXES)
    found = difflib.get_close_matches(name, clips, n=1, cutoff=0.6)
    return found[0] if found else None
