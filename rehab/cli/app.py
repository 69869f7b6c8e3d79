"""The ``rehab`` click group and the one place where errors become messages and exit codes."""

from __future__ import annotations

import functools
import sys

import click

from rehab import __version__
from rehab.errors import RehabError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rehab")
def main() -> None:
    """rehab: action-observation stroke rehabilitation sessions with webcam hand tracking.

    \b
    Examples:
      rehab demo                         the 2-minute demo with the laptop webcam
      rehab validate protocols/*.yaml    check protocol files
      rehab run protocols/home_session.yaml --patient P001
    """


def friendly_errors(func):
    """Turn a RehabError into a clear message on stderr and its exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RehabError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  what to do: {exc.hint}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except OSError as exc:  # a path the user gave cannot be read or written
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            click.echo("  what to do: check the path exists and that you may write there",
                       err=True)
            sys.exit(1)
        except Exception as exc:  # a damaged database fails at the first query that reads it
            from rehab.store.faults import store_fault

            fault = store_fault(exc, kwargs.get("data_dir"))
            if fault is None:
                raise
            click.echo(f"error: {fault.message}", err=True)
            click.echo(f"  what to do: {fault.hint}", err=True)
            sys.exit(fault.exit_code)

    return wrapper
