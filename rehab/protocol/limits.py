"""The bounds a protocol must stay inside, so that checking it and running it are both bounded.

One place for every limit: the loader refuses files and YAML alias expansions beyond them, the
checker reports texts, words and session sizes beyond them (each with its own code), and the
screens use the same numbers to defend themselves. A limit is generous for any real session and
small enough that validating or drawing the worst allowed file takes well under a second.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

MAX_FILE_BYTES = 64 * 1024  # the shipped protocols are under 5 KB; PyYAML reads ~200 KB/s
MAX_YAML_VALUES = 20_000  # values built from the YAML, aliases counted each time they are used
MAX_NESTING = 40  # lists/mappings inside each other
MAX_PLANNED_STEPS = 2_000  # leaf steps after expanding blocks
MAX_SESSION_S = 4 * 3600.0  # the timed steps of one session (rest, mirror, imagine, ...)
MAX_TEXT_CHARS = 2_000  # any one text
MAX_WORD_CHARS = 40  # one unbroken word: what fits one line of the screens at body size
MAX_RATING_CHOICES = 21  # a 0-20 scale; more boxes cannot be told apart or typed
MAX_CLIP_NAME_BYTES = 255  # NAME_MAX of every common file system

# Settings that the screens show to the patient: their words must fit a line.
SHOWN_KEYS = frozenset({"name", "description", "text", "title", "movement", "question"})
_ALLOWED_CONTROLS = frozenset("\n\t\r")


def bad_character(text: str, allow_controls: Iterable[str] = _ALLOWED_CONTROLS) -> str | None:
    """The first character a screen or terminal must never get, described; None if clean.

    Control characters (C0 but line breaks and tabs, DEL, C1) and lone surrogates (written as
    ``\\ud800`` in a double-quoted YAML string) are refused.

    Example:
        >>> bad_character("a\\x00b")
        'a NUL character (U+0000)'
    """
    allowed = frozenset(allow_controls)
    for ch in text:
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            name = _CONTROL_NAMES.get(ord(ch), "control")
            return f"a {name} character (U+{ord(ch):04X})"
        if category == "Cs":
            return f"a lone surrogate (U+{ord(ch):04X}), which is not a character"
    return None


_CONTROL_NAMES = {0: "NUL", 7: "bell", 8: "backspace", 0x1B: "escape", 0x7F: "delete"}


def long_word(text: str) -> str | None:
    """The first word longer than ``MAX_WORD_CHARS`` (shortened for a message), or None."""
    for word in text.split():
        if len(word) > MAX_WORD_CHARS:
            return word
    return None


def planned_size(steps: Iterable[Any]) -> tuple[int, float]:
    """(leaf steps, seconds of timed steps) after expanding blocks, without expanding them.

    Works on validated step models: a block counts ``repeat`` times its steps, so the block bomb
    of four nested ``repeat: 100`` blocks is 100,000,000 steps computed in four multiplications.
    """
    count, seconds = 0, 0.0
    for step in steps:
        if step.kind == "block":
            inner_count, inner_s = planned_size(step.steps)
            count += step.repeat * inner_count
            seconds += step.repeat * inner_s
        else:
            count += 1
            seconds += float(getattr(step, "duration_s", None) or 0.0)
    return count, seconds
