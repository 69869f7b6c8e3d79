"""Access control on the clinic server is enforced by PostgreSQL itself (real server)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from rehab.store import schema
from rehab.store.server import add_clinician, add_laptop, role_url, server_engine

NOW = datetime(2026, 3, 2, 10, 0, 0)


def _session_row(sid: str, patient: str) -> dict:
    return dict(id=sid, patient_id=patient, protocol_sha256="a" * 64, protocol_name="Home",
                protocol_path="home.yaml", affected_side="left", total_steps=3,
                started_wall=NOW, ended_wall=NOW, status="completed", resumed_from=None,
                start_step=0, owner="laptop:1:1")


@pytest.fixture
def two_laptops(clinic):
    """Admin registers P001 and P002 with a laptop login each, one session and assignment each."""
    admin = clinic.admin_engine()
    creds = {p: add_laptop(admin, p, "left") for p in ("P001", "P002")}
    with admin.begin() as conn:
        conn.execute(schema.protocols.insert().values(sha256="a" * 64, name="Home", yaml="x",
                                                      first_seen=NOW))
        for p in ("P001", "P002"):
            conn.execute(schema.sessions.insert().values(**_session_row(f"s-{p}", p)))
            conn.execute(schema.assignments.insert().values(
                patient_id=p, protocol_sha256="a" * 64, protocol_name="Home",
                protocol_path="home.yaml", per_week=5, from_date=NOW.date(), created=NOW))
            conn.execute(schema.steps.insert().values(
                session_id=f"s-{p}", step_index=0, kind="rate", status="completed",
                started_t=0.0, ended_t=1.0, wall=NOW))
    engines = {p: server_engine(role_url(clinic.admin_url, role), pw)
               for p, (role, pw) in creds.items()}
    yield admin, engines
    for e in (admin, *engines.values()):
        e.dispose()


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar())


def test_a_laptop_reads_only_its_own_patient(two_laptops):
    _, laptops = two_laptops
    e = laptops["P001"]
    for table, own in (("patients", 1), ("sessions", 1), ("assignments", 1), ("steps", 1),
                       ("protocols", 1)):
        assert _count(e, f"SELECT count(*) FROM {table}") == own, table
    assert _count(e, "SELECT count(*) FROM sessions WHERE patient_id = 'P002'") == 0
    assert _count(e, "SELECT count(*) FROM steps WHERE session_id = 's-P002'") == 0
    assert _count(e, "SELECT count(*) FROM rehab_laptops") == 1
    with e.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        conn.execute(sa.text("SELECT * FROM rehab_clinicians"))


def test_a_laptop_cannot_insert_for_another_patient(two_laptops):
    _, laptops = two_laptops
    e = laptops["P001"]
    with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        conn.execute(schema.sessions.insert().values(**_session_row("s-evil", "P002")))
    with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        conn.execute(schema.steps.insert().values(  # a row into P002's session
            session_id="s-P002", step_index=1, kind="rate", status="completed", started_t=0.0,
            ended_t=1.0, wall=NOW))
    with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        conn.execute(schema.assignments.insert().values(
            patient_id="P001", protocol_sha256="a" * 64, protocol_name="Home",
            protocol_path="x", per_week=21, from_date=NOW.date(), created=NOW))
    # own patient: allowed
    with e.begin() as conn:
        conn.execute(schema.sessions.insert().values(**_session_row("s-own", "P001")))
    assert _count(two_laptops[0], "SELECT count(*) FROM sessions") == 3


def test_a_laptop_cannot_delete_or_rewrite(two_laptops):
    admin, laptops = two_laptops
    e = laptops["P001"]
    for sql in ("DELETE FROM sessions WHERE id = 's-P001'", "DELETE FROM steps",
                "TRUNCATE trial_frames", "UPDATE sessions SET patient_id = 'P002'",
                "UPDATE patients SET notes = 'x'", "DROP TABLE sessions",
                "ALTER TABLE sessions DISABLE ROW LEVEL SECURITY"):
        with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError,
                                              match="permission denied|must be owner"):
            conn.execute(sa.text(sql))
    with e.begin() as conn:  # another patient's session: invisible, so nothing is updated
        n = conn.execute(sa.text("UPDATE sessions SET status = 'aborted' WHERE id = 's-P002'"))
        assert n.rowcount == 0
    assert _count(admin, "SELECT count(*) FROM sessions WHERE status = 'completed'") == 2
    assert _count(admin, "SELECT count(*) FROM steps") == 2


def test_a_clinician_reads_and_assigns_for_its_site_only(two_laptops, clinic):
    admin, _ = two_laptops
    add_laptop(admin, "N001", "right", site="north")
    role, pw = add_clinician(admin, "dr_a", site="main")
    e = server_engine(role_url(clinic.admin_url, role), pw)
    try:
        assert _count(e, "SELECT count(*) FROM patients") == 2
        assert _count(e, "SELECT count(*) FROM sessions") == 2
        with e.begin() as conn:
            conn.execute(schema.assignments.insert().values(
                patient_id="P002", protocol_sha256="a" * 64, protocol_name="Home",
                protocol_path="x", per_week=3, from_date=NOW.date(), created=NOW))
            conn.execute(schema.patients.insert().values(  # site filled in by the server
                id="P003", affected_side="left", notes="", consent_video=False, created=NOW))
        with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError,
                                              match="row-level security"):
            conn.execute(schema.assignments.insert().values(
                patient_id="N001", protocol_sha256="a" * 64, protocol_name="Home",
                protocol_path="x", per_week=3, from_date=NOW.date(), created=NOW))
        with e.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("DELETE FROM sessions"))
        assert _count(admin, "SELECT count(*) FROM patients WHERE id = 'P003' "
                             "AND site = 'main'") == 1
    finally:
        e.dispose()


def test_the_server_never_sees_a_laptop_password(two_laptops, clinic):
    admin, _ = two_laptops
    role, pw = add_laptop(admin, "P009", "left")
    with admin.connect() as conn:
        stored = conn.execute(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"),
                              {"r": role}).scalar()
    assert stored.startswith("SCRAM-SHA-256$") and pw not in stored
    e = server_engine(role_url(clinic.admin_url, role), "wrong-password")
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed") as err:
        e.connect()
    assert pw not in str(err.value)
    e.dispose()
