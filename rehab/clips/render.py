"""Rendered demonstration clips: the synthetic hand drawn into an mp4, with sidecar and reference.

Until clinicians record real demonstrations, ``videos/`` ships these. Each movement's
trajectory is its task record's ``demo`` (``rehab.tasks``); this module renders and views it. For a rendered clip the
landmarks the hand was drawn from are the reference trajectory: exact ground truth, no tracker
involved. Output is deterministic (same code, same files).

Example:
    >>> render_demo("open_close", ClipLibrary("videos"))   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from rehab import __version__, synth
from rehab.clips.library import ClipInfo, ClipLibrary, count_frames
from rehab.clips.record import open_writer
from rehab.clips.sidecar import ClipSidecar, load_sidecar, write_sidecar
from rehab.devices.base import TrackedFrame
from rehab.errors import ClipError, RehabError
from rehab.tasks import DEMOS, Demo

DEFAULT_SIZE = (640, 360)
DEFAULT_FPS = 30.0
FOCAL_PX = 460.0  # a wide laptop-webcam field of view at 640 px wide; leaves a margin
RENDER_SOURCE = (f"rendered by rehab render-demo: shaded 3D hand from the synthetic hand model "
                 f"(rehab {__version__})")
GROUND_TRUTH_NOTE = "ground truth: the exact synthetic landmarks the clip was drawn from"


VIEWS = ("third_person", "first_person")
FIRST_PERSON_SUFFIX = "_1p"


def shipped_clips(view: str | None = None) -> list[tuple[str, str, str]]:
    """(clip name, task, view) of every demonstration ``rehab render-demo all`` writes: each task
    in both views (the first-person clip named TASK_1p), or in ``view`` only."""
    views = VIEWS if view is None else (view,)
    return [(task + ("" if v == "third_person" else FIRST_PERSON_SUFFIX), task, v)
            for task in DEMOS for v in views]


def demo_states(task: str, fps: float = DEFAULT_FPS, view: str = "third_person",
                hand: str = "right") -> list[synth.HandState]:
    """Ground-truth states of demo ``task`` in camera coordinates.

    ``third_person``: the camera faces the actor (palm toward it). ``first_person``: the camera
    is the actor's eyes, so the hand is seen from behind (turned 180 degrees about the vertical).
    A left-hand demonstration is the right-hand scene mirrored in 3D (see ``mirror_state``).
    """
    spec = _spec(task)
    if view == "third_person":
        states = spec.states(fps)
    elif view != "first_person":
        raise ClipError(f"unknown view {view!r}", hint="use third_person or first_person")
    elif spec.first_person_states is not None:
        states = spec.first_person_states(fps)
    else:
        states = [dataclasses.replace(s, orientation_deg=(s.orientation_deg[0],
                                                          s.orientation_deg[1] + 180.0,
                                                          s.orientation_deg[2]))
                  for s in spec.states(fps)]
    return [mirror_state(s) for s in states] if hand == "left" else states


def mirror_state(state: synth.HandState) -> synth.HandState:
    """The state whose left hand is the mirror image (about the camera's vertical plane) of
    ``state``'s right hand: x and the turns about the vertical and the view axis change sign
    (a right hand turned thumb-first toward the camera mirrors to a left hand turned likewise)."""
    x, y, z = state.wrist_m
    rx, ry, rz = state.orientation_deg
    return dataclasses.replace(state, wrist_m=(-x, y, z), orientation_deg=(rx, -ry, -rz))


def demo_camera(size: tuple[int, int] = DEFAULT_SIZE) -> synth.PinholeCamera:
    """The camera every demonstration is rendered with (the same field of view at any size)."""
    return synth.PinholeCamera(width=size[0], height=size[1], focal_px=FOCAL_PX * size[0] / 640)


def demo_frames(task: str, fps: float = DEFAULT_FPS, size: tuple[int, int] = DEFAULT_SIZE,
                hand: str = "right", view: str = "third_person") -> list[TrackedFrame]:
    """Ground-truth tracker frames of demo ``task`` for a camera of ``size`` (see ``demo_states``)."""
    return synth.to_frames(demo_states(task, fps, view, hand), hand,
                           synth.FrameOptions(camera=demo_camera(size)))


def _spec(name: str) -> Demo:
    if name not in DEMOS:
        raise ClipError(f"no rendered demonstration called {name!r}",
                        hint=f"choose one of: {', '.join(DEMOS)} (or 'all')")
    return DEMOS[name]


def render_frames(states: Sequence[synth.HandState], hand: str = "right",
                  size: tuple[int, int] = DEFAULT_SIZE, sleeve: bool = True) -> Iterator[np.ndarray]:
    """BGR images of the shaded 3D hand in each state (the empty scene where it is not visible).

    No label is drawn into the pixels: playback marks a rendered clip, so a mirrored clip never
    shows reversed text.
    """
    from rehab.clips.shade import View, render_body
    from rehab.synth.body import build_body

    cam = demo_camera(size)
    view = View(cam.width, cam.height, cam.focal_px, "right" if hand == "left" else "left")
    for st in states:
        body = (build_body(st.pose.as_vector(), hand, np.array(st.wrist_m),
                           np.array(st.orientation_deg), sleeve) if st.visible else None)
        yield render_body(body, view)


def write_video(path: Path, states: Sequence[synth.HandState], fps: float, hand: str = "right",
                size: tuple[int, int] = DEFAULT_SIZE) -> int:
    """Render ``states`` into an mp4 at ``path``; returns the decoded frame count."""
    writer = open_writer(path, fps, size)
    try:
        for image in render_frames(states, hand, size):
            writer.write(image)
    finally:
        writer.release()
    decoded, _ = count_frames(path)
    if decoded != len(states):
        raise ClipError(f"rendered {path} decodes to {decoded} frames, expected {len(states)}",
                        hint="OpenCV's mp4v encoder misbehaved; check 'rehab doctor'")
    return decoded


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render_demo(task: str, library: ClipLibrary, *, name: str | None = None, hand: str = "right",
                view: str = "third_person", fps: float = DEFAULT_FPS,
                size: tuple[int, int] = DEFAULT_SIZE, force: bool = False,
                today: dt.date | None = None) -> ClipInfo:
    """Render demo ``task`` into ``library`` as NAME.mp4 + NAME.yaml + NAME.landmarks.npz.

    NAME defaults to the task. Replaces an earlier rendered clip; a recorded clip of the same
    name needs ``force``. The sidecar keeps its old date when the video comes out byte-identical.
    """
    spec = _spec(task)
    name = name or task
    clip_path, sidecar_path, ref_path = library.paths(name)
    old_date = _guard_overwrite(sidecar_path, force)
    states = demo_states(task, fps, view, hand)
    frames = synth.to_frames(states, hand, synth.FrameOptions(camera=demo_camera(size)))
    library.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.dir, prefix=".render-") as tmp:
        tmp_clip = Path(tmp) / clip_path.name
        n = write_video(tmp_clip, states, fps, hand, size)
        same = clip_path.is_file() and _digest(clip_path) == _digest(tmp_clip)
        tmp_clip.replace(clip_path)
    from rehab.scoring.reference import Reference

    _save_reference(Reference.from_frames(frames, hand, fps=fps), ref_path)
    sidecar = ClipSidecar(
        task=task, hand=hand, view=view, fps=fps, frames=n,
        duration_s=round(n / fps, 3), width=size[0], height=size[1], source=RENDER_SOURCE,
        date=old_date if (same and old_date) else (today or dt.date.today()), rendered=True,
        reference=ref_path.name, reference_note=GROUND_TRUTH_NOTE, description=spec.description)
    write_sidecar(sidecar_path, sidecar)
    return library.get(name)


def _save_reference(ref, path: Path) -> None:
    """Save unless the file already holds exactly this trajectory: npz files embed the time they
    were zipped, and re-rendering should not change files whose content is the same."""
    from rehab.scoring.reference import Reference

    if path.is_file():
        try:
            old = Reference.load(path)
        except RehabError:  # unreadable (Reference.load says why): simply rewrite it
            old = None
        if old is not None and _same_reference(old, ref):
            return
    ref.save(path)


def _same_reference(a, b) -> bool:
    return (a.hand == b.hand and a.fps == b.fps and a.image.shape == b.image.shape
            and np.array_equal(a.t, b.t) and np.array_equal(a.present, b.present)
            and np.allclose(a.image, b.image.astype(np.float32), equal_nan=True, rtol=0, atol=0)
            and np.allclose(a.world, b.world.astype(np.float32), equal_nan=True, rtol=0, atol=0))


def _guard_overwrite(sidecar_path: Path, force: bool) -> dt.date | None:
    """The old sidecar's date; ClipError when it describes a recorded (not rendered) clip."""
    if not sidecar_path.is_file():
        return None
    try:
        old = load_sidecar(sidecar_path)
    except ClipError:
        if force:
            return None
        raise
    if not old.rendered and not force:
        raise ClipError(f"{sidecar_path.with_suffix('.mp4')} is a recorded clip, not a rendered one",
                        hint="add --force to replace it with the rendered demonstration")
    return old.date
