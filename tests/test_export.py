"""Export: tidy per-trial and per-session tables, ratings, metrics, empty patients, CSV mode,
and the fast CSV writer and local-time conversion giving exactly what pandas/dateutil give."""

from __future__ import annotations

import os
import stat
import time

import pandas as pd
import pytest

from rehab.engine.writer import Event
from rehab.report.export import (
    SUMMARY_COLUMNS,
    TRIAL_COLUMNS,
    export_both,
    export_sessions,
    export_trials,
    local_times,
    metric_frame,
    write_csv,
)
from rehab.store import Store
from rehab.testing.store_data import FAKE_SHA, bulk_populate, fake_info, hand_frames


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    s.add_patient("P001", "left")
    s.add_patient("P002", "right")
    yield s
    s.close()


def _session(store, patient="P001", pains=(3, 5), tasks=("open_close", "finger_tap"), end="completed"):
    w = store.writer()
    sid = w.begin(fake_info(patient))
    w.rating(0, "pain", pains[0], 0.0)
    w.rating(0, "fatigue", 1, 0.1)
    w.step(0, "rate", "completed", 0.0, 1.0)
    for i, task in enumerate(tasks, start=1):
        score = {"task": task, "hand": "left", "frames": 10, "tracked_fraction": 0.9,
                 "repetitions": 3 + i, "rate_hz": 1.5 * i, "similarity": {"score": 70 + i},
                 "fingers": ["index", "middle"]}
        w.trial(i, task, "left", score, hand_frames(10, "left"))
        w.step(i, "execute", "completed", float(i), i + 0.5)
    w.rating(3, "pain", pains[1], 9.0)
    w.event(Event(t=9.5, kind="session_ended"))
    if end:
        w.end(end)
    return sid


def test_trials_one_row_per_trial_with_metrics_and_ratings(store):
    sid = _session(store)
    _session(store, "P002", pains=(0, 0), tasks=("opposition",))
    df = export_trials(store, "P001")
    assert len(df) == 2
    assert list(df.columns[: len(TRIAL_COLUMNS)]) == TRIAL_COLUMNS
    row = df.iloc[1]
    assert row["patient_id"] == "P001" and row["session_id"] == sid
    assert row["protocol_sha256"] == FAKE_SHA and row["protocol_name"] == "fake home session"
    assert row["step_index"] == 2 and row["step_kind"] == "execute" and row["task"] == "finger_tap"
    assert row["repetitions"] == 5 and row["trial_no"] == 2
    assert row["rate_hz"] == pytest.approx(3.0) and row["similarity.score"] == 72
    assert row["fingers"] == '["index", "middle"]'
    assert (row["pain_first"], row["pain_last"]) == (3, 5)
    assert (row["fatigue_first"], row["fatigue_last"]) == (1, 1)
    assert row["session_date"] == row["session_start"][:10]
    both = export_trials(store, None)
    assert set(both["patient_id"]) == {"P001", "P002"} and len(both) == 3


def test_summary_one_row_per_session(store):
    _session(store)
    _session(store, pains=(4, 4), end=None)  # still running
    df = export_sessions(store, "P001")
    assert len(df) == 2
    assert list(df.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    first, second = df.iloc[0], df.iloc[1]
    assert first["session_status"] == "completed" and first["duration_s"] >= 0
    assert second["session_status"] == "running" and pd.isna(second["duration_s"])
    assert first["trials"] == 2 and first["repetitions_total"] == 9 and first["steps_completed"] == 3
    assert first["open_close.rate_hz"] == pytest.approx(1.5)
    assert first["finger_tap.similarity.score"] == 72
    assert second["pain_first"] == 4
    trials, sessions = export_both(store, "P001")
    pd.testing.assert_frame_equal(sessions, df)


def test_no_sessions_gives_header_only(store, tmp_path):
    df = export_trials(store, "P002")
    assert df.empty and list(df.columns) == TRIAL_COLUMNS
    out = tmp_path / "empty.csv"
    write_csv(df, out)
    assert out.read_text().strip() == ",".join(TRIAL_COLUMNS)
    assert export_sessions(store, "P002").empty


def test_csv_is_owner_only_even_when_it_existed(store, tmp_path):
    _session(store)
    out = tmp_path / "p.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    write_csv(export_trials(store, "P001"), out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    back = pd.read_csv(out)
    assert len(back) == 2 and back["pain_last"].tolist() == [5, 5]


def test_bulk_store_exports_every_trial(store):
    bulk_populate(store.engine, "P003", n_sessions=20, trials_per_session=6)
    df = export_trials(store, "P003")
    assert len(df) == 120 and df["session_id"].nunique() == 20
    assert df.groupby("session_id")["trial_no"].apply(list).map(lambda x: x == [1, 2, 3, 4, 5, 6]).all()
    assert df["session_start"].is_monotonic_increasing


def test_metric_frame_flattens_nested_keys_and_keeps_lists_as_json():
    dicts = [
        {"a": 1, "b": {"c": 2.5, "d": {"e": "x"}}, "l": [1, 2]},
        {"a": 2, "b": None, "z": True},
        {},
        {"b": {"c": None, "f": 7}, "a": 3},
        {"l": ["index", "ring"], "a": 6},
    ]
    df = metric_frame(dicts)
    # a nested dict that is None in some rows is not also kept as an empty "b" column
    assert sorted(df.columns) == ["a", "b.c", "b.d.e", "b.f", "l", "z"]
    cells = {c: [None if pd.isna(v) else v for v in df[c].tolist()] for c in df.columns}
    assert cells == {
        "a": [1, 2, None, 3, 6], "b.c": [2.5, None, None, None, None],
        "b.d.e": ["x", None, None, None, None], "b.f": [None, None, None, 7, None],
        "l": ["[1, 2]", None, None, None, '["index", "ring"]'], "z": [None, True, None, None, None],
    }


def test_metric_frame_skips_headline_keys_but_expands_dicts():
    df = metric_frame([{"task": "t", "x": 1, "hand": {"k": 2}}, {"task": "u", "x": 2}],
                      skip=frozenset({"task", "hand"}))
    assert list(df.columns) == ["x", "hand.k"]
    assert df["x"].tolist() == [1, 2] and df["hand.k"].iloc[0] == 2


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset (Unix)")
@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_local_times_match_dateutil_across_dst(zone, monkeypatch):
    from dateutil.tz import tzlocal

    utc = pd.Series([pd.Timestamp("2025-03-09 06:59:59"), pd.Timestamp("2025-03-09 07:00:00"),
                     None, pd.Timestamp("2025-11-02 05:30:00.123456"),
                     pd.Timestamp("2025-10-04 15:30:00"), pd.Timestamp("2025-04-05 15:00:00")])
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        expected = (pd.to_datetime(utc).dt.tz_localize("UTC").dt.tz_convert(tzlocal())
                    .dt.tz_localize(None))
        got = local_times(utc)
    finally:
        monkeypatch.undo()
        time.tzset()
    pd.testing.assert_series_equal(got, expected)
    assert (got.dropna() != utc.dropna()).all()  # these zones are never at UTC


def test_export_columns_documents_every_metric_column_of_a_real_export(store):
    """``rehab export --columns``: each metric column a real-scorer export has is described
    (label and unit from the task registry), ROM columns by their pattern."""
    from click.testing import CliRunner

    from rehab.cli import main
    from rehab.report.export import metric_columns

    bulk_populate(store.engine, "P001", n_sessions=40, trials_per_session=5)  # 2 % unscored
    exported = export_trials(store, "P001")
    described = set(metric_columns()["column"])
    metric_cols = [c for c in exported.columns[len(TRIAL_COLUMNS):]
                   if not c.endswith(("_first", "_last")) and not c.startswith("rom.")]
    assert "error" in metric_cols and "similarity.dtw_cost" in metric_cols  # the bulk's kinds
    assert sorted(set(metric_cols) - described) == []  # every one, bookkeeping included
    out = CliRunner().invoke(main, ["export", "--columns"])
    assert out.exit_code == 0
    assert "opening_range,open_close,Opening range,hand sizes,higher" in out.output
    assert "tracked_fraction,open_close finger_tap opposition reach_grasp free,Hand tracked," \
           "fraction (x100 = %),higher" in out.output


def test_a_score_block_no_trial_has_is_not_a_column(store):
    """Free movement has no smoothness measure (``smoothness: None``): an export of such
    trials only has no smoothness columns at all, not a column named ``smoothness``; once a
    trial has one, its metrics are the columns. Both the Arrow and the pandas path."""
    import random

    from rehab.testing.store_data import real_score

    def add(task: str) -> None:
        w = store.writer()
        w.begin(fake_info("P001"))
        score = real_score(task, "left", random.Random(0))
        w.trial(1, task, "left", score, hand_frames(10, "left"))
        w.end("completed")

    add("free")
    for path in ("arrow", "pandas"):
        cols = _export_columns(store, path)
        assert "smoothness" not in cols and not any(c.startswith("smoothness.") for c in cols)
        assert "similarity.score" in cols and "similarity" not in cols
    add("open_close")
    for path in ("arrow", "pandas"):
        cols = _export_columns(store, path)
        assert "smoothness" not in cols and "smoothness.sparc" in cols


def _export_columns(store, path: str) -> list[str]:
    from unittest import mock

    from rehab.report import columnar

    if path == "arrow":
        return list(export_trials(store, "P001").columns)
    with mock.patch.object(columnar, "metric_table", lambda texts, skip: None):
        return list(export_trials(store, "P001").columns)
