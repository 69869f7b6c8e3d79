"""Tidy pandas exports of the store: one row per trial, or one row per session (``--summary``).

Column meanings are documented in the README ("Session data, export and review"). Metric columns
are the keys of each trial's stored score (``TrialScore.to_dict()``), nested dicts flattened with
dots (``similarity.score``); a metric a task does not have is empty. Ratings are per session:
``pain_first`` / ``pain_last`` are the first and last pain answers of that session.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rehab.engine.endings import describe
from rehab.report import columnar
from rehab.report.dose import load_doses, with_session_dose
from rehab.store import queries
from rehab.store.db import Store
from rehab.store.secure import open_private
from rehab.tasks import COMMON_METRICS, TASK_LIST

SESSION_COLUMNS = [
    "patient_id", "session_id", "session_date", "session_start", "session_status",
    "protocol_name", "protocol_sha256",
]
TRIAL_COLUMNS = SESSION_COLUMNS + [
    "trial_no", "step_index", "step_kind", "task", "hand", "repetitions", "frames",
    "tracked_fraction",
]
SUMMARY_COLUMNS = SESSION_COLUMNS + [
    "session_end", "duration_s", "end_reason", "end_detail", "chain_id", "resumed_from",
    "start_step", "total_steps", "steps_completed", "trials", "repetitions_total",
    "tracked_fraction_mean",
]
# The nested blocks of a trial score (``smoothness``, ``similarity``, ...), from the registry's
# dotted metric keys: a block is None where a trial has none, and its metrics are its columns.
SCORE_BLOCKS = frozenset(m.key.split(".", 1)[0] for t in TASK_LIST
                         for m in COMMON_METRICS + t.metrics if "." in m.key) | {"rom"}
_EPOCH = pd.Timestamp("1970-01-01")
_HEADLINE = ["task", "hand", "repetitions", "frames", "tracked_fraction"]  # trial columns already


def metric_frame(dicts: list[dict], skip: Collection[str] = ()) -> pd.DataFrame:
    """Score dicts as columns, one row per dict: ``pd.json_normalize`` (nested keys joined
    with dots), list cells as JSON text, top-level ``skip`` keys left out.

    A nested metric that is None in some rows (``similarity`` without a demonstration) keeps
    only its leaf columns, empty in those rows. Columns come in :func:`key_order`, as
    ``rehab.report.columnar.metric_table`` gives them.
    """
    df = pd.json_normalize(dicts) if dicts else pd.DataFrame(index=range(0))
    rank = {name: i for i, name in enumerate(key_order(dicts))}
    df = df[sorted(df.columns, key=lambda c: rank.get(c, len(rank)))]
    nested = {c.split(".", 1)[0] for c in df.columns if "." in c}
    df = df.drop(columns=[c for c in df.columns if c in nested or c in skip])
    for c in [c for c in df.columns if pd.api.types.is_object_dtype(df[c])]:
        cells = df[c]
        lists = cells.map(type).eq(list)
        if lists.any():
            df[c] = cells.where(~lists, cells[lists].map(json.dumps))
    return df


def key_order(dicts: list[dict]) -> list[str]:
    """Every key of ``dicts`` flattened with dots, in the order the keys first appear, a
    nested key after its parent's earlier keys (the order of ``TrialScore.to_dict()``: the
    task metrics, ``first10.*``, ``valid``, ``rom.*``, ``smoothness.*`` ... even when the first
    trials had no smoothness).

    Example:
        >>> key_order([{"a": 1, "s": None, "b": 2}, {"s": {"x": 1}, "c": 3}])
        ['a', 's', 's.x', 'b', 'c']
    """
    tree: dict[str, dict] = {}

    def grow(d: dict, node: dict) -> None:
        for key, value in d.items():
            child = node.setdefault(key, {})
            if isinstance(value, dict):
                grow(value, child)

    for d in dicts:
        grow(d, tree)
    out: list[str] = []

    def walk(node: dict, prefix: str) -> None:
        for key, child in node.items():
            out.append(prefix + key)
            walk(child, prefix + key + ".")

    walk(tree, "")
    return out


def _sessions_frame(conn, patient_id: str | None) -> pd.DataFrame:
    df = pd.DataFrame(queries.export_sessions(conn, patient_id),
                      columns=list(queries.EXPORT_SESSION_FIELDS))
    start = local_times(df["started_wall"])
    end = local_times(df["ended_wall"])
    df["session_start"] = start.dt.strftime("%Y-%m-%dT%H:%M:%S")
    df["session_date"] = start.dt.strftime("%Y-%m-%d")
    df["session_end"] = end.dt.strftime("%Y-%m-%dT%H:%M:%S")
    df["duration_s"] = (end - start).dt.total_seconds().round(1)
    df["end_detail"] = [
        describe(code, json.loads(d) if isinstance(d, str) else None)
        if isinstance(code, str) else ""
        for code, d in zip(df["end_reason"], df["end_detail_json"], strict=True)]
    df["chain_id"] = chain_ids(df)
    return df


def chain_ids(df: pd.DataFrame) -> list[str]:
    """For each session row, the id of the first session of its resume chain (itself when it
    resumes nothing): a chain is one session for adherence."""
    parent = dict(zip(df["session_id"], df["resumed_from"], strict=True))
    out = []
    for sid in df["session_id"]:
        seen = {sid}
        while isinstance(parent.get(sid), str) and parent[sid] in parent and parent[sid] not in seen:
            sid = parent[sid]
            seen.add(sid)
        out.append(sid)
    return out


def local_times(utc_naive: pd.Series) -> pd.Series:
    """Naive-UTC datetimes from the store -> naive local times (people read local time).

    The offset of each distinct second comes from the C library (``time.localtime``), as in
    ``datetime.astimezone()`` (``rehab sessions``); converting through dateutil's ``tzlocal``
    ran Python code per value and was most of the sessions read.
    """
    s = pd.to_datetime(utc_naive, errors="coerce")
    epoch_s = (s - _EPOCH) // pd.Timedelta(seconds=1)
    offsets_s = {sec: time.localtime(sec).tm_gmtoff for sec in epoch_s.dropna().unique().tolist()}
    return s + pd.to_timedelta(epoch_s.map(offsets_s), unit="s")


def _ratings_wide(conn, patient_id: str | None) -> pd.DataFrame:
    """session_id -> {key}_first, {key}_last (in the order they were given)."""
    df = pd.DataFrame(queries.export_ratings(conn, patient_id), columns=["session_id", "key", "value"])
    if df.empty:
        return pd.DataFrame(index=pd.Index([], name="session_id"))
    g = df.groupby(["session_id", "key"], sort=False)["value"]
    wide = pd.concat({"first": g.first(), "last": g.last()}, axis=1).unstack("key")
    wide.columns = [f"{key}_{which}" for which, key in wide.columns]
    keys = list(dict.fromkeys(df["key"]))
    order = [f"{k}_{w}" for k in keys for w in ("first", "last")]
    return wide[order].astype("Int64")


def _trials_frame(conn, patient_id: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Trials with their step kind and flattened metrics (``metric_cols`` in first-seen order)."""
    names = list(queries.EXPORT_TRIAL_FIELDS)
    rows = queries.export_trials(conn, patient_id)
    # the score JSON stays Python text: a DataFrame column would copy its 70 MB into Arrow
    columns = dict(zip(names, zip(*rows, strict=True), strict=True)) if rows else {}
    texts = list(columns.pop("score_json", ()))
    base = pd.DataFrame(columns, columns=[n for n in names if n != "score_json"])
    mdf = columnar.metric_table(texts, skip=_HEADLINE)
    if mdf is None:  # the plain pandas path; one json.loads over the whole column is faster
        mdf = metric_frame(json.loads("[" + ",".join(texts) + "]"), skip=_HEADLINE)
    mdf.index = base.index
    # a block no trial filled in (smoothness when every trial lacked a measure) is not a column
    mdf = mdf.drop(columns=[c for c in mdf.columns if c in SCORE_BLOCKS and mdf[c].isna().all()])
    clash = [c for c in mdf.columns if c in TRIAL_COLUMNS]
    mdf = mdf.rename(columns={c: f"score.{c}" for c in clash})
    return pd.concat([base, mdf], axis=1), list(mdf.columns)


@dataclass
class _Raw:
    sessions: pd.DataFrame
    trials: pd.DataFrame
    metric_cols: list[str]
    ratings: pd.DataFrame
    steps_done: pd.DataFrame


def _load(store: Store, patient_id: str | None) -> _Raw:
    with store.engine.connect() as conn:
        sessions = _sessions_frame(conn, patient_id)
        trials, metric_cols = _trials_frame(conn, patient_id)
        ratings = _ratings_wide(conn, patient_id)
        done = pd.DataFrame(queries.steps_done_per_session(conn, patient_id),
                            columns=["session_id", "steps_completed"])
    return _Raw(sessions, trials, metric_cols, ratings, done)


def _trials_table(raw: _Raw) -> pd.DataFrame:
    df = raw.trials.merge(raw.sessions[SESSION_COLUMNS], on="session_id", how="inner")
    df = df.merge(raw.ratings, left_on="session_id", right_index=True, how="left")
    df = df.sort_values(["patient_id", "session_start", "session_id", "trial_no"], kind="stable")
    for c in ("repetitions", "frames", "step_index", "trial_no"):
        df[c] = df[c].astype("Int64")
    return df[TRIAL_COLUMNS + raw.metric_cols + list(raw.ratings.columns)].reset_index(drop=True)


def _sessions_table(raw: _Raw) -> pd.DataFrame:
    trials = raw.trials
    g = trials.groupby("session_id")
    counts = pd.DataFrame({"trials": g.size(), "repetitions_total": g["repetitions"].sum(),
                           "tracked_fraction_mean": g["tracked_fraction"].mean()})
    numeric = [c for c in raw.metric_cols if pd.api.types.is_numeric_dtype(trials[c])]
    per_task = trials.groupby(["session_id", "task"])[numeric].mean().unstack("task")
    per_task.columns = [f"{task}.{metric}" for metric, task in per_task.columns]
    per_task = per_task.dropna(axis=1, how="all")
    per_task = per_task[sorted(per_task.columns)]
    df = raw.sessions.merge(raw.steps_done, on="session_id", how="left")
    df["steps_completed"] = df["steps_completed"].fillna(0).astype("Int64")
    df = df.merge(counts, left_on="session_id", right_index=True, how="left")
    df["trials"] = df["trials"].fillna(0).astype("Int64")
    df["repetitions_total"] = df["repetitions_total"].astype("Int64")
    df = df.merge(raw.ratings, left_on="session_id", right_index=True, how="left")
    df = df.merge(per_task, left_on="session_id", right_index=True, how="left")
    cols = SUMMARY_COLUMNS + list(raw.ratings.columns) + list(per_task.columns)
    return df[cols].reset_index(drop=True)


def export_trials(store: Store, patient_id: str | None = None) -> pd.DataFrame:
    """One row per trial (all patients when ``patient_id`` is None); see module docstring."""
    return _trials_table(_load(store, patient_id))


def export_sessions(store: Store, patient_id: str | None = None) -> pd.DataFrame:
    """One row per session: status, duration, counts, ratings and per-task metric means.

    Metric means are named ``{task}.{metric}`` (mean over that session's trials of the task).
    The observation dose (``rehab.report.dose``: ao_min, mi_min, ...) follows the counts.
    """
    return with_session_dose(_sessions_table(_load(store, patient_id)),
                             load_doses(store, patient_id))


def export_both(store: Store, patient_id: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, sessions) tables from one read of the store (the review uses both)."""
    raw = _load(store, patient_id)
    return _trials_table(raw), with_session_dose(_sessions_table(raw), load_doses(store, patient_id))


def metric_columns() -> pd.DataFrame:
    """What each metric column of the trial export means, from the task registry: column,
    tasks that have it, label, unit, which direction is better. ROM columns follow the pattern
    ``rom.<finger>_<joint>.range_deg`` (also ``min_deg``, ``max_deg``), in degrees."""
    rows: dict[str, dict[str, Any]] = {}
    for task in TASK_LIST:
        for m in COMMON_METRICS + task.metrics:  # a common metric's generic label comes first
            unit = m.unit if m.scale == 1.0 else f"fraction (x{m.scale:g} = {m.unit})"
            row = rows.setdefault(m.key, {"column": m.key, "tasks": {}, "label": m.label,
                                          "unit": unit, "better": m.better or ""})
            row["tasks"][task.name] = None
    out = pd.DataFrame(list(rows.values()), columns=["column", "tasks", "label", "unit", "better"])
    out["tasks"] = out["tasks"].map(" ".join)
    return out


def write_csv(df: pd.DataFrame, out: str | os.PathLike | None) -> None:
    """Write ``df`` as CSV to ``out`` (created owner-only, 0o600) or to stdout when None.

    Text cells a spreadsheet would run as a formula are neutralised (:func:`neutralise`).
    The text is what ``DataFrame.to_csv`` writes, formatted by Arrow compute functions
    (``rehab.report.columnar.csv_bytes``) or by ``to_csv`` itself for the column types those
    do not format (dates, mixed objects).
    """
    df = neutralise(df)
    data = columnar.csv_bytes(df)
    if out is None:
        if data is None:
            df.to_csv(sys.stdout, index=False)
        else:
            sys.stdout.write(data.decode("utf-8"))
        return
    if data is None:
        with open_private(Path(out), "w", newline="", encoding="utf-8") as fh:
            df.to_csv(fh, index=False)
        return
    with open_private(Path(out), "wb") as fh:
        fh.write(data)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# pandas' inferred kinds of a column that holds no text (booleans with gaps are objects)
_NO_TEXT = frozenset({"empty", "boolean", "integer", "floating", "mixed-integer-float",
                      "decimal", "complex"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells starting with = + - @ tab or CR get a leading ``'``
    (OWASP's advice against CSV injection); numbers, and text that is just a number, stay.

    Example:
        >>> neutralise(pd.DataFrame({"a": ["=1+1", "-3", "ok"], "b": [-1, 2, 3]}))["a"].tolist()
        ["'=1+1", '-3', 'ok']
    """
    out = df.copy()
    for column in out.columns:
        cells = out[column]
        if pd.api.types.is_numeric_dtype(cells) or pd.api.types.infer_dtype(
                cells, skipna=True) in _NO_TEXT:
            continue
        if isinstance(cells.dtype, pd.StringDtype):  # vectorised (Arrow's when it stores them)
            risky = cells.str.startswith(_FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                number = cells[risky].str.fullmatch(_NUMBER.pattern).fillna(False).astype(bool)
                risky[risky] = ~number.to_numpy()
                out[column] = cells.mask(risky, "'" + cells)
        else:
            out[column] = cells.map(_neutral_cell)
    return out


def _neutral_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
