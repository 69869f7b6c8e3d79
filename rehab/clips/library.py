"""The clip library: a ``videos/`` folder of NAME.mp4 + NAME.yaml + NAME.landmarks.npz.

Example:
    >>> lib = ClipLibrary("videos")                      # doctest: +SKIP
    >>> info = lib.get("open_close.mp4")                 # doctest: +SKIP
    >>> needs_mirror(info.hand, "left", match_affected_side=True)
    True
"""

from __future__ import annotations

import builtins  # ClipLibrary.list shadows the builtin inside the class body
import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rehab.clips.sidecar import ClipSidecar, load_sidecar
from rehab.errors import ClipError, RehabError

CLIP_SUFFIX = ".mp4"
SIDECAR_SUFFIX = ".yaml"
REFERENCE_SUFFIX = ".landmarks.npz"
FRAME_TOLERANCE = 1  # decoders may drop or add one frame at the end of an mp4


@dataclass(frozen=True)
class ClipInfo:
    """One clip of the library, from its sidecar.

    ``reference_path`` is None when the sidecar names no landmark file or the file is missing.
    """

    name: str
    path: Path
    sidecar_path: Path
    hand: str
    task: str
    fps: float
    frames: int
    duration_s: float
    view: str
    source: str
    date: dt.date
    rendered: bool
    reference_path: Path | None
    reference_note: str | None = None


@dataclass(frozen=True)
class ClipProblem:
    """One thing wrong with the library, naming the file it is about."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def clip_stem(name: str) -> str:
    """``open_close.mp4`` / ``open_close.yaml`` / ``open_close`` -> ``open_close``."""
    base = os.path.basename(name)
    for suffix in (REFERENCE_SUFFIX, CLIP_SUFFIX, SIDECAR_SUFFIX):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


RENDERED_LABEL = "animated demonstration"  # plain words: a drawing, not a person


def clip_label(meta: object) -> str:
    """The mark shown over a clip at playback: ``RENDERED_LABEL`` for a rendered clip, else "".

    It is drawn by the display on top of the (possibly mirrored) picture, never into the video,
    so it always reads the right way round.
    """
    return RENDERED_LABEL if getattr(meta, "rendered", False) is True else ""


def needs_mirror(clip_hand: str, affected_side: str, match_affected_side: bool) -> bool:
    """Whether to flip a clip left-right so the patient watches their affected hand move.

    A clip showing the right hand is mirrored for a patient whose affected side is left (and
    vice versa), but only when the step asks to match the affected side. An unknown affected
    side (anything but "left"/"right") never mirrors.
    """
    if affected_side not in ("left", "right") or clip_hand not in ("left", "right"):
        return False
    return bool(match_affected_side) and clip_hand != affected_side


class ClipLibrary:
    """The clips in one folder, read from their sidecars."""

    def __init__(self, videos_dir: str | os.PathLike) -> None:
        self.dir = Path(videos_dir)

    def paths(self, name: str) -> tuple[Path, Path, Path]:
        """(clip, sidecar, default landmark file) paths for a clip name."""
        stem = clip_stem(name)
        return (self.dir / f"{stem}{CLIP_SUFFIX}", self.dir / f"{stem}{SIDECAR_SUFFIX}",
                self.dir / f"{stem}{REFERENCE_SUFFIX}")

    def exists(self, name: str) -> bool:
        """True when any file of clip ``name`` is present (used to refuse overwriting)."""
        return any(p.exists() for p in self.paths(name))

    def names(self) -> list[str]:
        """Stems of every clip or sidecar in the folder, sorted."""
        if not self.dir.is_dir():
            return []
        # Dot files are our own temporaries (a recording in progress or interrupted).
        stems = {clip_stem(p.name) for p in self.dir.iterdir()
                 if p.name.endswith((CLIP_SUFFIX, SIDECAR_SUFFIX)) and not p.name.startswith(".")}
        return sorted(stems)

    def get(self, name: str) -> ClipInfo:
        """The clip ``name`` (with or without ``.mp4``); raises ClipError when unusable."""
        clip, sidecar_path, _ = self.paths(name)
        if not clip.is_file():
            raise ClipError(f"clip {clip} not found",
                            hint=f"list the clips with 'rehab clips --library {self.dir}'")
        if not sidecar_path.is_file():
            raise ClipError(f"clip {clip} has no sidecar {sidecar_path.name}",
                            hint="write one (task, hand, view, fps, ...) or re-record the clip")
        return self._info(clip, sidecar_path, load_sidecar(sidecar_path))

    def list(self) -> list[ClipInfo]:
        """Every clip whose sidecar is valid (problems are reported by ``check``)."""
        out = []
        for stem in self.names():
            try:
                out.append(self.get(stem))
            except ClipError:
                continue
        return out

    def reference(self, name: str):
        """The clip's landmark trajectory (a ``Reference``); ClipError when it has none."""
        info = self.get(name)
        if info.reference_path is None:
            raise ClipError(f"clip {info.path} has no landmark trajectory",
                            hint=f"extract one: 'rehab record {info.name} --task {info.task} "
                                 f"--camera {info.path} --force'")
        return load_reference(info.reference_path)

    def check(self) -> builtins.list[ClipProblem]:
        """Every problem in the library: decoding, sidecars, trajectories. Empty when all good."""
        if not self.dir.is_dir():
            return [ClipProblem(self.dir, "clip folder not found")]
        problems: list[ClipProblem] = []
        for stem in self.names():
            problems.extend(self._check_one(stem))
        return problems

    def _info(self, clip: Path, sidecar_path: Path, sc: ClipSidecar) -> ClipInfo:
        ref = self.dir / sc.reference if sc.reference else None
        return ClipInfo(
            name=clip_stem(clip.name), path=clip, sidecar_path=sidecar_path, hand=sc.hand,
            task=sc.task, fps=sc.fps, frames=sc.frames, duration_s=sc.duration_s, view=sc.view,
            source=sc.source, date=sc.date, rendered=sc.rendered,
            reference_path=ref if ref is not None and ref.is_file() else None,
            reference_note=sc.reference_note,
        )

    def _check_one(self, stem: str) -> builtins.list[ClipProblem]:
        clip, sidecar_path, _ = self.paths(stem)
        if not sidecar_path.is_file():
            return [ClipProblem(clip, f"no sidecar {sidecar_path.name} (task, hand, view, ...)")]
        try:
            sc = load_sidecar(sidecar_path)
        except ClipError as exc:
            return [ClipProblem(sidecar_path, _without_path(exc.message, sidecar_path))]
        if not clip.is_file():
            return [ClipProblem(sidecar_path, f"its clip {clip.name} is missing")]
        problems = list(_check_video(clip, sc))
        if sc.reference:
            problems.extend(_check_reference(self.dir / sc.reference, sc))
        return problems


def _without_path(message: str, path: Path) -> str:
    """A message about ``path`` without the path itself (the problem names it already)."""
    head, sep, tail = message.partition(str(path))
    return (head.rstrip() + tail).strip(" :") if sep else message


def count_frames(path: Path) -> tuple[int, float]:
    """(decoded frame count, container fps) by decoding the whole file; ClipError if unreadable."""
    import cv2  # heavy: imported only when a clip is opened

    from rehab.devices.quiet import quiet_native_stderr

    with quiet_native_stderr():  # FFmpeg prints "moov atom not found" for a damaged file
        cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ClipError(f"clip {path} cannot be opened",
                            hint="the file may be damaged or not a video; re-record or re-render it")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = 0
        while cap.grab():
            n += 1
        return n, fps
    finally:
        cap.release()


def _check_video(clip: Path, sc: ClipSidecar) -> Iterable[ClipProblem]:
    try:
        n, fps = count_frames(clip)
    except ClipError as exc:
        yield ClipProblem(clip, exc.message)
        return
    if n == 0:
        yield ClipProblem(clip, "decodes to no frames (damaged or empty video)")
    elif abs(n - sc.frames) > FRAME_TOLERANCE:
        yield ClipProblem(clip, f"decodes to {n} frames but its sidecar says {sc.frames}")
    if fps and abs(fps - sc.fps) > 0.01 * sc.fps:
        yield ClipProblem(clip, f"plays at {fps:g} fps but its sidecar says {sc.fps:g}")


def load_reference(path: Path):
    """Load a landmark trajectory; a missing or malformed file (``Reference.load`` turns every
    read failure into a RehabError) becomes a ClipError naming the file."""
    from rehab.scoring.reference import Reference

    try:
        return Reference.load(path)
    except RehabError as exc:
        reason = _without_path(exc.message, path)
        raise ClipError(f"cannot read landmark file {path}: {reason}",
                        hint="re-create it with 'rehab record' or 'rehab render-demo'") from exc


def _check_reference(path: Path, sc: ClipSidecar) -> Iterable[ClipProblem]:
    if not path.is_file():
        yield ClipProblem(path, "landmark trajectory named by the sidecar is missing")
        return
    try:
        ref = load_reference(path)
    except ClipError as exc:
        yield ClipProblem(path, _without_path(exc.message, path))
        return
    n = len(ref.t)
    if abs(n - sc.frames) > FRAME_TOLERANCE:
        yield ClipProblem(path, f"has {n} frames but the clip has {sc.frames}")
    if abs(float(ref.fps) - sc.fps) > 0.01 * sc.fps:
        yield ClipProblem(path, f"was taken at {float(ref.fps):g} fps but the clip plays at {sc.fps:g}")
    if ref.hand != sc.hand:
        yield ClipProblem(path, f"follows the {ref.hand} hand but the sidecar says {sc.hand}")
    if n and not bool(ref.present.any()):
        yield ClipProblem(path, "holds no frame with the hand present")
