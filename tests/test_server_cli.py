"""The server commands end to end on a real PostgreSQL: admin, laptop and clinician."""

from __future__ import annotations

import os
import re
import stat

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sync_helpers import record_session

from rehab.cli import main
from rehab.home import home_plan
from rehab.store import Store


def _run(args, env=None, input=None, code=0):
    r = CliRunner().invoke(main, args, env=env, input=input)
    assert r.exit_code == code, (r.output, r.exception)
    return r.output


def _login(output: str) -> tuple[str, str]:
    url = re.search(r"^server: +(\S+)$", output, re.M).group(1)
    pw = re.search(r"^password: +(\S+)$", output, re.M).group(1)
    return url, pw


@pytest.fixture
def admin_env(clinic):
    return {"REHAB_SERVER": clinic.admin_url, "REHAB_SERVER_PASSWORD": clinic.server.password}


def test_admin_laptop_and_clinician_round_trip(clinic, admin_env, tmp_path):
    out = _run(["server", "init"], env=admin_env)  # again: an upgrade that changes nothing
    assert "server schema version 1" in out and clinic.server.password not in out
    laptop_url, laptop_pw = _login(_run(["server", "add-laptop", "P005", "--affected", "left"],
                                        env=admin_env))
    assert laptop_pw not in laptop_url and "rehab config set server" in _run(
        ["server", "add-laptop", "P006", "--affected", "right"], env=admin_env)
    clin_url, clin_pw = _login(_run(["server", "add-clinician", "dr_a"], env=admin_env))

    data = tmp_path / "laptop"
    lap_env = {"REHAB_SERVER": None, "REHAB_SERVER_PASSWORD": None}
    _run(["config", "set", "server", laptop_url, "--data", str(data)], env=lap_env)
    _run(["config", "set", "password", "--data", str(data)], env=lap_env, input=laptop_pw + "\n")
    for name in ("config.json", "server-password"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600
    assert laptop_pw not in (data / "config.json").read_text()
    assert "password: saved" in _run(["config", "show", "--data", str(data)], env=lap_env)
    with Store(data) as store:
        store.add_patient("P005", "left")
        for _ in range(2):
            record_session(store, patient="P005")
    out = _run(["sync", "--data", str(data)], env=lap_env)
    assert "pushed 2 new sessions" in out and "pulled 0 new assignments" in out
    assert laptop_pw not in out

    clin = {"REHAB_SERVER": clin_url, "REHAB_SERVER_PASSWORD": clin_pw}
    listed = _run(["patients", "list"], env=clin)
    assert re.search(r"^P005 +left +2 sessions", listed, re.M) and "P006" in listed
    _run(["assign", "P005", "home_session", "--per-week", "3"], env=clin)
    assert len(_run(["sessions", "--patient", "P005"], env=clin).splitlines()) == 2
    csv = _run(["export", "--all", "--summary"], env=clin)
    assert len(csv.strip().splitlines()) == 3  # header + 2 sessions
    trials_csv = _run(["export", "--patient", "P005"], env=clin)
    assert len(trials_csv.strip().splitlines()) == 5  # header + 2 sessions x 2 trials
    html = tmp_path / "p005.html"
    _run(["review", "--patient", "P005", "--out", str(html)], env=clin)
    assert html.stat().st_size > 1000
    sid = csv.strip().splitlines()[1].split(",")[1]
    mp4 = tmp_path / "trial.mp4"
    assert "wrote 12 frames" in _run(["replay", sid, "--trial", "2", "--out", str(mp4)], env=clin)
    overview = _run(["review", "--all"], env=clin)
    assert re.search(r"^P005 +1 +2/3 +0/0 +0/0 +0/0 +0/0 +0 +0 +20\d\d-\d\d-\d\d \d\d:\d\d$",
                     overview, re.M), overview
    assert re.search(r"^P006 .* never", overview, re.M)
    assert "2 patients, 0 falling behind" in overview

    assert "pulled 1 new assignment " in _run(["sync", "--data", str(data)], env=lap_env)
    with Store(data) as store:
        plan = home_plan(store, "P005")
    if clinic.server.cluster is not None:  # every statement was logged: no password in it
        log = clinic.server.cluster.log_text()
        assert "CREATE ROLE" in log and "SCRAM-SHA-256$" in log
        assert laptop_pw not in log and clin_pw not in log
    assert (plan.today.protocol_name, plan.today.per_week) == (
        "Home session (about 12 minutes)", 3)


def test_a_password_in_a_url_is_never_printed(tmp_path):
    out = CliRunner().invoke(main, ["sync", "--server", "postgresql://u:S3CRETPW@127.0.0.1:1/x",
                                    "--data", str(tmp_path)])
    assert out.exit_code == 1 and "S3CRETPW" not in out.output
    assert "postgresql://u:***@127.0.0.1:1/x" in out.output


def test_the_password_is_never_taken_from_the_command_line(tmp_path):
    out = CliRunner().invoke(main, ["config", "set", "password", "hunter2", "--data",
                                    str(tmp_path)])
    assert out.exit_code == 1 and "ps shows it" in out.output
    assert not (tmp_path / "server-password").exists()
    out = CliRunner().invoke(main, ["config", "set", "server", "postgresql://u:pw@h/db",
                                    "--data", str(tmp_path)])
    assert out.exit_code == 1 and "holds a password" in out.output


def test_a_laptop_with_a_group_readable_password_file_is_refused(tmp_path):
    (tmp_path / "server-password").write_text("x\n")
    os.chmod(tmp_path / "server-password", 0o644)
    out = CliRunner().invoke(main, ["sync", "--server", "postgresql://u@127.0.0.1:1/x",
                                    "--data", str(tmp_path)], env={"REHAB_SERVER_PASSWORD": None})
    assert out.exit_code == 1 and "can be read by other users" in out.output


def test_a_refused_clinician_command_is_a_message_not_a_traceback(clinic, admin_env):
    _run(["server", "add-laptop", "N001", "--affected", "left", "--site", "north"], env=admin_env)
    clin_url, clin_pw = _login(_run(["server", "add-clinician", "dr_b"], env=admin_env))
    clin = {"REHAB_SERVER": clin_url, "REHAB_SERVER_PASSWORD": clin_pw}
    r = CliRunner().invoke(main, ["assign", "N001", "home_session", "--per-week", "3"], env=clin)
    assert r.exit_code == 1 and r.exception.__class__ is SystemExit, r.output
    assert "no patient 'N001'" in r.output  # another site's patient is invisible
    r = CliRunner().invoke(main, ["patients", "add", "N001", "--affected", "left"], env=clin)
    assert r.exit_code == 1 and "clinic server postgresql://" in r.output, r.output
    assert clin_pw not in r.output and "Traceback" not in r.output


def test_without_psycopg_sync_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    r = CliRunner().invoke(main, ["sync", "--server", "postgresql://u@127.0.0.1:1/x",
                                  "--data", str(tmp_path)])
    assert r.exit_code == 1 and "pip install 'rehab[server]'" in r.output, r.output


def test_a_laptop_login_is_made_once_and_can_be_revoked(clinic, admin_env):
    _, pw = _login(_run(["server", "add-laptop", "P007", "--affected", "left"], env=admin_env))
    r = CliRunner().invoke(main, ["server", "add-laptop", "P007"], env=admin_env)
    assert r.exit_code == 1 and "already has a laptop login" in r.output
    r = CliRunner().invoke(main, ["server", "add-laptop", "P404"], env=admin_env)
    assert r.exit_code == 1 and "give --affected" in r.output
    assert "removed login" in _run(["server", "remove-laptop", "P007"], env=admin_env)
    admin = clinic.admin_engine()
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :r"),
                            {"r": f"{clinic.database}_l_P007"}).scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM patients").scalar() == 1  # kept
    admin.dispose()
