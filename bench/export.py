"""Benchmark: export and review of a store holding 1,000 sessions x 30 trials.

Generates the store with one bulk transaction (``rehab.store.fake.bulk_populate``: sessions,
steps, trials with score JSON, ratings, events; no per-frame landmarks, which export and review
never read), then times, best and median of ``--repeat`` runs:
- export: ``export_trials`` + writing the CSV (what ``rehab export --patient P001 --out`` does);
- summary: ``export_sessions`` + CSV (``--summary``);
- review: ``write_review`` (``rehab review``), plots included.
Baseline in the same run: reading the raw trials table with pandas (``pd.read_sql``), i.e. the
cost of the data itself before any tidying. Targets: export < 1 s, review < 5 s.

Run:  python bench/export.py [--sessions 1000] [--trials 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

TARGET_EXPORT_S = 1.0
TARGET_REVIEW_S = 5.0


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """(best wall s, median wall s, median CPU s). CPU time shows the cost when other
    processes share the machine (wall time then includes waiting for a core)."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import pandas as pd

    from rehab.report.export import export_sessions, export_trials, write_csv
    from rehab.report.review import write_review
    from rehab.store import Store
    from rehab.store.fake import bulk_populate

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data")
        store.add_patient("P001", "left")
        t0 = time.perf_counter()
        bulk_populate(store.engine, "P001", args.sessions, args.trials)
        gen_s = time.perf_counter() - t0
        proto = Path(tmp) / "p.yaml"
        proto.write_text("name: fake home session\ndescription: bench\nsteps: []\n")
        store.assign("P001", proto, per_week=5, from_date=date(2025, 1, 6))
        db_mb = os.path.getsize(store.db_path) / 1e6
        print(f"generated {args.sessions} sessions x {args.trials} trials in {gen_s:.2f} s "
              f"(db {db_mb:.1f} MB incl. WAL pending: {os.path.exists(str(store.db_path) + '-wal')})")

        csv = Path(tmp) / "out.csv"
        html = Path(tmp) / "review.html"
        with store.engine.connect() as conn:
            base = timed(lambda: pd.read_sql("SELECT * FROM trials", conn), args.repeat)
        exp = timed(lambda: write_csv(export_trials(store, "P001"), csv), args.repeat)
        rows = sum(1 for _ in open(csv)) - 1
        summ = timed(lambda: write_csv(export_sessions(store, "P001"), csv), args.repeat)
        rev = timed(lambda: write_review(store, "P001", html), args.repeat)
        def line(label: str, r: tuple[float, float, float], target: float | None) -> None:
            text = f"{label:<28} best {r[0]:6.3f} s  median {r[1]:6.3f} s  cpu {r[2]:6.3f} s"
            if target:
                text += (f"  target {target:.1f} s  ratio(best) {r[0] / target:.2f}"
                         f"  ratio(cpu) {r[2] / target:.2f}  x baseline {r[1] / base[1]:.1f}")
            print(text)

        line("baseline read_sql(trials)", base, None)
        line(f"export ({rows} rows)", exp, TARGET_EXPORT_S)
        line("summary export", summ, TARGET_EXPORT_S)
        line(f"review ({html.stat().st_size / 1e6:.2f} MB html)", rev, TARGET_REVIEW_S)
        try:
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        except OSError:
            pass
        store.close()


if __name__ == "__main__":
    main()
