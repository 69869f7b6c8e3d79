"""The camera check before the first movement trial: hand in frame, large enough, lit."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import protocol, rig

from rehab.devices.base import CommandKind, HandObservation, TrackedFrame
from rehab.engine.scenes import CameraScene
from rehab.engine.steps.camera_check import (
    CUT_OFF,
    GOOD,
    NO_HAND,
    OTHER_HAND,
    TOO_DARK,
    TOO_SMALL,
    assess,
)
from rehab.testing import FakeCamera, FakeTracker, ScriptedInput

BRIGHT = np.full((48, 64, 3), 128, dtype=np.uint8)


def _hand(side: str, centre=(0.5, 0.5), span=0.4) -> TrackedFrame:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.5, 0.5, (21, 2))
    xy = (xy - xy.min(0)) / np.ptp(xy, 0) - 0.5  # exactly span x span around the centre
    image = np.c_[np.asarray(centre) + xy * span, np.zeros(21)].astype(np.float32)
    obs = HandObservation(0.0, side, 0.9, image, image * 0.1, 0)
    return TrackedFrame(0.0, 0, (obs,))


@pytest.mark.parametrize(("image", "tf", "want"), [
    (BRIGHT, _hand("left"), None),
    (np.full((48, 64, 3), 20, np.uint8), _hand("left"), TOO_DARK),
    (BRIGHT, TrackedFrame(0.0, 0, ()), NO_HAND.format(hand="left")),
    (BRIGHT, _hand("right"), OTHER_HAND.format(seen="right", hand="left")),
    (BRIGHT, _hand("left", span=0.1), TOO_SMALL),
    (BRIGHT, _hand("left", centre=(0.9, 0.5)), CUT_OFF),
])
def test_assess_says_what_to_change(image, tf, want):
    assert assess(image, tf, "left") == want


def _hints(r) -> list[str | None]:
    return [s.scene.hint for s in r.display.shown if isinstance(s.scene, CameraScene)
            and s.scene.caption.startswith("Camera check")]


STEP = {"kind": "execute", "task": "open_close", "duration_s": 2}


def test_check_passes_once_the_hand_looks_right_for_a_second():
    # FakeTracker's synthetic hand spans ~0.3 of the picture, well inside it
    r = rig(protocol(STEP, STEP), affected="left", tracker=FakeTracker(("left",)),
            camera=FakeCamera(frames=lambda i: BRIGHT, count=3000), camera_check=True)
    r.session.run()
    assert set(_hints(r)) == {GOOD}
    (ev,) = r.writer.of("camera_check")  # once per session, before the first trial only
    assert ev.step_index == 0 and ev.data["ended"] == "good" and ev.data["ok"] is True
    assert ev.data["seconds"] == pytest.approx(1.0, abs=0.05)
    assert r.writer.of("step_not_as_planned") == []
    kinds = r.writer.kinds()
    assert kinds.index("camera_check") < kinds.index("trial_started")


def test_only_the_other_hand_is_named_and_recorded():
    r = rig(protocol(STEP), affected="left", tracker=FakeTracker(("right",)),
            camera=FakeCamera(frames=lambda i: BRIGHT, count=3000), camera_check=True)
    r.session.run()
    want = OTHER_HAND.format(seen="right", hand="left")
    assert set(_hints(r)) == {want}
    (ev,) = r.writer.of("camera_check")
    assert ev.data["ended"] == "time up" and ev.data["ok"] is False
    assert ev.data["seconds"] == pytest.approx(2.0, abs=0.05)  # autopilot looks for 2 s only
    (note,) = r.writer.of("step_not_as_planned")
    assert note.data == {"reason": f"camera check not passed: {want}", "cause": "camera_check"}


def test_space_goes_on_without_a_good_picture():
    keys = ScriptedInput().when(
        lambda s: isinstance(s, CameraScene) and s.caption.startswith("Camera check"),
        CommandKind.CONTINUE)
    r = rig(protocol(STEP), affected="left", autopilot=False, keys=keys, continue_screens=True,
            tracker=FakeTracker(("left",), lambda _i: False),
            camera=FakeCamera(frames=lambda i: BRIGHT, count=3000), camera_check=True)
    r.session.run()
    (ev,) = r.writer.of("camera_check")
    assert ev.data["ended"] == "space"
    assert set(_hints(r)) == {NO_HAND.format(hand="left")}
