"""The shipped rendered clips seen by the real hand tracker (MediaPipe lite, a few seconds).

The cartoon hand is drawn so MediaPipe can find it: the sidecar's hand can then be verified
and the tracked landmarks land near the ground truth the clip was drawn from.
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab.clips.library import ClipLibrary
from rehab.clips.record import iter_clip_frames, verify_hand
from rehab.paths import shipped_videos_dir
from rehab.scoring.reference import Reference


@pytest.fixture(scope="module")
def tracker_factory():
    from rehab.devices.tracker import MediaPipeTracker

    made = []

    def make():
        made.append(MediaPipeTracker("lite"))
        return made[-1]

    yield make
    for t in made:
        t.close()


def test_tracker_finds_the_rendered_hand_near_its_ground_truth(tracker_factory):
    info = ClipLibrary(shipped_videos_dir()).get("opposition")
    truth = Reference.load(info.reference_path)
    tracker = tracker_factory()
    errors_px, frames = [], 0
    for frame in iter_clip_frames(info.path, step=5):
        frames += 1
        obs = tracker.track(frame).hand("right")
        if obs is not None:
            diff = (obs.image[:, :2] - truth.image[frame.index, :, :2]) * (640, 360)
            errors_px.append(float(np.linalg.norm(diff, axis=1).mean()))
    assert len(errors_px) >= 0.9 * frames
    assert np.median(errors_px) < 12.0  # the hand is about 200 px tall


def test_verify_hand_confirms_the_shipped_sidecar(tracker_factory):
    info = ClipLibrary(shipped_videos_dir()).get("finger_tap")
    assert verify_hand(info, tracker_factory(), max_frames=12) is None
