"""Safe output files: owner-only from creation, never through a symlink, never half-written.

Every file the program writes for a user (exports, reviews, replays, screenshots, crash logs)
goes through :func:`atomic_open` or :func:`atomic_path`: the data is written to a new temporary
file in the target's folder (created with ``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0o600), then
renamed over the target. A target that is a symlink is refused - a planted ``out.csv ->
~/precious`` is neither followed nor truncated - and a dangling link creates nothing. Folders
are made 0o700 from creation (no window in which they are readable by others).

Example:
    >>> with atomic_open(Path("p001.csv"), newline="") as fh:  # doctest: +SKIP
    ...     fh.write("a,b\\n")
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rehab.errors import RehabError

FILE_MODE = 0o600
DIR_MODE = 0o700


class UnsafeOutput(RehabError):
    """The output path is a symlink (or otherwise not a plain file we may replace)."""


def private_dirs(folder: Path) -> Path:
    """Create ``folder`` and missing parents as 0o700 from creation (the umask cannot widen it)."""
    old = os.umask(0o077)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    finally:
        os.umask(old)
    return folder


def check_target(path: Path) -> None:
    """Refuse a target that is a symlink (dangling or not) or a folder."""
    if path.is_symlink():
        raise UnsafeOutput(
            f"{path} is a symbolic link; rehab does not write patient data through links",
            hint="remove the link or choose another file name",
        )
    if path.is_dir():
        raise UnsafeOutput(f"{path} is a folder", hint="give a file name")


def _temp_file(path: Path) -> tuple[int, Path]:
    """A new, exclusive, owner-only file beside ``path`` keeping its suffix (formats by name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        temp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.tmp{path.suffix}")
        try:
            return os.open(temp, flags, FILE_MODE), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], make_dirs: bool = False) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to (for writers that want a file name,
    such as OpenCV or pygame); renamed to ``path`` when the block ends without an error."""
    target = Path(path)
    if make_dirs:
        private_dirs(target.parent)
    check_target(target)
    fd, temp = _temp_file(target)
    os.close(fd)
    try:
        yield temp
        os.chmod(temp, FILE_MODE)  # a writer that re-created the file gets the mode back
        check_target(target)  # a link planted while we wrote
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", make_dirs: bool = False, **kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a new owner-only file that replaces ``path`` once the block ends without an error."""
    with atomic_path(path, make_dirs) as temp:
        fd = os.open(temp, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
