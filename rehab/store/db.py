"""The Store facade: opens the database safely and owns patients, protocols and assignments.

Durability (why these pragmas): ``journal_mode=WAL`` lets a clinician read (``rehab review``)
while a session writes, and a commit only appends to the -wal file. ``synchronous=FULL`` makes
SQLite fsync the WAL at every commit, so a commit survives not only ``kill -9`` (which NORMAL
already survives: the data is in the OS cache) but also power loss and an OS crash (which NORMAL
may roll back to the last fsync; the database stays consistent either way). FULL is the default
for every connection; the session writer relaxes it for high-rate display events only (see
``rehab.store.writer``). ``foreign_keys=ON`` keeps orphan rows out.

A session whose writing process is gone is marked ``interrupted`` each time a Store opens (see
``_reap_interrupted``): its row says which host/pid/process-start owned it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy import event as sa_event

from rehab import paths
from rehab.errors import StoreError
from rehab.store import queries, schema
from rehab.store.faults import (
    disk_full,
    foreign_tables,
    read_only_folder,
    recover_hint,
    store_error,
)
from rehab.store.migrations import migrate
from rehab.store.secure import FILE_MODE, ensure_private_dir, make_private, owner_only_umask

DB_NAME = "rehab.db"
MIN_FREE_MB = 200  # a session with per-frame landmarks needs a few MB; keep a wide margin
PATIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SIDES = ("left", "right")


def utcnow() -> datetime:
    """Naive UTC now (the store's wall-clock convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Patient:
    id: str
    affected_side: str
    notes: str
    consent_video: bool
    created: datetime


@dataclass(frozen=True)
class Assignment:
    patient_id: str
    protocol_name: str
    protocol_sha256: str
    protocol_path: str
    per_week: int
    from_date: date


def _set_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")  # wait for a concurrent writer instead of failing
    cur.close()


class Store:
    """The session store in ``data_dir`` (default ``rehab.paths.data_dir()``).

    Example:
        >>> store = Store("/tmp/rehab-data")
        >>> store.add_patient("P001", "left")
        >>> w = store.writer(); sid = w.begin(info)  # doctest: +SKIP
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, read_only_ok: bool = False) -> None:
        """``read_only_ok``: for commands that only read (list, sessions, export, review,
        replay) - when the folder is read-only or its disk full, open the database read-only
        instead of refusing."""
        folder = paths.data_dir(data_dir)
        if read_only_ok and disk_full(folder) and (folder / DB_NAME).is_file():
            self._open_read_only(folder)  # even reading a WAL database writes its -shm index
            return
        try:
            self._open(data_dir)
        except StoreError as exc:
            unwritable = "read-only" in exc.message or "full disk" in exc.message
            if not (read_only_ok and unwritable and (folder / DB_NAME).is_file()):
                raise
            self._open_read_only(folder)

    def _open_read_only(self, folder: Path) -> None:
        self.data_dir, self.db_path = folder, folder / DB_NAME
        wal = Path(f"{self.db_path}-wal")
        pending = wal.is_file() and wal.stat().st_size > 0
        # immutable: SQLite then needs no -shm file (which it cannot make here); only safe
        # when no write-ahead log holds changes not yet in the database file
        immutable = not pending and (read_only_folder(folder) or disk_full(folder))
        extra = "&immutable=1" if immutable else ""
        self.engine = sa.create_engine(f"sqlite:///file:{self.db_path}?mode=ro{extra}&uri=true")

    def _open(self, data_dir: str | os.PathLike | None) -> None:
        self.data_dir = ensure_private_dir(paths.data_dir(data_dir))
        self.db_path = self.data_dir / DB_NAME
        foreign = foreign_tables(self.db_path)
        if foreign is not None:
            raise StoreError(
                f"{self.db_path} is an SQLite database of another program "
                f"(tables {', '.join(foreign[:5])}); rehab does not add its tables to it",
                hint="choose another folder with --data DIR, or move that file away",
            )
        self._create_db_file()
        # check_same_thread off: a writer's connection is guarded by its own lock instead
        self.engine = sa.create_engine(f"sqlite:///{self.db_path}",
                                       connect_args={"check_same_thread": False})
        sa_event.listen(self.engine, "connect", _set_pragmas)
        try:
            with owner_only_umask():
                migrate(self.engine)
                self._reap_interrupted()
        except sa.exc.DBAPIError as exc:  # OperationalError, or DatabaseError for a damaged file
            self.engine.dispose()
            raise _store_error(self.db_path, exc) from exc
        for suffix in ("", "-wal", "-shm"):
            make_private(Path(f"{self.db_path}{suffix}"))

    def _create_db_file(self) -> None:
        if self.db_path.exists():
            make_private(self.db_path)
            return
        try:
            fd = os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise _store_error(self.db_path, exc) from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- health ---------------------------------------------------------------------------------
    def check_writable(self, min_free_mb: float = MIN_FREE_MB) -> None:
        """Raise StoreError (naming the path and what to do) unless a session can be recorded.

        Call it before the first screen: it checks free space and makes a real test write both
        to the folder and to the database.
        """
        free_mb = shutil.disk_usage(self.data_dir).free / 1e6
        if free_mb < min_free_mb:
            raise StoreError(
                f"the disk holding {self.data_dir} has only {free_mb:.0f} MB free "
                f"(a session needs at least {min_free_mb:.0f} MB)",
                hint="free some disk space or choose another folder with --data DIR",
            )
        self._check_intact()
        probe = self.data_dir / f".write-test-{os.getpid()}"
        try:
            with owner_only_umask(), open(probe, "wb") as fh:
                fh.write(b"rehab")
                fh.flush()
                os.fsync(fh.fileno())
            probe.unlink()
            with self.engine.begin() as conn:
                conn.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS _probe (x INTEGER)"))
                conn.execute(schema.schema_version.update().where(sa.false()).values(version=0))
        except (OSError, sa.exc.OperationalError) as exc:
            with contextlib.suppress(OSError):
                probe.unlink()
            raise _store_error(self.data_dir, exc) from exc

    def _check_intact(self) -> None:
        """Refuse to record into damaged session or trial tables: a new trial's row would be
        written into a b-tree SQLite cannot read back (lost to a UNIQUE or FOREIGN KEY failure
        at its first frame). Checks only those small tables, so it takes milliseconds."""
        problems: list[str] = []
        try:
            with self.engine.connect() as conn:
                for table in ("sessions", "trials"):
                    rows = conn.exec_driver_sql(f"PRAGMA quick_check({table})").fetchall()
                    problems += [str(r[0]) for r in rows if str(r[0]) != "ok"]
        except sa.exc.DatabaseError as exc:
            raise _store_error(self.db_path, exc) from exc
        if problems:
            first = problems[0].splitlines()[0]
            raise StoreError(f"the session store {self.data_dir} is damaged ({first})",
                             hint=recover_hint(self.db_path))

    # -- patients -------------------------------------------------------------------------------
    def add_patient(
        self, patient_id: str, affected_side: str, notes: str = "", consent_video: bool = False
    ) -> Patient:
        """Register a patient under a pseudonymous id (no names: letters, digits, - _ .)."""
        if not PATIENT_ID_RE.fullmatch(patient_id or ""):  # match's $ allows a trailing \n
            raise StoreError(
                f"invalid patient id {patient_id!r}",
                hint="use a pseudonymous code of letters, digits, '-', '_' or '.' (e.g. P001), "
                "at most 64 characters; never a name",
            )
        if affected_side not in SIDES:
            raise StoreError(f"affected side must be left or right, not {affected_side!r}")
        if self.get_patient(patient_id) is not None:
            raise StoreError(f"patient {patient_id} already exists", hint="rehab patients list")
        row = dict(
            id=patient_id,
            affected_side=affected_side,
            notes=notes,
            consent_video=bool(consent_video),
            created=utcnow(),
        )
        with self.engine.begin() as conn:
            conn.execute(schema.patients.insert().values(**row))
        return Patient(**row)

    def get_patient(self, patient_id: str) -> Patient | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                sa.select(schema.patients).where(schema.patients.c.id == patient_id)
            ).first()
        return Patient(**r._mapping) if r else None

    def require_patient(self, patient_id: str) -> Patient:
        p = self.get_patient(patient_id)
        if p is None:
            raise StoreError(
                f"no patient {patient_id!r} in {self.db_path}",
                hint=f"add them first: rehab patients add {patient_id} --affected left|right",
            )
        return p

    def list_patients(self) -> list[Patient]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.patients).order_by(schema.patients.c.id))
            return [Patient(**r._mapping) for r in rows]

    def may_store_video(self, patient_id: str, protocol_asks: bool) -> bool:
        """Raw video is kept only when the protocol asks AND the patient consented."""
        if not protocol_asks:
            return False
        p = self.get_patient(patient_id)
        return bool(p and p.consent_video)

    # -- protocols and assignments --------------------------------------------------------------
    def save_protocol(self, name: str, yaml_text: str, sha256: str | None = None) -> str:
        """Keep the exact protocol text under its hash (idempotent); returns the hash."""
        sha = sha256 or hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()
        with self.engine.begin() as conn:
            queries.ensure_protocol(conn, sha, name, yaml_text, utcnow())
        return sha

    def protocol_yaml(self, sha256: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(schema.protocols.c.yaml).where(schema.protocols.c.sha256 == sha256)
            ).scalar()

    def assign(
        self, patient_id: str, protocol_path: str | os.PathLike, per_week: int,
        from_date: date | None = None,
    ) -> Assignment:
        """Assign a protocol file to a patient, ``per_week`` sessions a week from ``from_date``."""
        self.require_patient(patient_id)
        if not 1 <= per_week <= 21:
            raise StoreError(f"--per-week must be between 1 and 21, not {per_week}")
        path = resolve_protocol_path(protocol_path)
        name, text, sha = _read_protocol_file(path)
        self.save_protocol(name, text, sha)
        a = Assignment(patient_id, name, sha, str(path.resolve()), per_week, from_date or date.today())
        with self.engine.begin() as conn:
            conn.execute(schema.assignments.insert().values(**a.__dict__, created=utcnow()))
        return a

    def assignments(self, patient_id: str) -> list[Assignment]:
        """The patient's current assignments: the latest one per protocol name."""
        latest: dict[str, Assignment] = {}
        for a in self.assignment_history(patient_id):
            latest[a.protocol_name] = a
        return list(latest.values())

    def assignment_history(self, patient_id: str) -> list[Assignment]:
        """Every assignment ever made for the patient, oldest first (for adherence over time)."""
        A = schema.assignments
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(A.c.patient_id, A.c.protocol_name, A.c.protocol_sha256, A.c.protocol_path,
                          A.c.per_week, A.c.from_date)
                .where(A.c.patient_id == patient_id).order_by(A.c.id)
            ).all()
        return [Assignment(*r) for r in rows]

    # -- sessions (queries live in queries.py) ---------------------------------------------------
    def writer(self):
        """A new SessionWriter committing every call to this store."""
        from rehab.store.writer import SqlSessionWriter

        return SqlSessionWriter(self)

    def sessions(self, patient_id: str | None = None) -> list[queries.SessionRow]:
        with self.engine.connect() as conn:
            return queries.list_sessions(conn, patient_id)

    def get_session(self, session_id: str) -> queries.SessionRow | None:
        with self.engine.connect() as conn:
            return queries.get_session(conn, session_id)

    def sessions_in_week(
        self, patient_id: str, day: date | None = None, protocol_name: str | None = None
    ) -> list[queries.SessionRow]:
        """Sessions started in the Monday-Sunday week (local time) containing ``day``."""
        with self.engine.connect() as conn:
            return queries.sessions_in_week(conn, patient_id, day or date.today(), protocol_name)

    def find_resumable(self, patient_id: str, protocol_sha256: str) -> tuple[str, int] | None:
        """(session id, first unfinished step) of the latest session of this patient and
        protocol when it was interrupted with steps left, else None."""
        self._reap_interrupted()
        with self.engine.connect() as conn:
            return queries.find_resumable(conn, patient_id, protocol_sha256)

    def chain_ratings(self, session_id: str) -> list[tuple[str, int]]:
        """(key, value) of every rating of ``session_id`` and the fragments it resumes."""
        with self.engine.connect() as conn:
            return queries.chain_ratings(conn, session_id)

    def previous_trial(
        self, patient_id: str, task: str, hand: str, exclude_session: str | None = None
    ) -> dict | None:
        """The last stored score dict for this patient, task and hand from a session that is not
        running (i.e. not the current one), or None (knowledge of results)."""
        with self.engine.connect() as conn:
            return queries.previous_trial(conn, patient_id, task, hand, exclude_session)

    def trial_frames(self, session_id: str, trial_no: int):
        """(trial row, list[TrackedFrame]) of trial ``trial_no`` (1-based) of a session."""
        with self.engine.connect() as conn:
            return queries.load_trial(conn, session_id, trial_no)

    def _reap_interrupted(self) -> int:
        """Mark running sessions whose owning process is gone as interrupted; returns how many."""
        with self.engine.begin() as conn:
            return queries.reap_interrupted(conn, owner_alive)


# -- helpers ------------------------------------------------------------------------------------
def process_owner(pid: int | None = None) -> str:
    """"host:pid:start-ticks" identifying this process (start ticks guard against pid reuse)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def _start_ticks(pid: int) -> str:
    try:
        stat_text = Path(f"/proc/{pid}/stat").read_text()
        return stat_text.rsplit(")", 1)[1].split()[19]  # field 22: starttime
    except (OSError, IndexError):
        return "?"


def owner_alive(owner: str) -> bool:
    """True when the process that wrote ``owner`` may still be running.

    A session owned by another host cannot be checked and counts as alive (left running).
    """
    try:
        host, pid_text, ticks = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return ticks == "?" or _start_ticks(pid) in (ticks, "?")


def resolve_protocol_path(protocol: str | os.PathLike) -> Path:
    """A protocol file path, or the name of a shipped protocol ("home_session")."""
    path = Path(protocol)
    shipped = paths.shipped_protocols_dir() / f"{path.name.removesuffix('.yaml')}.yaml"
    if not path.exists() and path.parent == Path(".") and shipped.is_file():
        return shipped
    return path


def _read_protocol_file(path: Path) -> tuple[str, str, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StoreError(
            f"cannot read protocol file {path}: {exc.strerror or exc}",
            hint="give the path of a protocol YAML file, e.g. protocols/home_session.yaml",
        ) from exc
    text = raw.decode("utf-8", errors="replace")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoreError(f"{path} is not valid YAML: {exc}", hint=f"rehab validate {path}") from exc
    name = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(name, str) or not name:
        raise StoreError(f"{path} has no protocol name", hint=f"rehab validate {path}")
    return name, text, hashlib.sha256(raw).hexdigest()


def _store_error(path: Path, exc: BaseException) -> StoreError:
    return store_error(path, exc)
