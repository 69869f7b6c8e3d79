"""Recording real footage into the clip library with MediaPipe, then scoring against the reference.

Uses the shared fixture hand_reach_open.mp4 (skips when absent). MediaPipe costs seconds per
clip, so the recordings are made once per module, on the first 4 s of the clip (the hand opens
and starts its reach) with the lite model. Reference and trials use the same model on purpose:
full- and lite-model landmarks of the same video differ enough to halve the similarity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import fixture_path

from rehab import synth
from rehab.clips.library import ClipLibrary
from rehab.clips.record import RecordResult, record_clip
from rehab.scoring.reference import Reference
from rehab.scoring.trial import score_trial

MODEL = "lite"
DURATION_S = 4.0  # of the 25 fps fixture: 100 frames
STRETCH = 1.5


def _record(path: Path, lib: ClipLibrary, name: str, duration_s: float | None) -> RecordResult:
    from rehab.devices.camera import FileCamera
    from rehab.devices.tracker import MediaPipeTracker

    camera = FileCamera(path, realtime=False, loop=False)
    camera.open()
    try:
        with MediaPipeTracker(MODEL) as tracker:
            return record_clip(camera, tracker, lib, name, task="reach_grasp",
                               duration_s=duration_s)
    finally:
        camera.close()


def _stretched_copy(src: Path, dest: Path, factor: float) -> int:
    """Write ``src`` slowed down by ``factor`` (frames repeated, same fps); returns frames."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    images = []
    while len(images) < round(DURATION_S * fps):
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    cap.release()
    n = int(round(len(images) * factor))
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for j in range(n):
        writer.write(images[min(len(images) - 1, int(j / factor))])
    writer.release()
    return n


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> ClipLibrary:
    return ClipLibrary(tmp_path_factory.mktemp("clips") / "videos")


@pytest.fixture(scope="module")
def demo(library) -> RecordResult:
    """The fixture clip recorded as a demonstration (file used as the camera)."""
    return _record(fixture_path("hand_reach_open.mp4"), library, "reach_demo", DURATION_S)


@pytest.fixture(scope="module")
def slow(library, tmp_path_factory) -> RecordResult:
    """A 1.5x slower copy of the same movement, tracked like a patient trial."""
    src = fixture_path("hand_reach_open.mp4")
    dest = tmp_path_factory.mktemp("stretched") / "reach_slow.mp4"
    _stretched_copy(src, dest, STRETCH)
    return _record(dest, library, "reach_slow", None)


def test_recording_writes_a_consistent_clip(demo, library):
    info = demo.info
    assert (info.frames, info.fps, info.hand, info.task) == (100, 25.0, "right", "reach_grasp")
    assert info.duration_s == pytest.approx(DURATION_S)
    assert library.check() == [] or all("reach_slow" in str(p) for p in library.check())
    ref = Reference.load(info.reference_path)
    assert ref.hand == "right" and len(ref) == 100 and ref.fps == pytest.approx(25.0)
    assert ref.present.mean() > 0.95
    assert demo.hand_counts["right"] > 95 and demo.hand_counts["left"] == 0
    assert "lite model" in (info.reference_note or "")


def test_same_movement_scores_near_100(demo, library):
    reference = library.reference("reach_demo")
    score = score_trial(demo.frames, "reach_grasp", "right", reference=reference)
    assert score.similarity["score"] >= 95
    assert score.similarity["tempo"] == pytest.approx(1.0, abs=0.05)


def test_time_stretched_copy_scores_high_with_the_stretch_as_tempo(slow, library):
    assert slow.info.frames == round(100 * STRETCH)
    reference = library.reference("reach_demo")
    score = score_trial(slow.frames, "reach_grasp", "right", reference=reference)
    assert score.similarity["score"] >= 70
    assert score.similarity["tempo"] == pytest.approx(STRETCH, abs=0.15)


def test_different_movement_scores_low(demo, slow, library):
    reference = library.reference("reach_demo")
    same = score_trial(slow.frames, "reach_grasp", "right", reference=reference)
    for task, frames in (("finger_tap", synth.finger_tap(duration_s=4.0)),
                         ("opposition", synth.opposition())):
        other = score_trial(frames, task, "right", reference=reference)
        assert other.similarity["score"] <= 30, task
        assert other.similarity["score"] < same.similarity["score"] - 40, task


def test_reference_round_trips_through_the_file(demo, library):
    """What scoring loads is what was tracked (float32 storage, NaN where the hand was absent)."""
    loaded = library.reference("reach_demo")
    fresh = Reference.from_frames(demo.frames, "right")
    np.testing.assert_allclose(loaded.image, fresh.image, atol=1e-6)
    np.testing.assert_array_equal(loaded.present, fresh.present)


def test_record_command_converts_a_file(tmp_path):
    src = fixture_path("hand_reach_open.mp4")
    lib_dir = tmp_path / "videos"
    args = ["record", "tiny", "--task", "reach_grasp", "--camera", str(src), "--duration", "0.4",
            "--model", MODEL, "--library", str(lib_dir)]
    out = CliRunner().invoke(main_cli(), args)
    assert out.exit_code == 0, out.output
    assert "wrote" in out.output and "tiny.landmarks.npz" in out.output
    info = ClipLibrary(lib_dir).get("tiny")
    assert info.frames == 10 and info.hand == "right" and "hand_reach_open.mp4" in info.source
    again = CliRunner().invoke(main_cli(), args)
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output


def main_cli():
    from rehab.cli import main

    return main
