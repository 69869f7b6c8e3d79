"""Camera frames for a camera step, with the step's own elapsed time and failure handling.

- Real time: elapsed is active clock time since the step's camera phase began.
- Fast mode: a file camera is read as fast as tracking allows and the frames' own timestamps
  are the step's clock; the injected clock is moved along with them so events stay in order.
- ``CameraEnded`` (a file camera's last frame) ends the feed normally. A file camera that had
  already ended when the step began is reopened once (it starts again from its first frame).
- Any other ``CameraError`` pauses the session with a message until the camera is back
  (``StepContext.camera_lost``); frames already delivered are kept by the caller.
"""

from __future__ import annotations

from collections.abc import Iterator

from rehab.devices.base import Frame
from rehab.engine.context import StepContext, _reopen
from rehab.errors import CameraEnded, CameraError

WAIT_S = 0.003  # real time: how long to sleep when the camera has no new frame yet


def camera_feed(ctx: StepContext, duration_s: float | None) -> Iterator[tuple[Frame, float]]:
    """Yield (frame, elapsed_s) until ``duration_s`` has passed or the camera has ended."""
    camera = ctx.devices.camera
    if camera is None:
        raise CameraError("this step needs a camera but none was given",
                          "run with --camera 0 (a webcam) or --camera FILE.mp4")
    fast = ctx.options.fast
    start_active = ctx.active_now()
    start_clock = ctx.now()
    paused_at_start = ctx.paused_total_s
    base_t: float | None = None  # fast mode: frame time that counts as elapsed 0
    elapsed = 0.0
    frame_s = 1.0 / max(1.0, float(getattr(camera, "fps", 30.0) or 30.0))
    delivered = 0
    rewound = False
    while True:
        ctx.poll()
        if not fast:
            elapsed = ctx.active_now() - start_active
        if duration_s is not None and elapsed >= duration_s:
            return
        try:
            frame = camera.read()
        except CameraError as exc:
            if isinstance(exc, CameraEnded):
                if delivered == 0 and not rewound:
                    rewound = True
                    _reopen(camera)
                    continue
                return
            ctx.camera_lost(exc)
            base_t = None  # the camera may restart its own timeline after reopening
            continue
        if frame is None:
            ctx.clock.sleep_until(ctx.now() + WAIT_S)
            continue
        if fast:
            if base_t is None:
                base_t = frame.captured_at - (elapsed + frame_s if delivered else 0.0)
            elapsed = frame.captured_at - base_t
            if duration_s is not None and elapsed >= duration_s - 1e-9:
                # the step lasts its full duration on the frames' timeline
                ctx.clock.sleep_until(start_clock + (ctx.paused_total_s - paused_at_start) + duration_s)
                return
            # keep the injected clock on the frames' timeline (it only jumps forward)
            ctx.clock.sleep_until(start_clock + (ctx.paused_total_s - paused_at_start) + elapsed)
        else:
            elapsed = ctx.active_now() - start_active
        delivered += 1
        yield frame, elapsed
