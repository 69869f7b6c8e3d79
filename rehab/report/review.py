"""The clinician's review report: one self-contained HTML file (plots embedded as PNG data).

Sections: patient and assignments, adherence per week, progress of each task's headline
metrics across sessions, pain/fatigue trends, the last session's timeline, recent sessions and
a table of recent trials. The full trial list is in ``rehab export``.
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from rehab.engine.endings import END_REASONS
from rehab.protocol.models import STANDARD_SCALES
from rehab.report import plots
from rehab.report.dose import weekly_dose
from rehab.report.export import TRIAL_COLUMNS, export_both
from rehab.store import queries
from rehab.store.db import Assignment, Store
from rehab.store.secure import open_private
from rehab.tasks import TASKS, any_metric

MAX_METRICS = 5  # panels per task
DETAIL_PREFIXES = ("rom.", "quality.", "smoothness.", "similarity.", "validity.")
TABLE_SESSIONS = 10  # the trials table covers the latest sessions only
TABLE_ROWS = 300
FREQUENT_EVENTS = 50  # kinds logged more often than this (per-frame) are counted, not listed

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f3f3f3}.scroll{overflow-x:auto;max-width:100%}
td:first-child,th:first-child,td:last-child{text-align:left}img{max-width:100%}.muted{color:#777}
.tone-patient{color:#b00}.tone-system{color:#555}.tone-done{color:#060}
.tone-safety{color:#7a3e00;background:#fff1c9;font-weight:bold}
.safety{border-left:4px solid #e0a000;background:#fffaeb;padding:.3em .8em}
"""


def weekly_adherence(sessions: pd.DataFrame, history: list[Assignment], today: date) -> pd.DataFrame:
    """Per Monday-week: sessions started, completed and assigned (0 before any assignment)."""
    starts = pd.to_datetime(sessions["session_start"]).dt.date if len(sessions) else pd.Series([])
    firsts = list(starts) + [a.from_date for a in history]
    if not firsts:
        return pd.DataFrame(columns=["week", "started", "completed", "assigned"])
    monday = min(firsts) - timedelta(days=min(firsts).weekday())
    this_monday = today - timedelta(days=today.weekday())
    weeks = []
    # a resumed chain is one session: counted in the week of its first start, done if its
    # last fragment completed
    first = ~sessions["chain_id"].duplicated() if len(sessions) else pd.Series([], dtype=bool)
    starts = [d for d, keep in zip(starts, first, strict=True) if keep]
    week_of = [d - timedelta(days=d.weekday()) for d in starts]
    done = chain_outcomes(sessions).eq("completed").tolist() if len(sessions) else []
    started_n = pd.Series(week_of).value_counts() if week_of else pd.Series(dtype=int)
    done_n = pd.Series([w for w, ok in zip(week_of, done, strict=True) if ok]).value_counts()
    while monday <= max(this_monday, max(week_of, default=this_monday)):
        weeks.append({
            "week": monday,
            "started": int(started_n.get(monday, 0)),
            "completed": int(done_n.get(monday, 0)),
            "assigned": _assigned_in_week(history, monday),
        })
        monday += timedelta(days=7)
    return pd.DataFrame(weeks)


def chain_outcomes(sessions: pd.DataFrame) -> pd.Series:
    """The status of each chain's last fragment, one per chain in order of first start."""
    last = sessions.drop_duplicates("chain_id", keep="last").set_index("chain_id")
    order = sessions["chain_id"].drop_duplicates()
    return last.loc[order, "session_status"].reset_index(drop=True)


def _assigned_in_week(history: list[Assignment], monday: date) -> int:
    """Sum over protocols of the latest assignment that had started by the week's Sunday."""
    current: dict[str, int] = {}
    for a in history:  # oldest first: later assignments replace earlier ones
        if a.from_date <= monday + timedelta(days=6):
            current[a.protocol_name] = a.per_week
    return sum(current.values())


def task_progress(trials: pd.DataFrame, sessions: pd.DataFrame,
                  rating_columns: frozenset[str] = frozenset()
                  ) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """task -> (per-session means with session_start, headline metric columns).

    The task registry names the headline metrics; a task it does not know (a store written by a
    newer rehab) shows repetitions and its first numbers, never the session's ratings. A trial
    that could not be scored (``error``: the hand never seen) is no point of progress.
    """
    out: dict[str, tuple[pd.DataFrame, list[str]]] = {}
    fixed = set(TRIAL_COLUMNS) | rating_columns
    scored = trials[trials["error"].isna()] if "error" in trials.columns else trials
    for task, t in scored.groupby("task", sort=True):  # a trial not scored has no numbers
        def usable(c: str, t=t) -> bool:
            return c in t and pd.api.types.is_numeric_dtype(t[c]) and bool(t[c].notna().any())

        known = TASKS.get(str(task))
        cols = [c for c in (known.headline if known else ()) if usable(c)]
        if len(cols) < 2:  # unknown task or metrics: repetitions, then its own first numbers
            extra = [c for c in t.columns if c not in fixed
                     and not c.startswith(DETAIL_PREFIXES) and usable(c)]
            cols = list(dict.fromkeys(cols + ["repetitions"] + extra))[: MAX_METRICS - 2]
        cols += [c for c in ("similarity.score", "tracked_fraction") if usable(c)]
        cols = cols[:MAX_METRICS]
        per = t.groupby("session_id")[cols].mean().reset_index()
        per = per.merge(sessions[["session_id", "session_start"]], on="session_id")
        out[str(task)] = (per.sort_values("session_start"), cols)
    return out


def build_review(store: Store, patient_id: str, today: date | None = None) -> str:
    """The whole report as one HTML string."""
    patient = store.require_patient(patient_id)
    today = today or date.today()
    trials, sessions = export_both(store, patient_id)
    history = store.assignment_history(patient_id)
    parts = [_header(patient, store.assignments(patient_id), sessions)]
    weeks = weekly_adherence(sessions, history, today)
    parts.append("<h2>Adherence</h2>")
    if len(weeks):
        parts.append(_img(plots.adherence_plot(weeks), "sessions per week"))
        parts.append(_table(weeks.tail(8).assign(week=weeks["week"].tail(8).map(str)),
                            "Last 8 weeks"))
    else:
        parts.append("<p class=muted>No sessions and no assignment yet.</p>")
    parts.append("<h2>Progress by task</h2>")
    ratings = _rating_columns(store, patient_id)
    progress = task_progress(trials, sessions, frozenset(ratings)) if len(trials) else {}
    for task, (per, cols) in progress.items():
        known = TASKS.get(task)
        name = (f"{html.escape(known.title)} <span class=muted>({html.escape(task)})</span>"
                if known else html.escape(task))
        parts.append(f"<h3>{name}</h3>" + _img(plots.progress_plot(task, per, cols), task))
    if not progress:
        parts.append("<p class=muted>No scored trials yet.</p>")
    parts.append(_safety_section(sessions))
    parts.append(_not_as_planned_section(store, patient_id))
    parts.append(_videos_section(store, patient_id))
    parts.append(_dose_section(sessions))
    parts.append(_ratings_section(sessions, ratings))
    parts.append(_last_session_section(store, sessions))
    parts.append(_sessions_section(sessions, ratings))
    parts.append(_trials_section(trials, sessions))
    title = f"rehab review: {html.escape(patient_id)}"
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def _header(patient, assignments: list[Assignment], sessions: pd.DataFrame) -> str:
    done = int(chain_outcomes(sessions).eq("completed").sum()) if len(sessions) else 0
    chains = sessions["chain_id"].nunique() if len(sessions) else 0
    resumed = f", {len(sessions) - chains} resumed parts" if len(sessions) > chains else ""
    lines = [f"<h1>Review of patient {html.escape(patient.id)}</h1>",
             f"<p>Affected side: <b>{patient.affected_side}</b>. Sessions recorded: {chains} "
             f"({done} completed{resumed}). Report made {datetime.now():%Y-%m-%d %H:%M}.</p>"]
    if patient.notes:
        lines.append(f"<p>Notes: {html.escape(patient.notes)}</p>")
    for a in assignments:
        lines.append(f"<p>Assigned: <b>{html.escape(a.protocol_name)}</b>, {a.per_week} per week "
                     f"from {a.from_date} <span class=muted>(sha256 {a.protocol_sha256[:12]})</span></p>")
    if not assignments:
        lines.append("<p class=muted>No protocol assigned (rehab assign ID PROTOCOL --per-week N).</p>")
    return "".join(lines)


def _dose_section(sessions: pd.DataFrame) -> str:
    weeks = weekly_dose(sessions)
    if not len(weeks):
        return "<h2>Observation and imagery dose</h2><p class=muted>No sessions recorded.</p>"
    note = ("Per week: minutes a demonstration was on screen (AO; paused time excluded), minutes "
            "of motor imagery (MI: imagine steps and watching while imagining), demonstrations "
            "watched and movement repetitions done. Per step: <code>rehab export --dose</code>.")
    return ("<h2>Observation and imagery dose</h2>"
            + _table(weeks.tail(8).assign(week=weeks["week"].tail(8).map(str)), note))


def _rating_columns(store: Store, patient_id: str) -> list[str]:
    """The export's rating columns ({key}_first, {key}_last) of this patient's rating keys."""
    with store.engine.connect() as conn:
        keys = queries.rating_keys(conn, patient_id)
    return [f"{k}_{which}" for k in keys for which in ("first", "last")]


def _ratings_section(sessions: pd.DataFrame, ratings: list[str]) -> str:
    keys = [c[: -len("_first")] for c in ratings if c.endswith("_first") and c in sessions]
    if not keys:
        return "<h2>Pain and fatigue</h2><p class=muted>No ratings recorded.</p>"
    ranges = {k: (int(STANDARD_SCALES[k]["min"]), int(STANDARD_SCALES[k]["max"]))
              for k in keys if k in STANDARD_SCALES}  # a custom scale's range is its protocol's
    return "<h2>Pain and fatigue</h2>" + _img(plots.ratings_plot(sessions, keys, ranges),
                                              "ratings")


def _last_session_section(store: Store, sessions: pd.DataFrame) -> str:
    if not len(sessions):
        return "<h2>Last session</h2><p class=muted>No sessions recorded yet.</p>"
    last = sessions.iloc[-1]
    with store.engine.connect() as conn:
        steps = pd.DataFrame(queries.steps_of_session(conn, last["session_id"]),
                             columns=["step_index", "kind", "status", "started_t", "ended_t"])
        events = pd.DataFrame(queries.events_of_session(conn, last["session_id"]),
                              columns=["t", "wall", "kind", "step_index", "data"])
    head = (f"<h2>Last session</h2><p>{_started(last)} &middot; "
            f"{html.escape(str(last['protocol_name']))} &middot; ended: "
            f"{_ending(last)} &middot; "
            f"session id <code>{last['session_id']}</code></p>")
    if not len(steps) and not len(events):
        return head + "<p class=muted>Nothing was recorded in this session.</p>"
    counts = events["kind"].value_counts()
    frequent = [k for k, n in counts.items() if n > FREQUENT_EVENTS]  # e.g. frame_shown
    listed = events[~events["kind"].isin(frequent)].head(300)
    listed = listed.assign(t=listed["t"] - (events["t"].min() if len(events) else 0.0),
                           data=listed["data"].map(_short))
    note = f"Events ({len(events)}; t in seconds from the first)"
    if frequent:
        note += ". Not listed: " + ", ".join(f"{k} x{counts[k]}" for k in frequent)
    return (head + _img(plots.timeline_plot(steps, events), "timeline")
            + _table(listed[["t", "kind", "step_index", "data"]].assign(  # steps from 1
                step_index=lambda d: pd.to_numeric(d["step_index"], errors="coerce") + 1),
                html.escape(note)))


def _started(row) -> str:
    """A session row's start as the sessions table writes it ("2028-11-05 00:50:00")."""
    return str(row["session_start"]).replace("T", " ")


def _ending(row) -> str:
    """How a session ended, in its tone's colour (a safety stop is not drawn like quitting)."""
    code = row["end_reason"] if isinstance(row["end_reason"], str) else None
    tone = END_REASONS[code].tone if code in END_REASONS else "system"
    text = row["end_detail"] or str(row["session_status"])
    return f"<b class=tone-{tone}>{html.escape(text)}</b>"


def _safety_section(sessions: pd.DataFrame) -> str:
    """Every safety stop (the rule and its values), listed for the clinician to act on."""
    stops = sessions[sessions["end_reason"] == "safety_stop"] if len(sessions) else sessions
    head = "<h2>Safety stops and adverse events</h2>"
    if not len(stops):
        return head + "<p class=muted>No session was stopped by a safety rule.</p>"
    items = "".join(
        f"<li>{html.escape(_started(r))} &middot; "
        f"{html.escape(str(r['protocol_name']))} &middot; {_ending(r)} &middot; session "
        f"<code>{html.escape(str(r['session_id']))}</code></li>"
        for _, r in stops.iloc[::-1].iterrows())
    return (f"{head}<div class=safety><p>{len(stops)} session(s) stopped by a safety rule: "
            f"ask the patient how they are.</p><ul>{items}</ul></div>")


NOT_AS_PLANNED = ("step_not_as_planned", "audio_unavailable")


def _not_as_planned_section(store: Store, patient_id: str) -> str:
    """Steps that could not run as planned (camera ran out, no sound), latest first."""
    with store.engine.connect() as conn:
        events = queries.patient_events(conn, patient_id, NOT_AS_PLANNED)
    head = "<h2>Not as planned</h2>"
    if not events:
        return head + "<p class=muted>Every step ran as planned.</p>"
    rows = pd.DataFrame([{
        "when": queries.to_local(e["wall"]).strftime("%Y-%m-%d %H:%M"),
        "session": e["session_id"],
        "step": "" if e["step_index"] is None else int(e["step_index"]) + 1,
        "what": "no sound for the whole session" if e["kind"] == "audio_unavailable"
        else "step not as planned",
        "why": _file_names(str(e["data"].get("reason", ""))),
    } for e in events[::-1][:TABLE_ROWS]])
    return head + _table(rows, f"{len(events)} step(s) or session(s) did not run as planned")


_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/](?:[^\s()\\/]+[\\/])+([^\s()\\/]+)")


def _file_names(text: str) -> str:
    """``text`` with each file path cut to its file name: the camera file's folder pushed
    what went wrong ("ran out after 20.70 s of the planned 120 s") out of view.

    Example:
        >>> _file_names("camera (/home/p/clips/hand.mp4) ran out after 20.70 s")
        'camera (hand.mp4) ran out after 20.70 s'
    """
    return _PATH.sub(r"\1", text)


def _videos_section(store: Store, patient_id: str) -> str:
    """Camera videos kept for ``record_video`` trials (with consent), and ones refused."""
    with store.engine.connect() as conn:
        events = queries.patient_events(conn, patient_id, ("video_recorded", "video_not_recorded"))
    if not events:
        return ""
    rows = pd.DataFrame([{
        "when": queries.to_local(e["wall"]).strftime("%Y-%m-%d %H:%M"),
        "session": e["session_id"],
        "step": "" if e["step_index"] is None else int(e["step_index"]) + 1,
        "video": e["data"].get("path", "") if e["kind"] == "video_recorded" else "not recorded",
        "frames / why not": e["data"].get("frames", "") if e["kind"] == "video_recorded"
        else e["data"].get("reason", ""),
    } for e in events[::-1][:TABLE_ROWS]])
    return "<h2>Trial videos</h2>" + _table(rows, "Camera video of record_video trials "
                                                  "(owner-only files in the data folder)")


def _sessions_section(sessions: pd.DataFrame, ratings: list[str]) -> str:
    if not len(sessions):
        return ""
    cols = ["session_start", "protocol_name", "session_status", "end_detail", "duration_min",
            "steps_completed", "total_steps", "trials", "repetitions_total", "ao_min", "mi_min"]
    cols += [c for c in ratings if c in sessions]
    recent = sessions.iloc[::-1].head(20).assign(
        session_start=lambda d: d["session_start"].str.replace("T", " "),
        duration_min=lambda d: (d["duration_s"] / 60).round(1))[cols]
    return "<h2>Recent sessions</h2>" + _table(recent, f"Latest {len(recent)} of {len(sessions)}")


def _trials_section(trials: pd.DataFrame, sessions: pd.DataFrame) -> str:
    if not len(trials):
        return "<h2>Trials</h2><p class=muted>No trials recorded.</p>"
    recent_ids = set(sessions["session_id"].iloc[-TABLE_SESSIONS:])
    t = trials[trials["session_id"].isin(recent_ids)].iloc[::-1].head(TABLE_ROWS)
    t = t.drop(columns=["patient_id", "protocol_sha256", "session_status", "session_start"])
    t = t.loc[:, t.notna().any()]
    # each value in the unit its heading names (a fraction x100 under %), assigned at once
    scaled = {c: r.in_unit(t[c]) for c in t.columns if (r := any_metric(c)) is not None
              and r.scale != 1.0 and pd.api.types.is_numeric_dtype(t[c])}
    t = t.assign(**scaled)
    stated = [c for c in VALIDITY_COLUMNS if c in t.columns]
    if stated:  # which trials to distrust, in one column
        cells = t.reindex(columns=list(VALIDITY_COLUMNS))
        t.insert(0, "validity", [_validity_mark(*row) for row in
                                 cells.itertuples(index=False, name=None)])
        t = t.drop(columns=stated)  # said in "validity"
    # the same number twice (quality.tracked_fraction is the trial's tracked_fraction), and
    # per-event timings a table cannot show (in the export)
    t = t.drop(columns=[c for c in TABLE_LEFT_OUT if c in t.columns])
    note = (f"Trials of the latest {len(recent_ids)} sessions (newest first). "
            "All trials: <code>rehab export --patient ID</code>.")
    if "step_index" in t.columns:  # steps counted from 1, as everywhere in the report
        t["step_index"] = t["step_index"] + 1
    return "<h2>Trials</h2>" + _table(t, note)


# How the report's tables head the export's own columns (the metrics' headings come from the
# task registry, the ratings' from their scale's name)
COLUMN_HEADINGS = {
    "session_start": "Started", "session_date": "Date", "session_id": "Session",
    "protocol_name": "Protocol", "session_status": "Status", "end_detail": "How it ended",
    "duration_min": "Minutes", "steps_completed": "Steps done", "total_steps": "Steps planned",
    "trials": "Trials", "repetitions_total": "Repetitions (all tasks)",
    "ao_min": "Observation (AO, min)", "mi_min": "Imagery (MI, min)",
    "demonstrations": "Demonstrations watched", "week": "Week from", "sessions": "Sessions",
    "started": "Started", "completed": "Completed", "assigned": "Assigned",
    "trial_no": "Trial", "step_index": "Step", "step_kind": "Step kind", "task": "Task",
    "hand": "Hand", "frames": "Frames", "t": "Time (s)", "kind": "Event", "data": "Details",
    "validity": "Validity",
}


def _heading(column: str) -> str:
    """A column's heading: the report's own word for an export column, "Pain at start" for
    ``pain_first``, a metric's label and unit from the task registry, else the column."""
    if column in COLUMN_HEADINGS:
        return COLUMN_HEADINGS[column]
    for suffix, when in (("_first", "at start"), ("_last", "at end")):
        key = column[: -len(suffix)]
        if column.endswith(suffix) and key in STANDARD_SCALES:
            return f"{key.capitalize()} {when}"
    record = any_metric(column)
    return record.heading if record is not None else column


VALIDITY_COLUMNS = ("valid", "validity_reasons", "validity.warnings", "error")
TABLE_LEFT_OUT = ("quality.tracked_fraction", "events", "touch_times_s")


def _validity_mark(valid: object, reasons: object, warnings: object, error: object) -> str:
    """'not scored: why' for a trial that could not be scored, 'INVALID: why' for one scored
    invalid, 'ok' when valid ('ok, but: warning' when the scorer warned), '' when not
    stated."""
    if isinstance(error, str) and error:
        return f"not scored: {error}"
    if valid is None or pd.isna(valid):
        return ""
    if not bool(valid):
        return f"INVALID: {reasons}" if isinstance(reasons, str) and reasons else "INVALID"
    said = json.loads(warnings) if isinstance(warnings, str) and warnings.startswith("[") else []
    return "ok, but: " + "; ".join(map(str, said)) if said else "ok"


def _short(data: dict) -> str:
    text = ", ".join(f"{k}={round(v, 3) if isinstance(v, float) else v}" for k, v in data.items())
    return text if len(text) <= 80 else text[:77] + "..."


def _img(uri: str, alt: str) -> str:
    return f'<p><img alt="{html.escape(alt)}" src="{uri}"></p>'


def _number(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _table(df: pd.DataFrame, caption: str) -> str:
    """``df`` as an HTML table under ``caption``: columns headed by :func:`_heading`, numbers
    through :func:`_number`, a missing value (None, NaN, <NA>) as an empty cell, text
    escaped. Written here rather than with ``DataFrame.to_html``, which took 1.5 s of a 5 s
    review for the 300-row trials table (``bench/export.py``) and wrote a missing whole
    number as "<NA>"."""
    head = "".join(f"<th>{html.escape(_heading(str(c)))}</th>" for c in df.columns)
    cells = [_cells(df[c]) for c in df.columns] if len(df.columns) else []
    rows = "\n".join("<tr>" + "".join(row) + "</tr>" for row in zip(*cells, strict=True))
    return (f"<p class=muted>{caption}</p><div class=scroll><table>\n<thead><tr>{head}</tr>"
            f"</thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>")


def _cells(column: pd.Series) -> list[str]:
    """The ``<td>`` of each value of ``column``."""
    return [f"<td>{_cell(v)}</td>" for v in column.tolist()]


def _cell(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):  # NaN included
        return "" if value != value else _number(value)
    return html.escape(str(value))


def write_review(store: Store, patient_id: str, out: str | os.PathLike) -> Path:
    """Write the report to ``out`` (owner-only, 0o600) and return its path."""
    text = build_review(store, patient_id)
    path = Path(out)
    with open_private(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
