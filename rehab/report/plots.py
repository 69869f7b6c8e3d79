"""Matplotlib figures for the review report, returned as base64 PNG data URIs (no files).

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly: no pyplot
global state, no display needed.
"""

from __future__ import annotations

import base64
import io
import textwrap

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rehab.tasks import TASKS, Metric, any_metric

DPI = 80
TITLE_CHARS = 30  # a progress panel's title line at 9 pt fits this many characters
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def adherence_plot(weeks: pd.DataFrame) -> str:
    """Bars: completed sessions per week; line: sessions assigned per week."""
    fig = Figure(figsize=(9, 2.8))
    ax = fig.add_subplot()
    x = np.arange(len(weeks))
    edges = np.arange(len(weeks) + 1) - 0.5
    # stairs draws all weeks as one artist (hundreds of bar rectangles are slow to render)
    ax.stairs(weeks["started"], edges, fill=True, color="#c7d7ea", label="started")
    ax.stairs(weeks["completed"], edges, fill=True, color=COLOURS[0], label="completed")
    ax.stairs(weeks["assigned"], edges, color=COLOURS[1], lw=1.5, label="assigned")
    step = max(1, len(weeks) // 8)
    ax.set_xticks(x[::step], [d.strftime("%d %b %y") for d in weeks["week"]][::step], fontsize=8)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylabel("sessions / week")
    top = max(weeks["started"].max(), weeks["assigned"].max(), 1)
    ax.set_ylim(0, top * 1.35 + 0.5)  # room for the legend above the bars
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    ax.set_title("Adherence: sessions per week (week starting Monday)")
    fig.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.12)
    return to_data_uri(fig)


def progress_plot(task: str, per_session: pd.DataFrame, metrics: list[str]) -> str:
    """One small panel per metric: session mean over time (dots) and a rolling mean (line)."""
    return to_data_uri(progress_figure(per_session, metrics, task))


def progress_figure(per_session: pd.DataFrame, metrics: list[str], task: str = "") -> Figure:
    """The figure of ``progress_plot``; panel titles are the registry's labels and units."""
    n = len(metrics)
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(2.4 * cols, 2.3 * rows))
    dates = pd.to_datetime(per_session["session_start"])
    window = max(1, min(10, len(per_session) // 10))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        record = _record(task, metric)  # values in the unit its title names (x100 for %)
        y = pd.to_numeric(per_session[metric], errors="coerce")
        y = record.in_unit(y) if record is not None else y
        ax.plot(dates, y, "o", ms=_marker(len(y)), color=COLOURS[i % len(COLOURS)], alpha=0.6)
        if window > 1:
            ax.plot(dates, y.rolling(window, min_periods=1).mean(), "-", lw=1.5, color="black")
        ax.set_title(_panel_title(task, metric), fontsize=9)
        _date_axis(ax, dates, whole=record is not None and record.fmt == "d")
    # Fixed margins: tight_layout / bbox_inches="tight" re-draw every tick label (slow).
    # 0.55 in below each row holds the tick labels and the date offset line under them;
    # 0.42 in above the top row, a title of two lines.
    height_in = 2.3 * rows
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.42 / height_in,
                        bottom=0.55 / height_in, wspace=0.3, hspace=0.75)
    return fig


def _record(task: str, key: str) -> Metric | None:
    known = TASKS.get(task)
    return known.metric(key) if known else any_metric(key)


def _panel_title(task: str, key: str) -> str:
    """The metric's label and unit, on two lines when one would run past its panel."""
    record = _record(task, key)
    return textwrap.fill(record.heading if record is not None else key, TITLE_CHARS)


def _marker(n: int) -> float:
    """Marker size: clear dots for a handful of sessions, small ones for hundreds."""
    return 6.0 if n < 30 else 2.0


MIN_SPAN = pd.Timedelta(days=7)  # the narrowest date axis: one session reads as a day


def _date_axis(ax, dates: pd.Series, whole: bool = False) -> None:
    """Dates on x, at least a week wide (sessions minutes apart read as one day, not as
    "30 40" minutes); on y whole numbers only where the values are counts (``whole``)."""
    locator = mdates.AutoDateLocator(minticks=2, maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    known = dates.dropna()
    if len(known):
        first, last = known.min(), known.max()
        pad = max(MIN_SPAN - (last - first), pd.Timedelta(0)) / 2
        if pad > pd.Timedelta(0):
            ax.set_xlim(first - pad, last + pad)
    ax.yaxis.set_major_locator(MaxNLocator(4, integer=whole))
    ax.tick_params(labelsize=7)


def ratings_plot(sessions: pd.DataFrame, keys: list[str],
                 ranges: dict[str, tuple[int, int]] | None = None) -> str:
    """First and last rating of each session for every scale (pain, fatigue, ...), on the
    scale's whole range where ``ranges`` gives it (pain 0-10: one point reads as one in ten)."""
    fig = Figure(figsize=(9, 2.2 * len(keys)))
    dates = pd.to_datetime(sessions["session_start"])
    for i, key in enumerate(keys):
        ax = fig.add_subplot(len(keys), 1, i + 1)
        window = max(1, min(10, len(sessions) // 10))
        for k, (which, style) in enumerate((("first", "o"), ("last", "x"))):
            col = f"{key}_{which}"
            if col not in sessions:
                continue
            y = pd.to_numeric(sessions[col], errors="coerce").astype(float)
            ax.plot(dates, y, style, ms=_marker(len(y)) + 1, color=COLOURS[k], alpha=0.6,
                    label=f"{which} of session")
            if window > 1:
                ax.plot(dates, y.rolling(window, min_periods=1).mean(), "-", color=COLOURS[k], lw=1.5)
        ax.set_ylabel(key)
        ax.legend(fontsize=7, loc="upper left")
        _date_axis(ax, dates, whole=True)
        if ranges and key in ranges:
            low, high = ranges[key]
            ax.set_ylim(low - 0.5, high + 0.5)
    fig.suptitle("Ratings at the start and end of each session", fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.1, hspace=0.4)
    return to_data_uri(fig)


def timeline_plot(steps: pd.DataFrame, events: pd.DataFrame) -> str:
    """Last session: step spans by kind (bars) and every event (ticks) on the session clock."""
    fig = Figure(figsize=(9, 3))
    ax = fig.add_subplot()
    t0 = min([v for v in (steps["started_t"].min() if len(steps) else None,
                          events["t"].min() if len(events) else None) if v is not None] or [0.0])
    kinds = list(dict.fromkeys(steps["kind"])) if len(steps) else []
    for _, s in steps.iterrows():
        end = s["ended_t"] if pd.notna(s["ended_t"]) else s["started_t"]
        colour = COLOURS[kinds.index(s["kind"]) % len(COLOURS)]
        hatch = None if s["status"] == "completed" else "//"
        ax.broken_barh([(s["started_t"] - t0, max(end - s["started_t"], 0.2))], (1, 0.8),
                       facecolors=colour, edgecolor="black", hatch=hatch, lw=0.3)
    for k, kind in enumerate(kinds):
        ax.bar(0, 0, color=COLOURS[k % len(COLOURS)], label=kind)
    if len(events):
        ax.plot(events["t"] - t0, np.zeros(len(events)) + 0.4, "|", ms=12, color="#555")
    ax.set_yticks([0.4, 1.4], ["events", "steps"])
    ax.set_xlabel("seconds from session start")
    ax.set_ylim(0, 2.2)
    if kinds:
        ax.legend(fontsize=7, ncol=min(len(kinds), 7), loc="upper left")
    ax.set_title("Last session timeline (hatched = not completed)", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.16)
    return to_data_uri(fig)
