"""`rehab score VIDEO --demonstration CLIP`: a recording scored against a library clip's reference.

A shipped rendered clip, tracked and scored against its own reference, is the check that the
tracker reads the rendered hand as the hand it was drawn from (similarity >= 85, tempo 1).
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from rehab.cli import main
from rehab.paths import shipped_videos_dir


def _score(*args: str):
    return CliRunner().invoke(main, ["score", *args, "--model", "lite"])


def test_a_rendered_clip_scores_high_against_its_own_reference():
    clip = shipped_videos_dir() / "finger_tap.mp4"
    out = _score(str(clip), "--task", "finger_tap", "--demonstration", str(clip), "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.output[out.output.index("{"):])
    assert result["task"] == "finger_tap" and result["hand"] == "right"
    assert result["similarity"]["score"] >= 85.0
    assert abs(result["similarity"]["tempo"] - 1.0) < 0.05


def test_demonstration_by_name_comes_from_the_clip_library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./videos: the shipped library
    clip = shipped_videos_dir() / "opposition_1p.mp4"
    out = _score(str(clip), "--task", "opposition", "--demonstration", "opposition_1p.mp4",
                 "--json")
    assert out.exit_code == 0, out.output
    similarity = json.loads(out.output[out.output.index("{"):])["similarity"]
    assert similarity["score"] >= 85.0 and abs(similarity["tempo"] - 1.0) < 0.05


def test_unknown_demonstration_is_a_clear_error_before_tracking(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clip = shipped_videos_dir() / "finger_tap.mp4"
    out = _score(str(clip), "--task", "finger_tap", "--demonstration", "nosuch.mp4")
    assert out.exit_code != 0
    assert "nosuch" in out.output and "Traceback" not in out.output
