"""Test set-up: headless SDL, fixtures folder, temporary data dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"


def fixture_path(name: str) -> Path:
    """Path of a shared fixture clip; skips the test with a reason when it is absent."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"shared fixture {name} not found at {FIXTURES} (needs ../shared/fixtures beside the repo)")
    return path


@pytest.fixture
def reach_open_clip() -> Path:
    return fixture_path("hand_reach_open.mp4")


@pytest.fixture
def free_motions_clip() -> Path:
    return fixture_path("hand_free_motions.mp4")


@pytest.fixture
def display():
    """A 1280x720 pygame window on the dummy video driver, its clock at 5 s."""
    from rehab.devices.clock import SimulatedClock
    from rehab.devices.display import PygameDisplay

    d = PygameDisplay(fullscreen=False, size=(1280, 720), clock=SimulatedClock(5.0))
    yield d
    d.close()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir and cache dir; nothing touches the user's real ones."""
    base = tmp_path_factory.mktemp("rehab-home")
    monkeypatch.setenv("REHAB_DATA", str(base / "data"))
    monkeypatch.setenv("REHAB_CACHE", str(base / "cache"))


from pg_fixtures import clinic, pg_server  # noqa: E402,F401  (PostgreSQL for server tests)
