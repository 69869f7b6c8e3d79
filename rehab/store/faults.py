"""Storage faults named plainly: full disk, read-only folder, damaged or foreign database.

SQLite reports a full disk sometimes as "database or disk is full", sometimes as "disk I/O
error"; a read-only folder as "readonly database" or "unable to open database file"; a damaged
page as "database disk image is malformed" at the first query that reads it. :func:`store_error`
turns any of these into one StoreError that says what happened and what to do, and
:func:`store_fault` recognises them anywhere (the CLI's last line of defence), so no command
prints a traceback for what the disk or the database did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

from rehab.errors import StoreError

FULL_BELOW_BYTES = 1_000_000  # "disk I/O error" with less free than this is a full disk
OUR_TABLES = frozenset({"schema_version", "patients", "sessions"})


def read_only_folder(path: Path) -> bool:
    """True when ``path`` (or the folder holding it) is on a read-only mount or not writable."""
    folder = path if path.is_dir() else path.parent
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


def disk_full(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


def recover_hint(db_path: Path) -> str:
    """How to salvage what a damaged database still holds, into a new file (never in place)."""
    new = db_path.with_name(db_path.stem + "-recovered.db")
    return (
        f"keep the damaged file; recover what it holds into a new one with: "
        f'sqlite3 {db_path} ".recover" | sqlite3 {new} - then check {new} with '
        f"rehab doctor --data and put it in place of {db_path.name} (or restore a backup)"
    )


def store_error(path: Path, exc: BaseException) -> StoreError:
    """The StoreError for ``exc`` raised while using the store at ``path``."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    db_path = path if path.suffix == ".db" else path / "rehab.db"
    read_only = "readonly" in text or "read-only" in text or isinstance(exc, PermissionError)
    if "full" in text or getattr(exc, "errno", None) == 28 or (
        ("disk i/o" in text or "unable to open" in text) and disk_full(path)
    ):
        what = "is on a full disk"
        hint = "free some disk space or choose another folder with --data DIR"
    elif read_only or ("unable to open" in text and read_only_folder(path)):
        what, hint = "is read-only", "make it writable or choose another folder with --data DIR"
    elif "not a database" in text or "malformed" in text:
        what, hint = "is damaged", recover_hint(db_path)
    elif "locked" in text:
        what, hint = "is locked by another program", "close other rehab windows and try again"
    else:
        what, hint = f"cannot be used ({exc})", "check the folder or choose another with --data DIR"
    return StoreError(f"the session store {path} {what}", hint=hint)


def store_fault(exc: BaseException, data_dir: Path | None = None) -> StoreError | None:
    """A StoreError for a database error escaping a command; None for anything else."""
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, sqlite3.Error):
        return None
    from rehab import paths

    return store_error(paths.data_dir(data_dir), exc)


def foreign_tables(db_path: Path) -> list[str] | None:
    """The tables of an existing SQLite file that is not ours; None when it is ours or new.

    Read with a read-only connection, so a foreign file is never changed by looking at it.
    """
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return None
    uri = f"file:{db_path}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        return None  # damaged or unreadable: opening it reports that
    names = sorted(str(r[0]) for r in rows)
    if not names or "schema_version" in names:
        return None
    return names
