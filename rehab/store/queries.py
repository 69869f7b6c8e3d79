"""Read queries over sessions, steps, trials and frames (plus the interrupted-session reaper)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import itemgetter

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rehab.devices.base import HandObservation, TrackedFrame
from rehab.engine.endings import describe
from rehab.store import schema

S, T, ST = schema.sessions, schema.trials, schema.steps
DONE_STEP = ("completed", "skipped", "cut_short")  # a resumed session starts after these


@dataclass(frozen=True)
class SessionRow:
    id: str
    patient_id: str
    protocol_name: str
    protocol_sha256: str
    protocol_path: str
    started_wall: datetime  # naive UTC
    ended_wall: datetime | None
    status: str
    resumed_from: str | None
    start_step: int
    total_steps: int
    end_reason: str | None = None  # a code of rehab.engine.endings.END_REASONS
    end_detail_json: str | None = None

    @property
    def end_detail(self) -> dict:
        return json.loads(self.end_detail_json) if self.end_detail_json else {}

    @property
    def end_text(self) -> str:
        """How it ended, for people ("stopped by a safety rule: pain rose by 2 ...")."""
        if self.status == "running":
            return "running"
        return describe(self.end_reason, self.end_detail) or f"{self.status} (reason not recorded)"

    @property
    def started_local(self) -> datetime:
        return to_local(self.started_wall)

    @property
    def duration_s(self) -> float | None:
        if self.ended_wall is None:
            return None
        return (self.ended_wall - self.started_wall).total_seconds()


def to_local(utc_naive: datetime) -> datetime:
    """Naive UTC from the store -> naive local time for people to read."""
    return utc_naive.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


_COLUMN = {"end_detail_json": "end_detail"}


def _row(r) -> SessionRow:
    m = r._mapping
    return SessionRow(**{f: m[f] for f in SessionRow.__dataclass_fields__})


def _select_sessions():
    cols = [S.c[_COLUMN.get(f, f)].label(f) for f in SessionRow.__dataclass_fields__]
    return sa.select(*cols).order_by(S.c.started_wall, S.c.id)


def list_sessions(conn: Connection, patient_id: str | None) -> list[SessionRow]:
    q = _select_sessions()
    if patient_id is not None:
        q = q.where(S.c.patient_id == patient_id)
    return [_row(r) for r in conn.execute(q)]


def get_session(conn: Connection, session_id: str) -> SessionRow | None:
    r = conn.execute(_select_sessions().where(S.c.id == session_id)).first()
    return _row(r) if r else None


def sessions_in_week(
    conn: Connection, patient_id: str, day: date, protocol_name: str | None
) -> list[SessionRow]:
    monday = day - timedelta(days=day.weekday())
    rows = list_sessions(conn, patient_id)
    return [
        s for s in rows
        if monday <= s.started_local.date() < monday + timedelta(days=7)
        and (protocol_name is None or s.protocol_name == protocol_name)
    ]


def ensure_protocol(conn: Connection, sha: str, name: str, text: str, now: datetime) -> None:
    P = schema.protocols
    if conn.execute(sa.select(P.c.sha256).where(P.c.sha256 == sha)).first() is None:
        conn.execute(P.insert().values(sha256=sha, name=name, yaml=text, first_seen=now))


def reap_interrupted(conn: Connection, alive: Callable[[str], bool]) -> int:
    running = conn.execute(sa.select(S.c.id, S.c.owner).where(S.c.status == "running")).all()
    dead = [sid for sid, owner in running if not alive(owner)]
    if dead:
        conn.execute(S.update().where(S.c.id.in_(dead))
                     .values(status="interrupted", end_reason="interrupted"))
    return len(dead)


def first_unfinished_step(conn: Connection, session: SessionRow) -> int:
    """The first step index >= start_step not completed or skipped in ``session``."""
    done = set(
        conn.execute(
            sa.select(ST.c.step_index).where(
                ST.c.session_id == session.id, ST.c.status.in_(DONE_STEP)
            )
        ).scalars()
    )
    i = session.start_step
    while i in done:
        i += 1
    return i


def find_resumable(conn: Connection, patient_id: str, sha: str) -> tuple[str, int] | None:
    """Only the latest session of the pair counts: a completed or aborted one ends the chain."""
    q = _select_sessions().where(S.c.patient_id == patient_id, S.c.protocol_sha256 == sha)
    last = conn.execute(q.order_by(None).order_by(S.c.started_wall.desc(), S.c.id.desc())).first()
    if last is None:
        return None
    s = _row(last)
    if s.status != "interrupted":
        return None
    step = first_unfinished_step(conn, s)
    return (s.id, step) if step < s.total_steps else None


def previous_trial(
    conn: Connection, patient_id: str, task: str, hand: str, exclude_session: str | None
) -> dict | None:
    """The score of this patient's latest scored trial of ``task`` with ``hand`` in an
    earlier session (what "2 more than last time" compares with), or None."""
    q = (
        sa.select(T.c.score_json)
        .join(S, S.c.id == T.c.session_id)
        # a running session is the current one: knowledge of results compares with earlier ones
        .where(S.c.patient_id == patient_id, T.c.task == task, T.c.hand == hand,
               S.c.status != "running")
        .order_by(T.c.wall.desc(), T.c.id.desc())
        .limit(PREVIOUS_LOOKBACK)
    )
    if exclude_session is not None:
        q = q.where(T.c.session_id != exclude_session)
    for text in conn.execute(q).scalars():
        score = json.loads(text)
        # a trial the hand was never seen in ("error") has no result to compare with
        if isinstance(score, dict) and "error" not in score:
            return score
    return None


PREVIOUS_LOOKBACK = 20  # latest trials of a task looked through for one that was scored


def load_trial(conn: Connection, session_id: str, trial_no: int):
    """(trial mapping, list[TrackedFrame]) or None when there is no such trial."""
    trial = conn.execute(
        sa.select(T).where(T.c.session_id == session_id, T.c.trial_no == trial_no)
    ).first()
    if trial is None:
        return None
    F = schema.trial_frames
    rows = conn.execute(
        sa.select(F).where(F.c.trial_id == trial.id).order_by(F.c.frame_no, F.c.hand)
    ).all()
    return dict(trial._mapping), frames_from_rows(rows)


def frames_from_rows(rows) -> list[TrackedFrame]:
    """Rebuild TrackedFrames from trial_frames rows ordered by frame_no."""
    out: list[TrackedFrame] = []
    current: list = []
    for r in rows:
        if current and current[0]._mapping["frame_no"] != r._mapping["frame_no"]:
            out.append(_frame(current))
            current = []
        current.append(r)
    if current:
        out.append(_frame(current))
    return out


def _frame(rows) -> TrackedFrame:
    rows = [r._mapping for r in rows]
    first = rows[0]
    hands = tuple(
        HandObservation(
            t=r["t"], hand=r["hand"], confidence=float(r["confidence"] or 0.0),
            image=unpack_landmarks(r["image"]), world=unpack_landmarks(r["world"]),
            frame_index=r["frame_index"],
        )
        for r in rows if r["hand"]
    )
    return TrackedFrame(t=first["t"], frame_index=first["frame_index"], hands=hands)


def pack_landmarks(a: np.ndarray | None) -> bytes | None:
    if a is None:
        return None
    return np.ascontiguousarray(a, dtype="<f4").reshape(21, 3).tobytes()


def unpack_landmarks(b: bytes | None) -> np.ndarray:
    if b is None:
        return np.full((21, 3), np.nan, dtype=np.float32)
    return np.frombuffer(b, dtype="<f4").reshape(21, 3).copy()


def trials_of_session(conn: Connection, session_id: str) -> list[dict]:
    rows = conn.execute(
        sa.select(T.c.trial_no, T.c.step_index, T.c.task, T.c.hand, T.c.frames,
                  T.c.repetitions, T.c.tracked_fraction)
        .where(T.c.session_id == session_id).order_by(T.c.trial_no)
    )
    return [dict(r._mapping) for r in rows]


def events_of_session(conn: Connection, session_id: str) -> list[dict]:
    E = schema.events
    rows = conn.execute(
        sa.select(E.c.t, E.c.wall, E.c.kind, E.c.step_index, E.c.data_json)
        .where(E.c.session_id == session_id).order_by(E.c.id)
    )
    return [
        {**{k: v for k, v in r._mapping.items() if k != "data_json"}, "data": json.loads(r.data_json)}
        for r in rows
    ]


def steps_of_session(conn: Connection, session_id: str) -> list[dict]:
    rows = conn.execute(
        sa.select(ST.c.step_index, ST.c.kind, ST.c.status, ST.c.started_t, ST.c.ended_t)
        .where(ST.c.session_id == session_id).order_by(ST.c.id)
    )
    return [dict(r._mapping) for r in rows]


def rating_keys(conn: Connection, patient_id: str | None) -> list[str]:
    """The rating keys (pain, fatigue, a custom scale's name) a patient answered, in the order
    they were first given (all patients when ``patient_id`` is None)."""
    R, S = schema.ratings, schema.sessions
    q = sa.select(R.c.key, sa.func.min(R.c.id).label("first")).group_by(R.c.key)
    if patient_id is not None:
        q = q.join(S, S.c.id == R.c.session_id).where(S.c.patient_id == patient_id)
    return [key for key, _ in sorted(conn.execute(q).all(), key=lambda row: row[1])]


# -- the export's reads (rehab.report.export turns these rows into tables) -------------------

EXPORT_SESSION_FIELDS = ("patient_id", "session_id", "started_wall", "ended_wall",
                         "session_status", "protocol_name", "protocol_sha256", "resumed_from",
                         "start_step", "total_steps", "end_reason", "end_detail_json")
EXPORT_TRIAL_FIELDS = ("session_id", "trial_no", "step_index", "step_kind", "task", "hand",
                       "repetitions", "frames", "tracked_fraction", "score_json")


def _of_patient(q: sa.Select, session_id_col: sa.ColumnElement, patient_id: str | None
                ) -> sa.Select:
    if patient_id is None:
        return q
    if session_id_col is S.c.id:
        return q.where(S.c.patient_id == patient_id)
    return q.join(S, S.c.id == session_id_col).where(S.c.patient_id == patient_id)


def export_sessions(conn: Connection, patient_id: str | None) -> list[tuple]:
    """Sessions in ``EXPORT_SESSION_FIELDS`` order, by patient and start time."""
    q = sa.select(
        S.c.patient_id, S.c.id, S.c.started_wall, S.c.ended_wall, S.c.status, S.c.protocol_name,
        S.c.protocol_sha256, S.c.resumed_from, S.c.start_step, S.c.total_steps, S.c.end_reason,
        S.c.end_detail,
    ).order_by(S.c.patient_id, S.c.started_wall, S.c.id)
    return [tuple(r) for r in conn.execute(_of_patient(q, S.c.id, patient_id))]


def export_trials(conn: Connection, patient_id: str | None) -> list[tuple]:
    """Trials in ``EXPORT_TRIAL_FIELDS`` order (with the kind of the step that made them), in
    the order they were stored."""
    kind = (sa.select(ST.c.kind)
            .where(ST.c.session_id == T.c.session_id, ST.c.step_index == T.c.step_index)
            .order_by(ST.c.id.desc()).limit(1).scalar_subquery())
    q = sa.select(T.c.id, T.c.session_id, T.c.trial_no, T.c.step_index, kind, T.c.task,
                  T.c.hand, T.c.repetitions, T.c.frames, T.c.tracked_fraction, T.c.score_json)
    # sorted here, not by ORDER BY: SQLite's sort carried each row's score text through a
    # temporary B-tree (0.24 of 0.54 s for 30,000 trials); this sorts references
    rows = sorted(conn.execute(_of_patient(q, T.c.session_id, patient_id)), key=itemgetter(0))
    return [tuple(r)[1:] for r in rows]


def export_ratings(conn: Connection, patient_id: str | None) -> list[tuple]:
    """(session_id, key, value) of every rating, in the order they were given."""
    R = schema.ratings
    q = sa.select(R.c.session_id, R.c.key, R.c.value).order_by(R.c.id)
    return [tuple(r) for r in conn.execute(_of_patient(q, R.c.session_id, patient_id))]


def steps_done_per_session(conn: Connection, patient_id: str | None) -> list[tuple]:
    """(session_id, number of distinct steps completed or skipped)."""
    q = (sa.select(ST.c.session_id, sa.func.count(sa.distinct(ST.c.step_index)))
         .where(ST.c.status.in_(DONE_STEP)).group_by(ST.c.session_id))
    return [tuple(r) for r in conn.execute(_of_patient(q, ST.c.session_id, patient_id))]


# -- session chains: a session and the interrupted fragments it resumes are one session --------
def chain_of(conn: Connection, session_id: str) -> list[SessionRow]:
    """The session ``session_id`` and every fragment it resumes (``resumed_from``), oldest first."""
    out: list[SessionRow] = []
    seen: set[str] = set()
    sid: str | None = session_id
    while sid is not None and sid not in seen:
        seen.add(sid)
        row = get_session(conn, sid)
        if row is None:
            break
        out.append(row)
        sid = row.resumed_from
    return out[::-1]


def chain_ratings(conn: Connection, session_id: str) -> list[tuple[str, int]]:
    """(key, value) of every rating of the chain ending in ``session_id``, in the order given."""
    R = schema.ratings
    pairs: list[tuple[str, int]] = []
    for s in chain_of(conn, session_id):
        rows = conn.execute(sa.select(R.c.key, R.c.value).where(R.c.session_id == s.id)
                            .order_by(R.c.t, R.c.id))
        pairs += [(str(k), int(v)) for k, v in rows]
    return pairs


def group_chains(rows: list[SessionRow]) -> list[list[SessionRow]]:
    """Sessions grouped into chains (each oldest first), ordered by their first start.

    A fragment resumed later belongs to the chain of the session it resumes; a chain counts
    once for adherence, with the outcome of its last fragment.
    """
    root: dict[str, str] = {}
    by_id = {r.id: r for r in rows}
    for r in sorted(rows, key=lambda r: (r.started_wall, r.id)):
        parent = r.resumed_from
        root[r.id] = root.get(parent, parent) if parent in by_id else r.id
    chains: dict[str, list[SessionRow]] = {}
    for r in sorted(rows, key=lambda r: (r.started_wall, r.id)):
        chains.setdefault(root[r.id], []).append(r)
    return sorted(chains.values(), key=lambda c: (c[0].started_wall, c[0].id))


def patient_events(conn: Connection, patient_id: str, kinds: tuple[str, ...]) -> list[dict]:
    """Events of these kinds in every session of the patient, oldest first (with session_id)."""
    E = schema.events
    rows = conn.execute(
        sa.select(E.c.session_id, E.c.wall, E.c.kind, E.c.step_index, E.c.data_json)
        .join(S, S.c.id == E.c.session_id)
        .where(S.c.patient_id == patient_id, E.c.kind.in_(kinds)).order_by(E.c.wall, E.c.id))
    return [{**{k: v for k, v in r._mapping.items() if k != "data_json"},
             "data": json.loads(r.data_json)} for r in rows]


DOSE_EVENT_KINDS = ("observe_started", "frame_shown", "imagery")


def dose_events(conn: Connection, patient_id: str | None = None) -> list[tuple]:
    """(session_id, step_index, kind, data) of the events the observation dose is computed from,
    in the order they happened (see ``rehab.report.dose``)."""
    E, S = schema.events, schema.sessions
    q = (sa.select(E.c.session_id, E.c.step_index, E.c.kind, E.c.data_json)
         .where(E.c.kind.in_(DOSE_EVENT_KINDS)).order_by(E.c.id))
    if patient_id is not None:
        q = q.join(S, S.c.id == E.c.session_id).where(S.c.patient_id == patient_id)
    return [(r[0], r[1], r[2], json.loads(r[3] or "{}")) for r in conn.execute(q)]
