"""CLI over the store: patients, assign, sessions, export, review, replay (via click's runner)."""

from __future__ import annotations

import stat

import cv2
import pandas as pd
from click.testing import CliRunner

from rehab.cli import main
from rehab.report.export import TRIAL_COLUMNS
from rehab.store import Store
from rehab.testing.store_data import bulk_populate, fake_info, hand_frames


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_patients_assign_sessions_export_review(tmp_path, monkeypatch):
    data = str(tmp_path / "data")
    r = run("patients", "add", "P001", "--affected", "left", "--notes", "mild", "--data", data)
    assert r.exit_code == 0, r.output
    r = run("patients", "add", "P001", "--affected", "left", "--data", data)
    assert r.exit_code == 1 and "already exists" in r.output
    r = run("patients", "add", "Jane Doe", "--affected", "left", "--data", data)
    assert r.exit_code == 1 and "pseudonymous" in r.output and "Traceback" not in r.output
    bad = tmp_path / "p.yaml"
    bad.write_text("name: broken\ndescription: d\nsteps: []\n")
    r = run("assign", "P001", str(bad), "--per-week", "4", "--data", data)
    assert r.exit_code != 0 and "p.yaml" in r.output and "Traceback" not in r.output
    r = run("assign", "P001", "demo", "--per-week", "4", "--data", data)  # shipped, by name
    assert r.exit_code == 0 and "Demo" in r.output and "4x per week" in r.output
    monkeypatch.setenv("REHAB_DATA", data)  # the env var works as well as --data
    out = tmp_path / "empty.csv"
    r = run("export", "--patient", "P001", "--out", str(out))
    assert r.exit_code == 0 and "header only" in r.output
    assert out.read_text().strip() == ",".join(TRIAL_COLUMNS)
    store = Store(data)
    bulk_populate(store.engine, "P001", n_sessions=3, trials_per_session=4)
    r = run("patients", "list")
    assert "P001" in r.output and "3 sessions" in r.output
    r = run("sessions", "--patient", "P001")
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 3 and "completed" in r.output
    out = tmp_path / "all.csv"
    assert run("export", "--all", "--out", str(out)).exit_code == 0
    assert len(pd.read_csv(out)) == 12 and stat.S_IMODE(out.stat().st_mode) == 0o600
    r = run("export", "--patient", "P001", "--summary")
    assert len(pd.read_csv(__import__("io").StringIO(r.stdout))) == 3
    assert run("export").exit_code == 2  # neither --patient nor --all
    html = tmp_path / "r.html"
    r = run("review", "--patient", "P001", "--out", str(html))
    assert r.exit_code == 0 and html.read_text().startswith("<!DOCTYPE html>")
    r = run("review", "--patient", "P404", "--out", str(html))
    assert r.exit_code == 1 and "no patient" in r.output


def test_replay_out(tmp_path):
    data = str(tmp_path / "data")
    store = Store(data)
    w = store.writer()
    sid = w.begin(fake_info())
    w.trial(1, "open_close", "left", {"repetitions": 1}, hand_frames(12, "left"))
    w.end("completed")
    out = tmp_path / "t.mp4"
    r = run("replay", sid, "--trial", "1", "--out", str(out), "--data", data)
    assert r.exit_code == 0 and "wrote 12 frames" in r.output
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    r = run("replay", sid, "--trial", "2", "--out", str(out), "--data", data)
    assert r.exit_code == 1 and "no trial 2" in r.output


def test_session_line_marks_a_cut_protocol_name():
    from rehab.cli.store_cmds import _session_line

    row = pd.Series({"session_start": "2026-11-30T01:05:25", "session_id": "00dc534cdc604d13",
                     "protocol_name": "Home session (about 12 minutes)",
                     "session_status": "completed", "duration_s": 60.0})
    line = _session_line(row, "open_close 3 reps")
    assert "Home session (about 1... completed" in line
    short = _session_line(row.replace({"Home session (about 12 minutes)": "Demo"}), "")
    assert "Demo " in short and "..." not in short


def test_review_into_a_missing_folder_is_a_message(tmp_path):
    data = str(tmp_path / "data")
    Store(data).add_patient("P001", "left")
    result = CliRunner().invoke(main, ["review", "--patient", "P001", "--data", data,
                                       "--out", str(tmp_path / "nowhere" / "r.html")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "cannot write" in result.output and "nowhere" in result.output
