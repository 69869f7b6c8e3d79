"""SqlSessionWriter: the store's SessionWriter; every call is committed before it returns.

A trial and all its frames go in one transaction, so after a crash a trial is either complete
with every frame or absent - never half-written. If the process dies, the session row stays
"running" with this process as owner; the next Store to open marks it "interrupted".

Durability policy. Every call commits before returning, so a killed or crashed process loses
nothing it reported. Against power loss / OS crash a commit must also fsync the WAL
(``synchronous=FULL``), which costs ~5-10 ms here - too slow for the engine's per-frame
``frame_shown`` events (one per displayed frame, in the display loop). So this writer's own
connection commits:
- ``begin``, ``step``, ``rating``, ``trial``, ``end`` and any event more than ``SYNC_EVERY_S``
  after the last fsync with FULL (fsync now; it also makes every earlier commit durable, since
  the WAL is one sequential file);
- other events with NORMAL (in the WAL, fsynced by the next FULL commit).
Power loss can therefore cost at most the last ``SYNC_EVERY_S`` of events, never a trial, rating,
step or session state change; ``kill -9`` costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from rehab.devices.base import TrackedFrame
from rehab.engine.endings import END_REASONS
from rehab.engine.writer import Event, SessionInfo
from rehab.errors import StoreError
from rehab.store import queries, schema
from rehab.store.db import Store, _store_error, process_owner, utcnow

END_STATUSES = ("completed", "aborted", "interrupted")
SYNC_EVERY_S = 1.0
# Another program (a backup, a sync tool, sqlite3) may hold the write lock for a while: each
# attempt waits busy_timeout (10 s), and a call gives up only after this long in all.
LOCK_PATIENCE_S = 120.0
LOCK_RETRY_S = 0.2


def to_json(obj: Any) -> str:
    """JSON for scores and event data: numpy values become plain numbers, NaN becomes null."""
    return json.dumps(_plain(obj), separators=(",", ":"), allow_nan=False)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


class SqlSessionWriter:
    """Implements ``rehab.engine.writer.SessionWriter`` on a Store."""

    def __init__(self, store: Store, sync_every_s: float = SYNC_EVERY_S) -> None:
        self.store = store
        self.session_id: str | None = None
        self.sync_every_s = sync_every_s
        self.durable_commits = 0  # FULL (fsynced) commits so far
        self.commits = 0
        self._trial_no = 0
        self._ended = False
        self._conn: sa.Connection | None = None
        self._sync_mode = ""
        self._last_sync = 0.0
        self._lock = threading.Lock()  # one connection; the engine may call from two threads
        self.lock_patience_s = LOCK_PATIENCE_S
        self.lock_waits = 0  # attempts that met another program's write lock

    # -- SessionWriter ---------------------------------------------------------------------------
    def begin(self, info: SessionInfo) -> str:
        if self.session_id is not None:
            raise StoreError("this writer already began a session", hint="use store.writer() per session")
        sid = uuid.uuid4().hex[:16]
        now = utcnow()
        for attempt in self._attempts():
            with attempt as conn:
                if conn.execute(
                    sa.select(schema.patients.c.id).where(schema.patients.c.id == info.patient_id)
                ).first() is None:
                    # `rehab demo` and ad-hoc runs may use a fresh id: register it rather than lose data
                    conn.execute(schema.patients.insert().values(
                        id=info.patient_id, affected_side=info.affected_side,
                        notes="registered by its first session", consent_video=False, created=now))
                queries.ensure_protocol(conn, info.protocol_sha256, info.protocol_name,
                                        info.protocol_yaml, now)
                conn.execute(schema.sessions.insert().values(
                    id=sid, patient_id=info.patient_id, protocol_sha256=info.protocol_sha256,
                    protocol_name=info.protocol_name, protocol_path=info.protocol_path,
                    affected_side=info.affected_side, total_steps=info.total_steps,
                    started_wall=now, ended_wall=None, status="running",
                    resumed_from=info.resumed_from, start_step=info.start_step,
                    owner=process_owner()))
        self.session_id = sid
        return sid

    def event(self, event: Event) -> None:
        sid = self._live()
        due = time.monotonic() - self._last_sync >= self.sync_every_s
        for attempt in self._attempts(durable=due):
            with attempt as conn:
                conn.execute(schema.events.insert().values(
                    session_id=sid, t=float(event.t), wall=utcnow(), kind=event.kind,
                    step_index=event.step_index, data_json=to_json(event.data or {})))

    def step(self, step_index: int, kind: str, status: str, started_t: float,
             ended_t: float | None) -> None:
        sid = self._live()
        if status not in schema.STEP_STATUSES:
            raise StoreError(f"unknown step status {status!r} (one of {', '.join(schema.STEP_STATUSES)})")
        for attempt in self._attempts():
            with attempt as conn:
                conn.execute(schema.steps.insert().values(
                    session_id=sid, step_index=step_index, kind=kind, status=status,
                    started_t=float(started_t), ended_t=None if ended_t is None else float(ended_t),
                    wall=utcnow()))

    def rating(self, step_index: int, key: str, value: int, t: float) -> None:
        sid = self._live()
        for attempt in self._attempts():
            with attempt as conn:
                conn.execute(schema.ratings.insert().values(
                    session_id=sid, step_index=step_index, key=key, value=int(value), t=float(t),
                    wall=utcnow()))

    def trial(self, step_index: int, task: str, hand: str, score: dict[str, Any],
              frames: Sequence[TrackedFrame]) -> None:
        sid = self._live()
        self._trial_no += 1
        reps = score.get("repetitions")
        frac = score.get("tracked_fraction")
        for attempt in self._attempts():
            with attempt as conn:
                trial_id = _next_trial_id(conn)
                conn.execute(schema.trials.insert().values(
                    id=trial_id,
                    session_id=sid, trial_no=self._trial_no, step_index=step_index, task=task,
                    hand=hand, frames=len(frames),
                    tracked_fraction=None if frac is None else _finite(frac),
                    repetitions=None if reps is None else int(reps),
                    score_json=to_json(score), wall=utcnow()))
                rows = frame_rows(trial_id, frames)
                if rows:
                    conn.execute(schema.trial_frames.insert(), rows)

    def end(self, status: str, reason: str | None = None,
            detail: dict[str, Any] | None = None) -> None:
        """Close the session: ``reason`` (an end reason code) defaults to the status's own
        (completed / interrupted); an "interrupted" session stays resumable."""
        sid = self._live()
        if status not in END_STATUSES:
            raise StoreError(f"a session ends {', '.join(END_STATUSES)}, not {status!r}")
        reason = reason or (status if status in END_REASONS else None)
        if reason is not None and END_REASONS[reason].status != status:
            raise StoreError(f"end reason {reason!r} is stored as "
                             f"{END_REASONS[reason].status!r}, not {status!r}")
        for attempt in self._attempts():
            with attempt as conn:
                conn.execute(schema.sessions.update().where(schema.sessions.c.id == sid)
                             .values(status=status, ended_wall=utcnow(), end_reason=reason,
                                     end_detail=to_json(detail) if detail else None))
        self._ended = True
        self.close()

    def close(self) -> None:
        """Release this writer's connection (``end`` does it; safe to call twice)."""
        with self._lock:
            if self._conn is not None:
                if self._sync_mode != "FULL":  # the pooled connection goes back as FULL
                    with contextlib.suppress(sa.exc.SQLAlchemyError):
                        self._conn.exec_driver_sql("PRAGMA synchronous=FULL")
                        self._conn.commit()
                self._conn.close()
                self._conn = None
                self._sync_mode = ""

    # -- internals -------------------------------------------------------------------------------
    def _live(self) -> str:
        if self.session_id is None:
            raise StoreError("the session writer got data before begin()")
        if self._ended:
            raise StoreError(f"session {self.session_id} has already ended")
        return self.session_id

    def _attempts(self, durable: bool = True) -> Iterator[contextlib.AbstractContextManager]:
        """Transactions to try in turn until one commits (``for a in ...: with a as conn:``).

        A write lock held by another program is waited out (busy_timeout per attempt, then
        again) for up to ``lock_patience_s``, so the session goes on instead of ending.
        """
        deadline = time.monotonic() + self.lock_patience_s
        while True:
            outcome = _Outcome()
            yield self._tx(durable, outcome)
            if not outcome.locked:
                return
            self.lock_waits += 1
            if time.monotonic() >= deadline:
                raise _store_error(self.store.db_path, outcome.locked)
            time.sleep(LOCK_RETRY_S)

    @contextlib.contextmanager
    def _tx(self, durable: bool = True, outcome: _Outcome | None = None
            ) -> Iterator[sa.Connection]:
        """One committed transaction on this writer's connection, fsynced when ``durable``.

        Disk-full / read-only failures become a StoreError naming the database and what to do;
        a lock is noted in ``outcome`` (the caller tries again) when one is given.
        """
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self.store.engine.connect()
                mode = "FULL" if durable else "NORMAL"
                if mode != self._sync_mode:  # per-connection setting, outside any transaction
                    self._conn.exec_driver_sql(f"PRAGMA synchronous={mode}")
                    self._conn.commit()
                    self._sync_mode = mode
                with self._conn.begin():
                    yield self._conn
            except sa.exc.OperationalError as exc:
                if outcome is not None and "locked" in str(exc.orig).lower():
                    outcome.locked = exc
                    return
                raise _store_error(self.store.db_path, exc) from exc
            self.commits += 1
            if durable:
                self.durable_commits += 1
                self._last_sync = time.monotonic()


class _Outcome:
    locked: BaseException | None = None


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def frame_rows(trial_id: int, frames: Sequence[TrackedFrame]) -> list[dict]:
    """trial_frames rows: one per hand seen, or one empty row for a frame with no hand."""
    rows: list[dict] = []
    for n, f in enumerate(frames):
        base = dict(trial_id=trial_id, frame_no=n, t=float(f.t), frame_index=int(f.frame_index))
        if not f.hands:
            rows.append(dict(base, hand="", confidence=None, image=None, world=None))
        for h in f.hands:
            rows.append(dict(base, hand=h.hand, confidence=float(h.confidence),
                             image=queries.pack_landmarks(h.image),
                             world=queries.pack_landmarks(h.world)))
    return rows


def _next_trial_id(conn: sa.Connection) -> int:
    """One past every id in use, frames included: when a damaged page hides a trial's row,
    SQLite's own choice (max row id + 1) would reuse the id its frames still hold, and the new
    trial would be lost to a UNIQUE failure. Both maxima are one b-tree descent each."""
    frames_max = conn.execute(sa.select(sa.func.max(schema.trial_frames.c.trial_id))).scalar()
    try:
        with conn.begin_nested():
            trials_max = conn.execute(sa.select(sa.func.max(schema.trials.c.id))).scalar()
    except sa.exc.DatabaseError:  # the last page of trials is the damaged one
        trials_max = None
    return max(frames_max or 0, trials_max or 0) + 1
