"""Synthetic hand: 21 MediaPipe-style landmarks from finger joint angles, with exact ground truth.

Used by tests (known angles, repetitions, tapping rates) and by the demo-clip renderer.

Geometry. The hand is built in a *hand frame* (metres, origin at the wrist): X points to the
radial (thumb) side, Y distally (wrist to middle-finger MCP), Z out of the palm (palmar). For a
right hand Z = X x Y; a left hand is the mirror image (X negated). ``orientation_deg`` = (0, 0, 0)
means fingers up, palm facing the camera. The camera is an *unmirrored* pinhole camera facing the
person (camera x right in the image, y down, z away from the camera). A person's right hand held
up with the palm to the camera therefore shows its thumb on the image RIGHT side (larger x), as
in ``shared/fixtures/hand_free_motions.mp4``; a left hand shows it on the image left. (A mirrored
selfie view shows the opposite.)

Landmark indices follow MediaPipe: 0 wrist; thumb 1 CMC, 2 MCP, 3 IP, 4 tip; index 5-8,
middle 9-12, ring 13-16, little 17-20 (MCP, PIP, DIP, tip).

Joint angles are flexion in degrees, 0 = straight. A finger's MCP/PIP/DIP flexion is exactly the
angle between consecutive landmark segments when its abduction is 0 (the MCP angle is measured
against the wrist->MCP line). Abduction is measured in the palm plane from the wrist->MCP line,
positive toward the thumb. Thumb MCP/IP flexion equal the landmark segment angles.
"""

from rehab.synth.hand import (
    FINGERS,
    HAND_SIZE_M,
    HandPose,
    PinholeCamera,
    fist,
    hand_points,
    hand_points_batch,
    landmarks,
    landmarks_batch,
    open_hand,
    orientation_matrix,
    pinch,
    point,
    relaxed,
)
from rehab.synth.motions import (
    FrameOptions,
    HandState,
    finger_tap,
    finger_tap_motion,
    free_motion,
    motion,
    open_close,
    open_close_motion,
    open_once_motion,
    opposition,
    opposition_motion,
    reach,
    reach_motion,
    still_motion,
    tap_phase,
    to_frames,
    wrist_flex_motion,
)

__all__ = [
    "FINGERS", "HAND_SIZE_M", "FrameOptions", "HandPose", "HandState", "PinholeCamera",
    "finger_tap", "finger_tap_motion", "fist", "free_motion", "hand_points", "hand_points_batch",
    "landmarks", "landmarks_batch", "motion", "open_close", "open_close_motion", "open_hand",
    "open_once_motion", "opposition", "opposition_motion", "orientation_matrix", "pinch", "point",
    "reach", "reach_motion", "relaxed", "still_motion", "tap_phase", "to_frames",
    "wrist_flex_motion",
]
