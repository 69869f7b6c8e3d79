"""Nothing recorded is lost: a writer process killed with SIGKILL at random points.

The child prints a line only after each writer call has returned (i.e. committed). After each
kill the database must pass ``PRAGMA integrity_check``, hold every reported event, step and trial,
show the session as interrupted, and ``find_resumable`` must point at the first unfinished step.
The next child resumes there, so the kills also exercise the resume chain.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from rehab.store import Store, schema
from rehab.testing.store_data import FAKE_SHA

CHILD = r"""
import sys
from rehab.engine.writer import Event
from rehab.store import Store
from rehab.testing.store_data import fake_info, real_score, hand_frames
import random

store = Store(sys.argv[1])
total = 100_000  # never reached: the parent kills the child first
res = store.find_resumable("P001", fake_info().protocol_sha256)
prev, start = res if res else (None, 0)
w = store.writer()
sid = w.begin(fake_info(total_steps=total, resumed_from=prev, start_step=start))
print("SESSION", sid, start, flush=True)
rng = random.Random(start)
for step in range(start, total):
    for k in range(3):
        w.event(Event(t=step + k / 10, kind="tick", step_index=step, data={"k": k}))
        print("EVENT", step, k, flush=True)
    if step % 3 == 0:
        w.trial(step, "open_close", "left", real_score("open_close", "left", rng), hand_frames(90, "left"))
        print("TRIAL", step, flush=True)
    if step % 5 == 0:
        w.rating(step, "pain", step % 10, step + 0.5)
        print("RATING", step, flush=True)
    w.step(step, "execute", "completed", float(step), step + 0.9)
    print("STEP", step, flush=True)
w.end("completed")
print("END", flush=True)
"""

KILLS = 10


def _run_and_kill(cmd: list[str], rng: random.Random, delay_s: tuple[float, float] = (0.02, 0.8),
                  env: dict | None = None, trials_started: int = 0) -> list[list[str]]:
    """Start ``cmd``, wait for its SESSION report (and for ``trials_started`` trial_started
    events), SIGKILL it after a further random delay; returns every complete line it reported
    (split into words). Waiting for a trial rather than for seconds puts the kill inside the
    session however fast the machine runs it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    lines: list[list[str]] = []
    started = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if not line.endswith("\n"):
                break  # cut by the kill mid-report: the call had returned, the report had not
            lines.append(line.split())
            if sum(x[-1] == "trial_started" for x in lines) >= trials_started:
                started.set()

    reader = threading.Thread(target=read)
    reader.start()
    ok = started.wait(180)
    if ok:
        time.sleep(rng.uniform(*delay_s))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    assert ok, "the child never began a session"
    return lines


def _check(store: Store, lines: list[list[str]]) -> tuple[str, int]:
    sid, start = lines[0][1], int(lines[0][2])
    assert lines[-1][0] != "END", "child finished before the kill; make the session longer"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        ev = {(r.step_index, r.data_json) for r in conn.execute(
            sa.select(schema.events).where(schema.events.c.session_id == sid))}
        steps = set(conn.execute(sa.select(schema.steps.c.step_index).where(
            schema.steps.c.session_id == sid)).scalars())
        trials = conn.execute(sa.select(schema.trials.c.step_index, schema.trials.c.frames).where(
            schema.trials.c.session_id == sid)).all()
        n_frames = {t: conn.execute(sa.select(sa.func.count()).select_from(schema.trial_frames)
                                    .join(schema.trials).where(schema.trials.c.session_id == sid,
                                                               schema.trials.c.step_index == t)).scalar()
                    for t, _ in trials}
        ratings = set(conn.execute(sa.select(schema.ratings.c.step_index).where(
            schema.ratings.c.session_id == sid)).scalars())
    reported_steps = {int(x[1]) for x in lines if x[0] == "STEP"}
    for x in lines:
        assert len(x) >= 2, f"garbled report line {x} in {lines[-5:]}"
        if x[0] == "EVENT":
            assert (int(x[1]), '{"k":' + x[2] + '}') in ev, f"lost event {x}"
        elif x[0] == "TRIAL":
            assert int(x[1]) in n_frames, f"lost trial {x}"
        elif x[0] == "RATING":
            assert int(x[1]) in ratings, f"lost rating {x}"
    assert reported_steps <= steps
    for step, frames in trials:  # a trial is whole or absent, never half-written
        assert n_frames[step] == frames == 90
    assert store.get_session(sid).status == "interrupted"
    expected = start
    while expected in steps:
        expected += 1
    assert expected >= (max(reported_steps) + 1 if reported_steps else start)
    assert store.find_resumable("P001", FAKE_SHA) == (sid, expected)
    return sid, expected


def test_sigkill_at_random_points_loses_nothing(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    data_dir = str(tmp_path / "data")
    rng = random.Random(int(os.environ.get("REHAB_CRASH_SEED", "7")))
    previous = None
    for _ in range(KILLS):
        lines = _run_and_kill([sys.executable, str(script), data_dir], rng)
        store = Store(data_dir)  # opening marks the dead session interrupted
        sid, next_step = _check(store, lines)
        session = store.get_session(sid)
        assert session.resumed_from == previous
        previous = sid
        store.close()
    with Store(data_dir) as store:
        assert len(store.sessions("P001")) == KILLS


# Runs the real CLI; reports each writer call after it returned (a harness, not product code).
REPORTING_RUN = r"""
import sys
from rehab.store import writer as W

def reporting(name, fmt):
    original = getattr(W.SqlSessionWriter, name)
    def call(self, *args):
        result = original(self, *args)
        print(fmt(self, result, *args), flush=True)
        return result
    setattr(W.SqlSessionWriter, name, call)

reporting("begin", lambda w, sid, info: f"SESSION {sid} {info.start_step}")
reporting("event", lambda w, _, ev: f"EVENT {w.session_id} {ev.t!r} {ev.kind}")
reporting("step", lambda w, _, i, kind, status, *t: f"STEP {w.session_id} {i} {status}")
reporting("trial", lambda w, _, i, *rest: f"TRIAL {w.session_id} {i}")
from rehab.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_real_headless_run_killed_and_resumed(tmp_path, reach_open_clip):
    """``rehab run --autopilot --fast`` on the fixture camera, SIGKILLed mid-session 3 times:
    every event, step and trial it reported is stored, and each next run resumes (autopilot)
    where find_resumable said."""
    from rehab.paths import shipped_protocols_dir
    from rehab.protocol import load_protocol

    script = tmp_path / "run.py"
    script.write_text(REPORTING_RUN)
    data = tmp_path / "data"
    Store(data).add_patient("P001", "left")
    cmd = [sys.executable, str(script), "run", str(shipped_protocols_dir() / "demo.yaml"),
           "--patient", "P001", "--autopilot", "--fast", "--window", "--model", "lite",
           "--camera", str(reach_open_clip), "--data", str(data)]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    rng = random.Random(3)
    expected: tuple[str, int] | None = None
    resume_points: list[int] = []
    kinds = [step.kind for step in load_protocol(shipped_protocols_dir() / "demo.yaml")
             .protocol.flatten()]
    start = 0
    for _ in range(int(os.environ.get("REHAB_CRASH_RUNS", "3"))):
        # in a movement trial or the mirror after it (the other steps take no time in --fast)
        trials_left = kinds[start:].count("execute")
        lines = _run_and_kill(cmd, rng, delay_s=(0.0, 3.0), env=env,
                              trials_started=rng.randint(1, max(1, trials_left)))
        assert lines[-1:] and lines[-1][0] != "END"
        sid = lines[0][1]
        with Store(data) as store:
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                E, ST, T = schema.events, schema.steps, schema.trials
                events = {(t, k) for t, k in conn.execute(
                    sa.select(E.c.t, E.c.kind).where(E.c.session_id == sid))}
                steps = {(i, st) for i, st in conn.execute(
                    sa.select(ST.c.step_index, ST.c.status).where(ST.c.session_id == sid))}
                trials = set(conn.execute(
                    sa.select(T.c.step_index).where(T.c.session_id == sid)).scalars())
            for x in lines[1:]:
                if x[0] == "EVENT":
                    assert (float(x[2]), x[3]) in events, f"lost {x}"
                elif x[0] == "STEP":
                    assert (int(x[2]), x[3]) in steps, f"lost {x}"
                elif x[0] == "TRIAL":
                    assert int(x[2]) in trials, f"lost {x}"
            session = store.get_session(sid)
            assert session.status == "interrupted"
            if expected is not None:  # this run resumed the previous one where promised
                assert (session.resumed_from, session.start_step) == expected
            found = store.find_resumable("P001", session.protocol_sha256)
            done = {i for i, st in steps if st in ("completed", "skipped")}
            assert found == (sid, min(set(range(session.start_step, session.total_steps)) - done))
            expected = found
            start = found[1]
            resume_points.append(found[1])
    assert max(resume_points) > 0, f"every kill landed before the first step ended: {resume_points}"
