"""Versioned schema migrations: an ordered list of functions, applied once each.

``schema_version`` holds one row per applied migration. Migration N (1-based) is
``MIGRATIONS[N - 1]``; it receives an open connection inside the transaction that also records
it, so a migration is applied completely or not at all.

To change the schema: append a function (never edit an applied one) that alters the tables with
plain SQLAlchemy/SQL portable to PostgreSQL, update ``schema.py`` to the new shape, and add a test
that upgrades a database created at the previous version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rehab.errors import StoreError
from rehab.store import schema, schema_v1


def _v1_initial(conn: Connection) -> None:
    """Every table of the first release, frozen in ``schema_v1`` (later edits to ``schema``
    do not change what version 1 creates)."""
    tables = [t for t in schema_v1.metadata.sorted_tables if t.name != "schema_version"]
    schema_v1.metadata.create_all(conn, tables=tables)


# v2 backfill: what the events of a session stored before v2 say about how it ended
_V2_BACKFILL = (
    ("completed", "status = 'completed'"),
    ("interrupted", "status = 'interrupted'"),
    ("safety_stop", "status = 'aborted' AND EXISTS (SELECT 1 FROM events e WHERE "
     "e.session_id = sessions.id AND e.kind = 'safety_stop')"),
    ("window_closed", "status = 'aborted' AND end_reason IS NULL AND EXISTS (SELECT 1 FROM "
     "events e WHERE e.session_id = sessions.id AND e.kind = 'session_ended' "
     "AND e.data_json LIKE '%\"reason\":\"window closed\"%')"),
    ("ended_by_patient", "status = 'aborted' AND end_reason IS NULL AND EXISTS (SELECT 1 FROM "
     "events e WHERE e.session_id = sessions.id AND e.kind = 'session_ended' "
     "AND e.data_json LIKE '%\"reason\":\"ended by the user\"%')"),
)


def _v2_end_reason(conn: Connection) -> None:
    """sessions.end_reason + end_detail; earlier sessions get the reason their events show
    (an aborted one whose events say nothing keeps NULL: "not recorded")."""
    conn.execute(sa.text("ALTER TABLE sessions ADD COLUMN end_reason VARCHAR(32)"))
    conn.execute(sa.text("ALTER TABLE sessions ADD COLUMN end_detail TEXT"))
    for code, where in _V2_BACKFILL:
        conn.execute(sa.text(f"UPDATE sessions SET end_reason = :code WHERE {where}"),
                     {"code": code})


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_initial, _v2_end_reason]
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The highest applied migration, 0 for an empty database."""
    schema.schema_version.create(conn, checkfirst=True)
    v = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(v or 0)


def migrate(engine: sa.Engine, target: int = LATEST) -> int:
    """Bring the database up to ``target``; returns the version it is at afterwards."""
    with engine.begin() as conn:
        version = current_version(conn)
    if version > LATEST:
        raise StoreError(
            f"the database is at schema version {version}, newer than this rehab ({LATEST})",
            hint="upgrade rehab (pip install -U rehab) before opening this data directory",
        )
    for number in range(version + 1, target + 1):
        with engine.begin() as conn:
            MIGRATIONS[number - 1](conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=number, applied=datetime.now(timezone.utc).replace(tzinfo=None)
                )
            )
    return max(version, target)
