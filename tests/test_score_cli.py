"""`rehab score`: real runs of the command on good, missing, unreadable and hand-less videos."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import fixture_path


def _rehab(*args: str) -> subprocess.CompletedProcess:
    """Run the real CLI in a fresh process: what a user sees, native stderr included."""
    return subprocess.run(
        [sys.executable, "-m", "rehab", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=180,
    )


def _write_video(path, frames, fps: float) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for image in frames:
        writer.write(image)
    writer.release()


def test_missing_video_exit_2(tmp_path):
    proc = _rehab("score", str(tmp_path / "gone.mp4"), "--task", "open_close")
    assert proc.returncode == 2
    assert "gone.mp4" in proc.stderr and "not found" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_text_file_named_mp4_exit_2(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("definitely not a video\n" * 100)
    proc = _rehab("score", str(fake), "--task", "free")
    assert proc.returncode == 2
    assert "notes.mp4" in proc.stderr and "not a readable video" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_handless_video_exit_1(tmp_path):
    blank = tmp_path / "blank.mp4"
    _write_video(blank, [np.full((120, 160, 3), 90, np.uint8)] * 12, fps=12.0)
    proc = _rehab("score", str(blank), "--task", "open_close", "--model", "lite")
    assert proc.returncode == 1, proc.stderr
    assert "no hand was found in any of the 12 frames" in proc.stderr
    assert "what to do:" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    # MediaPipe's native start-up chatter does not bury the message.
    assert "XNNPACK" not in proc.stderr and "W0000" not in proc.stderr


@pytest.fixture(scope="module")
def short_reach_clip(tmp_path_factory):
    """The first 1.2 s of hand_reach_open.mp4 (keeps the end-to-end runs quick)."""
    src = fixture_path("hand_reach_open.mp4")
    cap = cv2.VideoCapture(str(src))
    frames = [cap.read()[1] for _ in range(30)]
    cap.release()
    path = tmp_path_factory.mktemp("clips") / "reach_start.mp4"
    _write_video(path, frames, fps=25.0)
    return path


def _rehab_in_process(*args: str):
    """The same command in this process (MediaPipe and scipy already imported: quicker)."""
    from click.testing import CliRunner

    from rehab.cli import main

    return CliRunner().invoke(main, list(args))


def test_json_output_of_a_real_clip(short_reach_clip):
    res = _rehab_in_process(
        "score", str(short_reach_clip), "--task", "open_close", "--json", "--model", "lite"
    )
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert list(data)[:5] == ["task", "hand", "frames", "tracked_fraction", "repetitions"]
    assert data["task"] == "open_close"
    assert data["hand"] == "right"  # auto: the (anatomical right) hand seen in every frame
    assert data["frames"] == 30 and data["tracked_fraction"] > 0.9
    assert "openings" in data


def test_summary_of_a_real_clip(short_reach_clip):
    res = _rehab_in_process("score", str(short_reach_clip), "--task", "free", "--model", "lite")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("reach_start.mp4: free, right hand")
    assert "Frames" in res.stdout and "30" in res.stdout and "--json" in res.stdout


def test_asking_for_the_absent_hand_exit_1(short_reach_clip):
    res = _rehab_in_process(
        "score", str(short_reach_clip), "--task", "free", "--hand", "left", "--model", "lite"
    )
    assert res.exit_code == 1
    assert "left hand" in res.stderr and "what to do:" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)
