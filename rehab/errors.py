"""The exception tree of rehab, documented in one place.

RehabError                     base: every error we expect carries a message a person can act on
├── ProtocolError              a protocol file could not be loaded or is invalid (holds Issues)
├── DeviceError                a device could not be opened or failed
│   ├── CameraError            no camera, camera unreadable, camera died mid-trial
│   │   └── CameraEnded        a file camera reached its last frame (not a failure)
│   ├── TrackerError           hand model missing or MediaPipe failed to start
│   └── DisplayError           no usable display
├── ClipError                  an action-observation clip is missing or does not decode
├── StoreError                 the session store is unusable (read-only, disk full, locked)
└── ScoringError               a trial cannot be scored (for example no hand in any frame)

The CLI turns each into a one-paragraph message and an exit code; no traceback reaches a patient.
"""

from __future__ import annotations


class RehabError(Exception):
    """Base class. ``hint`` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ProtocolError(RehabError):
    """Invalid protocol; ``issues`` lists every problem found."""

    def __init__(self, message: str, issues: list | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.issues = list(issues or [])


class DeviceError(RehabError):
    pass


class CameraError(DeviceError):
    pass


class CameraEnded(CameraError):
    """A file camera has no more frames; a camera step then ends normally."""


class TrackerError(DeviceError):
    pass


class DisplayError(DeviceError):
    pass


class ClipError(RehabError):
    pass


class StoreError(RehabError):
    pass


class ScoringError(RehabError):
    pass
