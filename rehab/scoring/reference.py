"""Reference landmark trajectories (a demonstration clip's movement) and their .landmarks.npz files.

File format (``NAME.landmarks.npz``, ``np.savez_compressed``, loadable with
``allow_pickle=False``): arrays ``t`` (N,) float64 seconds, ``image`` (N, 21, 3) float32
normalised image landmarks of the unmirrored clip, ``world`` (N, 21, 3) float32 metres,
``present`` (N,) bool, ``hand`` 0-d unicode array ("left"/"right"), ``fps`` 0-d float64,
``version`` 0-d int. Frames without the hand hold NaN landmarks and ``present`` False.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.errors import RehabError, ScoringError

FORMAT_VERSION = 1
SUFFIX = ".landmarks.npz"


@dataclass
class Reference:
    """One hand's landmark trajectory over time.

    Attributes:
        t: (N,) seconds from the first frame.
        image: (N, 21, 3) normalised image landmarks (NaN where the hand is absent).
        world: (N, 21, 3) world landmarks in metres (NaN where absent).
        present: (N,) True where the hand was seen.
        hand: anatomical side, "left" or "right".
        fps: nominal frame rate of the source.
    """

    t: np.ndarray
    image: np.ndarray
    world: np.ndarray
    present: np.ndarray
    hand: str
    fps: float

    def __post_init__(self) -> None:
        n = len(self.t)
        if self.image.shape != (n, 21, 3) or self.world.shape != (n, 21, 3):
            raise ValueError(f"landmarks must be ({n}, 21, 3), got {self.image.shape} and "
                             f"{self.world.shape}")
        if self.present.shape != (n,):
            raise ValueError(f"present must be ({n},), got {self.present.shape}")
        if self.hand not in ("left", "right"):
            raise ValueError(f"hand must be 'left' or 'right', not {self.hand!r}")

    def __len__(self) -> int:
        return len(self.t)

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self.t) else 0.0

    @classmethod
    def from_frames(cls, frames: Sequence[TrackedFrame], hand: str,
                    fps: float | None = None) -> Reference:
        """Trajectory of anatomical ``hand`` in tracker frames (times made relative to the first).

        ``fps`` defaults to the median frame rate of the timestamps (30 when there is one frame).
        """
        n = len(frames)
        image = np.full((n, 21, 3), np.nan)
        world = np.full((n, 21, 3), np.nan)
        present = np.zeros(n, bool)
        t = np.array([f.t for f in frames], float)
        for i, f in enumerate(frames):
            obs = f.hand(hand)
            if obs is not None:
                image[i], world[i], present[i] = obs.image, obs.world, True
        if n:
            t = t - t[0]
        if fps is None:
            steps = np.diff(t)
            steps = steps[steps > 0]
            fps = float(1.0 / np.median(steps)) if len(steps) else 30.0
        return cls(t, image, world, present, hand, float(fps))

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.landmarks.npz`` is appended when missing); returns the path."""
        p = Path(path)
        if not p.name.endswith(SUFFIX):
            p = p.with_name(p.name.removesuffix(".npz") + SUFFIX)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("wb") as fh:  # a file object stops numpy from appending another .npz
            np.savez_compressed(fh, t=self.t.astype(np.float64),
                                image=self.image.astype(np.float32),
                                world=self.world.astype(np.float32),
                                present=self.present.astype(bool), hand=np.array(self.hand),
                                fps=np.array(float(self.fps)), version=np.array(FORMAT_VERSION))
        return p

    @classmethod
    def load(cls, path: str | Path) -> Reference:
        """Read a ``.landmarks.npz``; RehabError with a hint when missing or malformed."""
        p = Path(path)
        if not p.is_file():
            raise ScoringError(f"reference landmarks not found: {p}",
                             hint="re-create them with `rehab render-demo` or the clip tools")
        try:
            with np.load(p, allow_pickle=False) as z:
                version = int(z["version"]) if "version" in z else FORMAT_VERSION
                if version > FORMAT_VERSION:
                    raise ScoringError(f"{p}: landmarks format version {version} is newer than "
                                     f"this program ({FORMAT_VERSION})", hint="update rehab")
                return cls(np.asarray(z["t"], float), np.asarray(z["image"], float),
                           np.asarray(z["world"], float), np.asarray(z["present"], bool),
                           str(z["hand"]), float(z["fps"]))
        except RehabError:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ScoringError(f"{p}: not a valid landmarks file ({exc})",
                             hint="delete it and re-create it from its clip") from exc

    def to_frames(self) -> list[TrackedFrame]:
        """Back to tracker frames (handy for scoring a demonstration like a patient trial)."""
        from rehab.devices.base import HandObservation

        frames = []
        for i in range(len(self.t)):
            hands: tuple[HandObservation, ...] = ()
            if self.present[i]:
                hands = (HandObservation(float(self.t[i]), self.hand, 1.0, self.image[i],
                                         self.world[i], i),)
            frames.append(TrackedFrame(float(self.t[i]), i, hands))
        return frames
