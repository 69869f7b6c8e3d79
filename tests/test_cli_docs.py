"""Every registered command documents itself with at least one example (sqlite-utils style)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from rehab.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        found.append(path)
        if isinstance(command, click.Group):
            found += _commands(command, path)
    return found


COMMANDS = _commands(main)


def test_there_are_commands():
    assert {("validate",), ("schema",), ("doctor",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", [()] + COMMANDS, ids=lambda p: " ".join(p) or "rehab")
def test_help_has_an_example(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`rehab {' '.join(path)} --help` shows no example"
