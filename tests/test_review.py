"""Review report and the headless engine -> store -> export/review round trip."""

from __future__ import annotations

import base64
import re
import stat
from datetime import date

import pandas as pd
import pytest

from rehab import synth
from rehab.devices.base import SilentAudio
from rehab.engine import Devices, PatientInfo, Session, SessionOptions
from rehab.protocol.models import Protocol
from rehab.report.export import export_sessions, export_trials
from rehab.report.review import build_review, weekly_adherence, write_review
from rehab.store import Store
from rehab.store.db import Assignment
from rehab.tasks import any_metric
from rehab.testing import (
    FakeCamera,
    FakeClip,
    FakeClipSource,
    FakeClock,
    RecordingDisplay,
    ReplayTracker,
    ScriptedInput,
)
from rehab.testing.store_data import bulk_populate

PROTOCOL = {
    "name": "round trip",
    "description": "store round trip",
    "steps": [
        {"kind": "rate", "ratings": [{"scale": "pain", "default": 2}, {"scale": "fatigue", "default": 3}]},
        {"kind": "execute", "task": "open_close", "target_reps": 20, "duration_s": 60},
        {"kind": "rest", "duration_s": 5},
        {"kind": "rate", "ratings": [{"scale": "pain", "default": 4}, {"scale": "fatigue", "default": 5}]},
    ],
}


def _run_engine_session(store: Store) -> str:
    frames = synth.open_close(cycles=4, freq_hz=1.0, fps=30.0, hand="left")
    clock = FakeClock(limit_s=3600)
    display = RecordingDisplay(clock, ScriptedInput())
    source = FakeClipSource({"clip.mp4": FakeClip(90, 30.0)})
    devices = Devices(clock=clock, display=display, audio=SilentAudio(), writer=store.writer(),
                      camera=FakeCamera(count=len(frames)), tracker=ReplayTracker(frames),
                      clips=source, clip_info=source.info, history=None)
    session = Session(Protocol.model_validate(PROTOCOL), devices, PatientInfo("P001", "left"),
                      SessionOptions(autopilot=True, fast=True, camera_check=False))
    result = session.run()
    assert result.status == "completed"
    return result.session_id


def test_headless_engine_session_round_trip(tmp_path):
    store = Store(tmp_path / "data")
    store.add_patient("P001", "left")
    sid = _run_engine_session(store)
    (row,) = store.sessions("P001")
    assert row.id == sid and row.status == "completed" and row.total_steps == 4
    trials = export_trials(store, "P001")
    assert len(trials) == 1
    t = trials.iloc[0]
    assert t["task"] == "open_close" and t["hand"] == "left" and t["step_kind"] == "execute"
    assert t["repetitions"] == 4 and t["frames"] == 4 * 30 + 60
    assert (t["pain_first"], t["pain_last"], t["fatigue_first"], t["fatigue_last"]) == (2, 4, 3, 5)
    # the score's validity travels with it into the export
    assert bool(t["valid"]) is True and t["validity_reasons"] == ""
    assert t["validity.frames_tracked"] == t["frames"] and t["validity.effective_fps"] == 30.0
    assert t["validity.scored_hand"] == "left"
    summary = export_sessions(store, "P001")
    assert summary.iloc[0]["steps_completed"] == 4
    _, frames = store.trial_frames(sid, 1)
    assert len(frames) == t["frames"]
    html = build_review(store, "P001")
    assert sid in html and "open_close" in html
    store.close()


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_review_is_self_contained_with_plots(tmp_path):
    store = Store(tmp_path / "data")
    bulk_populate(store.engine, "P001", n_sessions=30, trials_per_session=5)
    proto = tmp_path / "p.yaml"
    proto.write_text("name: fake home session\ndescription: d\nsteps: []\n")
    store.assign("P001", proto, per_week=3, from_date=date(2025, 1, 6))
    html = build_review(store, "P001", today=date(2025, 3, 3))
    for section in ("Adherence", "Progress by task", "Pain and fatigue", "Last session", "Trials"):
        assert f">{section}<" in html
    assert not re.search(r'(src|href)="(http|file|/)', html), "external asset referenced"
    # the clinician reads the task's title and plain headings, not the export's column names
    assert "<h3>Open and close the hand <span class=muted>(open_close)</span></h3>" in html
    sessions_head = html[html.index("<h2>Recent sessions</h2>"):].split("</thead>")[0]
    assert re.findall(r"<th>(.*?)</th>", sessions_head) == [
        "Started", "Protocol", "Status", "How it ended", "Minutes", "Steps done",
        "Steps planned", "Trials", "Repetitions (all tasks)", "Observation (AO, min)",
        "Imagery (MI, min)", "Pain at start", "Pain at end", "Fatigue at start",
        "Fatigue at end"]
    pngs = _images(html)
    # adherence + 5 tasks + ratings + timeline
    assert len(pngs) == 8 and all(p.startswith(b"\x89PNG") for p in pngs)
    out = write_review(store, "P001", tmp_path / "r.html")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_review_of_patient_without_sessions(tmp_path):
    store = Store(tmp_path / "data")
    store.add_patient("P009", "right")
    html = build_review(store, "P009")
    assert "No sessions recorded yet" in html and "No scored trials yet" in html
    assert _images(html) == []


def test_weekly_adherence_counts_and_assignment_changes():
    import pandas as pd

    sessions = pd.DataFrame({
        "session_start": ["2025-01-06T10:00:00", "2025-01-08T10:00:00", "2025-01-15T10:00:00",
                          "2025-01-16T10:00:00", "2025-01-16T10:05:00", "2025-01-16T10:09:00"],
        "session_status": ["completed", "interrupted", "completed",
                           "interrupted", "interrupted", "completed"],
        # a chain of three fragments (killed twice, then completed) is one session
        "chain_id": ["a", "b", "c", "d", "d", "d"],
    })
    history = [Assignment("P", "a", "x", "p", 3, date(2025, 1, 6)),
               Assignment("P", "a", "x", "p", 5, date(2025, 1, 13))]
    weeks = weekly_adherence(sessions, history, today=date(2025, 1, 22))
    assert weeks["week"].tolist() == [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
    assert weeks["started"].tolist() == [2, 2, 0]
    assert weeks["completed"].tolist() == [1, 2, 0]
    assert weeks["assigned"].tolist() == [3, 5, 5]


def test_review_unknown_patient(tmp_path):
    from rehab.errors import StoreError

    with pytest.raises(StoreError, match="no patient"):
        build_review(Store(tmp_path / "d"), "nobody")


@pytest.mark.parametrize("n_metrics", [2, 6])
def test_progress_plot_date_labels_are_not_cut_off(n_metrics):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rehab.report.plots import progress_figure

    # sessions minutes apart: the date axis then adds an offset line ("2026-Nov-30 01:05")
    metrics = [f"m{i}" for i in range(n_metrics)]
    per_session = pd.DataFrame({"session_start": ["2026-11-30T01:05:25", "2026-11-30T01:05:52"],
                                **{m: [1.0, 2.0] for m in metrics}})
    fig = progress_figure(per_session, metrics)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # tick labels and the offset line are set while drawing
    renderer = canvas.get_renderer()
    axes = fig.axes
    cols = 4 if n_metrics > 4 else n_metrics
    for i, ax in enumerate(axes):
        offset = ax.xaxis.get_offset_text()
        assert offset.get_text(), "expected a date offset line under the axis"
        box = offset.get_window_extent(renderer)
        assert box.y0 >= 0, f"{ax.get_title()}: date line cut off at the bottom"
        below = i + cols
        if below < len(axes):  # the panel under this one: its title must not cover the line
            assert box.y0 > axes[below].title.get_window_extent(renderer).y1


def test_progress_panels_show_their_unit_and_a_whole_title():
    """A fraction the registry shows in % is plotted in % (the title says "%"), and a long
    title wraps inside its panel instead of running into the next one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rehab.report.plots import TITLE_CHARS, progress_figure

    metrics = ["repetitions", "tracked_fraction", "similarity.score", "similarity.tempo",
               "quality.jitter_mm", "validity.unreliable_fraction"]
    per_session = pd.DataFrame({"session_start": ["2026-11-02T10:00:00", "2026-11-30T10:00:00"],
                                **{m: [0.5, 0.75] for m in metrics}})
    fig = progress_figure(per_session, metrics, "free")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    for i, (ax, key) in enumerate(zip(fig.axes, metrics, strict=True)):
        shown = ax.lines[0].get_ydata().tolist()
        assert shown == ([50.0, 75.0] if key.endswith("fraction") else [0.5, 0.75]), key
        title = ax.title
        assert all(len(line) <= TITLE_CHARS for line in title.get_text().split("\n"))
        box = title.get_window_extent(renderer)
        assert 0 <= box.x0 and box.x1 <= width and box.y1 <= height, title.get_text()
        if i >= 4:  # second row: the title stays below the date line of the panel above
            above = fig.axes[i - 4].xaxis.get_ticklabels()[0].get_window_extent(renderer)
            assert box.y1 < above.y0, title.get_text()
    assert "\n" in fig.axes[2].title.get_text()  # "Match to demonstration , uncalibrated ..."


def test_date_axes_of_a_few_sessions_read_as_days_and_counts_as_whole_numbers(monkeypatch):
    """One session (or two minutes apart) on an axis a week wide, not "2025 ... 2029" or
    "30 40" minutes; a count's ticks are whole numbers; pain on its whole 0-10 scale."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rehab.report import plots

    per_session = pd.DataFrame({"session_start": ["2026-12-02T15:38:00", "2026-12-02T15:40:00"],
                                "repetitions": [12.0, 13.0], "rate_hz": [0.61, 0.66]})
    fig = plots.progress_figure(per_session, ["repetitions", "rate_hz"], "finger_tap")
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        low, high = ax.get_xlim()
        assert high - low == pytest.approx(7.0, abs=0.01)  # days
        assert mdates.num2date(low).date().isoformat() == "2026-11-29"  # 3.5 days before
    counts, rates = fig.axes
    assert all(float(t).is_integer() for t in counts.get_yticks())
    assert not all(float(t).is_integer() for t in rates.get_yticks())

    figures = []
    monkeypatch.setattr(plots, "to_data_uri", lambda f: figures.append(f) or "data:")
    sessions = pd.DataFrame({"session_start": ["2026-12-02T15:38:00"], "pain_first": [2],
                             "pain_last": [3]})
    plots.ratings_plot(sessions, ["pain"], {"pain": (0, 10)})
    (pain,) = figures[0].axes
    assert pain.get_ylim() == (-0.5, 10.5)


def _plotted(monkeypatch) -> dict[str, list]:
    """What build_review hands to the progress and ratings plots."""
    from rehab.report import plots

    seen: dict[str, list] = {"progress": [], "ratings": []}
    progress, ratings = plots.progress_plot, plots.ratings_plot
    monkeypatch.setattr(plots, "progress_plot", lambda task, per, cols: (
        seen["progress"].append((task, list(cols))), progress(task, per, cols))[1])
    monkeypatch.setattr(plots, "ratings_plot", lambda sessions, keys, ranges=None: (
        seen["ratings"].append(list(keys)), ratings(sessions, keys, ranges))[1])
    return seen


@pytest.mark.slow
def test_review_of_a_real_demo_session_shows_the_opening_range(reach_open_clip, monkeypatch):
    """``rehab demo`` with the fixture as camera, then the review: the open/close progress panel
    has the opening range the scorer writes (the review used to ask for a column nobody wrote)."""
    from rehab.devices.clock import SimulatedClock
    from rehab.paths import shipped_protocols_dir
    from rehab.runner import RunRequest, run_session

    Store().add_patient("P1", "right")
    clock = SimulatedClock()
    result = run_session(RunRequest(shipped_protocols_dir() / "demo.yaml", "P1",
                                    camera=str(reach_open_clip), autopilot=True, fast=True,
                                    model="lite"),
                         display=RecordingDisplay(clock), clock=clock)
    assert result.status == "completed" and result.trials[0]["task"] == "open_close"
    seen = _plotted(monkeypatch)
    build_review(Store(), "P1")
    panels = dict(seen["progress"])
    # the mirror step's "free" trial watched the unaffected hand, which the clip never shows:
    # not scored, so no progress panel of zeros
    free = [t for t in result.trials if t["task"] == "free"]
    assert len(free) == 1 and "error" in free[0]["score"]
    assert sorted(panels) == ["open_close"]
    # the registry's headline, in its order, wherever the real trial has a value
    from rehab.tasks import TASKS, value_at

    score = result.trials[0]["score"]
    expected = [k for k in TASKS["open_close"].headline if value_at(score, k) is not None]
    assert expected[:2] == ["repetitions", "openings"]
    assert panels["open_close"][:len(expected)] == expected
    assert seen["ratings"] == [["pain", "fatigue"]]
    # the benchmark's generated store has every column this real session's export has
    real = export_trials(Store(), "P1")
    fake_store = Store(Store().data_dir.parent / "fake")
    fake_store.add_patient("P001", "left")
    bulk_populate(fake_store.engine, "P001", n_sessions=40, trials_per_session=5)
    assert sorted(set(real.columns) - set(export_trials(fake_store, "P001").columns)) == []
    fake_store.close()


def test_no_score_is_plotted_as_a_rating(tmp_path, monkeypatch):
    """``finger_tap.amplitude_ratio_last_first`` ends in ``_first`` like ``pain_first``; only the
    ratings the patient gave are plotted under "Pain and fatigue"."""
    store = Store(tmp_path / "data")
    bulk_populate(store.engine, "P001", n_sessions=6, trials_per_session=5)
    assert "finger_tap.amplitude_ratio_last_first" in export_sessions(store, "P001").columns
    seen = _plotted(monkeypatch)
    build_review(store, "P001")
    assert seen["ratings"] == [["pain", "fatigue"]]
    panels = dict(seen["progress"])
    assert sorted(panels) == sorted(["open_close", "finger_tap", "opposition", "reach_grasp", "free"])
    assert panels["open_close"][:3] == ["repetitions", "openings", "opening_range"]
    # each task's progress: the numbers of its registry headline, then the match and tracking,
    # five at most; never a validity count ("Frames" stood in for opposition's finger list)
    assert panels == {
        "open_close": ["repetitions", "openings", "opening_range", "closings",
                       "similarity.score"],
        "finger_tap": ["repetitions", "rate_hz", "amplitude", "amplitude_decrement",
                       "hesitations"],
        "opposition": ["repetitions", "fingers_reached_n", "similarity.score",
                       "tracked_fraction"],
        "reach_grasp": ["movement_time_s", "peak_speed_hand_sizes_per_s",
                        "time_to_peak_aperture_s", "similarity.score", "tracked_fraction"],
        "free": ["rom.index_mcp.range_deg", "rom.middle_pip.range_deg",
                 "rom.thumb_mcp.range_deg", "similarity.score", "tracked_fraction"],
    }
    store.close()


def test_review_marks_invalid_trials():
    from rehab.report.review import _trials_section

    sessions = pd.DataFrame({"session_id": ["s1"]})
    trials = pd.DataFrame({
        "patient_id": ["P"] * 3, "protocol_sha256": ["x"] * 3, "session_status": ["done"] * 3,
        "session_start": ["t"] * 3, "session_id": ["s1"] * 3, "task": ["finger_tap"] * 3,
        "valid": [True, False, None],
        "validity_reasons": ["", "15.9 tracked frames/s is 3.9 frames per cycle at 4.0 Hz", None],
    })
    html = _trials_section(trials, sessions)
    assert html.count("<td>ok</td>") == 1
    heads = re.findall(r"<th>(.*?)</th>", html)
    assert heads[0] == "Validity" and "Valid trial" not in heads and "Why not valid" not in heads
    assert "<td>INVALID: 15.9 tracked frames/s is 3.9 frames per cycle at 4.0 Hz</td>" in html


def test_trials_table_headings_fit_every_task_in_it(tmp_path):
    """The trials table mixes tasks: its repetitions column is "Repetitions", not the first
    task's own word for them ("Open-close cycles" over finger taps); cells that are missing
    (a trial with no count, an unstated validity) are empty, never "<NA>" or "None"."""
    from rehab.report.review import _trials_section

    sessions = pd.DataFrame({"session_id": ["s1"]})
    trials = pd.DataFrame({
        "patient_id": ["P"] * 2, "protocol_sha256": ["x"] * 2, "session_status": ["done"] * 2,
        "session_start": ["t"] * 2, "session_id": ["s1"] * 2,
        "task": ["finger_tap", "open_close"], "repetitions": pd.array([12, None], dtype="Int64"),
        "rate_hz": [1.5, None], "valid": [True, None], "tracked_fraction": [0.98765, 0.0],
        "quality.tracked_fraction": [0.98765, 0.0], "events": [None, '[{"t": 1.5, "kind": "open"}]'],
        "validity.warnings": ['["range of motion beyond anatomical limits: little_dip"]', None],
        "error": [None, "the left hand was seen in 0 of 621 frames; nothing to score"],
    })
    html = _trials_section(trials, sessions)
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    # validity, its reasons, warnings and a scoring error are one column; the tracked
    # fraction once, in the % its heading names
    assert re.findall(r"<th>(.*?)</th>", head) == [
        "Validity", "Session", "Task", "Repetitions", any_metric("rate_hz").heading,
        "Hand tracked (%)"]
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)
    assert re.findall(r"<td>(.*?)</td>", rows[0]) == [  # newest first
        "not scored: the left hand was seen in 0 of 621 frames; nothing to score", "s1",
        "open_close", "", "", "0"]
    assert re.findall(r"<td>(.*?)</td>", rows[1]) == [
        "ok, but: range of motion beyond anatomical limits: little_dip", "s1", "finger_tap",
        "12", "1.5", "98.8"]
