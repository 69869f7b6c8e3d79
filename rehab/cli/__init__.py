"""Command-line interface: a thin shell over the library. Each area registers its commands."""

# Importing the command modules registers their commands on ``main``.
from rehab.cli import (  # noqa: F401
    clip_cmds,
    protocol_cmds,
    run_cmds,
    score_cmds,
    server_cmds,
    store_cmds,
)
from rehab.cli.app import main

__all__ = ["main"]
