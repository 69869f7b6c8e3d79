"""The catalogue of coded protocol problems: what each code means and how to fix it.

Every problem the loader finds becomes an :class:`Issue` printed as
``FILE:LINE:COL: CODE: message (how to fix)``. Codes are stable so that a clinician (or the
README) can look them up; the message says what is wrong at that spot, the hint what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from rehab.tasks import COUNTED_TASK_NAMES


@dataclass(frozen=True)
class IssueKind:
    """One entry of the catalogue."""

    code: str
    title: str
    hint: str


_KINDS = (
    IssueKind(
        "P001",
        "YAML syntax error",
        "check indentation, colons and quotes on this line or the one above",
    ),
    IssueKind("P002", "unknown key", "remove it or correct its spelling"),
    IssueKind("P003", "wrong type", "write a value of the type shown"),
    IssueKind("P004", "missing required key", "add the key"),
    IssueKind("P005", "value out of range", "use a value inside the allowed range"),
    IssueKind(
        "P006",
        "unknown step kind",
        "use one of: observe, execute, mirror, imagine, rest, rate, instruction, block",
    ),
    IssueKind("P007", "unknown task", "use one of the tasks the scorer knows"),
    IssueKind(
        "P008", "missing clip file", "put the clip in the videos folder or correct the file name"
    ),
    IssueKind("P009", "execute step never ends", "add target_reps, duration_s or both"),
    IssueKind(
        "P010",
        "bad rating scale",
        "use pain, fatigue, vividness, or custom with name, question, min, max and anchors",
    ),
    IssueKind("P011", "duplicate key", "keep one of them; YAML would silently use only one"),
    IssueKind("P012", "invalid choice", "use one of the values listed"),
    IssueKind("P013", "tab in indentation", "indent with spaces only (YAML does not allow tabs)"),
    IssueKind(
        "P014",
        "empty file",
        "write a protocol: name, description and steps (see protocols/demo.yaml)",
    ),
    IssueKind(
        "P015",
        "not a mapping",
        "the file must be `key: value` lines starting with name:, description:, steps:",
    ),
    IssueKind(
        "P016",
        "malformed step",
        "write each step as one key naming its kind, e.g. `- rest: {duration_s: 30}`",
    ),
    IssueKind(
        "P017",
        "step settings not indented",
        "indent the settings under the step kind by two more spaces",
    ),
    IssueKind(
        "P018", "safety rule can never trigger", "add the matching rate step or remove the rule"
    ),
    IssueKind("P019", "file cannot be read", "check the path and that the file is UTF-8 text"),
    IssueKind(
        "P020",
        "clip name is not a file name",
        "write only the file name of a clip inside the videos folder",
    ),
    IssueKind(
        "P021",
        "repetitions not counted for this task",
        "use duration_s: only " + " and ".join(", ".join(COUNTED_TASK_NAMES).rsplit(", ", 1))
        + " repetitions are counted live",
    ),
    IssueKind(
        "P022",
        "demonstration shows another task",
        "use a clip of the same movement as the step's task (rehab clips lists them)",
    ),
    IssueKind("P023", "file too large", "a protocol is a few kilobytes; split it or shorten it"),
    IssueKind(
        "P024",
        "YAML expands too far",
        "write the values out instead of repeating them through &anchors and *aliases",
    ),
    IssueKind(
        "P025",
        "session too long",
        "use fewer steps or smaller repeat counts; a session is at most a few hours",
    ),
    IssueKind(
        "P026",
        "text too long for the screen",
        "shorten the text, or break the long word with spaces or hyphens",
    ),
    IssueKind(
        "P027",
        "character not allowed",
        "remove control characters and escapes such as \\0, \\e or \\ud800",
    ),
    IssueKind(
        "P028",
        "too many rating choices",
        "a patient can choose between at most 21 answers (e.g. 0-10 or 0-20)",
    ),
)

CATALOGUE: dict[str, IssueKind] = {k.code: k for k in _KINDS}


@dataclass(frozen=True)
class Issue:
    """One problem at one place in a protocol file.

    Attributes:
        code: catalogue code, e.g. ``"P007"``.
        file: the protocol file as the user named it.
        line: 1-based line.
        col: 1-based column.
        message: what is wrong here.
        hint: what to do about it.
    """

    code: str
    file: str
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.code}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def title(self) -> str:
        """The catalogue title of this issue's code."""
        return CATALOGUE[self.code].title


def make_issue(
    code: str, file: str, line: int, col: int, message: str, hint: str | None = None
) -> Issue:
    """An Issue whose hint defaults to the catalogue's how-to-fix for ``code``.

    Message and hint are made :func:`printable`, so that an issue is always one line with
    nothing a terminal would act on, whatever text of the file it quotes.
    """
    kind = CATALOGUE[code]  # KeyError on an unknown code is a programming error, on purpose
    hint = hint if hint is not None else kind.hint
    return Issue(code, file, line, col, printable(message, None), printable(hint, None))


def printable(text: str, most: int | None = 60) -> str:
    r"""``text`` safe for one line of a terminal: control characters and lone surrogates written
    as escapes, and cut with "..." after ``most`` characters.

    Example:
        >>> printable("a\x1b[2Jb")
        'a\\x1b[2Jb'
    """
    cut = most is not None and len(text) > most
    text = text[:most] if most is not None else text
    out = "".join(_escape(ch) for ch in text)
    return out + "..." if cut else out


def _escape(ch: str) -> str:
    if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
