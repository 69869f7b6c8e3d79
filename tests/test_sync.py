"""rehab sync against a real PostgreSQL: whole sessions, once; assignments pulled back."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from sync_helpers import counts, make_laptop, record_session, session_ids, shift_clock

from rehab.errors import StoreError
from rehab.home import home_plan
from rehab.store import schema
from rehab.store.server import ServerStore
from rehab.store.server_schema import SERVER_SCHEMA


@pytest.fixture
def laptop(clinic, tmp_path):
    lap = make_laptop(clinic, tmp_path)
    yield lap
    lap.store.close()


def test_sync_pushes_every_session_whole_then_nothing(laptop, clinic):
    sids = [record_session(laptop.store, trials=t) for t in (1, 2, 3)]
    first = laptop.sync()
    assert (first.pushed, first.updated, first.up_to_date) == (3, 0, 0)
    admin = clinic.admin_engine()
    assert counts(admin) == counts(laptop.store.engine)
    assert counts(admin) == {"sessions": 3, "steps": 9, "trials": 6, "ratings": 6, "events": 6,
                             "trial_frames": 72}
    assert session_ids(admin) == sorted(sids)
    again = laptop.sync()
    assert (again.pushed, again.updated, again.up_to_date) == (0, 0, 3)
    assert counts(admin) == counts(laptop.store.engine)
    admin.dispose()


def test_landmarks_and_scores_arrive_byte_for_byte(laptop, clinic):
    sid = record_session(laptop.store, trials=2)
    laptop.sync()
    with ServerStore(clinic.admin_url, clinic.server.password) as server:
        got = server.trial_frames(sid, 2)
        assert server.protocol_yaml(server.get_session(sid).protocol_sha256) == \
            laptop.store.protocol_yaml(laptop.store.get_session(sid).protocol_sha256)
    want = laptop.store.trial_frames(sid, 2)
    assert got[0]["score_json"] == want[0]["score_json"]
    assert len(got[1]) == len(want[1]) == 12
    for a, b in zip(got[1], want[1], strict=True):
        assert (a.t, a.frame_index, len(a.hands)) == (b.t, b.frame_index, len(b.hands))
        for ha, hb in zip(a.hands, b.hands, strict=True):
            assert np.array_equal(ha.image, hb.image) and np.array_equal(ha.world, hb.world)


def test_interrupted_then_resumed_session_is_pushed_and_completed(laptop, clinic):
    admin = clinic.admin_engine()
    cut = record_session(laptop.store, trials=1, end=None)  # process "dies": no end()
    assert laptop.sync().running == 1  # still "running" in this process: next sync
    laptop.store._reap_interrupted()  # what the next Store open does (owner gone)...
    S = schema.sessions
    with laptop.store.engine.begin() as conn:  # ...for a process that is really gone
        conn.execute(S.update().where(S.c.id == cut).values(status="interrupted"))
    assert laptop.sync().pushed == 1
    resumed = record_session(laptop.store, trials=2, resumed_from=cut)
    r = laptop.sync()
    assert (r.pushed, r.up_to_date) == (1, 1)
    with admin.connect() as conn:
        rows = dict(conn.execute(sa.select(S.c.id, S.c.status)).all())
        parent = conn.execute(sa.select(S.c.resumed_from).where(S.c.id == resumed)).scalar()
    assert rows == {cut: "interrupted", resumed: "completed"} and parent == cut
    assert counts(admin) == counts(laptop.store.engine)
    admin.dispose()


def test_a_changed_session_is_completed_on_the_server_without_duplicates(laptop, clinic):
    sid = record_session(laptop.store, trials=2)
    laptop.sync()
    S, E = schema.sessions, schema.events
    with laptop.store.engine.begin() as conn:  # e.g. a late event and a status correction
        conn.execute(E.insert().values(session_id=sid, t=99.0, wall=laptop.store.get_session(
            sid).started_wall, kind="note", step_index=None, data_json="{}"))
        conn.execute(S.update().where(S.c.id == sid).values(status="aborted"))
    r = laptop.sync()
    assert (r.pushed, r.updated) == (0, 1)
    admin = clinic.admin_engine()
    assert counts(admin) == counts(laptop.store.engine)
    with admin.connect() as conn:
        assert conn.execute(sa.select(S.c.status)).scalar() == "aborted"
    admin.dispose()


def test_a_week_wrong_clock_reorders_and_loses_nothing(laptop, clinic):
    a = record_session(laptop.store)
    laptop.sync()
    b = record_session(laptop.store)
    shift_clock(laptop.store, b, timedelta(days=-7))  # recorded after a, clock a week behind
    c = record_session(laptop.store)
    shift_clock(laptop.store, c, timedelta(days=7))
    r = laptop.sync()
    assert (r.pushed, r.up_to_date) == (2, 1)
    admin = clinic.admin_engine()
    with admin.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT id, received_at FROM sessions")).all())
        server_now = conn.execute(sa.text("SELECT now() AT TIME ZONE 'utc'")).scalar()
    assert set(got) == {a, b, c}
    assert got[a] <= got[b] and got[a] <= got[c]  # the server's clock orders receipt
    assert all(abs((server_now - t).total_seconds()) < 120 for t in got.values())
    assert counts(admin) == counts(laptop.store.engine)
    admin.dispose()


def test_pull_brings_the_clinic_assignment_to_rehab_home(laptop, clinic):
    from rehab.paths import shipped_protocols_dir

    with ServerStore(clinic.admin_url, clinic.server.password) as server:
        server.assign("P001", shipped_protocols_dir() / "home_session.yaml", 4)
        server.assign("P001", shipped_protocols_dir() / "demo.yaml", 2)
    r = laptop.sync()
    assert r.assignments == 2
    plan = home_plan(laptop.store, "P001", date.today())
    assert [(i.protocol_name, i.per_week, i.done_this_week) for i in plan.items] == [
        ("Home session (about 12 minutes)", 4, 0), ("Demo (2 minutes)", 2, 0)]
    assert all(i.protocol_path.is_file() for i in plan.items)
    assert laptop.sync().assignments == 0  # idempotent
    assert len(laptop.store.assignment_history("P001")) == 2


def test_an_edited_protocol_arrives_as_a_snapshot_file(laptop, clinic, tmp_path):
    from rehab.paths import shipped_protocols_dir

    mine = tmp_path / "clinic" / "protocols" / "custom.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text((shipped_protocols_dir() / "home_session.yaml").read_text()
                    .replace("name: Home session", "name: Custom home", 1))
    with ServerStore(clinic.admin_url, clinic.server.password) as server:
        server.assign("P001", mine, 3)
    mine.unlink()  # the laptop cannot see the clinic's disk
    laptop.sync()
    (a,) = laptop.store.assignments("P001")
    path = a.protocol_path
    assert path.startswith(str(laptop.store.data_dir / "protocols"))
    assert open(path).read().startswith((shipped_protocols_dir() / "home_session.yaml")
                                        .read_text()[:20])
    assert oct(__import__("os").stat(path).st_mode & 0o777) == "0o600"


def test_a_laptop_on_another_schema_version_is_told_both(laptop, clinic):
    from rehab.store import migrations

    record_session(laptop.store)
    admin = clinic.admin_engine()
    with admin.begin() as conn:
        conn.execute(sa.text(f"UPDATE {SERVER_SCHEMA} SET laptop_schema = :v"),
                     {"v": migrations.LATEST + 1})
    with pytest.raises(StoreError) as err:
        laptop.sync()
    assert (f"this laptop's store is at schema version {migrations.LATEST} but the clinic "
            f"server stores schema version {migrations.LATEST + 1}") in err.value.message
    assert "pip install -U rehab" in err.value.hint
    assert counts(admin)["sessions"] == 0  # no half-sync
    admin.dispose()


def test_sessions_of_other_patients_stay_on_the_laptop(laptop, clinic):
    laptop.store.add_patient("DEMO", "right")
    record_session(laptop.store, patient="DEMO")
    record_session(laptop.store)
    r = laptop.sync()
    assert (r.pushed, r.other_patients) == (1, 1)
