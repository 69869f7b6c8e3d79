"""Command ``rehab score``: score a recorded video exactly as a live trial would be scored."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main
from rehab.errors import CameraError, ScoringError
from rehab.tasks import TASK_NAMES

INPUT_ERROR_EXIT = 2  # the video itself is missing or unreadable (a usage problem)


def _track(video: Path, variant: str, model_path: str | None):
    from rehab.devices.tracker import track_video

    try:
        return track_video(video, variant=variant, model_path=model_path)
    except CameraError as exc:
        exc.exit_code = INPUT_ERROR_EXIT
        raise


def _choose_hand(frames, hand: str, video: Path) -> str:
    """The anatomical side to score; "auto" = the side seen in the most frames."""
    seen = Counter(h.hand for f in frames for h in f.hands)
    if not seen:
        raise ScoringError(
            f"no hand was found in any of the {len(frames)} frames of {video}",
            hint="check that the video shows a hand, well lit, not too small in the frame",
        )
    if hand != "auto":
        return hand
    # Ties go to the right hand, as in rehab.scoring's own "auto".
    return max(("right", "left"), key=lambda side: seen[side])


def _print_summary(video: Path, result) -> None:
    # The scorer's headline already names the task's count and the tracking quality.
    rows = [("Frames", str(result.frames)), *result.headline()]
    width = max(len(label) for label, _ in rows) + 2
    click.echo(f"{video.name}: {result.task}, {result.hand} hand")
    for label, value in rows:
        click.echo(f"  {label:<{width}}{value}")
    click.echo("  (every metric: add --json)")


@main.command("score")
@click.argument("video", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--task", required=True, type=click.Choice(TASK_NAMES), help="What to score.")
@click.option(
    "--hand",
    default="auto",
    show_default=True,
    type=click.Choice(("left", "right", "auto")),
    help="Anatomical hand to score; auto = the hand seen in most frames.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full trial score as JSON.")
@click.option(
    "--model",
    default="full",
    show_default=True,
    type=click.Choice(("full", "lite")),
    help="MediaPipe hand model: full (more accurate) or lite (faster).",
)
@click.option("--model-path", default=None, help="A hand_landmarker .task file to use instead.")
@friendly_errors
def score(
    video: Path, task: str, hand: str, as_json: bool, model: str, model_path: str | None
) -> None:
    """Track the hand in VIDEO and score it as a TASK trial (same tracker and scorer as live).

    Exit codes: 0 scored, 1 no (such) hand in the video, 2 missing or unreadable video.

    \b
    Examples:
      rehab score trial.mp4 --task open_close
      rehab score tapping.mp4 --task finger_tap --hand left --json
      rehab score clip.mp4 --task free --model lite
    """
    frames = _track(video, model, model_path)
    side = _choose_hand(frames, hand, video)
    from rehab.scoring import score_trial  # numpy/scipy: imported once the video proved usable

    result = score_trial(frames, task, side)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_summary(video, result)
