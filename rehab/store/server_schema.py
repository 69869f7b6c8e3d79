"""The clinic server's PostgreSQL schema, roles and row-level security (``rehab server init``).

The server holds the laptop tables of ``rehab.store.schema`` (so every read query of
``rehab.store.queries`` and ``rehab.report`` runs unchanged on it) plus server-only columns:

- ``patients.site``: the clinic site a patient belongs to (a clinician sees one site);
- ``sessions.received_at`` / ``updated_at`` (the server's clock, never the laptop's),
  ``fingerprint`` (what the server holds of the session: status, end, row counts; ``rehab sync``
  pushes a session again when the laptop's fingerprint differs) and ``pushed_by``;
- ``src_id`` on steps, ratings and events: the row's id on its laptop, unique per session, so a
  re-pushed session adds only the rows the server lacks. Child rows get the server's own ids.

Access is enforced by the database. Roles are named after the database (roles are cluster-wide):
``<db>_laptop`` and ``<db>_clinician`` are NOLOGIN groups; ``rehab server add-laptop`` makes one
LOGIN role per home laptop, mapped to its patient in ``rehab_laptops``; ``add-clinician`` maps a
clinician's role to a site in ``rehab_clinicians``. Row-level security policies let a laptop read
only its patient's rows and insert sessions only for its patient; it has no DELETE or TRUNCATE.
A clinician reads every table for its site's patients and inserts patients and assignments there.
The admin (the tables' owner) bypasses row-level security.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rehab.store import migrations, schema

SERVER_SCHEMA = "rehab_server_schema"
DEFAULT_SITE = "main"
DATA_TABLES = ("patients", "protocols", "assignments", "sessions", "steps", "trials", "ratings",
               "events", "trial_frames")
CHILD_TABLES = ("steps", "trials", "ratings", "events")  # rows with a session_id
SRC_ID_TABLES = ("steps", "ratings", "events")
NOW_UTC = "(now() AT TIME ZONE 'utc')"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def group_roles(database: str) -> tuple[str, str]:
    """(laptop group, clinician group) role names of a clinic database."""
    return f"{database}_laptop", f"{database}_clinician"


def _s1_initial(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t.name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables)
    ddl = [
        "CREATE TABLE rehab_clinicians (role varchar(63) PRIMARY KEY, site varchar(64) NOT NULL)",
        f"""CREATE FUNCTION rehab_my_site() RETURNS varchar LANGUAGE sql STABLE AS $$
            SELECT coalesce((SELECT site FROM rehab_clinicians WHERE role = current_user),
                            '{DEFAULT_SITE}') $$""",
        "ALTER TABLE patients ADD COLUMN site varchar(64) NOT NULL DEFAULT rehab_my_site()",
        f"""CREATE TABLE rehab_laptops (role varchar(63) PRIMARY KEY,
            patient_id varchar({schema.ID_LEN}) NOT NULL UNIQUE REFERENCES patients(id),
            created timestamp NOT NULL DEFAULT {NOW_UTC}, last_sync timestamp,
            last_sync_summary text NOT NULL DEFAULT '')""",
        """CREATE FUNCTION rehab_laptop_patient() RETURNS varchar LANGUAGE sql STABLE AS $$
            SELECT patient_id FROM rehab_laptops WHERE role = current_user $$""",
        f"ALTER TABLE sessions ADD COLUMN received_at timestamp NOT NULL DEFAULT {NOW_UTC}",
        f"ALTER TABLE sessions ADD COLUMN updated_at timestamp NOT NULL DEFAULT {NOW_UTC}",
        "ALTER TABLE sessions ADD COLUMN fingerprint varchar(300) NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN pushed_by varchar(63) NOT NULL DEFAULT current_user",
        "CREATE UNIQUE INDEX ux_trials_session_no ON trials (session_id, trial_no)",
        "CREATE INDEX ix_assignments_patient ON assignments (patient_id)",
    ]
    for t in SRC_ID_TABLES:
        ddl += [f"ALTER TABLE {t} ADD COLUMN src_id integer",
                f"CREATE UNIQUE INDEX ux_{t}_src ON {t} (session_id, src_id)"]
    for stmt in ddl:
        conn.exec_driver_sql(stmt)


SERVER_MIGRATIONS: list[Callable[[Connection], None]] = [_s1_initial]
SERVER_LATEST = len(SERVER_MIGRATIONS)


def server_version(conn: Connection) -> tuple[int, int] | None:
    """(server schema version, laptop schema version it stores), None when not a rehab server."""
    exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": SERVER_SCHEMA}).scalar()
    if exists is None:
        return None
    row = conn.execute(sa.text(
        f"SELECT version, laptop_schema FROM {SERVER_SCHEMA} ORDER BY version DESC LIMIT 1"
    )).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def migrate_server(engine: sa.Engine) -> tuple[int, int]:
    """Create or upgrade the server schema (admin); returns (server version, laptop schema)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {SERVER_SCHEMA} (version integer PRIMARY KEY, "
            "laptop_schema integer NOT NULL, applied timestamp NOT NULL)")
        version, _ = server_version(conn) or (0, 0)
    for number in range(version + 1, SERVER_LATEST + 1):
        with engine.begin() as conn:
            SERVER_MIGRATIONS[number - 1](conn)
            conn.execute(sa.text(f"INSERT INTO {SERVER_SCHEMA} VALUES (:v, :l, :t)"),
                         {"v": number, "l": migrations.LATEST, "t": now})
    with engine.begin() as conn:
        _add_missing_columns(conn)
        conn.execute(sa.text(f"UPDATE {SERVER_SCHEMA} SET laptop_schema = :l "
                             f"WHERE version = (SELECT max(version) FROM {SERVER_SCHEMA}) "
                             "AND laptop_schema < :l"), {"l": migrations.LATEST})
        return server_version(conn) or (0, 0)


def _add_missing_columns(conn: Connection) -> None:
    """A newer laptop schema's added tables and columns (nullable, as laptop migrations add
    them), so the server keeps carrying every laptop column."""
    tables = [t for t in schema.metadata.sorted_tables if t.name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables, checkfirst=True)
    inspector = sa.inspect(conn)
    for table in tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                kind = col.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {q(table.name)} ADD COLUMN {q(col.name)} {kind}")


def apply_security(conn: Connection, database: str) -> None:
    """Group roles, grants and row-level security policies (idempotent; run by init)."""
    laptop, clinician = group_roles(database)
    for role in (laptop, clinician):
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            conn.exec_driver_sql(f"CREATE ROLE {q(role)} NOLOGIN")
    L, C = q(laptop), q(clinician)
    every = ", ".join((*DATA_TABLES, "rehab_laptops", "rehab_clinicians"))
    # a re-pushed session may change any laptop column but its id and its patient
    session_cols = ", ".join(q(c.name) for c in schema.sessions.c
                             if c.name not in ("id", "patient_id"))
    stmts = [
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON {every}, {SERVER_SCHEMA} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {L}, {C}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {L}, {C}",
        f"GRANT SELECT ON {SERVER_SCHEMA} TO {L}, {C}",
        f"GRANT SELECT ON {', '.join(DATA_TABLES)}, rehab_laptops TO {L}",
        f"GRANT INSERT ON protocols, sessions, steps, trials, ratings, events, trial_frames TO {L}",
        f"GRANT UPDATE ({session_cols}, fingerprint, updated_at) ON sessions TO {L}",
        f"GRANT UPDATE (last_sync, last_sync_summary) ON rehab_laptops TO {L}",
        f"GRANT SELECT ON {every} TO {C}",
        f"GRANT INSERT ON patients, protocols, assignments TO {C}",
        f"GRANT UPDATE (affected_side, notes, consent_video) ON patients TO {C}",
    ]
    for stmt in stmts:
        conn.exec_driver_sql(stmt)
    for table in (*DATA_TABLES, "rehab_laptops", "rehab_clinicians"):
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for (pol,) in conn.execute(sa.text("SELECT policyname FROM pg_policies WHERE "
                                           "tablename = :t"), {"t": table}).all():
            conn.exec_driver_sql(f"DROP POLICY {q(pol)} ON {table}")
    for table, action, role, rule in _policies(L, C):
        clause = "WITH CHECK" if action == "INSERT" else "USING"
        extra = f" WITH CHECK ({rule})" if action == "UPDATE" else ""
        conn.exec_driver_sql(f"CREATE POLICY {q(f'{role.strip(chr(34))}_{action}_{table}')} "
                             f"ON {table} FOR {action} TO {role} {clause} ({rule}){extra}")


def _policies(L: str, C: str) -> list[tuple[str, str, str, str]]:
    me = "(SELECT rehab_laptop_patient())"
    # sessions and trials are themselves RLS-filtered; EXISTS is one index probe per row
    # (an IN list would hash every visible row again for each inserted row)
    own_session = "EXISTS (SELECT 1 FROM sessions s WHERE s.id = session_id)"
    own_trial = "EXISTS (SELECT 1 FROM trials t WHERE t.id = trial_id)"
    site_patient = "patient_id IN (SELECT id FROM patients)"  # patients RLS-filtered to the site
    rules = [
        ("patients", "SELECT", L, f"id = {me}"),
        ("assignments", "SELECT", L, f"patient_id = {me}"),
        ("protocols", "SELECT", L, "sha256 IN (SELECT protocol_sha256 FROM assignments "
                                   "UNION SELECT protocol_sha256 FROM sessions)"),
        ("protocols", "INSERT", L, "true"),
        ("sessions", "SELECT", L, f"patient_id = {me}"),
        ("sessions", "INSERT", L, f"patient_id = {me}"),
        ("sessions", "UPDATE", L, f"patient_id = {me}"),
        ("trial_frames", "SELECT", L, own_trial),
        ("trial_frames", "INSERT", L, own_trial),
        ("rehab_laptops", "SELECT", L, "role = current_user"),
        ("rehab_laptops", "UPDATE", L, "role = current_user"),
        ("rehab_clinicians", "SELECT", C, "role = current_user"),
        ("patients", "SELECT", C, "site = (SELECT rehab_my_site())"),
        ("patients", "INSERT", C, "site = (SELECT rehab_my_site())"),
        ("patients", "UPDATE", C, "site = (SELECT rehab_my_site())"),
        ("protocols", "SELECT", C, "true"),
        ("protocols", "INSERT", C, "true"),
        ("assignments", "SELECT", C, site_patient),
        ("assignments", "INSERT", C, site_patient),
        ("sessions", "SELECT", C, site_patient),
        ("trial_frames", "SELECT", C, own_trial),
        ("rehab_laptops", "SELECT", C, site_patient),
    ]
    for t in CHILD_TABLES:
        rules += [(t, "SELECT", L, own_session), (t, "INSERT", L, own_session),
                  (t, "SELECT", C, own_session)]
    return rules


def init_server(engine: sa.Engine) -> tuple[int, int]:
    """``rehab server init``: create or upgrade the schema, then roles, grants and policies."""
    versions = migrate_server(engine)
    with engine.begin() as conn:
        apply_security(conn, str(conn.execute(sa.text("SELECT current_database()")).scalar()))
    return versions


def _server_tables() -> sa.MetaData:
    """The laptop tables as the server has them (server-only columns added), for writes."""
    md = sa.MetaData()
    for t in schema.metadata.sorted_tables:
        t.to_metadata(md)
    md.tables["sessions"].append_column(sa.Column("fingerprint", sa.String(300)))
    md.tables["sessions"].append_column(sa.Column("updated_at", sa.DateTime))
    for name in SRC_ID_TABLES:
        md.tables[name].append_column(sa.Column("src_id", sa.Integer))
    return md


SERVER_TABLES = _server_tables()
