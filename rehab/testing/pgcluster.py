"""A throwaway PostgreSQL cluster on 127.0.0.1 in a temporary folder (tests and bench/sync.py).

``PgCluster.start()`` runs the distribution's ``initdb`` and ``pg_ctl`` (as the ``postgres``
system user when we are root: initdb refuses root), listens on a free loopback port with
password (scram-sha-256) authentication only, and ``stop()`` removes everything.

Example:
    >>> c = PgCluster.start()                       # doctest: +SKIP
    >>> c.admin_url("rehab"), c.admin_password      # doctest: +SKIP
    >>> c.stop()                                    # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ADMIN = "rehab_admin"


def find_pg_bindir() -> Path | None:
    """The folder holding initdb/pg_ctl/postgres, or None when PostgreSQL is not installed."""
    candidates = [os.environ.get("REHAB_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb") or "").parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    bindir: Path
    base: Path
    port: int
    admin_password: str
    run_as: str | None  # system user running the server (None: ourselves)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    tls: bool = False
    log_statements: bool = False  # log_statement = 'all' (tests check no password is sent)

    @property
    def ca_file(self) -> Path:
        """The self-signed server certificate (``sslrootcert`` for ``verify-full``)."""
        return self.base / "ca.crt"

    @classmethod
    def start(cls, bindir: Path | None = None, tls: bool = False,
              log_statements: bool = False) -> PgCluster:
        bindir = bindir or find_pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
        run_as = "postgres" if os.geteuid() == 0 else None
        base = Path(tempfile.mkdtemp(prefix="rehab-pg-"))
        c = cls(bindir, base, free_port(), secrets.token_urlsafe(18), run_as, tls, log_statements)
        pwfile = base / "pw"
        pwfile.write_text(c.admin_password + "\n")
        if run_as:
            user = pwd.getpwnam(run_as)
            for p in (base, pwfile):
                os.chown(p, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        c._run("initdb", "-D", str(c.datadir), "-U", ADMIN, f"--pwfile={pwfile}",
               "--auth=scram-sha-256", "-E", "UTF8", "--no-instructions")
        pwfile.unlink()
        c._configure()
        c.pg_ctl_start()
        return c

    def _configure(self) -> None:
        conf = self.datadir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                     f"unix_socket_directories = '{self.base}'\nfsync = off\n"
                     "max_connections = 60\nshared_buffers = 64MB\n")
            if self.log_statements:
                fh.write("log_statement = 'all'\n")
            if self.tls:
                self._make_certificate()
                fh.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        host = "hostssl" if self.tls else "host"  # with TLS, unencrypted connections are refused
        (self.datadir / "pg_hba.conf").write_text(
            f"local all all scram-sha-256\n{host} all all 127.0.0.1/32 scram-sha-256\n")

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 (so verify-full can check the host)."""
        crt, key = self.datadir / "server.crt", self.datadir / "server.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(crt)],
                       check=True, capture_output=True, timeout=60)
        shutil.copy(crt, self.ca_file)
        key.chmod(0o600)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for p in (crt, key):
                os.chown(p, user.pw_uid, user.pw_gid)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and proc.returncode:
            raise RuntimeError(f"{tool} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def pg_ctl_start(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.base / "log"), "-w",
                  "-t", "60", "start")

    def pg_ctl_stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop",
                  check=False)

    def restart(self) -> None:
        self.pg_ctl_stop("immediate")
        self.pg_ctl_start()

    def stop(self) -> None:
        self.pg_ctl_stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self) -> str:
        """The server's log so far."""
        return (self.base / "log").read_text(errors="replace")

    def admin_url(self, database: str = "postgres") -> str:
        """URL without the password (pass ``admin_password`` separately)."""
        return f"postgresql+psycopg://{ADMIN}@127.0.0.1:{self.port}/{database}"
