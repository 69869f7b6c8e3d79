"""Benchmark: export and review of a store holding 1,000 sessions x 30 trials.

Generates the store with one bulk transaction (``rehab.testing.store_data.bulk_populate``: sessions,
steps, trials whose score JSON the real scorer wrote for the synthetic hand, so the export has
the columns a real session's export has; ratings, events; no per-frame landmarks, which export
and review never read), then times ``--repeat`` runs of each (best and median, wall and CPU time; CPU time
shows the cost when other processes share the machine, wall time then includes waiting):
- export: ``export_trials`` + writing the CSV (what ``rehab export --patient P001 --out`` does);
- summary: ``export_sessions`` + CSV (``--summary``);
- review: ``write_review`` (``rehab review``), plots included.
Baseline in the same run: the raw trials table read with ``pd.read_sql("SELECT * FROM trials")``
and written with ``to_csv``, i.e. moving the same data with no tidying at all; "x baseline" is
what our joins, JSON decoding, flattening and formatting cost on top, in wall time (what the
clinician waits) and in CPU time (the export parses and formats on one thread per CPU, so its
CPU time is more than its wall time; the baseline's are equal). Targets: export < 1 s,
review < 5 s. Then the export's stages one by one, the plain pandas path once (``json.loads`` +
``json_normalize`` + ``to_csv``, what the export falls back to) and a check that both CSVs read
back with pandas give the same table (columns, order, values) and are the same bytes.

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


def timed(fn, repeat: int) -> dict[str, float]:
    """Best and median wall and CPU seconds of ``repeat`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"best": min(walls), "median": statistics.median(walls),
            "cpu_best": min(cpus), "cpu_median": statistics.median(cpus)}


def report(label: str, r: dict[str, float], base: dict[str, float] | None,
           target_s: float | None) -> None:
    text = (f"{label:<30} wall best {r['best']:6.3f} median {r['median']:6.3f} s | "
            f"cpu best {r['cpu_best']:6.3f} median {r['cpu_median']:6.3f} s")
    if target_s:
        text += (f" | target {target_s:.1f} s: best/target {r['best'] / target_s:.2f},"
                 f" cpu/target {r['cpu_best'] / target_s:.2f}")
    if base:  # the export runs on one thread per CPU in places, so CPU time can exceed wall
        text += (f" | x baseline: wall best {r['best'] / base['best']:.2f},"
                 f" cpu best {r['cpu_best'] / base['cpu_best']:.2f}")
    print(text)


def stages(store) -> None:
    """Wall and CPU seconds of each stage of one export (one run each)."""
    import pandas as pd

    from rehab.report import columnar
    from rehab.report.export import _HEADLINE, export_trials, neutralise
    from rehab.store import queries

    def cpu(label: str, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        print(f"  stage {label:<38} wall {time.perf_counter() - t0:6.3f} s"
              f" | cpu {time.process_time() - c0:6.3f} s")
        return out

    with store.engine.connect() as conn:
        rows = cpu("SQL read (queries.export_trials)", lambda: queries.export_trials(conn, "P001"))
    texts = pd.DataFrame(rows, columns=list(queries.EXPORT_TRIAL_FIELDS))["score_json"].tolist()
    cpu("score JSON -> columns (metric_table)", lambda: columnar.metric_table(texts, _HEADLINE))
    df = cpu("whole export_trials", lambda: export_trials(store, "P001"))
    safe = cpu("neutralise", lambda: neutralise(df))
    cpu("CSV text (csv_bytes)", lambda: columnar.csv_bytes(safe))


def plain_pandas_export(store, out: Path) -> None:
    """The export through its pandas path only (json_normalize, to_csv)."""
    from rehab.report import columnar
    from rehab.report.export import export_trials, write_csv

    fast = columnar.metric_table, columnar.csv_bytes
    columnar.metric_table = lambda texts, skip=(): None  # type: ignore[assignment]
    columnar.csv_bytes = lambda df: None  # type: ignore[assignment]
    try:
        write_csv(export_trials(store, "P001"), out)
    finally:
        columnar.metric_table, columnar.csv_bytes = fast


def same_read_back(a: Path, b: Path) -> bool:
    """Whether two CSVs read back with pandas give the same columns, order and values (None
    and NaN both count as empty)."""
    import pandas as pd

    left, right = (pd.read_csv(p, float_precision="round_trip", low_memory=False) for p in (a, b))
    try:
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
    except AssertionError as exc:
        print(f"  differs: {str(exc)[:300]}")
        return False
    return True


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
    from rehab.testing.store_data import bulk_populate

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

        def baseline() -> None:
            with store.engine.connect() as conn:
                pd.read_sql("SELECT * FROM trials", conn).to_csv(csv, index=False)

        base = timed(baseline, args.repeat)
        exp = timed(lambda: write_csv(export_trials(store, "P001"), csv), args.repeat)
        df = export_trials(store, "P001")
        rows = len(df)
        summ = timed(lambda: write_csv(export_sessions(store, "P001"), csv), args.repeat)
        rev = timed(lambda: write_review(store, "P001", html), args.repeat)

        report("baseline SELECT * + to_csv", base, None, None)
        report(f"export ({rows} rows, {len(df.columns)} columns)", exp, base, TARGET_EXPORT_S)
        report("summary export", summ, base, TARGET_EXPORT_S)
        report(f"review ({html.stat().st_size / 1e6:.2f} MB html)", rev, None, TARGET_REVIEW_S)
        stages(store)
        plain_csv = Path(tmp) / "plain.csv"
        plain = timed(lambda: plain_pandas_export(store, plain_csv), 1)
        report("plain pandas path (fallback)", plain, base, TARGET_EXPORT_S)
        write_csv(df, csv)
        print(f"export CSV identical to the plain pandas path's: "
              f"{csv.read_bytes() == plain_csv.read_bytes()}; read back the same: "
              f"{same_read_back(csv, plain_csv)} ({len(df.columns)} columns)")
        try:
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        except OSError:
            pass
        store.close()


if __name__ == "__main__":
    main()
