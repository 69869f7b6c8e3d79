"""Tidy pandas exports of the store: one row per trial, or one row per session (``--summary``).

Column meanings are documented in the README ("Session data, export and review"). Metric columns
are the keys of each trial's stored score (``TrialScore.to_dict()``), nested dicts flattened with
dots (``similarity.dtw``); a metric a task does not have is empty. Ratings are per session:
``pain_first`` / ``pain_last`` are the first and last pain answers of that session.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from rehab.store import schema
from rehab.store.db import Store
from rehab.store.secure import open_private

SESSION_COLUMNS = [
    "patient_id", "session_id", "session_date", "session_start", "session_status",
    "protocol_name", "protocol_sha256",
]
TRIAL_COLUMNS = SESSION_COLUMNS + [
    "trial_no", "step_index", "step_kind", "task", "hand", "repetitions", "frames",
    "tracked_fraction",
]
SUMMARY_COLUMNS = SESSION_COLUMNS + [
    "session_end", "duration_s", "resumed_from", "start_step", "total_steps", "steps_completed",
    "trials", "repetitions_total", "tracked_fraction_mean",
]
_EPOCH = pd.Timestamp("1970-01-01")
_HEADLINE = {"task", "hand", "repetitions", "frames", "tracked_fraction"}


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become JSON text (one cell per metric)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if v.__class__ is dict:
            out.update(flatten(v, f"{prefix}{k}."))
        elif v.__class__ is list:
            out[f"{prefix}{k}"] = json.dumps(v)
        else:
            out[f"{prefix}{k}"] = v
    return out


def metric_frame(dicts: list[dict], prefix: str = "", skip: frozenset[str] = frozenset()
                 ) -> pd.DataFrame:
    """Column-wise ``flatten`` of many score dicts, one row per dict (index 0..n-1).

    Same cells as ``flatten`` row by row, but built column by column in C (see ``_key_columns``),
    which matters for 30,000 trials. Nested dict columns are expanded recursively, list cells
    become JSON text. Top-level keys in ``skip`` are left out (unless they hold dicts).
    """
    n = len(dicts)
    out: dict[str, pd.Series] = {}
    for key, values in _key_columns(dicts).items():
        kinds = set(map(type, values))
        name = f"{prefix}{key}"
        if dict in kinds:
            sub = metric_frame([v if type(v) is dict else {} for v in values], name + ".")
            out.update({c: sub[c] for c in sub.columns})
        elif key in skip:
            continue
        elif list in kinds:
            column = pd.Series(values, dtype=object)
            out[name] = column.map(lambda v: json.dumps(v) if type(v) is list else v)
        else:  # numbers, text, booleans: let pandas pick the dtype (None/missing -> NaN)
            out[name] = pd.Series(values, dtype=object).infer_objects()
    return pd.DataFrame(out, index=range(n))


def _key_columns(dicts: list[dict]) -> dict[str, np.ndarray]:
    """key -> object array of its values, one per dict (NaN where a dict lacks the key), keys in
    first-seen order. Dicts sharing a key layout (all trials of a task) are read together with
    one ``itemgetter`` pass and transposed by ``zip``: C loops, no Python code per cell."""
    n = len(dicts)
    pieces: dict[str, list[tuple[Any, tuple]]] = {}
    for shape, idx in _layouts(dicts).items():
        if not shape:
            continue
        rows = map(itemgetter(*shape), map(dicts.__getitem__, idx))
        columns = zip(*rows, strict=True) if len(shape) > 1 else [tuple(rows)]
        for key, values in zip(shape, columns, strict=True):
            pieces.setdefault(key, []).append((idx, values))
    out: dict[str, np.ndarray] = {}
    for key, parts in pieces.items():
        if len(parts) == 1 and len(parts[0][0]) == n:  # every dict has it, in order
            out[key] = np.fromiter(parts[0][1], dtype=object, count=n)
            continue
        column = np.full(n, np.nan, dtype=object)  # a missing key reads as NaN
        for idx, values in parts:
            # fromiter keeps list/dict cells whole (plain assignment would broadcast them)
            column[idx] = np.fromiter(values, dtype=object, count=len(idx))
        out[key] = column
    return out


def _layouts(dicts: list[dict]) -> dict[tuple, Any]:
    """Key layout -> positions of the dicts having it, layouts in first-seen order."""
    shapes = np.fromiter(map(tuple, dicts), dtype=object, count=len(dicts))
    codes, uniques = pd.factorize(shapes)  # hashing in C instead of a Python loop per dict
    if len(uniques) == 1:
        return {uniques[0]: range(len(dicts))}
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {u: order[a:b].tolist() for u, a, b in zip(uniques, bounds, bounds[1:], strict=False)}


def _sessions_frame(conn, patient_id: str | None) -> pd.DataFrame:
    S = schema.sessions
    q = sa.select(
        S.c.patient_id, S.c.id.label("session_id"), S.c.started_wall, S.c.ended_wall,
        S.c.status.label("session_status"), S.c.protocol_name, S.c.protocol_sha256,
        S.c.resumed_from, S.c.start_step, S.c.total_steps,
    ).order_by(S.c.patient_id, S.c.started_wall, S.c.id)
    if patient_id is not None:
        q = q.where(S.c.patient_id == patient_id)
    df = pd.DataFrame(conn.execute(q).all(), columns=list(q.selected_columns.keys()))
    start = local_times(df["started_wall"])
    end = local_times(df["ended_wall"])
    df["session_start"] = start.dt.strftime("%Y-%m-%dT%H:%M:%S")
    df["session_date"] = start.dt.strftime("%Y-%m-%d")
    df["session_end"] = end.dt.strftime("%Y-%m-%dT%H:%M:%S")
    df["duration_s"] = (end - start).dt.total_seconds().round(1)
    return df


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
    R, S = schema.ratings, schema.sessions
    q = sa.select(R.c.session_id, R.c.key, R.c.value).order_by(R.c.id)
    if patient_id is not None:
        q = q.join(S, S.c.id == R.c.session_id).where(S.c.patient_id == patient_id)
    df = pd.DataFrame(conn.execute(q).all(), columns=["session_id", "key", "value"])
    if df.empty:
        return pd.DataFrame(index=pd.Index([], name="session_id"))
    g = df.groupby(["session_id", "key"], sort=False)["value"]
    wide = pd.concat({"first": g.first(), "last": g.last()}, axis=1).unstack("key")
    wide.columns = [f"{key}_{which}" for which, key in wide.columns]
    keys = list(dict.fromkeys(df["key"]))
    order = [f"{k}_{w}" for k in keys for w in ("first", "last")]
    return wide[order].astype("Int64")


def _fetch_plain(conn, q) -> list[tuple]:
    """Rows of ``q`` straight from the DB-API cursor: skips SQLAlchemy's per-row objects (a
    third of the read time for 30,000 trials). Only for plain columns (text, integers, floats):
    no SQLAlchemy type conversion happens here. Works with any driver's parameter style."""
    compiled = q.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if compiled.positional:
        params = [params[k] for k in compiled.positiontup]
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(str(compiled), params)
        return cur.fetchall()
    finally:
        cur.close()


def _series(values: tuple) -> pd.Series:
    """``pd.Series(values)`` (object when empty); all-int columns without pandas' per-value
    type inference, which costs ~5 ms per 30,000 values."""
    if values and set(map(type, values)) == {int}:
        with contextlib.suppress(OverflowError):  # beyond int64: let pandas decide
            return pd.Series(np.fromiter(values, dtype=np.int64, count=len(values)))
    return pd.Series(values, dtype=None if values else object)


def _trials_frame(conn, patient_id: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Trials with their step kind and flattened metrics (``metric_cols`` in first-seen order)."""
    T, S, ST = schema.trials, schema.sessions, schema.steps
    kind = (sa.select(ST.c.kind)
            .where(ST.c.session_id == T.c.session_id, ST.c.step_index == T.c.step_index)
            .order_by(ST.c.id.desc()).limit(1).scalar_subquery())
    q = sa.select(
        T.c.session_id, T.c.trial_no, T.c.step_index, kind.label("step_kind"), T.c.task, T.c.hand,
        T.c.repetitions, T.c.frames, T.c.tracked_fraction, T.c.score_json,
    ).order_by(T.c.id)
    if patient_id is not None:
        q = q.join(S, S.c.id == T.c.session_id).where(S.c.patient_id == patient_id)
    names = list(q.selected_columns.keys())
    rows = _fetch_plain(conn, q)
    # Transposing with zip (C speed) beats building the frame row by row.
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    base = pd.DataFrame({n: _series(c) for n, c in zip(names[:9], columns[:9], strict=True)})
    # One json.loads over the whole column is much faster than one call per trial.
    scores = json.loads("[" + ",".join(columns[9]) + "]")
    mdf = metric_frame(scores, skip=_HEADLINE)
    mdf.index = base.index
    clash = [c for c in mdf.columns if c in TRIAL_COLUMNS]
    mdf = mdf.rename(columns={c: f"score.{c}" for c in clash})
    return pd.concat([base, mdf], axis=1), list(mdf.columns)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while reading: the ~100,000 rows, dicts and tuples made for
    30,000 trials set off full collections that cost a fifth of the export. They hold no
    cycles; whatever the caller had collectable is collected after, as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Raw:
    sessions: pd.DataFrame
    trials: pd.DataFrame
    metric_cols: list[str]
    ratings: pd.DataFrame
    steps_done: pd.DataFrame


def _load(store: Store, patient_id: str | None) -> _Raw:
    ST, S = schema.steps, schema.sessions
    q = (sa.select(ST.c.session_id, sa.func.count(sa.distinct(ST.c.step_index)))
         .where(ST.c.status.in_(("completed", "skipped"))).group_by(ST.c.session_id))
    if patient_id is not None:
        q = q.join(S, S.c.id == ST.c.session_id).where(S.c.patient_id == patient_id)
    with store.engine.connect() as conn, _gc_paused():
        sessions = _sessions_frame(conn, patient_id)
        trials, metric_cols = _trials_frame(conn, patient_id)
        ratings = _ratings_wide(conn, patient_id)
        done = pd.DataFrame(conn.execute(q).all(), columns=["session_id", "steps_completed"])
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
    """
    return _sessions_table(_load(store, patient_id))


def export_both(store: Store, patient_id: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, sessions) tables from one read of the store (the review uses both)."""
    raw = _load(store, patient_id)
    return _trials_table(raw), _sessions_table(raw)


def write_csv(df: pd.DataFrame, out: str | os.PathLike | None) -> None:
    """Write ``df`` as CSV to ``out`` (created owner-only, 0o600) or to stdout when None.

    Text cells a spreadsheet would run as a formula are neutralised (:func:`neutralise`).
    """
    df = neutralise(df)
    if out is None:
        df.to_csv(sys.stdout, index=False)
        return
    with open_private(Path(out), "w", newline="", encoding="utf-8") as fh:
        df.to_csv(fh, index=False)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(_neutral_cell)
    return out


def _neutral_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
