"""Safety across a resume and the stored end reason of every session (engine, store, migration)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from engine_helpers import protocol, rig

from rehab.engine.endings import END_REASONS, describe
from rehab.engine.writer import Event
from rehab.store import Store, queries, schema, schema_v1
from rehab.store.migrations import LATEST, migrate
from rehab.testing.store_data import fake_info

PAIN_STEPS = ({"kind": "rate", "ratings": [{"scale": "pain", "default": 3}]},
              {"kind": "rest", "duration_s": 2})


# -- safety over the chain (engine) --------------------------------------------------------------
@pytest.mark.parametrize(("prior", "safety", "stops"), [
    ([("pain", 1)], {"pain_stop_rise": 2}, "pain rose by 2 (from 1 to 3)"),
    ([("pain", 2)], {"pain_stop_rise": 2}, None),  # 2 -> 3 is a rise of 1
    ([("pain", 1), ("fatigue", 4), ("pain", 2)], {"pain_stop_rise": 2},
     "pain rose by 2 (from 1 to 3)"),  # the chain's *first* pain counts
    ([], {"pain_stop_rise": 2}, None),
])
def test_resumed_session_applies_rise_rule_to_ratings_before_the_crash(prior, safety, stops):
    r = rig(protocol(*PAIN_STEPS, safety=safety), prior_ratings=tuple(prior),
            resumed_from="frag1", start_step=0)
    result = r.session.run()
    if stops is None:
        assert result.status == "completed" and r.writer.end_reason == "completed"
        return
    assert result.status == "stopped_by_safety_rule" and result.stop_reason == stops
    assert (r.writer.status, r.writer.end_reason) == ("aborted", "safety_stop")
    assert r.writer.end_detail == {"reason": stops, "rule": "pain_stop_rise",
                                   "values": {"first": 1, "value": 3, "rise": 2, "limit": 2}}


def test_rule_fired_just_before_the_crash_stops_the_resumed_session_at_once():
    """Pain 7 was stored, then the process died before the stop was recorded."""
    r = rig(protocol(*PAIN_STEPS, safety={"pain_stop_at": 6}), prior_ratings=(("pain", 7),),
            resumed_from="frag1", start_step=1)
    result = r.session.run()
    assert result.status == "stopped_by_safety_rule" and result.stop_reason == "pain reached 7"
    assert r.writer.steps == []  # no step ran after the rule fired
    assert r.writer.end_detail["values"] == {"value": 7, "limit": 6}


@pytest.mark.parametrize(("key", "code", "status"), [
    ("yes", "ended_by_patient", "aborted"), ("close", "window_closed", "aborted")])
def test_patient_and_window_endings_are_told_apart(key, code, status):
    from rehab.devices.base import CommandKind
    from rehab.testing import ScriptedInput

    keys = ScriptedInput()
    if key == "yes":
        keys.at(0.5, CommandKind.QUIT).at(0.6, CommandKind.YES)
    else:
        keys.at(0.5, CommandKind.CLOSE)
    r = rig(protocol({"kind": "rest", "duration_s": 5}), keys=keys, autopilot=False)
    result = r.session.run()
    assert (result.end_reason, r.writer.status, r.writer.end_reason) == (code, status, code)


def test_stop_request_saves_and_ends_resumably():
    asked: list[str] = []
    r = rig(protocol({"kind": "rest", "duration_s": 5}, {"kind": "rest", "duration_s": 5}))
    r.session.devices.stop_requested = lambda: asked[0] if asked else None
    orig = r.display.poll

    def poll():
        if r.clock.now() > 6:
            asked.append("SIGTERM from the system")
        return orig()

    r.display.poll = poll
    result = r.session.run()
    assert result.status == "terminated"
    assert (r.writer.status, r.writer.end_reason) == ("interrupted", "terminated")
    assert [(s["index"], s["status"]) for s in r.writer.steps] == [(0, "completed"), (1, "aborted")]
    assert r.display.shown[-1].scene.title == "The session was saved"


# -- store: end reasons, chains, migration -------------------------------------------------------
def test_every_end_reason_is_stored_and_described(tmp_path):
    store = Store(tmp_path / "d")
    for code, reason in END_REASONS.items():
        w = store.writer()
        sid = w.begin(fake_info())
        w.end(reason.status, code, {"reason": f"because {code}"})
        row = store.get_session(sid)
        assert (row.status, row.end_reason) == (reason.status, code)
        assert row.end_text == f"{reason.label}: because {code}"
    w = store.writer()
    w.begin(fake_info())
    with pytest.raises(Exception, match="stored as 'aborted', not 'interrupted'"):
        w.end("interrupted", "safety_stop")


def test_reaped_session_is_interrupted_and_the_chain_reads_back(tmp_path):
    store = Store(tmp_path / "d")
    w1 = store.writer()
    s1 = w1.begin(fake_info())
    w1.rating(0, "pain", 1, 1.0)
    w1.end("interrupted", "terminated", {"reason": "SIGTERM from the system"})
    w2 = store.writer()
    s2 = w2.begin(fake_info(resumed_from=s1, start_step=1))
    w2.rating(1, "fatigue", 2, 2.0)
    w2.rating(1, "pain", 3, 3.0)
    assert store.chain_ratings(s2) == [("pain", 1), ("fatigue", 2), ("pain", 3)]
    with store.engine.connect() as conn:
        assert [s.id for s in queries.chain_of(conn, s2)] == [s1, s2]
        chains = queries.group_chains(queries.list_sessions(conn, None))
    assert [[s.id for s in c] for c in chains] == [[s1, s2]]


def _columns(db) -> dict[str, list[str]]:
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
    out = {t: [r[1] for r in con.execute(f"pragma table_info({t})")] for t in tables}
    con.close()
    return out


V1_SESSIONS = ["id", "patient_id", "protocol_sha256", "protocol_name", "protocol_path",
               "affected_side", "total_steps", "started_wall", "ended_wall", "status",
               "resumed_from", "start_step", "owner"]


def test_v1_is_frozen_and_v2_adds_the_end_reason(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'v1.db'}")
    assert migrate(engine, target=1) == 1
    v1 = _columns(tmp_path / "v1.db")
    assert v1["sessions"] == V1_SESSIONS
    assert set(v1) == {t.name for t in schema_v1.metadata.sorted_tables}
    for t in schema_v1.metadata.sorted_tables:  # the frozen copy is what v1 builds
        assert v1[t.name] == [c.name for c in t.columns]
    engine.dispose()
    fresh = Store(tmp_path / "fresh")
    latest = _columns(fresh.db_path)
    fresh.close()
    assert latest["sessions"] == V1_SESSIONS + ["end_reason", "end_detail"]
    for t in schema.metadata.sorted_tables:  # schema.py is the shape after every migration
        assert latest[t.name] == [c.name for c in t.columns]
    assert LATEST >= 2


def test_v2_backfills_what_old_events_say(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    engine = sa.create_engine(f"sqlite:///{data / 'rehab.db'}")
    migrate(engine, target=1)
    S, E, P, PR = schema_v1.sessions, schema_v1.events, schema_v1.patients, schema_v1.protocols
    from datetime import datetime
    now = datetime(2025, 1, 6, 10)
    ended = {"a": ("completed", None), "b": ("aborted", "safety_stop"),
             "c": ("aborted", "window closed"), "d": ("aborted", "ended by the user"),
             "e": ("interrupted", None), "f": ("aborted", None)}
    with engine.begin() as conn:
        conn.execute(P.insert().values(id="P1", affected_side="left", notes="",
                                       consent_video=False, created=now))
        conn.execute(PR.insert().values(sha256="x", name="n", yaml="", first_seen=now))
        for sid, (status, why) in ended.items():
            conn.execute(S.insert().values(
                id=sid, patient_id="P1", protocol_sha256="x", protocol_name="n",
                protocol_path="", affected_side="left", total_steps=3, started_wall=now,
                status=status, start_step=0, owner=""))
            if why == "safety_stop":
                conn.execute(E.insert().values(session_id=sid, t=1.0, wall=now,
                                               kind="safety_stop", data_json="{}"))
            elif why:
                conn.execute(E.insert().values(
                    session_id=sid, t=2.0, wall=now, kind="session_ended",
                    data_json=json.dumps({"status": "aborted", "reason": why},
                                         separators=(",", ":"))))
    engine.dispose()
    store = Store(data)  # migrates to the latest version
    got = {s.id: s.end_reason for s in store.sessions("P1")}
    assert got == {"a": "completed", "b": "safety_stop", "c": "window_closed",
                   "d": "ended_by_patient", "e": "interrupted", "f": None}
    assert store.get_session("f").end_text == "aborted (reason not recorded)"


def test_describe_names_the_rule():
    assert describe("safety_stop", {"reason": "pain reached 7"}) == \
        "stopped by a safety rule: pain reached 7"
    assert describe("completed", {}) == "completed"
    assert describe("safety_stop", {"reason": "fatigue reached 8", "rule": "fatigue_stop_at",
                                    "values": {"value": 8, "limit": 7}}) == \
        "stopped by a safety rule: fatigue reached 8 (rule fatigue_stop_at: 7)"


# -- a write lock held by another program ---------------------------------------------------------
HOLD_LOCK = r"""
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def test_a_write_lock_held_for_15_s_is_waited_out(tmp_path):
    store = Store(tmp_path / "d")
    w = store.writer()
    sid = w.begin(fake_info())
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store.db_path), "15"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "LOCKED"
    began = time.monotonic()
    w.event(Event(t=1.0, kind="tick"))  # would raise "database is locked" after 10 s before
    w.rating(0, "pain", 2, 1.5)
    waited = time.monotonic() - began
    assert holder.wait(30) == 0
    assert 10.0 < waited < 25.0 and w.lock_waits >= 1
    w.end("completed")
    row = store.get_session(sid)
    assert (row.status, row.end_reason) == ("completed", "completed")
    assert store.chain_ratings(sid) == [("pain", 2)]


# -- end to end: a real `rehab run` killed, terminated ---------------------------------------------
SAFETY_RESUME = """\
name: Safety after resume
description: pain 1 at the start, 3 at the end; pain_stop_rise 2 must stop the session
safety:
  pain_stop_rise: 2
steps:
  - rate: {ratings: [{scale: pain, default: 1}]}
  - execute: {task: free, duration_s: 60}
  - rate: {ratings: [{scale: pain, default: 3}]}
  - instruction: {text: "Session went on after pain rose from 1 to 3", duration_s: 1}
"""
SLOW_REST = """\
name: Two rests
description: a long rest to be terminated in, then a short one
steps:
  - rest: {duration_s: 60}
  - rest: {duration_s: 2}
"""
HEADLESS = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}


def _rehab(*args: str) -> list[str]:
    return [sys.executable, "-m", "rehab", *args]


def _env() -> dict[str, str]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, **HEADLESS, "PYTHONPATH": root}


def _wait_for(db, sql: str, want: int, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            con = sqlite3.connect(db, timeout=1)
            n = con.execute(sql).fetchone()[0]
            con.close()
            if n == want:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {sql!r} == {want}")


@pytest.mark.slow
def test_killed_and_resumed_run_still_applies_the_pain_rise_rule(tmp_path, reach_open_clip):
    proto = tmp_path / "safety_resume.yaml"
    proto.write_text(SAFETY_RESUME)
    data = tmp_path / "data"
    Store(data).add_patient("S1", "right")
    cmd = _rehab("run", str(proto), "--patient", "S1", "--autopilot", "--fast", "--window",
                 "--model", "lite", "--camera", str(reach_open_clip), "--data", str(data))
    first = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    # killed during the execute step: the first pain rating (1) is stored, the second is not
    _wait_for(data / "rehab.db", "select count(*) from steps s join sessions x on "
              "x.id = s.session_id where x.status = 'running'", 1)
    first.kill()
    first.wait(30)
    second = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 2, second.stderr
    assert "stopped_by_safety_rule" in second.stdout
    assert "pain rose by 2 (from 1 to 3)" in second.stdout
    with Store(data) as store:
        frag, resumed = store.sessions("S1")
        assert (frag.status, frag.end_reason) == ("interrupted", "interrupted")
        assert (resumed.resumed_from, resumed.end_reason) == (frag.id, "safety_stop")
        assert resumed.end_detail["rule"] == "pain_stop_rise"
        assert resumed.end_detail["values"] == {"first": 1, "value": 3, "rise": 2, "limit": 2}
        assert store.chain_ratings(resumed.id) == [("pain", 1), ("pain", 3)]
    listing = subprocess.run(_rehab("sessions", "--patient", "S1", "--data", str(data)),
                             env=_env(), capture_output=True, text=True, timeout=60).stdout
    assert ("stopped by a safety rule: pain rose by 2 (from 1 to 3) (rule pain_stop_rise: 2) "
            f"(resumes {frag.id})") in listing


@pytest.mark.slow
def test_sigterm_saves_and_the_next_run_goes_on(tmp_path):
    proto = tmp_path / "rests.yaml"
    proto.write_text(SLOW_REST)
    data = tmp_path / "data"
    Store(data).add_patient("G1", "left")
    base = ["run", str(proto), "--patient", "G1", "--autopilot", "--window", "--data", str(data)]
    proc = subprocess.Popen(_rehab(*base), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(data / "rehab.db", "select count(*) from events e join sessions x on "
              "x.id = e.session_id where x.status = 'running' and e.kind = 'step_started'", 1)
    sent = time.monotonic()
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5.0  # it did not sit out the 60 s rest
    assert proc.returncode == 2, err
    assert "terminated" in out and "SIGTERM from the system" in out
    with Store(data) as store:
        (row,) = store.sessions("G1")
        assert (row.status, row.end_reason) == ("interrupted", "terminated")
        assert row.end_text == "terminated by the system: SIGTERM from the system"
        assert store.find_resumable("G1", row.protocol_sha256) == (row.id, 0)
    again = subprocess.run(_rehab(*base, "--fast"), env=_env(), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    with Store(data) as store:
        first, second = store.sessions("G1")
        assert (second.resumed_from, second.start_step, second.end_reason) == \
            (first.id, 0, "completed")


def test_review_lists_safety_stops_in_their_own_colour_and_counts_chains_once(tmp_path):
    from rehab.report.review import build_review

    store = Store(tmp_path / "d")
    store.add_patient("P001", "left")
    w = store.writer()
    a = w.begin(fake_info())
    w.end("interrupted", "interrupted")
    w = store.writer()
    b = w.begin(fake_info(resumed_from=a, start_step=1))
    w.end("completed")
    w = store.writer()
    w.begin(fake_info())
    w.end("aborted", "safety_stop", {"reason": "pain reached 7", "rule": "pain_stop_at"})
    w = store.writer()
    w.begin(fake_info())
    w.end("aborted", "ended_by_patient", {"reason": "ended by the user"})
    page = build_review(store, "P001")
    assert "Sessions recorded: 3 (1 completed, 1 resumed parts)" in page
    safety = page[page.index("<h2>Safety stops and adverse events</h2>"):]
    safety = safety[:safety.index("<h2>", 5)]
    assert "1 session(s) stopped by a safety rule" in safety
    assert ("<b class=tone-safety>stopped by a safety rule: pain reached 7 (rule pain_stop_at)"
            "</b>") in safety
    assert "ended by the patient" not in safety and b not in safety
    assert "<b class=tone-patient>ended by the patient: ended by the user</b>" in page
    assert ".tone-safety{color:#7a3e00" in page and ".tone-patient{color:#b00}" in page


def test_ending_by_the_patient_says_it_is_saved():
    from rehab.devices.base import CommandKind
    from rehab.engine.scenes import TextScene
    from rehab.testing import ScriptedInput

    keys = ScriptedInput().at(0.5, CommandKind.QUIT).at(0.6, CommandKind.YES)
    r = rig(protocol({"kind": "rest", "duration_s": 5}), keys=keys, autopilot=False)
    r.session.run()
    last = r.display.shown[-1].scene
    assert isinstance(last, TextScene) and last.title == "The session has ended"
    assert last.body == "Everything you did is saved.\nThank you."


def test_ending_while_the_camera_is_lost_is_stored_as_camera_lost():
    from rehab.devices.base import CommandKind
    from rehab.testing import FakeCamera, ScriptedInput

    keys = ScriptedInput()
    keys.when(lambda s: type(s).__name__ == "Overlay" and "camera" in s.title.lower(),
              CommandKind.QUIT)
    keys.when(lambda s: type(s).__name__ == "Overlay" and "End the session" in s.title,
              CommandKind.YES)
    r = rig(protocol({"kind": "execute", "task": "open_close", "duration_s": 5}),
            camera=FakeCamera(count=3000, fail_after=5), keys=keys, autopilot=False,
            continue_screens=True)
    result = r.session.run()
    assert (result.end_reason, r.writer.status, r.writer.end_reason) == \
        ("camera_lost", "aborted", "camera_lost")
    assert r.writer.end_detail["reason"].startswith("camera fake camera lost: ")
