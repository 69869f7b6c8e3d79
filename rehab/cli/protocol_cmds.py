"""Commands for protocol files and the machine: ``rehab validate``, ``schema``, ``doctor``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--videos",
    "videos_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the clips are looked up in (default: videos/ beside protocols/).",
)
@friendly_errors
def validate_cmd(files: tuple[Path, ...], videos_dir: Path | None) -> None:
    """Check protocol FILES (or every .yaml in a folder); print every problem as
    FILE:LINE:COL: CODE: message (how to fix).

    Exit status 0 when every file is valid, 1 otherwise. Codes are listed in the README
    ("Protocol files").

    \b
    Examples:
      rehab validate protocols/*.yaml
      rehab validate protocols/
      rehab validate my_protocol.yaml --videos /data/clips
    """
    paths = _expand(files)
    bad = sum(not _validate_one(path, videos_dir) for path in paths)
    if len(paths) > 1:
        _say(f"{len(paths) - bad} of {len(paths)} files valid")
    sys.exit(1 if bad else 0)


def _validate_one(path: Path, videos_dir: Path | None) -> bool:
    """Print one file's problems (or its summary); True when valid. Never raises, so that one
    file, however hostile, cannot stop the batch."""
    from rehab.protocol import ProtocolError, load_protocol
    from rehab.protocol.issues import make_issue
    from rehab.protocol.summary import summarize

    try:
        loaded = load_protocol(path, videos_dir)
        summary = summarize(loaded.protocol, _clip_durations(loaded.videos_dir))
    except ProtocolError as exc:
        issues = list(exc.issues)
    except (Exception, MemoryError, RecursionError) as exc:  # a bug of ours: say so, go on
        problem = f"could not check this file ({type(exc).__name__}); please report it"
        issues = [make_issue("P019", str(path), 1, 1, problem)]
    else:
        _say(f"{path}: valid - {summary}")
        return True
    for issue in issues:
        _say(str(issue))
    plural = "s" if len(issues) != 1 else ""
    _say(f"{path}: INVALID, {len(issues)} problem{plural}")
    return False


def _say(line: str) -> None:
    """One output line with nothing a terminal would act on (escapes, lone surrogates)."""
    from rehab.protocol.issues import printable

    click.echo(printable(line, most=None))


def _expand(files: tuple[Path, ...]) -> list[Path]:
    """A folder stands for the protocol files in it (*.yaml, *.yml)."""
    paths: list[Path] = []
    for path in files:
        inside = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else []
        paths.extend(inside or [path])
    return paths


def _clip_durations(videos_dir: Path):
    """Clip length from its sidecar, or None when the clip library cannot tell."""

    def duration_s(name: str) -> float | None:
        from rehab.clips.library import ClipLibrary
        from rehab.errors import ClipError

        try:  # a summary must never fail on a clip; validate reports what is wrong with it
            return float(ClipLibrary(videos_dir).get(name).duration_s)
        except ClipError:
            return None

    return duration_s


@main.command("schema")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of printing.",
)
@friendly_errors
def schema_cmd(output: Path | None) -> None:
    """Print the JSON Schema of protocol files, for editors that check YAML as you type.

    \b
    Examples:
      rehab schema > rehab-protocol.schema.json
      rehab schema -o .vscode/rehab-protocol.schema.json
    Then, in VS Code with the YAML extension, put this first line in a protocol:
      # yaml-language-server: $schema=rehab-protocol.schema.json
    """
    from rehab.protocol.schema import protocol_json_schema

    text = json.dumps(protocol_json_schema(), indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}")


@main.command("doctor")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Session store folder to check (default: $REHAB_DATA or the user data folder).",
)
@friendly_errors
def doctor_cmd(data_dir: Path | None) -> None:
    """Check that this machine can run a session: Python and packages, hand model, cameras,
    display and audio, data folder, disk space. One line each; exit status 1 when something a
    session needs is missing (no camera counts: use --camera FILE.mp4 then).

    \b
    Examples:
      rehab doctor
      SDL_VIDEODRIVER=x11 rehab doctor --data /srv/rehab
    """
    from rehab.doctor import exit_code, run_checks

    checks = run_checks(data=data_dir)
    for check in checks:
        click.echo(check.line())
    code = exit_code(checks)
    click.echo("ready for a session" if code == 0 else "NOT ready: fix the FAIL lines above")
    sys.exit(code)
