"""Scenes: what the engine wants on screen, as plain data. Only the display draws them.

Every scene carries ``progress`` (step n of N and the session fraction) so the screen always
shows where the patient is. Images are BGR uint8 and unmirrored; the scene says how to show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Progress:
    step: int  # 1-based step number
    total: int
    label: str = ""  # e.g. "Watch" / "Your turn"

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, (self.step - 1) / self.total)


@dataclass(frozen=True)
class TextScene:
    """Instruction, rest countdown, imagery prompt, messages."""

    title: str
    body: str = ""
    footer: str = "Press SPACE to continue"
    seconds_left: float | None = None  # a countdown, shown large
    dim: bool = False  # eyes-closed imagery: a dark, quiet screen
    progress: Progress | None = None


@dataclass(frozen=True)
class VideoScene:
    """A frame of an action-observation clip."""

    image: np.ndarray
    mirror: bool  # flip left-right before showing (clip hand != affected side)
    caption: str
    seconds_left: float | None = None
    progress: Progress | None = None


@dataclass(frozen=True)
class CameraScene:
    """Live camera during an execution trial, shown as a selfie (mirrored) view."""

    image: np.ndarray  # unmirrored camera frame
    landmarks: np.ndarray | None  # (21, 2) normalised x, y in the *unmirrored* frame, or None
    caption: str
    reps: int | None = None
    target_reps: int | None = None
    seconds_left: float | None = None
    hint: str | None = None  # e.g. "Hand not visible - move it into view"
    mirror: bool = True
    reps_label: str = "Repetitions"  # what the counter counts ("Touches" for opposition)
    progress: Progress | None = None


@dataclass(frozen=True)
class MirrorScene:
    """Mirror therapy: the display shows ``rehab.engine.mirror.mirror_image(image, mode, keep)``.

    ``image`` is the unmirrored camera frame; ``mode`` is "flip" or "split"; ``keep`` is the
    patient's unaffected side (the half a split view keeps). The geometry is defined once, in
    numpy, by ``mirror_image`` (see ``shown()``); a display may compose the same pixels faster
    (the pygame display does it with OpenCV, and a test holds the two equal).
    """

    image: np.ndarray
    caption: str
    seconds_left: float | None = None
    progress: Progress | None = None
    mode: str = "flip"
    keep: str = "left"

    def shown(self) -> np.ndarray:
        """The pixels this scene puts on screen (before scaling), by the numpy reference."""
        from rehab.engine.mirror import mirror_image

        return mirror_image(self.image, self.mode, self.keep)


@dataclass(frozen=True)
class RatingScene:
    question: str
    lo: int
    hi: int
    anchors: dict[int, str] = field(default_factory=dict)
    selected: int | None = None
    footer: str = "Use the arrow keys or a number, then SPACE"
    progress: Progress | None = None


@dataclass(frozen=True)
class ResultScene:
    """After an execution trial: one plain sentence for the patient (``rehab.tasks``)."""

    title: str
    lines: tuple[str, ...]
    footer: str = "Press SPACE to continue"
    progress: Progress | None = None


@dataclass(frozen=True)
class Overlay:
    """Drawn over the last scene: pause screen, ESC confirmation, camera-lost message."""

    under: object
    title: str
    body: str = ""
    footer: str = ""


Scene = TextScene | VideoScene | CameraScene | MirrorScene | RatingScene | ResultScene | Overlay
