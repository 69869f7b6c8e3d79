"""Property-based fuzzing of the shipped protocols (Hypothesis, derandomized: the same mutants
on every run). For every mutant: checking it never raises, stays within a time and memory
bound, and every problem is one line starting FILE:LINE:COL; every mutant that validates runs
to its end on fakes. About a minute in all (bench/fuzz_validate.py runs 1,000 of them)."""

from __future__ import annotations

import signal
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT
from engine_helpers import rig
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rehab.protocol import check_protocol, load_protocol
from rehab.testing import FakeCamera, FakeClip
from rehab.testing.mutants import mutate, shipped_texts, write_mutant

PARENTS = shipped_texts(ROOT / "protocols")
VIDEOS = ROOT / "videos"
CHECK_S, CHECK_MB, RUN_S = 3.0, 64.0, 20.0
FUZZ = settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class _Hung(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Fail (rather than hang the suite) when the body runs longer than ``seconds``."""

    def alarm(signum, frame):
        raise _Hung(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds * 3)  # tracemalloc slows Python down
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _checked(path: Path):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with _time_limit(CHECK_S):
            issues = check_protocol(path, VIDEOS)
    finally:
        took = time.perf_counter() - start
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return issues, took, peak_mb


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutants")


@pytest.mark.skipif(not VIDEOS.is_dir(), reason="the shipped videos/ folder is absent")
@FUZZ
@given(rng=st.randoms(use_true_random=False), parent=st.sampled_from(PARENTS))
def test_mutated_protocols_validate_boundedly_and_valid_ones_run(folder, rng, parent):
    path = folder / "mutant.yaml"
    write_mutant(path, mutate(parent, rng))
    issues, took, peak_mb = _checked(path)
    assert took < CHECK_S * 3 and peak_mb < CHECK_MB, (took, peak_mb)
    for issue in issues:
        line = str(issue)
        assert issue.line >= 1 and issue.col >= 1
        assert line.startswith(f"{path}:{issue.line}:{issue.col}: {issue.code}: ")
        assert "\n" not in line and "\x1b" not in line
        line.encode("utf-8")
    event("valid: ran on fakes" if not issues else f"invalid: {issues[0].code}")
    if not issues:
        _runs_to_its_end(path)


def _runs_to_its_end(path: Path) -> None:
    loaded = load_protocol(path, VIDEOS)
    steps = loaded.protocol.flatten()
    names = {getattr(p.step, key, None) for p in steps for key in ("clip", "demonstration")}
    clips = {name: FakeClip(30, 30.0) for name in names - {None}}
    r = rig(loaded, clips=clips, camera=FakeCamera(count=60))
    with _time_limit(RUN_S):
        result = r.session.run()
    assert result.status in ("completed", "stopped_by_safety_rule"), result.stop_reason
    assert len(r.writer.steps) <= len(steps)
    if result.status == "completed":
        # every step ran; a camera step the 60-frame fake camera outlasts is stored cut short
        assert len(r.writer.steps) == len(steps)
        for planned, stored in zip(steps, r.writer.steps, strict=True):
            camera_step = planned.kind in ("execute", "mirror")
            assert stored["status"] in (("completed", "cut_short") if camera_step
                                        else ("completed",)), (planned.kind, stored["status"])
