"""`rehab doctor`: each check with fake probes (no dependence on this machine's hardware)."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from rehab import doctor
from rehab.doctor import Check, Probes, exit_code
from rehab.errors import TrackerError


def _versions(dist: str) -> str:
    if dist in doctor.CONFLICTING:
        raise metadata.PackageNotFoundError(dist)
    return "1.0"


def _model(tmp_path: Path):
    def ensure(variant: str) -> Path:
        path = tmp_path / f"{variant}.task"
        path.write_bytes(b"x" * 2048)
        return path

    return ensure


def healthy(tmp_path: Path, **overrides) -> Probes:
    probes = Probes(
        version_of=_versions,
        hand_model=_model(tmp_path),
        cameras=lambda: [{"index": 0, "opened": True, "width": 1280, "height": 720, "fps": 30.0}],
        sdl=lambda: ("x11", "pulseaudio"),
        disk_free=lambda p: 50 * 1024**3,
    )
    for key, value in overrides.items():
        setattr(probes, key, value)
    return probes


def run(tmp_path: Path, probes: Probes) -> list[Check]:
    """All checks with fake probes, a fresh data dir and a small valid demo protocol."""
    demo = tmp_path / "demo" / "protocols" / "demo.yaml"
    demo.parent.mkdir(parents=True, exist_ok=True)
    demo.write_text("name: d\ndescription: d\nsteps:\n  - rest: {duration_s: 1}\n")
    return doctor.run_checks(probes, data=tmp_path / "data", demo=demo)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_healthy_machine_is_ready(tmp_path):
    checks = run(tmp_path, healthy(tmp_path))
    assert exit_code(checks) == 0, "\n".join(c.line() for c in checks)
    named = by_name(checks)
    assert named["camera"].status == "ok" and "1280x720 @ 30 fps" in named["camera"].detail
    assert named["model full"].status == "ok" and named["model lite"].status == "ok"
    assert {"python", "mediapipe", "opencv", "pygame", "pandas", "numpy"} <= set(named)
    assert named["data folder"].status == "ok"
    assert (tmp_path / "data").is_dir() and not any(
        (tmp_path / "data").iterdir()
    )  # probe file removed


def test_one_line_per_check(tmp_path):
    checks = run(tmp_path, healthy(tmp_path))
    assert all("\n" not in c.line() for c in checks if not c.hint)


def test_no_camera_fails_with_file_camera_hint(tmp_path):
    probes = healthy(tmp_path, cameras=lambda: [{"index": 0, "opened": False}])
    checks = run(tmp_path, probes)
    camera = by_name(checks)["camera"]
    assert camera.status == "fail" and "--camera FILE" in camera.hint
    assert exit_code(checks) == 1


def test_camera_probe_crash_is_reported(tmp_path):
    def broken():
        raise RuntimeError("driver exploded")

    camera = by_name(run(tmp_path, healthy(tmp_path, cameras=broken)))["camera"]
    assert camera.status == "fail" and "driver exploded" in camera.detail


def test_camera_objects_with_attributes(tmp_path):
    class Info:
        index, width, height, fps = 1, 640, 480, 15.0

    camera = doctor.check_cameras(lambda: [Info()])
    assert camera.status == "ok" and "#1 640x480 @ 15 fps" in camera.detail


def test_hand_model_error_fails_with_its_hint(tmp_path):
    def ensure(variant: str) -> Path:
        raise TrackerError("no hand model in the wheel", hint="reinstall mediapipe")

    checks = run(tmp_path, healthy(tmp_path, hand_model=ensure))
    model = by_name(checks)["model full"]
    assert model.status == "fail" and model.hint == "reinstall mediapipe"
    assert exit_code(checks) == 1


def test_tracker_module_missing_says_not_available(monkeypatch):
    monkeypatch.setitem(sys.modules, "rehab.devices.tracker", None)  # import now raises ImportError
    (check,) = doctor.check_hand_model(None)
    assert check.status == "fail" and "not available yet" in check.detail


def test_missing_package_fails(tmp_path):
    def versions(dist: str) -> str:
        if dist in ("mediapipe", *doctor.CONFLICTING):
            raise metadata.PackageNotFoundError(dist)
        return "1.0"

    checks = run(tmp_path, healthy(tmp_path, version_of=versions))
    assert by_name(checks)["mediapipe"].status == "fail"
    assert exit_code(checks) == 1


def test_conflicting_opencv_is_a_warning(tmp_path):
    def versions(dist: str) -> str:
        if dist in ("opencv-python-headless", "opencv-contrib-python-headless"):
            raise metadata.PackageNotFoundError(dist)
        return "4.9"

    checks = run(tmp_path, healthy(tmp_path, version_of=versions))
    clash = by_name(checks)["opencv-python"]
    assert clash.status == "warn" and "pip uninstall opencv-python" in clash.hint
    assert exit_code(checks) == 0


def test_dummy_display_and_no_audio_warn_but_do_not_fail(tmp_path):
    checks = run(tmp_path, healthy(tmp_path, sdl=lambda: ("dummy", None)))
    named = by_name(checks)
    assert named["display"].status == "warn" and named["audio"].status == "warn"
    assert exit_code(checks) == 0


def test_sdl_failure_fails(tmp_path):
    def broken():
        raise RuntimeError("No available video device")

    display = by_name(run(tmp_path, healthy(tmp_path, sdl=broken)))["display"]
    assert display.status == "fail" and "No available video device" in display.detail


def test_real_sdl_start_with_dummy_drivers(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    video, _audio = doctor.start_sdl()
    assert video == "dummy"


def test_data_dir_not_creatable_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    check = doctor.check_data_dir(blocker / "data")
    assert check.status == "fail" and "REHAB_DATA" in check.hint


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_data_dir_readable_by_others_warns(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    check = doctor.check_data_dir(folder)
    assert check.status == "warn" and "chmod 700" in check.hint


def test_new_data_dir_is_owner_only(tmp_path):
    folder = tmp_path / "new" / "data"
    assert doctor.check_data_dir(folder).status == "ok"
    if sys.platform != "win32":
        assert folder.stat().st_mode & 0o077 == 0


def test_low_disk(tmp_path):
    assert doctor.check_disk(tmp_path, lambda p: 50 * 1024**2).status == "fail"
    assert doctor.check_disk(tmp_path, lambda p: 1024**3).status == "warn"
    assert doctor.check_disk(tmp_path / "not" / "yet", lambda p: 10 * 1024**3).status == "ok"


def test_doctor_command_prints_lines_and_exit_code(monkeypatch, tmp_path):
    fake = [
        Check("python", "ok", "3.11"),
        Check("camera", "fail", "no camera opens", doctor.NO_CAMERA_HINT),
    ]
    monkeypatch.setattr(doctor, "run_checks", lambda data=None: fake)
    from rehab.cli import main

    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL camera" in result.output and "--camera FILE" in result.output
    assert "NOT ready" in result.output

    monkeypatch.setattr(doctor, "run_checks", lambda data=None: fake[:1])
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0 and "ready for a session" in result.output


def test_demo_protocol_check(tmp_path):
    proto = tmp_path / "protocols" / "demo.yaml"
    proto.parent.mkdir()
    (tmp_path / "videos").mkdir()
    proto.write_text("name: d\ndescription: d\nsteps:\n  - observe: {clip: open_close.mp4}\n")
    check = doctor.check_demo_protocol(proto)
    assert check.status == "fail" and "P008" in check.detail and "render-demo" in check.hint
    (tmp_path / "videos" / "open_close.mp4").write_bytes(b"")
    assert doctor.check_demo_protocol(proto).status == "ok"
    assert doctor.check_demo_protocol(tmp_path / "nope.yaml").status == "warn"


def test_dummy_audio_driver_warns():
    checks = {c.name: c for c in doctor.check_sdl(lambda: ("x11", "dummy"))}
    assert checks["display"].status == "ok" and checks["audio"].status == "warn"


def test_headless_display_warning_says_sessions_refuse_and_how_to_run_headless(tmp_path):
    from rehab.devices.visibility import HEADLESS_HINT

    checks = by_name(run(tmp_path, healthy(tmp_path, sdl=lambda: ("offscreen", None))))
    assert checks["display"].status == "warn"
    assert checks["display"].detail.endswith(
        "nobody can see the session window; rehab run/demo/home refuse to start here without "
        "--autopilot")
    assert checks["display"].hint == HEADLESS_HINT and "--autopilot" in HEADLESS_HINT
    assert "No sound: watch for the screen cue" in checks["audio"].detail
