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
        frames = track_video(video, variant=variant, model_path=model_path)
    except CameraError as exc:
        exc.exit_code = INPUT_ERROR_EXIT
        raise
    if len(frames) < 2:  # a still image (or a one-frame file): no movement to score
        err = CameraError(f"{video} is not a video: it has {len(frames)} frame",
                          hint="give a video file of the trial (a still image cannot show a "
                               "movement)")
        err.exit_code = INPUT_ERROR_EXIT
        raise err
    return frames


def _choose_hand(frames, hand: str, video: Path) -> str:
    """The anatomical side to score (``pick_hand``), or why the video cannot give it."""
    from rehab.devices.base import other_side
    from rehab.scoring.track import pick_hand

    seen = Counter(h.hand for f in frames for h in f.hands)
    if not seen:
        raise ScoringError(
            f"no hand was found in any of the {len(frames)} frames of {video}",
            hint="check that the video shows a hand, well lit, not too small in the frame",
        )
    if hand != "auto" and not seen[hand]:
        other = other_side(hand)
        raise ScoringError(
            f"the {hand} hand is not in {video}: only the {other} hand was seen "
            f"(in {seen[other]} of {len(frames)} frames)",
            hint=f"score it with --hand {other}, or check which hand the trial used",
        )
    return pick_hand(frames, hand)


def _print_summary(video: Path, result) -> None:
    # The scorer's headline already names the task's count and the tracking quality.
    from rehab.scoring.headline import validity_lines

    rows = [("Frames", str(result.frames)), *result.headline(), *validity_lines(result)]
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
@click.option("--demonstration", default=None, metavar="CLIP.mp4",
              help="Also compare with this library clip's reference (a path, or a clip name in "
                   "the clip library): the JSON's similarity holds score and tempo.")
@friendly_errors
def score(
    video: Path, task: str, hand: str, as_json: bool, model: str, model_path: str | None,
    demonstration: str | None,
) -> None:
    """Track the hand in VIDEO and score it as a TASK trial (same tracker and scorer as live).

    Exit codes: 0 scored, 1 no (such) hand in the video, 2 missing or unreadable video, or
    not a video at all (a still image).

    The summary ends with the trial's validity: why its numbers should not be trusted (too
    few frames per movement, the hand often edge-on) and warnings (a second hand in view,
    ranges of motion beyond anatomical limits).

    \b
    Examples:
      rehab score trial.mp4 --task open_close
      rehab score tapping.mp4 --task finger_tap --hand left --json
      rehab score clip.mp4 --task free --model lite
      rehab score trial.mp4 --task open_close --demonstration open_close.mp4 --json
    """
    from rehab.cli.clip_cmds import demonstration_reference

    reference = demonstration_reference(demonstration) if demonstration else None
    frames = _track(video, model, model_path)
    side = _choose_hand(frames, hand, video)
    # numpy/scipy scoring: imported once the video proved usable
    from rehab.scoring.trial import score_trial

    result = score_trial(frames, task, side, reference)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_summary(video, result)
