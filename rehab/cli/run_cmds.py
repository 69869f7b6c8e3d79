"""Commands that run sessions: ``rehab run``, ``rehab demo`` and ``rehab home``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main
from rehab.paths import shipped_protocols_dir


def _session_options(func):
    """Options shared by run, demo and home."""
    options = [
        click.option("--window", is_flag=True, help="Open a window instead of fullscreen."),
        click.option("--camera", default="0", show_default=True, metavar="0|PATH",
                     help="Webcam index, or a video file used as the camera."),
        click.option("--autopilot", is_flag=True,
                     help="Answer every prompt with the protocol's defaults (unattended run)."),
        click.option("--fast", is_flag=True,
                     help="Simulated time: countdowns and clips take no wall time; a file camera "
                     "is read as fast as tracking allows."),
        click.option("--screenshots", type=click.Path(file_okay=False, path_type=Path),
                     help="Save a PNG of the first frame of every step into this folder."),
        click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Session store folder (default: $REHAB_DATA or the user data folder)."),
        click.option("--library", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder of clips to use when the protocol's own videos/ folder "
                     "lacks them (then the shipped clips)."),
        click.option("--model", type=click.Choice(["full", "lite"]), default="full",
                     show_default=True, help="Hand-tracking model (lite is faster, less exact)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _request(protocol: Path, patient: str, **kw):
    from rehab.runner import RunRequest

    return RunRequest(
        protocol_path=Path(protocol), patient_id=patient, window=kw["window"],
        camera=kw["camera"], autopilot=kw["autopilot"], fast=kw["fast"],
        screenshots_dir=kw["screenshots"], data_dir=kw["data_dir"], model=kw["model"],
        resume=kw.get("resume"), affected_side=kw.get("affected"),
        create_patient=kw.get("create_patient", False), library=kw.get("library"),
    )


def _report(result) -> None:
    """One line on the terminal after the session; exit code 0 completed, 2 ended early."""
    trials = len(getattr(result, "trials", []) or [])
    ratings = len(getattr(result, "ratings", []) or [])
    line = f"session {result.session_id}: {result.status} ({trials} trials, {ratings} ratings)"
    if result.stop_reason:
        line += f" - {result.stop_reason}"
    click.echo(line)
    if result.status != "completed":
        sys.exit(2)


@main.command("run")
@click.argument("protocol", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--patient", required=True, help="Pseudonymous patient id (rehab patients add).")
@click.option("--resume/--no-resume", default=None,
              help="Resume an interrupted session of this patient and protocol, or start afresh "
              "(default: ask on screen; with --autopilot: resume).")
@_session_options
@friendly_errors
def run_cmd(protocol: Path, patient: str, **kw) -> None:
    """Run a therapy session of PROTOCOL for a registered patient.

    \b
    Examples:
      rehab run protocols/home_session.yaml --patient P001
      rehab run protocols/home_session.yaml --patient P001 --window --camera 1
      rehab run protocols/demo.yaml --patient P001 --autopilot --fast --camera hand.mp4
    """
    from rehab.runner import run_session

    _report(run_session(_request(protocol, patient, **kw)))


@main.command("demo")
@click.option("--affected", type=click.Choice(["left", "right"]), default=None,
              help="Which hand the demo treats as the affected one (default: asked on screen "
              "before the first trial; left with --autopilot).")
@_session_options
@friendly_errors
def demo_cmd(affected: str, **kw) -> None:
    """Run the 2-minute demo protocol (protocols/demo.yaml) with a demo patient.

    \b
    Examples:
      rehab demo
      rehab demo --window --affected right
      rehab demo --camera my_hand.mp4      (no webcam: a video file as the camera)
    """
    from rehab.runner import DEMO_PATIENT, run_session

    protocol = shipped_protocols_dir() / "demo.yaml"
    req = _request(protocol, DEMO_PATIENT, affected=affected, create_patient=True,
                   resume=False, **kw)
    req.ask_affected = affected is None
    _report(run_session(req))


@main.command("home")
@click.option("--patient", required=True, help="Pseudonymous patient id.")
@_session_options
@friendly_errors
def home_cmd(patient: str, **kw) -> None:
    """The patient's start screen: today's assigned session, this week's count, one key to start.

    \b
    Examples:
      rehab home --patient P001
      rehab home --patient P001 --window
    """
    from rehab.home import run_home

    result = run_home(_request(Path("."), patient, **kw))
    if result is not None:
        _report(result)
