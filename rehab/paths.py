"""Where rehab keeps things: data dir (the store), cache dir (built hand model), clip library."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "rehab"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: ``override``, else ``$REHAB_DATA``, else the user data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("REHAB_DATA")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    """The cache directory (``$REHAB_CACHE`` or the user cache dir)."""
    env = os.environ.get("REHAB_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def repo_root() -> Path:
    """The folder holding ``rehab/``, ``protocols/`` and ``videos/`` in a source checkout."""
    return Path(__file__).resolve().parent.parent


def shipped_protocols_dir() -> Path:
    return repo_root() / "protocols"


def shipped_videos_dir() -> Path:
    return repo_root() / "videos"


def videos_dir_for(protocol_path: str | os.PathLike) -> Path:
    """Clips referenced by a protocol live in ``videos/`` beside its ``protocols/`` folder.

    ``protocols/x.yaml`` -> ``videos/``; a protocol elsewhere looks in ``./videos`` next to it
    first, then in the folder above.
    """
    p = Path(protocol_path).resolve()
    for base in (p.parent, p.parent.parent):
        cand = base / "videos"
        if cand.is_dir():
            return cand
    return p.parent.parent / "videos"


def clip_search_path(protocol_path: str | os.PathLike,
                     library: str | os.PathLike | None = None) -> list[Path]:
    """Folders to take a protocol's clips from, in order: its own ``videos/``
    (``videos_dir_for``), then ``--library DIR``, then the shipped clip library."""
    out: list[Path] = []
    for folder in (videos_dir_for(protocol_path), library, shipped_videos_dir()):
        if folder is not None and Path(folder).resolve() not in out:
            out.append(Path(folder).resolve())
    return out
