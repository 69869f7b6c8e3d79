"""Session engine: walks a validated protocol through the seams (no pygame, cv2 or mediapipe).

Public API::

    from rehab.engine import Session, Devices, PatientInfo, SessionOptions, SessionResult, State
"""

from rehab.engine.session import Session
from rehab.engine.types import (
    Devices,
    PatientInfo,
    SessionOptions,
    SessionResult,
    State,
)

__all__ = ["Devices", "PatientInfo", "Session", "SessionOptions", "SessionResult", "State"]
