"""The live window of ``rehab record``: camera image with landmarks, countdown, stop keys (cv2).

Only used when a display exists; recording itself (record.py) never needs a window.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np

from rehab.devices.base import Camera, Frame, TrackedFrame
from rehab.devices.drawing import HAND_CONNECTIONS

WINDOW = "rehab record - q, ESC or SPACE stops"
STOP_KEYS = {ord("q"), 27, ord(" ")}


def has_display() -> bool:
    """Whether a window can be opened (Linux needs an X or Wayland display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def draw_landmarks(image: np.ndarray, tf: TrackedFrame) -> np.ndarray:
    """A copy of ``image`` with every tracked hand's skeleton and side drawn on it."""
    import cv2

    out = image.copy()
    h, w = out.shape[:2]
    for obs in tf.hands:
        pts = [(int(x * w), int(y * h)) for x, y in obs.image[:, :2]]
        for a, b in HAND_CONNECTIONS:
            cv2.line(out, pts[a], pts[b], (60, 220, 60), 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(out, p, 3, (30, 30, 230), -1, cv2.LINE_AA)
        cv2.putText(out, obs.hand, (pts[0][0] + 8, pts[0][1] + 20), cv2.FONT_HERSHEY_SIMPLEX,
                    0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def _caption(image: np.ndarray, text: str, big: bool = False) -> None:
    import cv2

    scale, thick = (3.0, 6) if big else (0.7, 2)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = (image.shape[1] - tw) // 2, (image.shape[0] + th) // 2 if big else 30
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick + 2,
                cv2.LINE_AA)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 200), thick, cv2.LINE_AA)


class LivePreview:
    """``on_frame`` callback for ``record_clip``: shows each frame; False when a stop key is hit.

    The image is shown mirrored, like a mirror, which is what people expect of their own image.
    """

    def __init__(self) -> None:
        self.frames = 0

    def __call__(self, frame: Frame, tf: TrackedFrame) -> bool:
        import cv2

        self.frames += 1
        image = cv2.flip(draw_landmarks(frame.image, tf), 1)
        _caption(image, f"REC {self.frames}  (q / ESC / SPACE stops)")
        cv2.imshow(WINDOW, image)
        return (cv2.waitKey(1) & 0xFF) not in STOP_KEYS

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()
        cv2.waitKey(1)


def countdown(camera: Camera, seconds: float, show: bool,
              say: Callable[[str], None] = print) -> None:
    """Count down before recording, showing the camera when ``show`` (frames are not kept)."""
    import cv2

    end = time.monotonic() + seconds
    last_said = None
    while (left := end - time.monotonic()) > 0:
        n = int(left) + 1
        if n != last_said:
            say(f"recording starts in {n} ...")
            last_said = n
        frame = camera.read()
        if show and frame is not None:
            image = cv2.flip(frame.image, 1)
            _caption(image, str(n), big=True)
            cv2.imshow(WINDOW, image)
            cv2.waitKey(1)
        elif frame is None:
            time.sleep(0.01)
    say("recording ... (q / ESC / SPACE in the window or Ctrl-C here stops)")
