"""The clinic overview (``rehab review --all``): every patient's adherence, safety and sync state.

For each patient: completed sessions vs assigned this week and in each of the last four full
weeks (Monday-Sunday, local time), the programme week, safety stops and invalid trials in those
five weeks, and (on the clinic server) when their laptop last synced, on the server's clock.

A patient is *falling behind* when, over the last two full weeks, they completed less than
``BEHIND_BELOW`` of what was assigned. Home programmes lose adherence most in weeks 7-12, so
those programme weeks are marked. A trial is *invalid* when its score says ``valid: false`` or
the hand was tracked in less than ``INVALID_TRACKED_BELOW`` of its frames.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from rehab.store import schema
from rehab.store.queries import to_local

WEEKS_BACK = 4
BEHIND_BELOW = 0.75
INVALID_TRACKED_BELOW = 0.5
RISK_WEEKS = range(7, 13)  # programme weeks when adherence drops most


@dataclass
class PatientOverview:
    patient_id: str
    programme_week: int | None  # 1 = the week of the first assignment; None: nothing assigned
    done: list[int] = field(default_factory=list)  # this week first, then 1..4 weeks ago
    assigned: list[int] = field(default_factory=list)
    safety_stops: int = 0
    invalid_trials: int = 0
    last_sync: datetime | None = None  # naive UTC (server clock)
    last_session: datetime | None = None  # naive UTC (laptop clock)

    @property
    def behind(self) -> bool:
        want = sum(self.assigned[1:3])
        return want > 0 and sum(self.done[1:3]) < BEHIND_BELOW * want

    @property
    def risk_weeks(self) -> bool:
        return self.programme_week in RISK_WEEKS


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _assigned_in_week(history: list, monday: date) -> int:
    """Sessions a week assigned in the week starting ``monday``: the latest assignment of each
    protocol made before the week ended (assignments replace earlier ones of that protocol)."""
    latest: dict[str, int] = {}
    for name, per_week, from_date in history:  # oldest first
        if from_date < monday + timedelta(days=7):
            latest[name] = per_week
    return sum(latest.values())


def clinic_overview(store, today: date | None = None) -> list[PatientOverview]:
    """One PatientOverview per patient the store (or the server role) can see."""
    today = today or date.today()
    mondays = [_monday(today) - timedelta(weeks=k) for k in range(WEEKS_BACK + 1)]
    since = datetime.combine(mondays[-1] - timedelta(days=1), datetime.min.time())
    S, T, E, A = schema.sessions, schema.trials, schema.events, schema.assignments
    with store.engine.connect() as conn:
        patients = conn.execute(sa.select(schema.patients.c.id)
                                .order_by(schema.patients.c.id)).scalars().all()
        history: dict[str, list] = {}
        for pid, name, per_week, from_date in conn.execute(
                sa.select(A.c.patient_id, A.c.protocol_name, A.c.per_week, A.c.from_date)
                .order_by(A.c.id)):
            history.setdefault(pid, []).append((name, per_week, from_date))
        sessions = conn.execute(sa.select(S.c.patient_id, S.c.started_wall, S.c.status)
                                .where(S.c.started_wall >= since)).all()
        last = dict(conn.execute(sa.select(S.c.patient_id, sa.func.max(S.c.started_wall))
                                 .group_by(S.c.patient_id)).all())
        recent = sa.select(S.c.id).where(S.c.started_wall >= since)
        stops = dict(conn.execute(
            sa.select(S.c.patient_id, sa.func.count()).select_from(E.join(S, S.c.id == E.c.session_id))
            .where(E.c.kind == "safety_stop", E.c.session_id.in_(recent))
            .group_by(S.c.patient_id)).all())
        trials = conn.execute(
            sa.select(S.c.patient_id, T.c.tracked_fraction, T.c.score_json)
            .select_from(T.join(S, S.c.id == T.c.session_id))
            .where(T.c.session_id.in_(recent),
                   sa.or_(T.c.tracked_fraction < INVALID_TRACKED_BELOW,
                          T.c.score_json.like('%"valid":false%')))).all()
        synced = _last_syncs(conn)
    rows = {p: PatientOverview(p, None, [0] * len(mondays), [0] * len(mondays)) for p in patients}
    for p, row in rows.items():
        h = history.get(p, [])
        row.assigned = [_assigned_in_week(h, m) for m in mondays]
        if h:
            first = min(d for _, _, d in h)
            row.programme_week = (today - first).days // 7 + 1
        row.safety_stops = int(stops.get(p, 0))
        row.last_sync = synced.get(p)
        row.last_session = last.get(p)
    index = {m: i for i, m in enumerate(mondays)}
    for pid, started, status in sessions:
        k = index.get(_monday(to_local(started).date()))
        if k is not None and status == "completed" and pid in rows:
            rows[pid].done[k] += 1
    for pid, frac, score in trials:
        if pid in rows and _invalid(frac, score):
            rows[pid].invalid_trials += 1
    return list(rows.values())


def _invalid(frac: float | None, score_json: str) -> bool:
    if frac is not None and frac < INVALID_TRACKED_BELOW:
        return True
    try:
        return json.loads(score_json).get("valid") is False
    except (ValueError, AttributeError):
        return False


def _last_syncs(conn: sa.Connection) -> dict[str, datetime]:
    """patient -> last sync of their laptop (clinic server only)."""
    if conn.dialect.name != "postgresql":
        return {}
    return dict(conn.execute(sa.text(
        "SELECT patient_id, last_sync FROM rehab_laptops WHERE last_sync IS NOT NULL")).all())


HEADER = ("patient", "prog.wk", "this wk", "1 ago", "2 ago", "3 ago", "4 ago", "safety",
          "invalid", "last sync", "flag")


def _cells(r: PatientOverview, on_server: bool) -> list[str]:
    weeks = [f"{d}/{a}" for d, a in zip(r.done, r.assigned, strict=True)]
    sync = (to_local(r.last_sync).strftime("%Y-%m-%d %H:%M") if r.last_sync
            else ("never" if on_server else "local"))
    flag = ("BEHIND" + (" (weeks 7-12)" if r.risk_weeks else "")) if r.behind else ""
    return [r.patient_id, str(r.programme_week or "-"), *weeks, str(r.safety_stops),
            str(r.invalid_trials), sync, flag]


def overview_lines(rows: list[PatientOverview], on_server: bool) -> list[str]:
    """A text table: falling-behind patients first, then by id."""
    order = sorted(rows, key=lambda r: (not r.behind, not r.risk_weeks, r.patient_id))
    table = [list(HEADER)] + [_cells(r, on_server) for r in order]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in table]
    behind = sum(r.behind for r in rows)
    lines.append(f"{len(rows)} patients, {behind} falling behind (done/assigned per week, "
                 f"behind = under {BEHIND_BELOW:.0%} of the last two full weeks)")
    return lines


def overview_html(rows: list[PatientOverview], on_server: bool) -> str:
    order = sorted(rows, key=lambda r: (not r.behind, not r.risk_weeks, r.patient_id))
    head = "".join(f"<th>{h}</th>" for h in HEADER)
    body = "".join(
        "<tr" + (" class=behind" if r.behind else "") + ">"
        + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r, on_server)) + "</tr>"
        for r in order)
    return ("<!doctype html><meta charset=utf-8><title>Clinic overview</title><style>"
            "body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
            ".behind{background:#fde2e2}</style><h1>Clinic overview</h1>"
            f"<table><tr>{head}</tr>{body}</table><p>{html.escape(overview_lines(rows, on_server)[-1])}</p>")
