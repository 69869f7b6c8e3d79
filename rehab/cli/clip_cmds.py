"""Commands about the clip library: ``rehab clips``, ``rehab clips check``, ``rehab record``,
``rehab render-demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main
from rehab.errors import ClipError
from rehab.tasks import CLIP_MOVEMENTS

LIBRARY_HELP = "Clip library folder (default: ./videos)."


def _library_dir(library: Path | None, for_reading: bool) -> Path:
    """--library, else ./videos; when only reading and ./videos is absent, the shipped clips."""
    if library is not None:
        return library
    local = Path("videos")
    if for_reading and not local.is_dir():
        from rehab.paths import shipped_videos_dir

        return shipped_videos_dir()
    return local


@main.group("clips", invoke_without_command=True)
@click.option("--library", type=click.Path(file_okay=False, path_type=Path), help=LIBRARY_HELP)
@click.pass_context
@friendly_errors
def clips_cmd(ctx: click.Context, library: Path | None) -> None:
    """List the clips of the library: task, hand, view, length, reference trajectory.

    \b
    Examples:
      rehab clips
      rehab clips --library /data/clips
      rehab clips check
    """
    ctx.obj = library
    if ctx.invoked_subcommand is not None:
        return
    from rehab.clips.library import ClipLibrary

    lib = ClipLibrary(_library_dir(library, for_reading=True))
    if not lib.dir.is_dir():
        raise ClipError(f"clip folder {lib.dir} not found",
                        hint="give the folder that holds the .mp4 clips with --library")
    infos = lib.list()
    click.echo(f"clips in {lib.dir}:")
    for c in infos:
        ref = "reference" if c.reference_path else "NO reference"
        kind = "rendered" if c.rendered else "recorded"
        click.echo(f"  {c.path.name:<24} {c.task:<12} {c.hand:<5} {c.view:<12} "
                   f"{c.duration_s:5.1f} s {c.frames:4d} frames {c.fps:g} fps  {kind}, {ref}")
    broken = len(lib.names()) - len(infos)
    if not infos:
        click.echo("  (none)")
    if broken:
        click.echo(f"{broken} clip(s) not listed because of problems: run 'rehab clips check'")


@clips_cmd.command("check")
@click.option("--library", type=click.Path(file_okay=False, path_type=Path), help=LIBRARY_HELP)
@click.option("--hands", is_flag=True,
              help="Also run the hand tracker on each clip and warn when it sees another hand "
                   "than the sidecar says (slower).")
@click.pass_context
@friendly_errors
def clips_check_cmd(ctx: click.Context, library: Path | None, hands: bool) -> None:
    """Check every clip decodes, its sidecar is valid and its trajectory matches; exit 1 if not.

    \b
    Examples:
      rehab clips check
      rehab clips check --library /data/clips --hands
    """
    from rehab.clips.library import ClipLibrary

    lib = ClipLibrary(_library_dir(library or ctx.obj, for_reading=True))
    problems = lib.check()
    for p in problems:
        click.echo(f"problem: {p}")
    if hands:
        _check_hands(lib)
    n = len(lib.names())
    if problems:
        click.echo(f"{lib.dir}: {len(problems)} problem(s) in {n} clip(s)")
        sys.exit(1)
    click.echo(f"{lib.dir}: {n} clip(s), all good")


def _check_hands(lib) -> None:
    from rehab.clips.record import verify_hand
    from rehab.devices.tracker import MediaPipeTracker

    for info in lib.list():
        with MediaPipeTracker("lite") as tracker:
            warning = verify_hand(info, tracker)
        click.echo(f"warning: {warning}" if warning else f"{info.path.name}: the tracker sees the "
                                                         f"{info.hand} hand, as the sidecar says")


@main.command("record")
@click.argument("name")
@click.option("--task", required=True, type=click.Choice(CLIP_MOVEMENTS),
              help="Movement shown.")
@click.option("--hand", type=click.Choice(["left", "right"]),
              help="Hand demonstrating (default: the hand seen most).")
@click.option("--camera", "camera_spec", default="0", show_default=True,
              help="Camera index, or a video FILE to convert into a clip.")
@click.option("--duration", "duration_s", type=float, help="Seconds to record (default: whole "
                                                           "file, or until q/ESC/SPACE/Ctrl-C).")
@click.option("--view", type=click.Choice(["third_person", "first_person"]), default="third_person",
              show_default=True, help="third_person: the camera faces the person.")
@click.option("--library", type=click.Path(file_okay=False, path_type=Path), help=LIBRARY_HELP)
@click.option("--countdown", "countdown_s", type=float, default=3.0, show_default=True,
              help="Seconds of countdown before a webcam recording.")
@click.option("--model", type=click.Choice(["full", "lite"]), default="full", show_default=True,
              help="Hand-tracking model used to extract the landmarks.")
@click.option("--force", is_flag=True, help="Replace an existing clip of the same NAME.")
@friendly_errors
def record_cmd(name: str, task: str, hand: str | None, camera_spec: str, duration_s: float | None,
               view: str, library: Path | None, countdown_s: float, model: str, force: bool) -> None:
    """Record a demonstration NAME into the clip library, with its landmark trajectory.

    Writes NAME.mp4, NAME.yaml (sidecar) and NAME.landmarks.npz (the demonstrating hand's
    movement, used as the reference for similarity and tempo scoring).

    \b
    Examples:
      rehab record my_open_close --task open_close --hand right --duration 8
      rehab record tap_demo --task finger_tap --camera demo.mp4
    """
    from rehab.clips.library import ClipLibrary
    from rehab.clips.preview import LivePreview, countdown, has_display
    from rehab.clips.record import record_clip
    from rehab.devices.camera import open_camera
    from rehab.devices.tracker import MediaPipeTracker
    from rehab.errors import ClipError

    lib = ClipLibrary(_library_dir(library, for_reading=False))
    if lib.exists(name) and not force:
        raise ClipError(f"clip {name} already exists in {lib.dir}",
                        hint="choose another NAME, or add --force to replace it")
    live = camera_spec.isdigit()
    show = live and has_display()
    camera = open_camera(camera_spec, realtime=live, loop=False)
    preview = LivePreview() if show else None
    camera.open()
    # A webcam is recorded first and tracked afterwards (no frame lost to a slow tracker); the
    # window shows the lite model's landmarks from a worker thread meanwhile.
    preview_tracker = MediaPipeTracker("lite") if show else None
    try:
        with MediaPipeTracker(model) as tracker:
            if live:
                countdown(camera, countdown_s, show, click.echo)
            result = record_clip(camera, tracker, lib, name, task=task, hand=hand, view=view,
                                 duration_s=duration_s, force=force, on_frame=preview,
                                 defer_tracking=live, preview_tracker=preview_tracker)
    finally:
        camera.close()
        for thing in (preview, preview_tracker):
            if thing is not None:
                thing.close()
    _report(result)


def _report(result) -> None:
    info = result.info
    click.echo(f"wrote {info.path} ({info.frames} frames, {info.duration_s:.1f} s at {info.fps:g} fps)")
    click.echo(f"wrote {info.sidecar_path} (task {info.task}, hand {info.hand})")
    if info.reference_path:
        click.echo(f"wrote {info.reference_path} (hand seen in frames: {result.hand_counts})")
    for w in result.warnings:
        click.echo(f"warning: {w}")


@main.command("render-demo")
@click.argument("task")
@click.option("--library", type=click.Path(file_okay=False, path_type=Path), help=LIBRARY_HELP)
@click.option("--hand", type=click.Choice(["left", "right"]), default="right", show_default=True,
              help="Hand to show.")
@click.option("--view", type=click.Choice(["third_person", "first_person"]), default="third_person",
              show_default=True, help="first_person: the hand as its owner sees it (from behind).")
@click.option("--name", help="Clip name (default: the task name).")
@click.option("--force", is_flag=True, help="Replace a recorded (not rendered) clip of that name.")
@friendly_errors
def render_demo_cmd(task: str, library: Path | None, hand: str, view: str, name: str | None,
                    force: bool) -> None:
    """Render the demonstration clip TASK (or 'all') from the synthetic hand model.

    Writes TASK.mp4, TASK.yaml and TASK.landmarks.npz (exact ground-truth landmarks). The
    output is deterministic: re-rendering gives the same video.

    \b
    Examples:
      rehab render-demo open_close
      rehab render-demo all --library videos
      rehab render-demo open_close --hand left --name open_close_left
      rehab render-demo finger_tap --view first_person --name finger_tap_1p
    """
    from rehab.clips.library import ClipLibrary
    from rehab.clips.render import DEMOS, render_demo
    from rehab.errors import ClipError

    if task == "all" and name:
        raise ClipError("--name cannot be used with 'all'", hint="render one task at a time")
    lib = ClipLibrary(_library_dir(library, for_reading=False))
    for t in (list(DEMOS) if task == "all" else [task]):
        info = render_demo(t, lib, name=name, hand=hand, view=view, force=force)
        size_kb = info.path.stat().st_size / 1024
        click.echo(f"wrote {info.path} ({info.frames} frames, {info.duration_s:.1f} s, "
                   f"{size_kb:.0f} KB) + {info.sidecar_path.name} + {info.reference_path.name}")
