"""TLS to the clinic server: sslmode=require and verify-full against a self-signed certificate."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from sync_helpers import record_session

from rehab.store import Store
from rehab.store.server import add_laptop, role_url, server_engine
from rehab.store.server_schema import init_server
from rehab.store.sync import sync
from rehab.testing.pgcluster import PgCluster, find_pg_bindir


@pytest.fixture(scope="module")
def tls_cluster():
    if find_pg_bindir() is None or shutil.which("openssl") is None:
        pytest.skip("needs PostgreSQL (apt-get install postgresql) and openssl")
    c = PgCluster.start(tls=True)
    try:
        admin = server_engine(c.admin_url() + "?sslmode=require", c.admin_password,
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE clinic")
        admin.dispose()
        yield c
    finally:
        c.stop()


def test_sync_over_verified_tls(tls_cluster, tmp_path):
    c = tls_cluster
    admin = server_engine(c.admin_url("clinic") + "?sslmode=require", c.admin_password)
    init_server(admin)
    role, pw = add_laptop(admin, "P001", "left")
    admin.dispose()
    url = role_url(c.admin_url("clinic"), role) + f"?sslmode=verify-full&sslrootcert={c.ca_file}"
    store = Store(tmp_path / "laptop")
    store.add_patient("P001", "left")
    record_session(store)
    e = server_engine(url, pw)
    assert sync(store, e, url, pw).pushed == 1
    with e.connect() as conn:
        assert conn.execute(sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                                    )).scalar() is True
    e.dispose()
    store.close()


@pytest.mark.parametrize("query, error", [
    ("?sslmode=disable", "no encryption"),  # the server refuses plain connections
    ("?sslmode=verify-full&sslrootcert=/nonexistent.crt", "root certificate file"),
])
def test_unencrypted_or_unverified_connections_fail(tls_cluster, query, error):
    e = server_engine(tls_cluster.admin_url() + query, tls_cluster.admin_password)
    with pytest.raises(sa.exc.OperationalError, match=error):
        e.connect()
    e.dispose()


def test_verify_full_checks_the_host_name(tls_cluster):
    c = tls_cluster
    url = (f"postgresql://rehab_admin@localhost:{c.port}/postgres?sslmode=verify-full"
           f"&sslrootcert={c.ca_file}")
    e = server_engine(url, c.admin_password)
    with pytest.raises(sa.exc.OperationalError, match="does not match|certificate"):
        e.connect()
    e.dispose()
