"""Camera frames for a camera step, with the step's own elapsed time and failure handling.

- Real time: elapsed is active clock time since the step's camera phase began. A camera that
  gives no frame for ``SILENCE_S`` counts as failed (some drivers stall without an error).
- Fast mode: a file camera is read as fast as tracking allows and the frames' own timestamps
  are the step's clock; the injected clock is moved along with them so events stay in order.
- ``CameraEnded`` (a file camera's last frame) ends the feed; before the step's time is up that
  is a ``step_not_as_planned`` event and the step is stored "cut_short". A file camera that had
  already ended when the step began is reopened once (it starts again from its first frame).
- Any other ``CameraError`` pauses the session with a message until the camera is back
  (``StepContext.camera_lost``); frames already delivered are kept by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rehab.devices.base import Command, Frame
from rehab.engine.context import StepContext, _reopen
from rehab.errors import CameraEnded, CameraError

WAIT_S = 0.003  # real time: how long to sleep when the camera has no new frame yet
SILENCE_S = 3.0  # real time: no frame for this long means the camera has stalled


class _Feed:
    def __init__(self, ctx: StepContext, duration_s: float | None,
                 on_command: Callable[[Command], None] | None = None,
                 report_shortfall: bool = True) -> None:
        self.on_command, self.report_shortfall = on_command, report_shortfall
        camera = ctx.devices.camera
        if camera is None:
            raise CameraError("this step needs a camera but none was given",
                              "run with --camera 0 (a webcam) or --camera FILE.mp4")
        self.ctx, self.camera, self.duration_s = ctx, camera, duration_s
        self.fast = ctx.options.fast
        self.start_active = ctx.active_now()
        self.start_clock = ctx.now()
        self.paused_at_start = ctx.paused_total_s
        self.base_t: float | None = None  # fast mode: the frame time that counts as elapsed 0
        self.elapsed = 0.0
        self.frame_s = 1.0 / max(1.0, float(getattr(camera, "fps", 30.0) or 30.0))
        self.delivered = 0
        self.rewound = False
        self.last_frame_active = self.start_active

    def _clock_at(self, elapsed: float) -> float:
        """Clock time of ``elapsed`` on this step's timeline (pauses included)."""
        return self.start_clock + (self.ctx.paused_total_s - self.paused_at_start) + elapsed

    def _time_is_up(self) -> bool:
        return self.duration_s is not None and self.elapsed >= self.duration_s - 1e-9

    def _read(self) -> Frame | None | bool:
        """A frame, None (none yet), or False when the camera has ended."""
        try:
            return self.camera.read()
        except CameraEnded:
            if self.delivered == 0 and not self.rewound:
                self.rewound = True
                _reopen(self.camera)
                return None
            return False
        except CameraError as exc:
            self._lost(exc)
            return None

    def _ran_out(self) -> None:
        """A file camera ended before the step's time was up: say so, the step is cut short."""
        if self.duration_s is None or self._time_is_up() or not self.report_shortfall:
            return
        name = getattr(self.camera, "name", "camera")
        # the last frame stands for one frame period: 8 frames at 32 fps are 0.25 s of picture
        ran_s = self.elapsed + (self.frame_s if self.fast and self.delivered else 0.0)
        self.ctx.not_as_planned(
            f"the camera ({name}) ran out after {ran_s:.2f} s of the planned "
            f"{self.duration_s:g} s", cut_short=True, cause="camera_ran_out",
            planned_s=float(self.duration_s), ran_s=round(float(ran_s), 3))

    def _lost(self, exc: CameraError) -> None:
        self.ctx.camera_lost(exc)
        self.base_t = None  # the camera may restart its own timeline after reopening
        self.last_frame_active = self.ctx.active_now()

    def _wait(self) -> None:
        ctx = self.ctx
        if not self.fast and ctx.active_now() - self.last_frame_active > SILENCE_S:
            name = getattr(self.camera, "name", "camera")
            self._lost(CameraError(f"no picture from {name} for {SILENCE_S:.0f} seconds"))
            return
        ctx.clock.sleep_until(ctx.now() + WAIT_S)

    def _stamp(self, frame: Frame) -> bool:
        """Update elapsed for a new frame; False when the frame lies past the step's end."""
        if not self.fast:
            self.elapsed = self.ctx.active_now() - self.start_active
            self.last_frame_active = self.ctx.active_now()
            return True
        if self.base_t is None:
            lead = self.elapsed + self.frame_s if self.delivered else 0.0
            self.base_t = frame.captured_at - lead
        self.elapsed = frame.captured_at - self.base_t
        if self._time_is_up():
            # the step lasts its full duration on the frames' timeline
            self.ctx.clock.sleep_until(self._clock_at(self.duration_s or 0.0))
            return False
        self.ctx.clock.sleep_until(self._clock_at(self.elapsed))  # only ever jumps forward
        return True

    def frames(self) -> Iterator[tuple[Frame, float]]:
        while True:
            for c in self.ctx.poll():
                if self.on_command is not None:
                    self.on_command(c)
            if not self.fast:
                self.elapsed = self.ctx.active_now() - self.start_active
            if self._time_is_up():
                return
            frame = self._read()
            if frame is False:
                self._ran_out()
                return
            if frame is None or frame is True:
                self._wait()
                continue
            if not self._stamp(frame):
                return
            self.delivered += 1
            yield frame, self.elapsed


def camera_feed(ctx: StepContext, duration_s: float | None,
                on_command: Callable[[Command], None] | None = None,
                report_shortfall: bool = True) -> Iterator[tuple[Frame, float]]:
    """Yield (frame, elapsed_s) until ``duration_s`` has passed or the camera has ended.

    ``on_command`` sees the screen's other commands (SPACE, numbers); ``report_shortfall``
    False: a camera ending early is no ``step_not_as_planned`` (the camera check).
    """
    return _Feed(ctx, duration_s, on_command, report_shortfall).frames()
