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
from rehab.store import schema


def _v1_initial(conn: Connection) -> None:
    """Every table of the first release.

    Built from ``schema.metadata`` while it is the only migration; once a second one exists,
    freeze this function's tables as they were in v1.
    """
    tables = [t for t in schema.metadata.sorted_tables if t.name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_initial]
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
