"""Benchmark: a clinic of laptops syncing to a real PostgreSQL, then ``rehab review --all``.

Builds ``--patients`` laptop stores (SQLite, as a home laptop has them) of ``--sessions``
completed sessions x ``--trials`` trials, each trial with ``--frames`` frames of per-frame
landmarks (image + world, 2 x 252 bytes), registers a laptop login per patient, then times
``rehab sync`` of every laptop (``--parallel`` at once) and the clinic overview (``rehab review
--all``) as a clinician on the finished clinic, row-level security included. Target for the
overview: under 5 s. Full size (the issue's): 200 x 50 x 30; ``--quick`` is 10 x 10 x 30.

Uses a throwaway cluster on 127.0.0.1 (the installed PostgreSQL), or ``--server URL`` of an
admin (password in REHAB_SERVER_PASSWORD) on which it creates and drops a database.

Run:  python bench/sync.py [--patients 200] [--sessions 50] [--trials 30] [--frames 30]
      [--parallel 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from rehab.report.clinic import clinic_overview, overview_lines
from rehab.store import Store, schema
from rehab.store.server import ServerStore, add_clinician, add_laptop, role_url, server_engine
from rehab.store.server_schema import init_server
from rehab.store.sync import sync
from rehab.store.writer import frame_rows
from rehab.testing.store_data import FAKE_SHA, bulk_populate, hand_frames

TARGET_REVIEW_S = 5.0


def build_laptop(folder: Path, patient: str, sessions: int, trials: int, frames: int,
                 seed: int) -> Store:
    store = Store(folder)
    # the last session a few days ago, so the overview's five weeks hold real data
    start = datetime.now() - timedelta(days=sessions * 7 / 5 + 3)
    bulk_populate(store.engine, patient, sessions, trials, seed=seed, start=start)
    template = frame_rows(0, hand_frames(frames, "left", dropped_every=7, seed=seed))
    with store.engine.begin() as conn:
        ids = conn.execute(sa.select(schema.trials.c.id)).scalars().all()
        rows = [dict(r, trial_id=tid) for tid in ids for r in template]
        if rows:
            conn.execute(schema.trial_frames.insert(), rows)
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--frames", type=int, default=30, help="frames (with landmarks) per trial")
    ap.add_argument("--parallel", type=int, default=2, help="laptops syncing at once")
    ap.add_argument("--quick", action="store_true", help="10 patients x 10 sessions")
    ap.add_argument("--server", help="admin URL of an existing server (default: throwaway)")
    args = ap.parse_args()
    if args.quick:
        args.patients, args.sessions = 10, 10
    cluster = None
    if args.server:
        admin_url, admin_pw = args.server, os.environ.get("REHAB_SERVER_PASSWORD")
    else:
        from rehab.testing.pgcluster import PgCluster

        cluster = PgCluster.start()
        admin_url, admin_pw = cluster.admin_url(), cluster.admin_password
    db = f"bench_{secrets.token_hex(3)}"
    maint = server_engine(admin_url, admin_pw, isolation_level="AUTOCOMMIT")
    with maint.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {db}")
    url = str(sa.make_url(admin_url).set(database=db).render_as_string(False))
    base = Path(tempfile.mkdtemp(prefix="rehab-bench-sync-"))
    try:
        run(args, url, admin_pw, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        with maint.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            for (role,) in conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname "
                                                "LIKE :p ORDER BY rolname DESC"), {"p": f"{db}_%"}):
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
        maint.dispose()
        if cluster:
            cluster.stop()


def run(args, url: str, admin_pw: str | None, base: Path) -> None:
    admin = server_engine(url, admin_pw)
    init_server(admin)
    t0 = time.perf_counter()
    laptops = []
    for i in range(args.patients):
        pid = f"P{i:04d}"
        store = build_laptop(base / pid, pid, args.sessions, args.trials, args.frames, seed=i)
        role, pw = add_laptop(admin, pid, "left")
        laptops.append((store, role_url(url, role), pw))
    build_s = time.perf_counter() - t0
    n = args.patients * args.sessions
    frames = n * args.trials * args.frames
    print(f"built {args.patients} laptops x {args.sessions} sessions x {args.trials} trials x "
          f"{args.frames} frames = {n} sessions, {frames} frame rows in {build_s:.1f} s")

    pushed = []
    queue = list(laptops)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                store, lurl, pw = queue.pop()
            e = server_engine(lurl, pw)
            r = sync(store, e, lurl, pw)
            e.dispose()
            with lock:
                pushed.append(r.pushed)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(max(1, args.parallel))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sync_s = time.perf_counter() - t0
    assert sum(pushed) == n, (sum(pushed), n)
    with admin.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        on_server = conn.execute(sa.text("SELECT count(*) FROM trial_frames")).scalar()
    assert on_server == frames, (on_server, frames)
    print(f"sync: {n} sessions in {sync_s:.1f} s = {n / sync_s:.1f} sessions/s, "
          f"{frames / sync_s:,.0f} frame rows/s ({args.parallel} laptops at once); "
          f"server database {size / 1e6:.0f} MB")

    t0 = time.perf_counter()
    again = sum(sync(s, server_engine(u, p), u, p).up_to_date for s, u, p in laptops[:10])
    print(f"re-sync of {min(10, len(laptops))} up-to-date laptops: "
          f"{(time.perf_counter() - t0) / min(10, len(laptops)):.3f} s each ({again} sessions "
          "already there)")

    with admin.begin() as conn:  # every patient assigned 5 a week from their first session
        conn.execute(schema.assignments.insert(), [dict(
            patient_id=f"P{i:04d}", protocol_sha256=FAKE_SHA, protocol_name="fake home session",
            protocol_path="protocols/fake.yaml", per_week=5,
            from_date=date.today() - timedelta(days=args.sessions * 7 // 5 + 3),
            created=datetime.now()) for i in range(args.patients)])
    role, pw = add_clinician(admin, "bench")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        with ServerStore(role_url(url, role), pw) as store:
            lines = overview_lines(clinic_overview(store), on_server=True)
        times.append(time.perf_counter() - t0)
    print(f"rehab review --all (clinician, {len(lines) - 2} patients): best {min(times):.2f} s, "
          f"worst {max(times):.2f} s (target {TARGET_REVIEW_S:.0f} s); first rows:")
    print("\n".join(lines[:3] + lines[-1:]))
    for s, _, _ in laptops:
        s.close()
    admin.dispose()


if __name__ == "__main__":
    main()
