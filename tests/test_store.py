"""Store: schema, pragmas, permissions, patients, assignments, writer round trip, resume."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from rehab.engine.writer import Event
from rehab.errors import StoreError
from rehab.store import Store, schema
from rehab.store.migrations import LATEST
from rehab.testing.store_data import FAKE_SHA, fake_info, hand_frames


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


def test_pragmas_wal_full_foreign_keys(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        versions = conn.execute(sa.select(schema.schema_version.c.version)).scalars().all()
    assert versions == list(range(1, LATEST + 1))


def test_reopen_does_not_reapply_migrations(tmp_path):
    Store(tmp_path).close()
    s = Store(tmp_path)
    with s.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.schema_version)).scalar() == LATEST


def test_schema_compiles_for_postgresql():
    for table in schema.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=postgresql.dialect()))
        assert "CREATE TABLE" in ddl
    blob = str(CreateTable(schema.trial_frames).compile(dialect=postgresql.dialect()))
    assert "BYTEA" in blob


def test_files_are_owner_only(tmp_path):
    old = os.umask(0o022)  # a permissive umask must not leak into patient data
    try:
        s = Store(tmp_path / "d")
        s.add_patient("P001", "left")
        w = s.writer()
        w.begin(fake_info())
        w.event(Event(t=0.0, kind="x"))
        assert mode(tmp_path / "d") == 0o700
        for name in ("rehab.db", "rehab.db-wal", "rehab.db-shm"):
            p = tmp_path / "d" / name
            assert p.exists(), name
            assert mode(p) == 0o600, (name, oct(mode(p)))
        s.close()
    finally:
        os.umask(old)


def test_loose_existing_dir_is_tightened(tmp_path):
    d = tmp_path / "loose"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    Store(d).close()
    assert mode(d) == 0o700


def test_patients(store):
    store.add_patient("P001", "left", notes="mild", consent_video=True)
    store.add_patient("P002", "right")
    assert [p.id for p in store.list_patients()] == ["P001", "P002"]
    p = store.get_patient("P001")
    assert p.affected_side == "left" and p.notes == "mild" and p.consent_video
    assert store.get_patient("nobody") is None
    with pytest.raises(StoreError, match="already exists"):
        store.add_patient("P001", "left")
    with pytest.raises(StoreError, match="invalid patient id"):
        store.add_patient("John Smith", "left")
    with pytest.raises(StoreError, match="left or right"):
        store.add_patient("P003", "both")


def test_may_store_video_needs_protocol_and_consent(store):
    store.add_patient("YES", "left", consent_video=True)
    store.add_patient("NO", "left", consent_video=False)
    assert store.may_store_video("YES", True)
    assert not store.may_store_video("YES", False)
    assert not store.may_store_video("NO", True)
    assert not store.may_store_video("ghost", True)


def test_assign_and_week_queries(store, tmp_path):
    store.add_patient("P001", "left")
    proto = tmp_path / "p.yaml"
    proto.write_text("name: home\ndescription: d\nsteps: []\n")
    a = store.assign("P001", proto, per_week=3, from_date=date(2025, 1, 6))
    assert a.protocol_name == "home" and len(a.protocol_sha256) == 64
    assert store.protocol_yaml(a.protocol_sha256) == proto.read_text()
    store.assign("P001", proto, per_week=5)
    (cur,) = store.assignments("P001")
    assert cur.per_week == 5
    with pytest.raises(StoreError, match="no patient"):
        store.assign("ghost", proto, per_week=3)
    with pytest.raises(StoreError, match="cannot read protocol"):
        store.assign("P001", tmp_path / "missing.yaml", per_week=3)
    w = store.writer()
    w.begin(fake_info())
    assert len(store.sessions_in_week("P001")) == 1
    assert len(store.sessions_in_week("P001", protocol_name="other")) == 0
    assert len(store.sessions_in_week("P001", day=date(2000, 1, 3))) == 0


def _run_full_session(store, patient="P001", status="completed"):
    w = store.writer()
    sid = w.begin(fake_info(patient))
    w.event(Event(t=0.5, kind="session_start", data={"n": np.int64(3), "x": np.float32(0.5)}))
    w.rating(0, "pain", 3, 1.0)
    w.step(0, "rate", "completed", 0.5, 2.0)
    frames = hand_frames(40, "left", dropped_every=7)
    score = {"task": "open_close", "hand": "left", "frames": 40, "tracked_fraction": 0.86,
             "repetitions": 4, "amplitude_deg": 55.5, "similarity": {"dtw": 0.7}}
    w.trial(1, "open_close", "left", score, frames)
    w.step(1, "execute", "completed", 2.0, 12.0)
    w.rating(3, "pain", 5, 30.0)
    w.end(status)
    return sid, frames, score


def test_writer_round_trip_and_frames(store):
    sid, frames, score = _run_full_session(store)
    (row,) = store.sessions("P001")
    assert row.id == sid and row.status == "completed" and row.duration_s >= 0
    assert row.protocol_sha256 == FAKE_SHA
    trial, back = store.trial_frames(sid, 1)
    assert trial["repetitions"] == 4 and trial["frames"] == 40
    assert len(back) == len(frames)
    for a, b in zip(frames, back, strict=True):
        assert a.t == pytest.approx(b.t) and a.frame_index == b.frame_index
        assert len(a.hands) == len(b.hands)
        if a.hands:
            np.testing.assert_allclose(a.hands[0].image, b.hands[0].image, atol=1e-6)
            np.testing.assert_allclose(a.hands[0].world, b.hands[0].world, atol=1e-6)
            assert b.hands[0].hand == "left"
    assert store.previous_trial("P001", "open_close", "left") == score
    assert store.previous_trial("P001", "open_close", "left", exclude_session=sid) is None
    assert store.previous_trial("P001", "finger_tap", "left") is None
    assert store.trial_frames(sid, 2) is None


def test_writer_misuse(store):
    w = store.writer()
    with pytest.raises(StoreError, match="before begin"):
        w.event(Event(t=0, kind="x"))
    w.begin(fake_info())
    with pytest.raises(StoreError, match="step status"):
        w.step(0, "rest", "done", 0, 1)
    w.end("aborted")
    with pytest.raises(StoreError, match="already ended"):
        w.event(Event(t=0, kind="x"))
    assert store.sessions()[0].status == "aborted"


def test_begin_registers_unknown_patient(store):
    store.writer().begin(fake_info("NEW1", affected_side="right"))
    assert store.get_patient("NEW1").affected_side == "right"


def test_dead_owner_reads_as_interrupted_and_resumes(store, tmp_path):
    # A child process begins a session, completes step 0 and exits without end().
    code = (
        "import sys; from rehab.store import Store; from rehab.testing.store_data import fake_info\n"
        "s = Store(sys.argv[1]); w = s.writer(); sid = w.begin(fake_info())\n"
        "w.step(0, 'rate', 'completed', 0, 1); w.step(1, 'execute', 'skipped', 1, 2)\n"
        "w.step(2, 'execute', 'failed', 2, 3); print(sid)\n"
    )
    sid = subprocess.run([sys.executable, "-c", code, str(store.data_dir)], capture_output=True,
                         text=True, check=True).stdout.strip()
    s2 = Store(store.data_dir)
    assert s2.get_session(sid).status == "interrupted"
    assert s2.find_resumable("P001", FAKE_SHA) == (sid, 2)
    # Resuming: the new session starts at step 2, finishes 2 but dies again -> resume at 3.
    code2 = code.replace("w = s.writer(); sid = w.begin(fake_info())",
                         f"w = s.writer(); sid = w.begin(fake_info(resumed_from='{sid}', start_step=2))")
    code2 = code2.replace("w.step(0, 'rate', 'completed', 0, 1); w.step(1, 'execute', 'skipped', 1, 2)\n"
                          "w.step(2, 'execute', 'failed', 2, 3)", "w.step(2, 'execute', 'completed', 2, 3)")
    sid2 = subprocess.run([sys.executable, "-c", code2, str(store.data_dir)], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert Store(store.data_dir).find_resumable("P001", FAKE_SHA) == (sid2, 3)
    assert s2.get_session(sid2).resumed_from == sid


def test_live_session_stays_running_and_completed_is_not_resumable(store):
    w = store.writer()
    sid = w.begin(fake_info())
    assert Store(store.data_dir).get_session(sid).status == "running"  # owner (us) alive
    assert store.find_resumable("P001", FAKE_SHA) is None
    w.end("completed")
    assert store.find_resumable("P001", FAKE_SHA) is None


def test_check_writable_ok_and_disk_full(store):
    store.check_writable()
    with pytest.raises(StoreError) as err:
        store.check_writable(min_free_mb=1e12)
    assert str(store.data_dir) in err.value.message and "free" in err.value.hint


def _as_unprivileged(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run python ``code`` as an ordinary user (root ignores permission bits)."""
    kwargs = {}
    if os.geteuid() == 0:
        kwargs["user"], kwargs["group"] = 65534, 65534
    try:
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env={**os.environ, "HOME": "/tmp"}, timeout=60, **kwargs)
    except PermissionError:
        pytest.skip("running as root and the interpreter is not usable by user nobody")


CHECK = (
    "import sys\nfrom rehab.errors import StoreError\nfrom rehab.store import Store\n"
    "try:\n    Store(sys.argv[1]).check_writable()\n    print('OK')\n"
    "except StoreError as e:\n    print(e.message); print(e.hint)\n"
)


@pytest.fixture
def world_dir():
    import shutil
    import tempfile

    base = tempfile.mkdtemp(prefix="rehab-ro-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_read_only_data_dir_reported(world_dir):
    d = os.path.join(world_dir, "ro")
    Store(d).close()
    if os.geteuid() == 0:
        for root, _dirs, files in os.walk(d):
            os.chown(root, 65534, 65534)
            for f in files:
                os.chown(os.path.join(root, f), 65534, 65534)
    assert _as_unprivileged(CHECK, d).stdout.startswith("OK")
    os.chmod(d, 0o500)
    out = _as_unprivileged(CHECK, d).stdout
    assert d in out and "read-only" in out and "--data" in out, out


def test_uncreatable_data_dir_reported(world_dir):
    os.chmod(world_dir, 0o555)
    out = _as_unprivileged(CHECK, os.path.join(world_dir, "sub")).stdout
    assert "cannot create the data folder" in out and "--data" in out, out


def test_database_refusing_writes_reported(store):
    """A database SQLite opens read-only (here via query_only) fails check_writable clearly."""
    sa.event.listen(store.engine, "connect", lambda c, _r: c.execute("PRAGMA query_only=ON"))
    store.engine.dispose()
    with pytest.raises(StoreError) as err:
        store.check_writable()
    assert "read-only" in err.value.message and str(store.data_dir) in err.value.message


def test_data_dir_on_unwritable_filesystem_reported():
    with pytest.raises(StoreError) as err:
        Store("/proc/rehab-cannot-exist/data")
    assert "/proc/rehab-cannot-exist/data" in err.value.message and "--data" in err.value.hint


def test_previous_trial_ignores_the_running_session(store):
    sid, _, score = _run_full_session(store)
    w = store.writer()
    w.begin(fake_info())
    w.trial(1, "open_close", "left", {"repetitions": 99}, [])
    assert store.previous_trial("P001", "open_close", "left") == score  # not the live 99


def test_last_time_is_the_latest_trial_that_was_scored(store):
    """A trial the hand was never seen in is no "last time": the patient's 2 open-close
    cycles are compared with the earlier 5, not with the unseen trial's 0."""
    for trials in ([{"repetitions": 5}], [{"repetitions": 0, "error": "the hand was not seen"}]):
        w = store.writer()
        w.begin(fake_info())
        for i, score in enumerate(trials):
            w.trial(i + 1, "open_close", "left", score, [])
        w.end("completed")
    assert store.previous_trial("P001", "open_close", "left") == {"repetitions": 5}


def test_writer_fsyncs_state_changes_and_rate_limits_event_fsyncs(store):
    w = store.writer()
    w.begin(fake_info())
    assert w.durable_commits == 1
    for i in range(50):
        w.event(Event(t=i / 60, kind="frame_shown"))
    assert w.commits == 51 and w.durable_commits == 1  # within 1 s of the last fsync
    w.rating(0, "pain", 2, 1.0)
    w.step(0, "rate", "completed", 0, 1)
    w.trial(1, "open_close", "left", {"repetitions": 1}, hand_frames(3))
    assert w.durable_commits == 4
    w._last_sync -= 2.0  # pretend the last fsync was 2 s ago
    w.event(Event(t=2.0, kind="frame_shown"))
    assert w.durable_commits == 5
    with store.engine.connect() as conn:  # other connections keep FULL
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    w.event(Event(t=2.1, kind="frame_shown"))  # NORMAL again
    w.end("completed")  # returns its connection to the pool
    for _ in range(3):
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_newer_schema_is_refused(store):
    from rehab.store.migrations import LATEST

    with store.engine.begin() as conn:
        conn.execute(schema.schema_version.insert().values(version=LATEST + 1, applied=__import__("datetime").datetime(2030, 1, 1)))
    with pytest.raises(StoreError, match="newer than this rehab"):
        Store(store.data_dir)


def test_damaged_database_reported(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "rehab.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as err:
        Store(d)
    assert "damaged" in err.value.message and str(d) in err.value.message


def test_disk_full_during_a_session_is_a_clear_store_error(store):
    w = store.writer()
    w.begin(fake_info())
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    w._conn.exec_driver_sql(f"PRAGMA max_page_count={pages + 2}")  # a disk about to fill up
    w._conn.commit()
    with pytest.raises(StoreError) as err:
        for _ in range(200):
            w.trial(1, "open_close", "left", {"repetitions": 1}, hand_frames(60))
    assert "full disk" in err.value.message and "free some disk space" in err.value.hint
    w.event(Event(t=1.0, kind="still_writable"))  # the writer's connection is still usable


def test_read_only_filesystem_reported(tmp_path):
    """A data folder on a read-only mount (root only: needs mount; others use the chmod tests)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a read-only bind mount")
    src, ro = tmp_path / "src", tmp_path / "ro"
    ro.mkdir()
    Store(src).close()
    mounted = subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("mount is not permitted here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True).returncode:
            pytest.skip("read-only remount is not permitted here")
        with pytest.raises(StoreError) as err:
            Store(ro).check_writable()
        assert str(ro) in err.value.message and "read-only" in err.value.message
        assert "--data" in err.value.hint
        with pytest.raises(StoreError, match="cannot create the data folder"):
            Store(ro / "sub")
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_reading_while_a_session_writes(store):
    """WAL: a clinician's export/review reads while the session keeps committing."""
    from rehab.report.export import export_trials
    from rehab.report.review import build_review

    w = store.writer()
    sid = w.begin(fake_info())
    w.trial(1, "open_close", "left", {"repetitions": 2}, hand_frames(5))
    reader = Store(store.data_dir)
    assert export_trials(reader, "P001")["session_status"].tolist() == ["running"]
    assert sid in build_review(reader, "P001")
    w.event(Event(t=1.0, kind="after_read"))  # the writer is not blocked by the reader
    w.end("completed")
    assert reader.get_session(sid).status == "completed"
