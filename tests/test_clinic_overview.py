"""rehab review --all: the clinic overview's numbers (laptop SQLite; the server runs the same code)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from rehab.cli import main
from rehab.report.clinic import clinic_overview, overview_lines
from rehab.store import Store, schema
from rehab.testing.store_data import FAKE_PROTOCOL_YAML, FAKE_SHA

TODAY = date(2026, 3, 18)  # a Wednesday; this week starts Monday 16 March


def _session(conn, sid, patient, day: date, status="completed", stop=False, frac=0.9):
    wall = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
    conn.execute(schema.sessions.insert().values(
        id=sid, patient_id=patient, protocol_sha256=FAKE_SHA, protocol_name="fake home session",
        protocol_path="x.yaml", affected_side="left", total_steps=4, started_wall=wall,
        ended_wall=wall, status=status, resumed_from=None, start_step=0, owner=""))
    conn.execute(schema.trials.insert().values(
        session_id=sid, trial_no=1, step_index=1, task="open_close", hand="left", frames=10,
        tracked_fraction=frac, repetitions=3, score_json=f'{{"tracked_fraction":{frac}}}',
        wall=wall))
    if stop:
        conn.execute(schema.events.insert().values(session_id=sid, t=1.0, wall=wall,
                                                   kind="safety_stop", step_index=1,
                                                   data_json='{"reason":"pain"}'))


def _clinic(tmp_path) -> Store:
    store = Store(tmp_path / "d")
    for p in ("A1", "B2", "C3"):
        store.add_patient(p, "left")
    store.save_protocol("fake home session", FAKE_PROTOCOL_YAML, FAKE_SHA)
    A = schema.assignments
    with store.engine.begin() as conn:
        for p, per_week, start in (("A1", 3, TODAY - timedelta(weeks=2)),
                                   ("B2", 4, TODAY - timedelta(weeks=8))):
            conn.execute(A.insert().values(patient_id=p, protocol_sha256=FAKE_SHA,
                                           protocol_name="fake home session", protocol_path="x",
                                           per_week=per_week, from_date=start, created=datetime(
                                               2026, 1, 1)))
        monday = TODAY - timedelta(days=2)
        for n, back in enumerate((0, 0, 1, 1, 1, 2, 2, 2)):  # A1: on track
            _session(conn, f"a{n}", "A1", monday - timedelta(weeks=back) + timedelta(days=1))
        _session(conn, "b0", "B2", monday - timedelta(days=6), stop=True, status="aborted")
        _session(conn, "b1", "B2", monday - timedelta(days=9), frac=0.2)
        _session(conn, "b2", "B2", monday - timedelta(days=20))
        _session(conn, "b3", "B2", monday - timedelta(weeks=9))  # outside the five weeks
    return store


def test_overview_counts_adherence_stops_and_invalid_trials(tmp_path):
    store = _clinic(tmp_path)
    rows = {r.patient_id: r for r in clinic_overview(store, TODAY)}
    a, b, c = rows["A1"], rows["B2"], rows["C3"]
    assert (a.programme_week, a.done, a.assigned) == (3, [2, 3, 3, 0, 0], [3, 3, 3, 0, 0])
    assert (a.behind, a.safety_stops, a.invalid_trials) == (False, 0, 0)
    assert (b.programme_week, b.done, b.assigned) == (9, [0, 0, 1, 1, 0], [4, 4, 4, 4, 4])
    assert (b.behind, b.risk_weeks, b.safety_stops, b.invalid_trials) == (True, True, 1, 1)
    assert (c.programme_week, c.done, c.assigned, c.behind) == (None, [0] * 5, [0] * 5, False)
    lines = overview_lines(list(rows.values()), on_server=False)
    assert lines[1].split() == ["B2", "9", "0/4", "0/4", "1/4", "1/4", "0/4", "1", "1", "local",
                                "BEHIND", "(weeks", "7-12)"]
    assert lines[-1].startswith("3 patients, 1 falling behind")
    store.close()


def test_review_all_command_prints_the_table_and_writes_html(tmp_path):
    _clinic(tmp_path).close()
    out_html = tmp_path / "clinic.html"
    r = CliRunner().invoke(main, ["review", "--all", "--data", str(tmp_path / "d"),
                                  "--out", str(out_html)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].split()[:3] == ["patient", "prog.wk", "this"]
    assert "<table>" in out_html.read_text() and "B2" in out_html.read_text()
    r = CliRunner().invoke(main, ["review", "--data", str(tmp_path / "d")])
    assert r.exit_code == 2 and "either --patient ID or --all" in r.output


def test_overview_queries_touch_only_the_store(tmp_path):
    store = _clinic(tmp_path)
    with store.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar()
    clinic_overview(store, TODAY)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar() \
            == before == 12
    store.close()
