"""Builders shared by the engine tests: a protocol from step dicts and a session on fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rehab.devices.base import CommandKind, SilentAudio
from rehab.engine import Devices, PatientInfo, Session, SessionOptions
from rehab.protocol.models import Protocol
from rehab.testing import (
    FakeCamera,
    FakeClip,
    FakeClipSource,
    FakeClock,
    FakeScoring,
    FakeTracker,
    MemoryWriter,
    RecordingDisplay,
    ScriptedInput,
)


def protocol(*steps: dict, safety: dict | None = None, defaults: dict | None = None) -> Protocol:
    data: dict[str, Any] = {"name": "test", "description": "engine test", "steps": list(steps)}
    if safety:
        data["safety"] = safety
    if defaults:
        data["defaults"] = defaults
    return Protocol.model_validate(data)


@dataclass
class Rig:
    session: Session
    clock: FakeClock
    display: RecordingDisplay
    keys: ScriptedInput
    writer: MemoryWriter
    camera: FakeCamera | None
    tracker: Any
    clips: FakeClipSource
    audio: SilentAudio


def rig(proto: Protocol, *, autopilot: bool = True, fast: bool = True, affected: str = "left",
        camera: FakeCamera | None | str = "default", keys: ScriptedInput | None = None,
        show_cost_s: float = 0.0, clips: dict | None = None, clip_hands: dict | None = None,
        history=None, tracker: Any = None, continue_screens: bool = False,
        real_scoring: bool = False, consent_video: bool = False, recorder=None,
        **options: Any) -> Rig:
    """A session on fakes. ``continue_screens`` presses SPACE on every screen that waits for it."""
    clock = FakeClock(limit_s=4 * 3600)  # a screen nobody answers fails instead of hanging
    keys = keys or ScriptedInput()
    if continue_screens:
        keys.when(_waits_for_space, CommandKind.CONTINUE, once=False)
    display = RecordingDisplay(clock, keys, show_cost_s=show_cost_s)
    writer = MemoryWriter()
    cam = FakeCamera(count=3000) if camera == "default" else camera
    tracker = tracker or FakeTracker(("left", "right"))
    source = FakeClipSource(clips if clips is not None else {"clip.mp4": FakeClip(90, 30.0)},
                            hands=clip_hands or {})
    audio = SilentAudio()
    devices = Devices(clock=clock, display=display, audio=audio, writer=writer,
                      camera=cam, tracker=tracker, clips=source, clip_info=source.info,
                      history=history,
                      scoring=None if real_scoring else FakeScoring(frames_per_rep=15),
                      recorder=recorder)
    # the camera check (its own tests turn it on) would add camera screens before each trial
    options.setdefault("camera_check", False)
    opts = SessionOptions(autopilot=autopilot, fast=fast, **options)
    session = Session(proto, devices, PatientInfo("P001", affected, consent_video), opts)
    return Rig(session, clock, display, keys, writer, cam, tracker, source, audio)


def _waits_for_space(scene: object) -> bool:
    return "SPACE" in (getattr(scene, "footer", "") or "") and type(scene).__name__ != "Overlay"


def step_duration(writer: MemoryWriter, index: int) -> float:
    row = next(s for s in writer.steps if s["index"] == index)
    return row["ended_t"] - row["started_t"]
