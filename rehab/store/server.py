"""Connecting to the clinic's PostgreSQL server: URLs, passwords, ServerStore and its roles.

Passwords never travel in a URL we print or in a process's arguments. A password comes from,
in order: the URL itself (accepted, never shown), ``REHAB_SERVER_PASSWORD``, the owner-only
credentials file ``server-password`` in the data folder (``rehab config set password``), or
libpq's own ``PGPASSWORD`` / ``~/.pgpass``. Every URL we show goes through ``redact``.

TLS: add ``?sslmode=require`` (encrypted) or ``?sslmode=verify-full&sslrootcert=ca.pem``
(encrypted and the server's certificate checked) to the URL; libpq does the rest.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from pathlib import Path

import sqlalchemy as sa

from rehab import paths
from rehab.errors import StoreError
from rehab.store import migrations
from rehab.store.db import Store
from rehab.store.secure import ensure_private_dir, open_private
from rehab.store.server_schema import (
    DEFAULT_SITE,
    SERVER_LATEST,
    group_roles,
    q,
    server_version,
)

CONFIG_NAME = "config.json"
PASSWORD_NAME = "server-password"
CONNECT_TIMEOUT_S = 10
PASSWORD_ENV = "REHAB_SERVER_PASSWORD"
SERVER_ENV = "REHAB_SERVER"


# -- URLs and secrets -----------------------------------------------------------------------------
def parse_url(url: str) -> sa.URL:
    """A ``postgresql+psycopg`` URL from what a person typed (postgres://, postgresql://...)."""
    try:
        u = sa.make_url(url.strip())
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a server URL: {redact(url)!r}",
                         hint="use postgresql://USER@HOST:PORT/DATABASE") from exc
    if u.get_backend_name() not in ("postgresql", "postgres"):
        raise StoreError(f"the clinic server must be PostgreSQL, not {u.get_backend_name()!r}",
                         hint="use postgresql://USER@HOST:PORT/DATABASE")
    return u.set(drivername="postgresql+psycopg")


def redact(url: str | sa.URL) -> str:
    """The URL with any password replaced by ***, safe to print or log."""
    try:
        u = url if isinstance(url, sa.URL) else sa.make_url(str(url))
        return u.set(drivername=u.get_backend_name()).render_as_string(hide_password=True)
    except Exception:  # unparseable: strip anything between ':' and '@' after the scheme
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", str(url))


def scrub(text: str, *secrets_: str | None) -> str:
    """``text`` with every given secret replaced by ***."""
    for s in secrets_:
        if s:
            text = text.replace(s, "***")
    return text


def password_file(data_dir: Path | None) -> Path:
    return paths.data_dir(data_dir) / PASSWORD_NAME


def read_password(data_dir: Path | None) -> str | None:
    """The laptop's server password from the environment or its owner-only credentials file."""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    path = password_file(data_dir)
    if not path.is_file():
        return None
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise StoreError(f"{path} can be read by other users",
                         hint=f"chmod 600 {path} (it holds the clinic server password)")
    return path.read_text().strip() or None


def write_password(data_dir: Path | None, password: str) -> Path:
    ensure_private_dir(paths.data_dir(data_dir))
    path = password_file(data_dir)
    with open_private(path) as fh:
        fh.write(password.strip() + "\n")
    return path


def load_config(data_dir: Path | None) -> dict:
    path = paths.data_dir(data_dir) / CONFIG_NAME
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}", hint=f"fix or delete {path}") from exc


def save_config(data_dir: Path | None, config: dict) -> Path:
    ensure_private_dir(paths.data_dir(data_dir))
    path = paths.data_dir(data_dir) / CONFIG_NAME
    with open_private(path) as fh:
        json.dump(config, fh, indent=2)
    return path


def configured_server(data_dir: Path | None) -> str | None:
    return load_config(data_dir).get("server")


# -- engines ------------------------------------------------------------------------------------
def server_engine(url: str, password: str | None = None, **engine_kw) -> sa.Engine:
    """An engine on the server; the password goes to the driver, never into the URL string."""
    u = parse_url(url)
    try:
        import psycopg  # noqa: F401  (the optional [server] extra)
    except ImportError as exc:
        raise StoreError("talking to the clinic server needs the psycopg package",
                         hint="pip install 'rehab[server]'  (or: pip install 'psycopg[binary]')"
                         ) from exc
    args: dict = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "rehab"}
    pw = u.password or password or os.environ.get(PASSWORD_ENV)
    if pw:
        args["password"] = pw
    return sa.create_engine(u.set(password=None), connect_args=args, pool_pre_ping=True,
                            hide_parameters=True, **engine_kw)


def server_error(url: str | sa.URL, exc: BaseException, password: str | None = None) -> StoreError:
    """A StoreError for a failed server operation: redacted URL, first line of the cause."""
    orig = getattr(exc, "orig", None) or exc
    first = scrub(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__,
                  password)
    text = first.lower()
    if "row-level security" in text or "permission denied" in text:
        hint = "these credentials may not do that (each laptop may only touch its own patient)"
    elif "password authentication failed" in text or "no password supplied" in text:
        hint = "check the password: rehab config set password (or REHAB_SERVER_PASSWORD)"
    elif "connection" in text or "timeout" in text or "terminat" in text or "closed" in text:
        hint = "check the network and that the server is running, then run the command again"
    else:
        hint = "ask the clinic's server admin"
    return StoreError(f"clinic server {redact(url)}: {first}", hint=hint)


def check_versions(conn: sa.Connection, url: str | sa.URL) -> tuple[int, int]:
    """(server version, laptop schema) or StoreError naming both versions when they differ."""
    found = server_version(conn)
    if found is None:
        raise StoreError(f"{redact(url)} is not a rehab clinic server (no rehab tables)",
                         hint="the admin creates them with: rehab server init --server URL")
    version, laptop = found
    if version > SERVER_LATEST:
        raise StoreError(
            f"the clinic server is at server schema version {version}; this rehab knows "
            f"versions up to {SERVER_LATEST}", hint="upgrade rehab here (pip install -U rehab)")
    if version < SERVER_LATEST:
        raise StoreError(
            f"the clinic server is at server schema version {version}; this rehab needs "
            f"{SERVER_LATEST}", hint="the admin upgrades it with: rehab server init")
    if laptop > migrations.LATEST:
        raise StoreError(
            f"this laptop's store is at schema version {migrations.LATEST} but the clinic server "
            f"stores schema version {laptop}: nothing was sent",
            hint="upgrade rehab on this laptop (pip install -U rehab), then run rehab sync again")
    if laptop < migrations.LATEST:
        raise StoreError(
            f"the clinic server stores schema version {laptop} but this laptop's store is at "
            f"version {migrations.LATEST}: nothing was sent",
            hint="ask the clinic admin to upgrade the server (rehab server init), then sync")
    return version, laptop


class ServerStore(Store):
    """The Store API on the clinic server (clinician commands with ``--server``).

    Reads and assignments go through the same code as on a laptop; what a role may see is
    decided by the server's row-level security. Sessions are recorded on laptops, never here.
    """

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = parse_url(url)
        self.shown = redact(self.url)
        self.data_dir = Path(".")
        self.db_path = self.shown  # type: ignore[assignment]  # named in messages
        self.password = password
        self.engine = server_engine(url, password)
        # any later database error becomes a StoreError naming the (redacted) server
        sa.event.listen(self.engine, "handle_error", self._as_store_error)
        try:
            with self.engine.connect() as conn:
                check_versions(conn, self.url)
        except sa.exc.DBAPIError as exc:  # a failed connect does not pass handle_error
            self.engine.dispose()
            raise server_error(self.url, exc, password) from exc
        except StoreError:
            self.engine.dispose()
            raise

    def _as_store_error(self, ctx) -> StoreError:
        return server_error(self.url, ctx.original_exception, self.password)

    def _reap_interrupted(self) -> int:  # a laptop's processes cannot be checked from here
        return 0

    def check_writable(self, min_free_mb: float = 0) -> None:
        raise StoreError("sessions are recorded on the patient's laptop, not on the server",
                         hint="run the session on the laptop; rehab sync sends it here")

    def writer(self):
        self.check_writable()


# -- roles (admin) --------------------------------------------------------------------------------
def database_name(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_database()")).scalar())


def laptop_role(database: str, patient_id: str) -> str:
    name = f"{database}_l_{patient_id}"
    if len(name) > 63:
        name = name[:50] + "_" + secrets.token_hex(6)
    return name


def _create_login(conn: sa.Connection, role: str, group: str) -> str:
    """A LOGIN role in ``group`` with a fresh random password; the server only ever sees its
    SCRAM verifier (computed here by libpq), so no log of the statement can leak it."""
    password = secrets.token_urlsafe(24)
    raw = conn.connection.dbapi_connection
    verifier = raw.pgconn.encrypt_password(password.encode(), role.encode(),  # type: ignore
                                           b"scram-sha-256").decode()
    conn.exec_driver_sql(f"CREATE ROLE {q(role)} LOGIN IN ROLE {q(group)} PASSWORD "
                         f"'{verifier}'")
    return password


def add_laptop(engine: sa.Engine, patient_id: str, affected_side: str | None,
               site: str = DEFAULT_SITE) -> tuple[str, str]:
    """(role, password) of a new laptop login for ``patient_id`` (created when missing)."""
    db = database_name(engine)
    laptop_group, _ = group_roles(db)
    role = laptop_role(db, patient_id)
    with engine.begin() as conn:
        have = conn.execute(sa.text("SELECT site FROM patients WHERE id = :p"), {"p": patient_id})
        if have.first() is None:
            if affected_side is None:
                raise StoreError(f"no patient {patient_id!r} on the server",
                                 hint="give --affected left|right to register them too")
            conn.execute(sa.text(
                "INSERT INTO patients (id, affected_side, notes, consent_video, created, site) "
                "VALUES (:p, :a, '', false, now() AT TIME ZONE 'utc', :s)"),
                {"p": patient_id, "a": affected_side, "s": site})
        if conn.execute(sa.text("SELECT 1 FROM rehab_laptops WHERE patient_id = :p"),
                        {"p": patient_id}).first():
            raise StoreError(f"patient {patient_id} already has a laptop login",
                             hint="rehab server remove-laptop first to replace it")
        password = _create_login(conn, role, laptop_group)
        conn.execute(sa.text("INSERT INTO rehab_laptops (role, patient_id) VALUES (:r, :p)"),
                     {"r": role, "p": patient_id})
    return role, password


def remove_laptop(engine: sa.Engine, patient_id: str) -> str:
    """Drop a laptop's login (its sessions stay on the server)."""
    with engine.begin() as conn:
        role = conn.execute(sa.text("SELECT role FROM rehab_laptops WHERE patient_id = :p"),
                            {"p": patient_id}).scalar()
        if role is None:
            raise StoreError(f"patient {patient_id} has no laptop login")
        conn.execute(sa.text("DELETE FROM rehab_laptops WHERE role = :r"), {"r": role})
        conn.exec_driver_sql(f"DROP ROLE {q(role)}")
    return str(role)


def add_clinician(engine: sa.Engine, name: str, site: str = DEFAULT_SITE) -> tuple[str, str]:
    """(role, password) of a clinician login that reads and assigns for ``site``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
        raise StoreError(f"invalid clinician name {name!r}",
                         hint="lower-case letters, digits and _ (e.g. dr_smith)")
    db = database_name(engine)
    _, clinician_group = group_roles(db)
    role = f"{db}_c_{name}"
    with engine.begin() as conn:
        password = _create_login(conn, role, clinician_group)
        conn.execute(sa.text("INSERT INTO rehab_clinicians (role, site) VALUES (:r, :s)"),
                     {"r": role, "s": site})
    return role, password


def role_url(admin_url: str | sa.URL, role: str) -> str:
    """The admin's server URL with another user and no password (what a laptop configures)."""
    u = parse_url(str(admin_url)) if not isinstance(admin_url, sa.URL) else admin_url
    return redact(u.set(username=role, password=None))
