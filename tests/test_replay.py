"""Replay of stored trial landmarks: MP4 output, window playback, clear errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest

from rehab import synth
from rehab.errors import StoreError
from rehab.report.replay import load_trial, play, render_frame, write_mp4
from rehab.store import Store
from rehab.testing.store_data import fake_info


@pytest.fixture
def stored(tmp_path):
    store = Store(tmp_path / "data")
    w = store.writer()
    sid = w.begin(fake_info())
    frames = synth.open_close(cycles=1, freq_hz=1.0, fps=30.0, hand="left", rest_s=0.2)
    frames[5] = type(frames[5])(t=frames[5].t, frame_index=frames[5].frame_index)  # hand lost
    w.trial(1, "open_close", "left", {"repetitions": 1}, frames)
    w.end("completed")
    return store, sid, frames


def test_mp4_has_every_frame_and_is_owner_only(stored, tmp_path):
    store, sid, frames = stored
    trial = load_trial(store, sid, 1)
    assert trial.fps == pytest.approx(30.0, rel=1e-3)
    out = tmp_path / "r.mp4"
    assert write_mp4(trial, out) == len(frames)
    cap = cv2.VideoCapture(str(out))
    decoded = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        assert img.shape == (480, 640, 3)
        decoded += 1
    cap.release()
    assert decoded == len(frames)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_rendered_skeleton_is_where_the_landmarks_are(stored):
    store, sid, frames = stored
    trial = load_trial(store, sid, 1)
    img = render_frame(trial.frames[0], "left")
    wrist = trial.frames[0].hands[0].image[0, :2] * (640, 480)
    x, y = np.round(wrist).astype(int)
    assert img[y - 2:y + 3, x - 2:x + 3].max() > 200  # a bright joint dot at the wrist
    lost = render_frame(trial.frames[5], "left")
    assert lost[:400].max() < 60  # nothing drawn above the caption when the hand was lost


def test_window_playback_headless(stored):
    store, sid, _ = stored
    assert play(load_trial(store, sid, 1), max_frames=4) == 4


def test_replay_command_prints_no_pygame_banner(stored):
    store, sid, _ = stored
    env = {k: v for k, v in os.environ.items() if k != "PYGAME_HIDE_SUPPORT_PROMPT"}
    env["SDL_VIDEODRIVER"] = "dummy"
    done = subprocess.run([sys.executable, "-m", "rehab", "replay", sid, "--data",
                           str(store.data_dir)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pygame" not in done.stdout + done.stderr


def test_missing_trial_and_session_are_clear(stored):
    store, sid, _ = stored
    with pytest.raises(StoreError, match="has no trial 3 .it has 1 trials"):
        load_trial(store, sid, 3)
    with pytest.raises(StoreError, match="no session"):
        load_trial(store, "nope", 1)
