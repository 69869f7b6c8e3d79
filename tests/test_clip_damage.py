"""A damaged demonstration trajectory (.landmarks.npz) is a clip problem named in prepare and in
`rehab clips check`, never a raw BadZipFile / zlib.error traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_helpers import protocol

from rehab.clips.library import load_reference
from rehab.devices.base import SilentAudio
from rehab.engine import Devices, PatientInfo, Session, SessionOptions
from rehab.engine.scoring_seam import RehabScoring
from rehab.errors import ClipError, RehabError
from rehab.testing import (
    FakeCamera,
    FakeClip,
    FakeClipSource,
    FakeClock,
    FakeTracker,
    MemoryWriter,
    RecordingDisplay,
    ScriptedInput,
)

SHIPPED = Path(__file__).resolve().parent.parent / "videos" / "open_close.landmarks.npz"
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped videos/ absent")


def _truncated(tmp_path: Path) -> Path:
    bad = tmp_path / "open_close.landmarks.npz"
    bad.write_bytes(SHIPPED.read_bytes()[:500])  # BadZipFile
    return bad


def _bit_flipped(tmp_path: Path) -> Path:
    bad = tmp_path / "open_close.landmarks.npz"
    shutil.copy(SHIPPED, bad)
    data = bytearray(bad.read_bytes())
    for i in range(200, len(data) - 200, 5):  # inside the compressed members: zlib.error
        data[i] ^= 0x5A
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("damage", [_truncated, _bit_flipped])
def test_damaged_trajectory_is_a_clip_error_naming_the_file(tmp_path, damage):
    bad = damage(tmp_path)
    with pytest.raises(ClipError) as caught:
        load_reference(bad)
    assert str(bad) in caught.value.message and "re-create" in caught.value.hint


@pytest.mark.parametrize("damage", [_truncated, _bit_flipped])
def test_session_prepare_names_the_damaged_trajectory(tmp_path, damage):
    bad = damage(tmp_path)
    proto = protocol({"kind": "execute", "task": "open_close", "duration_s": 5,
                      "demonstration": "open_close.mp4"})
    clock = FakeClock()
    keys = ScriptedInput()
    source = FakeClipSource({"open_close.mp4": FakeClip(30, 30.0)},
                            references={"open_close.mp4": bad})
    devices = Devices(clock=clock, display=RecordingDisplay(clock, keys), writer=MemoryWriter(),
                      audio=SilentAudio(),
                      camera=FakeCamera(count=30), tracker=FakeTracker(("left", "right")),
                      clips=source, clip_info=source.info, scoring=RehabScoring())
    session = Session(proto, devices, PatientInfo("P001", "left"), SessionOptions(autopilot=True))
    with pytest.raises(RehabError) as caught:
        session.prepare()
    assert "the session cannot start" in caught.value.message
    assert f"reference landmarks of open_close.mp4 ({bad})" in caught.value.message
    assert "not a valid landmarks file" in caught.value.message
