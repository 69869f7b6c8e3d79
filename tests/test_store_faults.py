"""Storage faults are named plainly and never print a traceback: a damaged page (doctor says how
to .recover into a new file), a foreign SQLite file, a full disk, a read-only folder where the
read-only commands still work."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.doctor import check_database
from rehab.errors import StoreError
from rehab.store import Store
from rehab.store.faults import store_error
from rehab.testing.store_data import fake_info, hand_frames


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _with_trials(data: Path, sessions: int = 3) -> None:
    store = Store(data)
    store.add_patient("K1", "left")
    for _ in range(sessions):
        w = store.writer()
        w.begin(fake_info("K1"))
        for n in range(1, 4):
            w.trial(n, "open_close", "left", {"task": "open_close", "hand": "left",
                                               "frames": 40, "repetitions": n},
                    hand_frames(40, "left"))
        w.end("completed")
    store.close()


def _damage_a_trials_page(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            page = conn.execute("SELECT pageno FROM dbstat WHERE name = 'trials' "
                                "AND pagetype = 'leaf' LIMIT 1").fetchone()[0]
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    for i in range((page - 1) * size + 8, page * size, 7):
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path) -> Path:
    data = tmp_path / "data"
    _with_trials(data)
    _damage_a_trials_page(data / "rehab.db")
    return data


@pytest.mark.parametrize("command", [
    ["sessions", "--patient", "K1"],
    ["export", "--patient", "K1", "--out", "x.csv"],
    ["review", "--patient", "K1", "--out", "x.html"],
])
def test_damaged_page_is_named_without_a_traceback(damaged, tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _cli(*command, "--data", str(damaged))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"the session store {damaged} is damaged" in result.output
    assert '.recover" | sqlite3' in result.output and "rehab-recovered.db" in result.output


def test_doctor_suggests_recover_into_a_new_file(damaged):
    check = check_database(damaged / "rehab.db")
    assert check.status == "fail" and "is damaged" in check.detail
    assert f'sqlite3 {damaged / "rehab.db"} ".recover" | sqlite3 {damaged / "rehab-recovered.db"}' \
        in check.hint


def test_doctor_finds_an_intact_database_ok(tmp_path):
    _with_trials(tmp_path / "data", sessions=1)
    assert check_database(tmp_path / "data" / "rehab.db").status == "ok"


def test_a_foreign_sqlite_file_is_refused_and_left_unchanged(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "rehab.db") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    before = (data / "rehab.db").read_bytes()
    result = _cli("patients", "list", "--data", str(data))
    assert result.exit_code == 1
    assert "is an SQLite database of another program (tables invoices)" in result.output
    assert (data / "rehab.db").read_bytes() == before
    assert check_database(data / "rehab.db").status == "fail"


def test_disk_io_error_on_a_full_disk_says_the_disk_is_full(tmp_path, monkeypatch):
    import rehab.store.faults as faults

    monkeypatch.setattr(faults, "disk_full", lambda path: True)
    error = store_error(tmp_path, sqlite3.OperationalError("disk I/O error"))
    assert error.message == f"the session store {tmp_path} is on a full disk"
    monkeypatch.setattr(faults, "disk_full", lambda path: False)
    assert "is on a full disk" not in store_error(tmp_path, sqlite3.OperationalError("disk I/O error")).message


def test_read_only_commands_fall_back_to_a_read_only_database(tmp_path, monkeypatch):
    """A fake that raises the real sqlite3 error of a read-only folder at the first write."""
    data = tmp_path / "data"
    _with_trials(data, sessions=1)
    import rehab.store.db as db

    def readonly(self, data_dir):
        raise StoreError(f"the session store {data_dir} is read-only")

    monkeypatch.setattr(db.Store, "_open", readonly)
    result = _cli("patients", "list", "--data", str(data))
    assert result.exit_code == 0, result.output and "K1" in result.output
    out = tmp_path / "k1.csv"
    assert _cli("export", "--patient", "K1", "--out", str(out), "--data", str(data)).exit_code == 0
    assert len(out.read_text().splitlines()) == 4  # header + 3 trials
    result = _cli("patients", "add", "K2", "--affected", "left", "--data", str(data))
    assert result.exit_code == 1 and "is read-only" in result.output


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount(), reason="needs root to bind-mount a folder read-only")
def test_on_a_real_read_only_mount(tmp_path):
    data = tmp_path / "data"
    _with_trials(data, sessions=1)
    with sqlite3.connect(data / "rehab.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if subprocess.run(["mount", "--bind", str(data), str(data)]).returncode:
        pytest.skip("bind mount refused")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(data)], check=True)
        listing = _cli("patients", "list", "--data", str(data))
        assert listing.exit_code == 0 and "K1" in listing.output, listing.output
        out = tmp_path / "k1.csv"
        result = _cli("export", "--patient", "K1", "--out", str(out), "--data", str(data))
        assert result.exit_code == 0, result.output
        added = _cli("patients", "add", "K2", "--affected", "left", "--data", str(data))
        assert added.exit_code == 1 and "is read-only" in added.output, added.output
        assert added.exception is None or isinstance(added.exception, SystemExit)
    finally:
        subprocess.run(["umount", "-l", str(data)])


def test_no_session_starts_on_damaged_trial_tables(damaged):
    """A new trial would go into a b-tree SQLite cannot read back (lost to UNIQUE/FOREIGN KEY
    failures at its first frame): the session is refused before its first screen."""
    store = Store(damaged)
    with pytest.raises(StoreError) as caught:
        store.check_writable(min_free_mb=0)
    assert caught.value.message.startswith(f"the session store {damaged} is damaged (")
    assert "\n" not in caught.value.message and ".recover" in caught.value.hint


def test_trial_ids_stay_past_every_id_the_frames_hold(tmp_path):
    """Frames whose trial row a damaged page hid keep their id: a new trial never reuses it."""
    data = tmp_path / "data"
    _with_trials(data, sessions=1)
    with sqlite3.connect(data / "rehab.db") as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("DELETE FROM trials")  # as if their page were unreadable
    store = Store(data)
    w = store.writer()
    sid = w.begin(fake_info("K1"))
    w.trial(1, "open_close", "left", {"task": "open_close", "hand": "left", "frames": 40,
                                      "repetitions": 7}, hand_frames(40, "left"))
    w.end("completed")
    trial, frames = store.trial_frames(sid, 1)
    assert trial["id"] == 4 and len(frames) == 40 and trial["repetitions"] == 7


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a small tmpfs")
def test_on_a_real_full_disk(tmp_path):
    mnt = tmp_path / "full"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("mount refused")
    try:
        data = mnt / "data"
        assert _cli("patients", "add", "F1", "--affected", "left", "--data", str(data)).exit_code == 0
        with open(mnt / "fill", "wb") as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
        listing = _cli("patients", "list", "--data", str(data))
        assert listing.exit_code == 0 and "F1" in listing.output, listing.output
        out = tmp_path / "f1.csv"
        assert _cli("export", "--patient", "F1", "--out", str(out), "--data", str(data)).exit_code == 0
        added = _cli("patients", "add", "F2", "--affected", "left", "--data", str(data))
        assert added.exit_code == 1 and "is on a full disk" in added.output, added.output
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
