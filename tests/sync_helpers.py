"""Helpers for the sync tests: laptop stores with sessions, laptop logins, server counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from rehab.engine.writer import Event
from rehab.store import Store, schema
from rehab.store.server import add_laptop, role_url, server_engine
from rehab.store.sync import SyncResult, sync
from rehab.testing.store_data import fake_info, hand_frames

COUNTED = ("sessions", "steps", "trials", "ratings", "events", "trial_frames")


def record_session(store: Store, patient: str = "P001", trials: int = 2, end: str | None =
                   "completed", frames: int = 12, resumed_from: str | None = None) -> str:
    w = store.writer()
    sid = w.begin(fake_info(patient, resumed_from=resumed_from))
    w.rating(0, "pain", 3, 0.0)
    w.step(0, "rate", "completed", 0.0, 1.0)
    for i in range(1, trials + 1):
        score = {"task": "open_close", "hand": "left", "frames": frames, "tracked_fraction": 0.9,
                 "repetitions": 3 + i}
        w.trial(i, "open_close", "left", score, hand_frames(frames, "left", dropped_every=5))
        w.step(i, "execute", "completed", float(i), i + 0.5)
        w.event(Event(t=i + 0.6, kind="trial_scored", step_index=i, data={"n": i}))
    if end:
        w.rating(3, "pain", 4, 9.0)
        w.end(end)
    else:
        w.close()
    return sid


def counts(engine: sa.Engine, patient: str | None = None) -> dict[str, int]:
    """Row counts of every session table (of one patient's sessions when given)."""
    out = {}
    with engine.connect() as conn:
        ids = sa.select(schema.sessions.c.id)
        if patient:
            ids = ids.where(schema.sessions.c.patient_id == patient)
        for name in COUNTED:
            t = schema.metadata.tables[name]
            q = sa.select(sa.func.count()).select_from(t)
            if name == "sessions":
                q = q.where(t.c.id.in_(ids))
            elif name == "trial_frames":
                q = q.where(t.c.trial_id.in_(sa.select(schema.trials.c.id)
                                             .where(schema.trials.c.session_id.in_(ids))))
            else:
                q = q.where(t.c.session_id.in_(ids))
            out[name] = int(conn.execute(q).scalar())
    return out


def session_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(schema.sessions.c.id)).scalars())


@dataclass
class Laptop:
    store: Store
    url: str
    password: str
    patient: str

    def engine(self) -> sa.Engine:
        return server_engine(self.url, self.password)

    def sync(self, **kw) -> SyncResult:
        e = self.engine()
        try:
            return sync(self.store, e, self.url, self.password, **kw)
        finally:
            e.dispose()


def make_laptop(clinic, tmp_path, patient: str = "P001", affected: str = "left") -> Laptop:
    admin = clinic.admin_engine()
    role, password = add_laptop(admin, patient, affected)
    admin.dispose()
    store = Store(tmp_path / f"laptop-{patient}")
    store.add_patient(patient, affected)
    return Laptop(store, role_url(clinic.admin_url, role), password, patient)


def shift_clock(store: Store, sid: str, delta: timedelta) -> None:
    """Pretend the laptop's clock was off by ``delta`` when it recorded session ``sid``."""
    S = schema.sessions
    with store.engine.begin() as conn:
        row = conn.execute(sa.select(S.c.started_wall, S.c.ended_wall).where(S.c.id == sid)).one()
        conn.execute(S.update().where(S.c.id == sid).values(
            started_wall=row.started_wall + delta,
            ended_wall=None if row.ended_wall is None else row.ended_wall + delta))
