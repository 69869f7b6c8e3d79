"""Owner-only files and folders for patient data (database, exports, reports, replays)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rehab.errors import StoreError
from rehab.safeio import atomic_open

DIR_MODE = 0o700
FILE_MODE = 0o600


@contextlib.contextmanager
def owner_only_umask() -> Iterator[None]:
    """Files created inside get no group/other bits (SQLite's -wal/-shm included)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0o700; tighten it if it exists with looser bits."""
    try:
        with owner_only_umask():
            path.mkdir(parents=True, exist_ok=True)
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(DIR_MODE)
    except OSError as exc:
        if path.is_dir() and (exc.errno == 30 or not os.access(path, os.W_OK)):  # EROFS
            raise StoreError(f"the session store {path} is read-only",
                             hint="make it writable or choose another folder with --data DIR") from exc
        raise StoreError(
            f"cannot create the data folder {path}: {exc.strerror or exc}",
            hint="choose a folder you can write to with --data DIR (or REHAB_DATA)",
        ) from exc
    return path


def make_private(path: Path) -> None:
    """chmod an existing file to 0o600 (no-op when it is missing)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            path.chmod(FILE_MODE)


def open_private(path: Path, mode: str = "w", **kwargs) -> Any:
    """A context manager writing ``path`` safely (``rehab.safeio.atomic_open``): owner-only
    from creation, through a temporary file renamed into place, refusing symlinks.

    Example:
        >>> with open_private(Path("out.csv"), newline="") as fh: ...
    """
    return atomic_open(path, mode, **kwargs)
