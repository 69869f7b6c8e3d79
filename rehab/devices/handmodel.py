"""Resolve the MediaPipe HandLandmarker ``.task`` bundle offline: given path, else built from the wheel.

The Tasks API wants one ``.task`` file (a stored ZIP) holding ``hand_detector.tflite`` and
``hand_landmarks_detector.tflite``. The installed mediapipe wheel already ships both models
(for its legacy solutions), so we assemble the bundle from them into the user cache dir instead
of downloading anything. This module never touches the network.

Example:
    >>> path = ensure_hand_model("lite")          # doctest: +SKIP
    >>> path.name                                  # doctest: +SKIP
    'hand_landmarker-mp0.10.21-lite.task'
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import zipfile
from pathlib import Path

from rehab.errors import TrackerError
from rehab.paths import cache_dir

VARIANTS = ("full", "lite")
DETECTOR_MEMBER = "hand_detector.tflite"
LANDMARKS_MEMBER = "hand_landmarks_detector.tflite"
# Environment variable naming a ready-made .task bundle (the "config" route for a clinic that
# ships its own model file).
MODEL_ENV = "REHAB_HAND_MODEL"


def _mediapipe_dir() -> Path | None:
    """Folder of the installed mediapipe package, found without importing it (import is slow)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"


def wheel_model_files(variant: str) -> tuple[Path, Path] | None:
    """(palm detector, hand landmark) tflite files inside the wheel, or None when absent.

    The palm detector is always the *full* one: the lite palm model lacks the normalisation
    metadata the Tasks API needs and fails to load.
    """
    mp_dir = _mediapipe_dir()
    if mp_dir is None:
        return None
    detector = mp_dir / "modules" / "palm_detection" / "palm_detection_full.tflite"
    landmarks = mp_dir / "modules" / "hand_landmark" / f"hand_landmark_{variant}.tflite"
    if detector.is_file() and landmarks.is_file():
        return detector, landmarks
    return None


def _is_valid_bundle(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return {DETECTOR_MEMBER, LANDMARKS_MEMBER} <= set(zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _given_model(model_path: str | os.PathLike) -> Path:
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise TrackerError(
            f"hand model file {path} does not exist",
            hint="give the path of a MediaPipe hand_landmarker .task file, or leave it out to "
            "use the model built from the installed mediapipe package",
        )
    if not _is_valid_bundle(path):
        raise TrackerError(
            f"hand model file {path} is not a MediaPipe hand_landmarker .task bundle",
            hint=f"it must be a ZIP holding {DETECTOR_MEMBER} and {LANDMARKS_MEMBER}",
        )
    return path


def _write_bundle(target: Path, detector: Path, landmarks: Path) -> None:
    """Write the ZIP to a temp file beside ``target`` then rename, so a crash or a concurrent
    builder never leaves a half-written bundle where the tracker would load it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            zf.write(detector, DETECTOR_MEMBER)
            zf.write(landmarks, LANDMARKS_MEMBER)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def ensure_hand_model(
    variant: str = "full",
    model_path: str | os.PathLike | None = None,
    cache: Path | None = None,
) -> Path:
    """Path of a HandLandmarker ``.task`` bundle, building it from the wheel when needed.

    Args:
        variant: "full" (more accurate) or "lite" (faster) hand-landmark model.
        model_path: a ready ``.task`` file; else ``$REHAB_HAND_MODEL``; else the wheel build.
        cache: folder for the built bundle (default: ``rehab.paths.cache_dir()``).

    Raises:
        TrackerError: unknown variant, bad given file, no models in the wheel, unwritable cache.
    """
    if variant not in VARIANTS:
        raise TrackerError(f"unknown hand model {variant!r}", hint="use 'full' or 'lite'")
    given = model_path or os.environ.get(MODEL_ENV)
    if given:
        return _given_model(given)
    files = wheel_model_files(variant)
    if files is None:
        raise TrackerError(
            f"no hand model: the installed mediapipe package has no {variant} hand models",
            hint="reinstall it (pip install 'mediapipe==0.10.21') or give a hand_landmarker "
            f".task file (--model-path or ${MODEL_ENV})",
        )
    folder = cache if cache is not None else cache_dir()
    target = folder / f"hand_landmarker-mp{_mediapipe_version()}-{variant}.task"
    if _is_valid_bundle(target):
        return target
    try:
        _write_bundle(target, *files)
    except OSError as exc:
        raise TrackerError(
            f"cannot build the hand model in {folder}: {exc.strerror or exc}",
            hint="make that folder writable or set $REHAB_CACHE to a writable folder",
        ) from exc
    return target
