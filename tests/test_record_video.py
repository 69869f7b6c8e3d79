"""record_video: an owner-only trial video for a consenting patient, refused with the reason
otherwise; listed in the review."""

from __future__ import annotations

import stat

import numpy as np
import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.devices.recording import video_recorder
from rehab.store import Store, queries

PROTOCOL = """\
name: Video test
description: record one trial
steps:
  - execute: {task: open_close, duration_s: 2, record_video: true}
"""


def test_recorder_writes_an_owner_only_video_of_every_frame(tmp_path):
    import cv2

    open_sink = video_recorder(tmp_path / "data", lambda: "s1")
    sink = open_sink(2, 30.0, (64, 48))
    for i in range(12):
        sink.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    sink.write(np.zeros((96, 128, 3), dtype=np.uint8))  # a wrong-sized frame is resized
    sink.close()
    assert sink.path == tmp_path / "data" / "videos" / "s1" / "step03.mp4"
    assert stat.S_IMODE(sink.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sink.path.parent.stat().st_mode) == 0o700
    cap = cv2.VideoCapture(str(sink.path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 13 == sink.frames
    cap.release()
    again = open_sink(2, 30.0, (64, 48))  # the step run again (resumed) keeps the first file
    again.close()
    assert again.path.name == "step03-2.mp4"


def _run(tmp_path, clip, consent: bool):
    proto = tmp_path / "video.yaml"
    proto.write_text(PROTOCOL)
    data = tmp_path / "data"
    Store(data).add_patient("V1", "right", consent_video=consent)
    result = CliRunner().invoke(main, [
        "run", str(proto), "--patient", "V1", "--autopilot", "--fast", "--window",
        "--model", "lite", "--camera", str(clip), "--data", str(data)])
    assert result.exit_code == 0, result.output
    store = Store(data)
    (row,) = store.sessions("V1")
    with store.engine.connect() as conn:
        events = queries.events_of_session(conn, row.id)
    return store, row, events


@pytest.mark.slow
def test_consenting_patient_gets_the_trial_video_listed_in_the_review(tmp_path, reach_open_clip):
    from rehab.report.review import build_review

    store, row, events = _run(tmp_path, reach_open_clip, consent=True)
    assert [e["kind"] for e in events if e["kind"].startswith("video_")] == ["video_recorded"]
    (ev,) = [e for e in events if e["kind"] == "video_recorded"]
    path = store.data_dir / "videos" / row.id / "step01.mp4"
    assert ev["data"]["path"] == str(path) and ev["data"]["frames"] > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    page = build_review(store, "V1")
    assert "<h2>Trial videos</h2>" in page and str(path) in page


@pytest.mark.slow
def test_patient_without_consent_gets_no_video_and_the_reason(tmp_path, reach_open_clip):
    from rehab.report.review import build_review

    store, row, events = _run(tmp_path, reach_open_clip, consent=False)
    assert [(e["kind"], e["data"]) for e in events if e["kind"].startswith("video_")] == [
        ("video_not_recorded", {"reason": "the patient has not consented to video"})]
    assert not (store.data_dir / "videos").exists()
    assert "the patient has not consented to video" in build_review(store, "V1")
