"""``rehab doctor``: checks that this machine can run a session, one line per check.

Each check returns :class:`Check` (ok / warn / fail, a detail, what to do). The hardware-facing
parts (camera probe, hand-model builder, SDL start-up, disk query) are passed in, so tests run
them with fakes instead of depending on what hardware the test machine happens to have.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from rehab.devices.quiet import quiet_native_stderr
from rehab.devices.visibility import HEADLESS_HINT, unseen_reason
from rehab.errors import RehabError
from rehab.paths import data_dir, shipped_protocols_dir

Status = Literal["ok", "warn", "fail"]

# (distribution, what it is for); all are dependencies in pyproject.toml
PACKAGES: tuple[tuple[str, str], ...] = (
    ("mediapipe", "hand tracking"),
    ("opencv-contrib-python", "opencv-contrib-python: camera and video"),
    ("pygame", "display, sound, input"),
    ("numpy", "numbers"),
    ("pandas", "CSV export"),
    ("scipy", "signal filters"),
    ("pydantic", "protocol validation"),
    ("PyYAML", "protocol files"),
    ("SQLAlchemy", "session store"),
    ("click", "command line"),
    ("platformdirs", "data folders"),
    ("matplotlib", "review plots"),
)
# These ship their own cv2 module and overwrite MediaPipe's OpenCV when installed alongside it.
CONFLICTING = ("opencv-python", "opencv-python-headless", "opencv-contrib-python-headless")
NO_SOUND = ("sessions open with 'No sound: watch for the screen cue' and eyes-closed imagery "
            "runs with eyes open")
MIN_FREE_BYTES = 200 * 1024**2  # a session with recorded video needs tens of MB
LOW_FREE_BYTES = 2 * 1024**3
NO_CAMERA_HINT = "connect a webcam, or use a video file as the camera: rehab demo --camera FILE.mp4"


@dataclass(frozen=True)
class Check:
    """Result of one check."""

    name: str
    status: Status
    detail: str
    hint: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[self.status]
        text = f"{mark} {self.name:<13} {self.detail}"
        return f"{text}\n     what to do: {self.hint}" if self.hint else text


@dataclass
class Probes:
    """The parts that touch hardware or the system; tests replace them."""

    version_of: Callable[[str], str] = metadata.version
    hand_model: Callable[[str], Path] | None = (
        None  # default: rehab.devices.tracker.ensure_hand_model
    )
    cameras: Callable[[], Sequence[Any]] | None = (
        None  # default: rehab.devices.camera.probe_cameras
    )
    sdl: Callable[[], tuple[str, str | None]] | None = None  # (video driver, audio driver or None)
    disk_free: Callable[[Path], int] = field(default=lambda p: shutil.disk_usage(p).free)


def run_checks(
    probes: Probes | None = None, data: Path | None = None, demo: Path | None = None
) -> list[Check]:
    """Every check, in the order printed (``data``/``demo``: default data dir, shipped demo)."""
    probes = probes or Probes()
    checks = [check_python()]
    checks += check_packages(probes.version_of)
    checks += check_hand_model(probes.hand_model)
    checks.append(check_cameras(probes.cameras))
    checks += check_sdl(probes.sdl)
    checks.append(check_demo_protocol(demo or shipped_protocols_dir() / "demo.yaml"))
    folder = data if data is not None else data_dir()
    checks.append(check_data_dir(folder))
    checks.append(check_database(folder / "rehab.db"))
    checks.append(check_disk(folder, probes.disk_free))
    return checks


def exit_code(checks: Sequence[Check]) -> int:
    """1 when anything a session needs is missing, else 0."""
    return 1 if any(c.status == "fail" for c in checks) else 0


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < (3, 10) or sys.version_info[:2] > (3, 12):
        return Check(
            "python", "fail", f"{version} at {sys.executable}", "use Python 3.10, 3.11 or 3.12"
        )
    return Check("python", "ok", f"{version} at {sys.executable}")


def check_packages(version_of: Callable[[str], str]) -> list[Check]:
    checks = []
    for dist, purpose in PACKAGES:
        label = "opencv" if dist.startswith("opencv") else dist
        try:
            checks.append(Check(label, "ok", f"{version_of(dist)} ({purpose})"))
        except metadata.PackageNotFoundError:
            checks.append(
                Check(
                    label,
                    "fail",
                    f"not installed ({purpose})",
                    "pip install -e . (in the rehab folder)",
                )
            )
    for dist in CONFLICTING:
        try:
            found = version_of(dist)
        except metadata.PackageNotFoundError:
            continue
        checks.append(
            Check(
                dist,
                "warn",
                f"{found} is installed too; it overwrites the cv2 module MediaPipe needs",
                f"pip uninstall {dist} && pip install --force-reinstall opencv-contrib-python",
            )
        )
    return checks


def check_hand_model(ensure: Callable[[str], Path] | None) -> list[Check]:
    if ensure is None:
        try:
            from rehab.devices.tracker import ensure_hand_model
        except ImportError as exc:
            return [
                Check(
                    "hand model", "fail", f"hand tracker not available yet ({exc})", "update rehab"
                )
            ]
        ensure = ensure_hand_model
    checks = []
    for variant in ("full", "lite"):
        try:
            path = ensure(variant)
        except RehabError as exc:
            checks.append(Check(f"model {variant}", "fail", exc.message, exc.hint or ""))
            continue
        size_mb = path.stat().st_size / 1024**2 if path.is_file() else 0.0
        checks.append(Check(f"model {variant}", "ok", f"{path} ({size_mb:.1f} MB, offline)"))
    return checks


def check_cameras(probe: Callable[[], Sequence[Any]] | None) -> Check:
    if probe is None:
        try:
            from rehab.devices.camera import probe_cameras
        except ImportError:
            probe = _probe_with_opencv
        else:
            probe = probe_cameras
    try:
        found = [c for c in probe() if _get(c, "opened", True)]
    except Exception as exc:  # a broken driver must not stop the other checks
        return Check("camera", "fail", f"probing cameras failed: {exc}", NO_CAMERA_HINT)
    if not found:
        return Check("camera", "fail", "no camera opens (tried indexes 0-3)", NO_CAMERA_HINT)
    parts = [_describe_camera(c) for c in found]
    return Check("camera", "ok", ", ".join(parts) + " (use --camera N to choose)")


def _describe_camera(cam: Any) -> str:
    size = f"{_get(cam, 'width', 0)}x{_get(cam, 'height', 0)}"
    fps = float(_get(cam, "fps", 0) or 0)
    return f"#{_get(cam, 'index', '?')} {size} @ {fps:.0f} fps"


def _get(item: Any, key: str, default: Any) -> Any:
    return item.get(key, default) if isinstance(item, dict) else getattr(item, key, default)


def _probe_with_opencv(max_index: int = 2) -> list[dict[str, Any]]:
    import cv2

    found = []
    for index in range(max_index + 1):
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                found.append(
                    {
                        "index": index,
                        "opened": True,
                        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                        "fps": float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                    }
                )
        finally:
            cap.release()
    return found


def start_sdl() -> tuple[str, str | None]:
    """Start SDL video (and try audio) with the current environment; return the driver names."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    try:
        with quiet_native_stderr():  # SDL and ALSA print C-level warnings that are not ours to show
            pygame.display.init()
        video = pygame.display.get_driver()
        try:
            with quiet_native_stderr():
                pygame.mixer.init()
        except pygame.error:
            return video, None
        return video, _audio_driver() or os.environ.get("SDL_AUDIODRIVER") or "default"
    finally:
        pygame.quit()


def _audio_driver() -> str | None:
    try:
        from pygame._sdl2 import audio  # the only place pygame names the audio driver

        return str(audio.get_current_audio_driver())  # type: ignore[attr-defined]
    except Exception:  # private module: absent or changed in some pygame builds
        return None


def check_sdl(start: Callable[[], tuple[str, str | None]] | None) -> list[Check]:
    try:
        video, audio = (start or start_sdl)()
    except Exception as exc:
        hint = "run on a desktop session, or set SDL_VIDEODRIVER (e.g. x11, wayland, windows)"
        return [Check("display", "fail", f"SDL video does not start: {exc}", hint)]
    checks = []
    unseen = unseen_reason(video)
    if unseen is not None:
        checks.append(
            Check(
                "display",
                "warn",
                f"{unseen}; rehab run/demo/home refuse to start here without --autopilot",
                HEADLESS_HINT,
            )
        )
    else:
        checks.append(Check("display", "ok", f"SDL video driver '{video}'"))
    if audio in ("dummy", "disk"):
        checks.append(
            Check(
                "audio",
                "warn",
                f"SDL audio driver '{audio}': cues will not be heard",
                "unset SDL_AUDIODRIVER to hear the start and stop sounds",
            )
        )
    elif audio is None:
        checks.append(
            Check(
                "audio",
                "warn",
                f"no audio device: sessions run without sound cues ({NO_SOUND})",
                "connect speakers/headphones or check the system sound settings",
            )
        )
    else:
        checks.append(Check("audio", "ok", f"SDL audio driver '{audio}'"))
    return checks


def check_demo_protocol(path: Path) -> Check:
    """The demo protocol (what `rehab demo` runs) validates and its clips are there."""
    from rehab.protocol import check_protocol

    if not path.is_file():
        return Check(
            "demo",
            "warn",
            f"{path} not found (protocols/ ships with a source checkout)",
            "run rehab from the rehab folder, or give a protocol to rehab run",
        )
    issues = check_protocol(path)
    if not issues:
        return Check("demo", "ok", f"{path} valid, clips found")
    hint = (
        "rehab render-demo all --library videos"
        if any(i.code == "P008" for i in issues)
        else f"rehab validate {path}"
    )
    return Check(
        "demo",
        "fail",
        f"{issues[0]}" + (f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""),
        hint,
    )


def check_data_dir(folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as handle:
            handle.write(b"ok")
    except OSError as exc:
        return Check(
            "data folder",
            "fail",
            f"{folder} is not writable: {exc.strerror or exc}",
            "set REHAB_DATA (or --data) to a folder you can write",
        )
    if os.name == "posix" and folder.stat().st_mode & 0o077:
        return Check(
            "data folder",
            "warn",
            f"{folder} is readable by other users",
            f"patient data should be private: chmod 700 {folder}",
        )
    return Check("data folder", "ok", f"{folder} (writable, owner-only)")


def check_database(db_path: Path) -> Check:
    """The session store is ours and SQLite finds it intact (read-only: nothing is changed)."""
    import sqlite3

    from rehab.store.faults import foreign_tables, recover_hint

    if not db_path.is_file():
        return Check("database", "ok", f"{db_path} will be created by the first session")
    foreign = foreign_tables(db_path)
    if foreign is not None:
        return Check("database", "fail", f"{db_path} belongs to another program "
                     f"(tables {', '.join(foreign[:5])})", "move it away or use another --data")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        rows = [str(exc)]
    if rows == ["ok"]:
        return Check("database", "ok", f"{db_path} intact")
    return Check("database", "fail", f"{db_path} is damaged: {rows[0]}", recover_hint(db_path))


def check_disk(folder: Path, disk_free: Callable[[Path], int]) -> Check:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = disk_free(probe)
    except OSError as exc:
        return Check("disk", "warn", f"cannot tell free space: {exc}")
    text = f"{free / 1024**3:.1f} GB free at {probe}"
    if free < MIN_FREE_BYTES:
        return Check("disk", "fail", text, "free some disk space (sessions and videos need room)")
    if free < LOW_FREE_BYTES:
        return Check("disk", "warn", text, "less than 2 GB left; recorded videos may not fit")
    return Check("disk", "ok", text)
