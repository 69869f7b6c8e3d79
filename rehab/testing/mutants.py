"""Hostile variants of protocol files, for the fuzz test and bench/fuzz_validate.py.

A mutant is a shipped protocol with a few edits an attacker (or a tired clinician) might make:
YAML punctuation and control characters inserted, lines deleted, duplicated or re-indented,
numbers replaced by extremes, texts by very long or escaped ones, blocks nested, alias bombs
prepended. Every choice comes from a ``random.Random`` passed in, so a seed (or Hypothesis'
``st.randoms()``) reproduces the same mutants.

Example:
    >>> import random
    >>> text = mutate("name: a\\ndescription: b\\nsteps:\\n  - rest: {duration_s: 1}\\n",
    ...               random.Random(1))
    >>> isinstance(text, str)
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

TOKENS = (
    ":", "- ", "&a ", "*a", "{", "}", "[", "]", '"', "'", "\t", "\n", "  ", "\x00", "\x1b[2J",
    "!!python/object/apply:os.system ['true'] ", "<<: *a\n", "? ", "|\n", ">\n", "#", "\\",
    "\ufeff", "\u202e", "%YAML 1.1\n", "---\n", "...\n", "!!binary ", "\r",
)
NUMBERS = (
    "0", "-1", "1e999", "-1e999", ".nan", ".inf", "100", "101", "1000000", "1000000000000",
    "0x7fffffffffffffff", "9" * 5000, "2001-02-30", "1_000", "true", "null", "~", "0.0000001",
)
TEXTS = (
    "x" * 100_000, "\\0", "before\\0after", "\\ud800", "\\e[31mred\\e[0m", "=HYPERLINK(\"x\")",
    "+1", "-1", "@SUM(A1)", "\\t=1", "a\\nb", "é" * 300, "word " * 1000, "${HOME}", "{{x}}",
    "../../etc/passwd", "a" * 300 + ".mp4", "", "y" * 5_000_000,
)
BOMB = 'a0: &a0 "lol"\n' + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


def _insert_token(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(TOKENS) + text[at:]


def _delete_span(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + text[at + rng.randint(1, 40) :]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _duplicate_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    times = rng.choice((1, 2, 10, 1000, 20000))
    return "\n".join(lines[: i + 1] + [lines[i]] * times + lines[i + 1 :])


def _delete_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def _swap_lines(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _reindent(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines[i] = lines[i][2:] if rng.random() < 0.5 else "  " + lines[i]
    return "\n".join(lines)


def _replace_number(text: str, rng: random.Random) -> str:
    spots = list(re.finditer(r"(?<=: )-?\d+(\.\d+)?", text))
    if not spots:
        return text
    m = rng.choice(spots)
    return text[: m.start()] + rng.choice(NUMBERS) + text[m.end() :]


def _replace_text(text: str, rng: random.Random) -> str:
    spots = list(re.finditer(r"\b(?:name|text|title|clip|question|movement): ([^\n{},]+)", text))
    if not spots:
        return text
    m = rng.choice(spots)
    value = rng.choice(TEXTS).replace('"', '\\"')
    return text[: m.start(1)] + f'"{value}"' + text[m.end(1) :]


def _nest_blocks(text: str, rng: random.Random) -> str:
    """Wrap the whole step list in blocks with large repeats."""
    head, sep, steps = text.partition("\nsteps:\n")
    if not sep:
        return text
    for _ in range(rng.randint(1, 14)):
        indented = "\n".join("    " + ln if ln.strip() else ln for ln in steps.split("\n"))
        steps = f"  - block:\n      repeat: {rng.choice((2, 50, 100))}\n      steps:\n{indented}"
    return head + sep + steps


def _prepend_bomb(text: str, rng: random.Random) -> str:
    return BOMB + text


def _repeat_max(text: str, rng: random.Random) -> str:
    return re.sub(r"repeat: \d+", "repeat: 100", text)


MUTATIONS: tuple[Callable[[str, random.Random], str], ...] = (
    _insert_token, _insert_token, _insert_token, _delete_span, _duplicate_line, _delete_line,
    _swap_lines, _reindent, _replace_number, _replace_number, _replace_text, _replace_text,
    _nest_blocks, _nest_blocks, _prepend_bomb, _repeat_max,
)


def mutate(text: str, rng: random.Random, edits: int | None = None) -> str:
    """``text`` after ``edits`` random mutations (1-3 when not given)."""
    for _ in range(edits if edits is not None else rng.randint(1, 3)):
        text = rng.choice(MUTATIONS)(text, rng)
    return text


def shipped_texts(folder: Path) -> list[str]:
    """The texts of the protocols in ``folder``, in name order (the mutants' parents)."""
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))]


def write_mutant(path: Path, text: str) -> None:
    """Write a mutant; lone surrogates go out as the invalid UTF-8 they would be on disk."""
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
