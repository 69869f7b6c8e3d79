"""Observation dose: seconds of demonstration actually shown (frames x frame time), imagery time,
mirroring and speed, from the engine's events; the export and review totals."""

from __future__ import annotations

import pytest
from engine_helpers import protocol, rig

from rehab.devices.base import CommandKind
from rehab.engine.writer import Event
from rehab.report.dose import sessions_table, step_doses, steps_table, weekly_dose
from rehab.report.export import export_sessions
from rehab.store import Store
from rehab.testing import FakeClip, ScriptedInput
from rehab.testing.store_data import fake_info

CLIP = {"clip.mp4": FakeClip(90, 30.0)}  # 3 s at 30 fps


def _events(r):
    return [("S1", e.step_index, e.kind, e.data) for e in r.writer.events]


def _video_scenes_per_step(r) -> list[int]:
    """How many VideoScenes the display was given in each step that showed any, in order."""
    counts: dict[int, int] = {}
    for scene in r.display.scenes("VideoScene"):
        counts[scene.progress.step] = counts.get(scene.progress.step, 0) + 1
    return [counts[k] for k in sorted(counts)]


def test_dose_is_the_displayed_frames_times_the_frame_time():
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4", "repeat": 2},
                     {"kind": "observe", "clip": "clip.mp4", "speed": 0.5, "imagine": True,
                      "match_affected_side": True},
                     {"kind": "imagine", "text": "Open your hand", "duration_s": 20}),
            clips=CLIP, clip_hands={"clip.mp4": "right"}, affected="left")
    r.session.run()
    doses = step_doses(_events(r))
    assert [d.step_kind for d in doses] == ["observe", "observe", "imagine"]
    watch, slow, imagine = doses
    assert [watch.frames_shown, slow.frames_shown] == _video_scenes_per_step(r) == [180, 90]
    assert watch.ao_s == pytest.approx(180 / 30.0) and watch.mi_s == 0.0
    assert (watch.speed, watch.mirrored, watch.demonstrations) == (1.0, False, 2.0)
    assert slow.ao_s == pytest.approx(90 / 15.0) and slow.mi_s == pytest.approx(6.0)
    assert (slow.speed, slow.mirrored, slow.imagine, slow.demonstrations) == (0.5, True, True, 1.0)
    assert imagine.mi_s == pytest.approx(20.0) and imagine.ao_s == 0.0
    per_session = sessions_table(doses).loc["S1"]
    assert per_session["ao_min"] == pytest.approx(12.0 / 60, abs=1e-3)
    assert per_session["mi_min"] == pytest.approx(26.0 / 60, abs=1e-3)
    assert per_session["ao_mirrored_min"] == pytest.approx(6.0 / 60, abs=1e-3)
    assert per_session["demonstrations"] == 3.0


def test_dropped_frames_are_not_counted_as_watched():
    """A display slower than the clip drops frames: the dose counts only the ones shown."""
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4"}), clips=CLIP, show_cost_s=0.05)
    r.session.run()
    (dose,) = step_doses(_events(r))
    shown = len(r.display.scenes("VideoScene"))
    assert 40 <= shown < 90  # the step still lasts the clip's 3 s
    assert dose.frames_shown == shown and dose.ao_s == pytest.approx(shown / 30.0)
    dropped = next(e.data for e in r.writer.events if e.kind == "playback")["frames_dropped"]
    assert shown + dropped == 90


def test_paused_time_is_not_observation_time():
    keys = ScriptedInput().at(1.0, CommandKind.PAUSE).at(4.0, CommandKind.PAUSE)
    r = rig(protocol({"kind": "observe", "clip": "clip.mp4"},
                     {"kind": "imagine", "text": "Grasp", "duration_s": 10}),
            clips=CLIP, keys=keys.at(6.0, CommandKind.PAUSE).at(9.0, CommandKind.PAUSE))
    r.session.run()
    observe, imagine = step_doses(_events(r))
    assert observe.frames_shown == 90 and observe.ao_s == pytest.approx(3.0)
    assert imagine.mi_s == pytest.approx(10.0, abs=0.05)  # 3 s paused in the middle


def test_skipped_imagery_records_the_time_imagined():
    keys = ScriptedInput().at(4.0, CommandKind.SKIP)
    r = rig(protocol({"kind": "imagine", "text": "Grasp", "duration_s": 30}), keys=keys)
    r.session.run()
    (imagine,) = step_doses(_events(r))
    assert imagine.mi_s == pytest.approx(4.0, abs=0.05)


def test_export_summary_and_weekly_review_totals(tmp_path):
    store = Store(tmp_path / "data")
    store.add_patient("P001", "left")
    w = store.writer()
    sid = w.begin(fake_info("P001"))
    w.event(Event(0.0, "observe_started", 1, {"clip": "a.mp4", "fps": 30.0, "speed": 1.0,
                                               "frames": 60, "mirror": True, "imagine": False}))
    for i in range(120):
        w.event(Event(i / 30, "frame_shown", 1, {"clip": "a.mp4", "frame": i % 60, "rep": i // 60}))
    w.event(Event(5.0, "frame_shown", 2, {"frame": 0, "captured_at": 5.0}))  # a camera frame
    w.event(Event(9.0, "imagery", 3, {"imagined_s": 30.0, "eyes_closed": True}))
    w.end("completed")
    row = export_sessions(store, "P001").iloc[0]
    assert row["session_id"] == sid
    assert (row["ao_min"], row["mi_min"], row["ao_mirrored_min"], row["demonstrations"]) == \
        (pytest.approx(4.0 / 60, abs=1e-3), 0.5, pytest.approx(4.0 / 60, abs=1e-3), 2.0)
    from rehab.report.dose import load_doses

    steps = steps_table(load_doses(store, "P001"))
    assert list(steps["step_kind"]) == ["observe", "imagine"]
    assert list(steps["ao_s"]) == [4.0, 0.0] and list(steps["mi_s"]) == [0.0, 30.0]
    weeks = weekly_dose(export_sessions(store, "P001"))
    assert len(weeks) == 1 and weeks.iloc[0]["sessions"] == 1
    assert weeks.iloc[0]["mi_min"] == 0.5
    from rehab.report.review import build_review

    page = build_review(store, "P001")
    section = page[page.index("<h2>Observation and imagery dose</h2>"):]
    section = section[:section.index("</table>")]
    assert "<th>Imagery (MI, min)</th>" in section and "<td>0.5</td>" in section  # MI minutes
    store.close()
    from click.testing import CliRunner

    from rehab.cli import main
    from rehab.report.dose import STEP_COLUMNS

    out = CliRunner().invoke(main, ["export", "--patient", "P001", "--dose",
                                    "--data", str(tmp_path / "data")])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0] == ",".join(STEP_COLUMNS) and len(lines) == 3
    assert lines[1].split(",")[STEP_COLUMNS.index("ao_s")] == "4.0"
    both = CliRunner().invoke(main, ["export", "--patient", "P001", "--dose", "--summary",
                                     "--data", str(tmp_path / "data")])
    assert both.exit_code == 2 and "not both" in both.output
