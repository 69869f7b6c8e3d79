"""Protocol file -> validated, frozen Protocol, or every problem in it at once.

Steps (in order): read the file; parse YAML keeping positions (:mod:`yamlpos`); convert the
step form and check what pydantic cannot see (:mod:`checks`); validate with pydantic and
translate its errors (:mod:`translate`). Nothing is reported as a traceback.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rehab.errors import ProtocolError
from rehab.paths import videos_dir_for
from rehab.protocol.checks import Checker
from rehab.protocol.issues import Issue, make_issue
from rehab.protocol.limits import MAX_FILE_BYTES, bad_character
from rehab.protocol.models import Protocol
from rehab.protocol.translate import issues_from_validation, show
from rehab.protocol.yamlpos import parse


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
    bad = _bad_characters(text, file)
    if bad:
        return None, bad
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
    checker = Checker(file, located, vdir)
    data = checker.convert(checker.check_texts(located.data))
    protocol = None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation(exc, located, file)
    if protocol is not None and checker.check_size(protocol):
        checker.check_safety(protocol)  # expands the blocks: only once their size is known
    issues = _tidy(issues + checker.issues)
    if issues or protocol is None:
        return None, issues
    return LoadedProtocol(protocol, Path(path), text, hashlib.sha256(raw).hexdigest(), vdir), []


def _read(path: Path, file: str) -> tuple[bytes | None, Issue | None]:
    try:
        raw = _read_bounded(path)
    except FileNotFoundError:
        return None, make_issue("P019", file, 1, 1, "no such file")
    except IsADirectoryError:
        return None, make_issue("P019", file, 1, 1, "this is a folder, not a protocol file")
    except OSError as exc:
        return None, make_issue("P019", file, 1, 1, f"cannot read the file: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:
        message = f"the file is over {MAX_FILE_BYTES // 1024} KB; a protocol is a few KB"
        return None, make_issue("P023", file, 1, 1, message)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, make_issue(
            "P019", file, line, 1, "the file is not UTF-8 text", "save it as UTF-8 text"
        )
    return raw, None


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, but never more than one byte over the size limit (a 5 GB file, a FIFO
    or /dev/zero is not read to its end)."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _bad_characters(text: str, file: str) -> list[Issue]:
    """Control characters written raw into the file (YAML refuses them), at their line."""
    issues = []
    for number, line in enumerate(text.split("\n"), start=1):
        bad = bad_character(line, allow_controls="\t\r")
        if bad is not None:
            col = next(i for i, ch in enumerate(line, 1) if bad_character(ch, "\t\r"))
            message = f"the file contains {bad}"
            issues.append(make_issue("P027", file, number, col, message))
            if len(issues) >= 20:
                break
    return issues


def _tidy(issues: list[Issue]) -> list[Issue]:
    """Drop repeats of the same problem at the same place; order by position."""
    seen: dict[tuple[str, int, int], Issue] = {}
    for issue in issues:
        seen.setdefault((issue.code, issue.line, issue.col), issue)
    return sorted(seen.values(), key=lambda i: (i.line, i.col, i.code))
