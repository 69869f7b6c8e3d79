"""``rehab sync``: push a laptop's sessions to the clinic server whole, pull its assignments.

What the server lacks is decided by comparing fingerprints, never clocks: a session's
fingerprint is a hash of its row and of how many steps, trials, ratings and events it has. The
server stores the fingerprint of what it holds (in the same transaction as the rows), so a
session is pushed when it is missing there or has changed since (an interrupted session that
was later marked, a newer laptop schema column...). Each session goes in one server
transaction: a cut connection leaves it absent or whole, and the next sync continues with the
sessions still pending. Child rows carry their laptop id (``src_id``) or trial number, so a
re-pushed session adds only missing rows (``ON CONFLICT DO NOTHING``): nothing is duplicated.
The server stamps ``received_at`` with its own clock, so a laptop with a wrong clock reorders
nothing. Sessions still running are left for the next sync. Nothing here changes the laptop's
SQLite schema; pulled assignments are matched by their content.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rehab import paths
from rehab.errors import StoreError
from rehab.store import schema
from rehab.store.db import Store, utcnow
from rehab.store.secure import ensure_private_dir, open_private
from rehab.store.server import check_versions, server_error
from rehab.store.server_schema import SERVER_TABLES

S, ST, T, R, E, F = (schema.sessions, schema.steps, schema.trials, schema.ratings,
                     schema.events, schema.trial_frames)
CHILDREN = (ST, R, E)  # rows keyed on the server by (session_id, src_id)
SERVER = SERVER_TABLES.tables
ROWS_PER_INSERT = 4000  # trial_frames has 8 columns: stay well under 65535 parameters
Progress = Callable[[int, int], None]


@dataclass
class SyncResult:
    patient_id: str
    pushed: int = 0
    updated: int = 0
    up_to_date: int = 0
    running: int = 0
    other_patients: int = 0
    assignments: int = 0
    seconds: float = 0.0
    pushed_ids: list[str] = field(default_factory=list)

    def summary(self, where: str) -> str:
        parts = [f"synced {self.patient_id} with {where}: pushed {self.pushed} new session"
                 f"{'' if self.pushed == 1 else 's'}"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        parts.append(f"{self.up_to_date} already there")
        if self.running:
            parts.append(f"{self.running} still running (next sync)")
        if self.other_patients:
            parts.append(f"{self.other_patients} of other patients not sent")
        parts.append(f"pulled {self.assignments} new assignment"
                     f"{'' if self.assignments == 1 else 's'} in {self.seconds:.1f} s")
        return ", ".join(parts)


# -- the laptop side --------------------------------------------------------------------------------
def fingerprints(conn: sa.Connection, patient_id: str | None = None) -> dict[str, str]:
    """session id -> fingerprint of its row and child-row counts (laptop or server alike)."""
    counts: dict[str, list[int]] = {}
    for i, table in enumerate((ST, T, R, E)):
        q = sa.select(table.c.session_id, sa.func.count()).group_by(table.c.session_id)
        for sid, n in conn.execute(q):
            counts.setdefault(sid, [0, 0, 0, 0])[i] = int(n)
    q = sa.select(*S.c)
    if patient_id is not None:
        q = q.where(S.c.patient_id == patient_id)
    out = {}
    for row in conn.execute(q):
        m = row._mapping
        text = json.dumps([str(m[c.name]) for c in S.c] + counts.get(m["id"], [0, 0, 0, 0]))
        out[m["id"]] = hashlib.sha1(text.encode()).hexdigest()
    return out


def _rows(conn: sa.Connection, table: sa.Table, where) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(where))]


def read_bundle(conn: sa.Connection, sid: str) -> dict:
    """Everything of one laptop session: session, protocol, steps, trials, frames, ratings, events."""
    session = _rows(conn, S, S.c.id == sid)[0]
    P = schema.protocols
    bundle = {"session": session,
              "protocol": _rows(conn, P, P.c.sha256 == session["protocol_sha256"])}
    for table in CHILDREN:
        rows = _rows(conn, table, table.c.session_id == sid)
        bundle[table.name] = [{**{k: v for k, v in r.items() if k != "id"}, "src_id": r["id"]}
                              for r in sorted(rows, key=lambda r: r["id"])]
    trials = sorted(_rows(conn, T, T.c.session_id == sid), key=lambda r: r["trial_no"])
    bundle["trials"] = trials
    ids = [t["id"] for t in trials]
    bundle["frames"] = _rows(conn, F, F.c.trial_id.in_(ids)) if ids else []
    return bundle


# -- the server side --------------------------------------------------------------------------------
def _chunks(rows: list[dict]) -> Iterator[list[dict]]:
    for i in range(0, len(rows), ROWS_PER_INSERT):
        yield rows[i:i + ROWS_PER_INSERT]


def write_bundle(conn: sa.Connection, bundle: dict, fingerprint: str) -> None:
    """Insert (or complete) one session on the server, inside the caller's transaction."""
    for p in bundle["protocol"]:
        conn.execute(pg_insert(schema.protocols).values(**p).on_conflict_do_nothing())
    row = dict(bundle["session"], fingerprint=fingerprint)
    stmt = pg_insert(SERVER["sessions"]).values(**row)
    mutable = {c.name: stmt.excluded[c.name] for c in S.c if c.name not in ("id", "patient_id")}
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[S.c.id],
        set_={**mutable, "fingerprint": fingerprint, "updated_at": sa.text("now() AT TIME ZONE 'utc'")},
    ))
    # executemany (psycopg pipelines it; SQLAlchemy compiles the statement once)
    for table in CHILDREN:
        if bundle[table.name]:
            conn.execute(pg_insert(SERVER[table.name])
                         .on_conflict_do_nothing(index_elements=["session_id", "src_id"]),
                         bundle[table.name])
    trials = bundle["trials"]
    if not trials:
        return
    by_no = {t["trial_no"]: t["id"] for t in trials}
    values = [{k: v for k, v in t.items() if k != "id"} for t in trials]
    new = conn.execute(pg_insert(T)
                       .on_conflict_do_nothing(index_elements=["session_id", "trial_no"])
                       .returning(T.c.id, T.c.trial_no), values).all()
    server_id = {by_no[no]: tid for tid, no in new}  # laptop trial id -> server trial id
    frames = [dict(f, trial_id=server_id[f["trial_id"]]) for f in bundle["frames"]
              if f["trial_id"] in server_id]
    for chunk in _chunks(frames):
        conn.execute(F.insert(), chunk)


def _push_order(pending: list[str], started: dict[str, object], parent: dict[str, str | None]
                ) -> list[str]:
    """Oldest first, and a resumed session never before the one it resumed (foreign key)."""
    todo = set(pending)
    out: list[str] = []
    for sid in sorted(pending, key=lambda s: (str(started[s]), s)):
        chain = []
        cur: str | None = sid
        while cur in todo:
            chain.append(cur)
            todo.discard(cur)
            cur = parent.get(cur)
        out.extend(reversed(chain))
    return out


@dataclass
class Syncer:
    """Syncs one laptop Store with a server engine whose role is this laptop's."""

    store: Store
    server: sa.Engine
    url: str
    password: str | None = None
    progress: Progress | None = None
    retries: int = 2
    retry_wait_s: float = 1.0

    def run(self) -> SyncResult:
        t0 = time.monotonic()
        self._sent = self._total = 0
        try:
            with self.server.connect() as sconn:
                check_versions(sconn, self.url)
                patient_id = sconn.execute(sa.text("SELECT rehab_laptop_patient()")).scalar()
                if patient_id is None:
                    raise StoreError(f"{self.url}: this login is not a home laptop's",
                                     hint="use the credentials rehab server add-laptop printed")
                remote = dict(sconn.execute(sa.select(S.c.id, sa.text("fingerprint"))
                                            .select_from(S)).all())
            result = SyncResult(str(patient_id))
            self._push(result, remote)
            result.assignments = self._pull(result.patient_id)
            result.seconds = time.monotonic() - t0
            self._stamp(result)
        except sa.exc.DBAPIError as exc:
            err = server_error(self.url, exc, self.password)
            if self._total:
                err.message += (f" (after sending {self._sent} of {self._total} sessions; the "
                                "next rehab sync sends the rest)")
            raise err from exc
        return result

    def _push(self, result: SyncResult, remote: dict[str, str]) -> None:
        with self.store.engine.connect() as lconn:
            local = fingerprints(lconn)
            meta = {r.id: r for r in lconn.execute(
                sa.select(S.c.id, S.c.patient_id, S.c.status, S.c.started_wall, S.c.resumed_from))}
        pending = []
        for sid, fp in local.items():
            m = meta[sid]
            if m.patient_id != result.patient_id:
                result.other_patients += 1
            elif m.status == "running":
                result.running += 1
            elif remote.get(sid) == fp:
                result.up_to_date += 1
            else:
                pending.append(sid)
        order = _push_order(pending, {s: meta[s].started_wall for s in pending},
                            {s: meta[s].resumed_from for s in pending})
        self._total = len(order)
        for i, sid in enumerate(order):
            with self.store.engine.connect() as lconn:
                bundle = read_bundle(lconn, sid)
            self._send(bundle, local[sid])
            self._sent = i + 1
            if sid in remote:
                result.updated += 1
            else:
                result.pushed += 1
            result.pushed_ids.append(sid)
            if self.progress:
                self.progress(i + 1, len(order))

    def _send(self, bundle: dict, fingerprint: str) -> None:
        """One server transaction; a lost connection is retried ``retries`` times (bounded).
        Re-sending after a commit whose reply was lost adds nothing (ON CONFLICT)."""
        for attempt in range(self.retries + 1):
            try:
                with self.server.begin() as sconn:
                    write_bundle(sconn, bundle, fingerprint)
                return
            except (sa.exc.OperationalError, sa.exc.InterfaceError):
                if attempt == self.retries:
                    raise
                self.server.dispose()
                time.sleep(self.retry_wait_s * (attempt + 1))

    def _pull(self, patient_id: str) -> int:
        """The patient's record and the clinic's assignments (with protocol snapshots)."""
        A, P = schema.assignments, schema.protocols
        with self.server.connect() as sconn:
            patient = sconn.execute(sa.select(schema.patients).where(
                schema.patients.c.id == patient_id)).first()
            rows = sconn.execute(sa.select(A).order_by(A.c.id)).all()
            protos = {p.sha256: p for p in sconn.execute(sa.select(P))}
        pulled = 0
        with self.store.engine.begin() as lconn:
            if patient is not None:
                _upsert_patient(lconn, patient._mapping)
            for a in rows:
                m = {k: v for k, v in a._mapping.items() if k != "id"}
                key = [A.c[k] == m[k] for k in ("patient_id", "protocol_sha256", "per_week",
                                                "from_date", "created")]
                if lconn.execute(sa.select(A.c.id).where(*key)).first() is not None:
                    continue
                proto = protos.get(m["protocol_sha256"])
                if proto is not None:
                    lconn.execute(_insert_or_ignore(P, dict(proto._mapping)))
                    m["protocol_path"] = str(local_protocol_path(
                        self.store.data_dir, m["protocol_path"], proto.name, proto.yaml,
                        proto.sha256))
                lconn.execute(A.insert().values(**m))
                pulled += 1
        return pulled

    def _stamp(self, result: SyncResult) -> None:
        with self.server.begin() as sconn:
            sconn.execute(sa.text(
                "UPDATE rehab_laptops SET last_sync = now() AT TIME ZONE 'utc', "
                "last_sync_summary = :s WHERE role = current_user"),
                {"s": result.summary("the clinic")})


def _insert_or_ignore(table: sa.Table, row: dict):
    """INSERT that keeps an existing row (SQLite ``INSERT OR IGNORE``) on the laptop."""
    return table.insert().prefix_with("OR IGNORE").values(**row)


def _upsert_patient(conn: sa.Connection, m) -> None:
    Pt = schema.patients
    values = {c.name: m[c.name] for c in Pt.c}
    if conn.execute(sa.select(Pt.c.id).where(Pt.c.id == m["id"])).first() is None:
        conn.execute(Pt.insert().values(**values))
    else:
        conn.execute(Pt.update().where(Pt.c.id == m["id"]).values(
            affected_side=m["affected_side"], notes=m["notes"], consent_video=m["consent_video"]))


def local_protocol_path(data_dir: Path, clinic_path: str, name: str, text: str, sha: str) -> Path:
    """Where this laptop finds an assigned protocol: the clinic's path or a shipped protocol
    when its bytes match, else the snapshot written to ``DATA/protocols`` (whose clips come
    from the shipped clip library)."""
    for cand in (Path(clinic_path), *sorted(paths.shipped_protocols_dir().glob("*.yaml"))):
        try:
            if cand.is_file() and hashlib.sha256(cand.read_bytes()).hexdigest() == sha:
                return cand
        except OSError:
            continue
    folder = ensure_private_dir(Path(data_dir) / "protocols")
    videos = Path(data_dir) / "videos"
    if not videos.exists() and paths.shipped_videos_dir().is_dir():
        videos.symlink_to(paths.shipped_videos_dir(), target_is_directory=True)
    target = folder / f"{Path(clinic_path).stem or 'protocol'}-{sha[:12]}.yaml"
    with open_private(target, "wb") as fh:
        fh.write(text.encode("utf-8"))
    return target


def sync(store: Store, server: sa.Engine, url: str, password: str | None = None,
         progress: Progress | None = None, retries: int = 2) -> SyncResult:
    """Push every session the server lacks, pull assignments; see the module docstring."""
    return Syncer(store, server, url, password, progress, retries).run()


__all__ = ["SyncResult", "fingerprints", "read_bundle", "sync", "utcnow", "write_bundle"]
