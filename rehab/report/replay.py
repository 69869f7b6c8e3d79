"""Replay a stored trial's landmarks as an animated hand skeleton (pygame window or MP4 file).

The skeleton is drawn as the camera saw it (unmirrored image landmarks). The trial's own hand is
bright; any other hand seen in the same frames is dim. Frames where no hand was tracked say so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rehab.devices.base import TrackedFrame
from rehab.devices.drawing import HAND_CONNECTIONS
from rehab.errors import StoreError
from rehab.safeio import atomic_path
from rehab.store.db import Store
from rehab.store.secure import owner_only_umask

SIZE = (640, 480)
BG = (20, 14, 12)  # BGR
BONE = (120, 230, 0)
JOINT = (255, 255, 255)
DIM = (90, 90, 90)


@dataclass(frozen=True)
class StoredTrial:
    session_id: str
    trial_no: int
    task: str
    hand: str
    frames: list[TrackedFrame]

    @property
    def fps(self) -> float:
        """Frame rate from the stored timestamps (median interval), 30 when unknown."""
        if len(self.frames) < 2:
            return 30.0
        dt = float(np.median(np.diff([f.t for f in self.frames])))
        return 1.0 / dt if dt > 1e-4 else 30.0


def load_trial(store: Store, session_id: str, trial_no: int = 1) -> StoredTrial:
    """The stored trial, or StoreError saying which sessions/trials exist."""
    session = store.get_session(session_id)
    if session is None:
        raise StoreError(f"no session {session_id!r} in {store.db_path}",
                         hint="list sessions with: rehab sessions --patient ID")
    found = store.trial_frames(session_id, trial_no)
    if found is None:
        from rehab.store import queries

        with store.engine.connect() as conn:
            n = len(queries.trials_of_session(conn, session_id))
        raise StoreError(f"session {session_id} has no trial {trial_no} (it has {n} trials)",
                         hint=f"use --trial 1..{n}" if n else "this session recorded no trials")
    row, frames = found
    return StoredTrial(session_id, trial_no, row["task"], row["hand"], frames)


def render_frame(frame: TrackedFrame, hand: str, size: tuple[int, int] = SIZE,
                 caption: str = "") -> np.ndarray:
    """One BGR image of the skeleton(s) in ``frame``."""
    w, h = size
    img = np.full((h, w, 3), BG, dtype=np.uint8)
    seen = False
    for obs in frame.hands:
        mine = obs.hand == hand or hand not in ("left", "right")
        seen |= mine
        pts = obs.image[:, :2]
        if not np.isfinite(pts).all():
            continue
        xy = np.round(pts * (w, h)).astype(np.int32)
        for a, b in HAND_CONNECTIONS:
            cv2.line(img, tuple(map(int, xy[a])), tuple(map(int, xy[b])), BONE if mine else DIM, 3,
                     cv2.LINE_AA)
        for p in xy:
            cv2.circle(img, (int(p[0]), int(p[1])), 4, JOINT if mine else DIM, -1, cv2.LINE_AA)
    text = caption + ("" if seen else "   (hand not tracked)")
    cv2.putText(img, text, (10, h - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (230, 230, 230), 1,
                cv2.LINE_AA)
    return img


def render(trial: StoredTrial, size: tuple[int, int] = SIZE) -> Iterator[np.ndarray]:
    t0 = trial.frames[0].t if trial.frames else 0.0
    for i, f in enumerate(trial.frames):
        caption = (f"{trial.task} {trial.hand}  trial {trial.trial_no}  "
                   f"frame {i + 1}/{len(trial.frames)}  t={f.t - t0:5.2f}s")
        yield render_frame(f, trial.hand, size, caption)


def write_mp4(trial: StoredTrial, out: str | os.PathLike, size: tuple[int, int] = SIZE) -> int:
    """Write the replay as MP4 (owner-only); returns the number of frames written."""
    path = Path(out)
    if not trial.frames:
        raise StoreError(f"trial {trial.trial_no} of session {trial.session_id} has no frames")
    with owner_only_umask(), atomic_path(path) as temp:
        writer = cv2.VideoWriter(str(temp), cv2.VideoWriter_fourcc(*"mp4v"), trial.fps, size)
        if not writer.isOpened():
            raise StoreError(f"cannot write video {path}", hint="check the folder exists and is writable")
        n = 0
        try:
            for img in render(trial, size):
                writer.write(img)
                n += 1
        finally:
            writer.release()
    return n


def play(trial: StoredTrial, size: tuple[int, int] = SIZE, loop: bool = False,
         max_frames: int | None = None) -> int:
    """Show the replay in a pygame window at the recorded speed. ESC/Q/closing the window stops,
    SPACE pauses. Returns the number of frames shown."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no pygame banner for a clinician
    import pygame

    pygame.display.init()  # display only: no audio device needed to watch a replay
    try:
        screen = pygame.display.set_mode(size)
        pygame.display.set_caption(f"rehab replay {trial.session_id} trial {trial.trial_no}")
        return _play_loop(pygame, screen, trial, size, loop, max_frames)
    finally:
        pygame.quit()


def _play_loop(pygame, screen, trial: StoredTrial, size, loop: bool, max_frames: int | None) -> int:
    clock = pygame.time.Clock()
    images: Sequence[np.ndarray] = list(render(trial, size))
    shown, i, paused = 0, 0, False
    while images and (max_frames is None or shown < max_frames):
        for ev in pygame.event.get():
            if ev.type == pygame.QUIT or (ev.type == pygame.KEYDOWN and ev.key in (pygame.K_ESCAPE, pygame.K_q)):
                return shown
            if ev.type == pygame.KEYDOWN and ev.key == pygame.K_SPACE:
                paused = not paused
        if not paused:
            rgb = cv2.cvtColor(images[i], cv2.COLOR_BGR2RGB)
            screen.blit(pygame.surfarray.make_surface(rgb.swapaxes(0, 1)), (0, 0))
            pygame.display.flip()
            shown += 1
            i += 1
            if i == len(images):
                if not loop:
                    break
                i = 0
        clock.tick(trial.fps)
    return shown
