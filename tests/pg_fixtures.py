"""PostgreSQL fixtures: a real server for the clinic-server tests (imported by conftest.py).

- ``REHAB_TEST_PG=postgresql://ADMIN@HOST:PORT/postgres`` (password in ``REHAB_TEST_PG_PASSWORD``
  or libpq's PGPASSWORD) uses a server you started; the admin must be allowed to create
  databases and roles.
- Otherwise a throwaway cluster is started on 127.0.0.1 from the installed PostgreSQL
  (``apt-get install postgresql``), as the ``postgres`` user when run as root.
- No PostgreSQL anywhere: the tests skip, saying so; with ``REHAB_REQUIRE_PG=1`` (set by
  ``.ci/run``) or ``CI=true`` they fail instead, so CI always runs them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from rehab.testing.pgcluster import PgCluster, find_pg_bindir


@dataclass
class PgServer:
    url: str  # admin URL of the maintenance database, without password
    password: str | None
    cluster: PgCluster | None

    def url_for(self, database: str) -> str:
        return str(sa.make_url(self.url).set(database=database).render_as_string(False))

    def engine(self, database: str = "postgres", **kw) -> sa.Engine:
        from rehab.store.server import server_engine

        return server_engine(self.url_for(database), self.password, **kw)


@pytest.fixture(scope="session")
def pg_server():
    url = os.environ.get("REHAB_TEST_PG")
    if url:
        pw = os.environ.get("REHAB_TEST_PG_PASSWORD") or os.environ.get("PGPASSWORD")
        yield PgServer(url, pw, None)
        return
    if find_pg_bindir() is None:
        reason = ("PostgreSQL is not installed (no initdb/pg_ctl found): install it "
                  "(apt-get install postgresql) or set REHAB_TEST_PG to an admin URL")
        if os.environ.get("CI") == "true" or os.environ.get("REHAB_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = PgCluster.start(log_statements=True)
    try:
        yield PgServer(cluster.admin_url(), cluster.admin_password, cluster)
    finally:
        cluster.stop()


@dataclass
class Clinic:
    server: PgServer
    database: str

    @property
    def admin_url(self) -> str:
        return self.server.url_for(self.database)

    def admin_engine(self) -> sa.Engine:
        return self.server.engine(self.database)


@pytest.fixture
def clinic(pg_server):
    """A fresh clinic database, initialised as by ``rehab server init``; dropped afterwards
    with the roles it made."""
    from rehab.store.server_schema import init_server

    name = f"clinic_{secrets.token_hex(4)}"
    admin = pg_server.engine("postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    c = Clinic(pg_server, name)
    engine = c.admin_engine()
    init_server(engine)
    engine.dispose()
    try:
        yield c
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                "AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            roles = conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p "
                                         "ORDER BY rolname DESC"), {"p": f"{name}_%"}).scalars()
            for role in list(roles):
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()
