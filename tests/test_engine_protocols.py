"""Every shipped protocol runs through the engine on fakes (autopilot, simulated time)."""

from __future__ import annotations

import pytest
from conftest import ROOT
from engine_helpers import rig

from rehab.protocol import load_protocol
from rehab.testing import FakeCamera, FakeClip

PROTOCOLS = sorted((ROOT / "protocols").glob("*.yaml"))


@pytest.mark.parametrize("path", PROTOCOLS, ids=[p.stem for p in PROTOCOLS])
def test_shipped_protocol_runs_to_the_end(path):
    loaded = load_protocol(path)
    steps = loaded.protocol.flatten()
    clip_names = {getattr(p.step, key, None) for p in steps
                  for key in ("clip", "demonstration")} - {None}
    clips = {name: FakeClip(60, 30.0) for name in clip_names}
    # a 10 s file camera: camera steps end with it (as with --fast --camera FILE)
    r = rig(loaded, clips=clips, camera=FakeCamera(count=300))
    result = r.session.run()
    assert result.status == "completed", result.stop_reason
    camera_steps = [p for p in steps if p.kind in ("execute", "mirror")]
    # a camera step the 10 s file camera could not fill is stored cut short, saying why
    short = {e.step_index: e.data for e in r.writer.of("step_not_as_planned")}
    assert set(short) <= {p.index for p in camera_steps}
    assert all(d["cause"] == "camera_ran_out" and d["ran_s"] < d["planned_s"]
               for d in short.values())
    assert [s["status"] for s in r.writer.steps] == [
        "cut_short" if p.index in short else "completed" for p in steps]
    assert len(r.writer.trials) == len(camera_steps)
    # the stored session carries the protocol file itself
    assert r.writer.info.protocol_yaml == loaded.text
    assert r.writer.info.protocol_sha256 == loaded.sha256
    assert r.writer.info.protocol_path == str(loaded.path)
    # simulated time covers at least every rest and imagery period
    planned = sum(p.step.duration_s for p in steps if p.kind in ("rest", "imagine"))
    assert r.clock.now() >= planned
