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


def _plotted(monkeypatch) -> dict[str, list]:
    """What build_review hands to the progress and ratings plots."""
    from rehab.report import plots

    seen: dict[str, list] = {"progress": [], "ratings": []}
    progress, ratings = plots.progress_plot, plots.ratings_plot
    monkeypatch.setattr(plots, "progress_plot", lambda task, per, cols: (
        seen["progress"].append((task, list(cols))), progress(task, per, cols))[1])
    monkeypatch.setattr(plots, "ratings_plot", lambda sessions, keys: (
        seen["ratings"].append(list(keys)), ratings(sessions, keys))[1])
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
    panels = dict(seen["progress"])  # the mirror step's unaffected hand is a "free" trial
    assert sorted(panels) == ["free", "open_close"]
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
    assert "<td>INVALID: 15.9 tracked frames/s is 3.9 frames per cycle at 4.0 Hz</td>" in html
