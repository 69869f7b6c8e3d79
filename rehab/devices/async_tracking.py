"""Running a hand tracker off the caller's thread: live (latest wins) and pipelined (ordered).

Neither class knows MediaPipe: they take any ``HandTracker`` so the engine's tests can pass a
fake. ``rehab.devices.tracker`` re-exports both.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator

from rehab.devices.base import Frame, HandTracker, TrackedFrame
from rehab.errors import RehabError, TrackerError

_END = object()  # sentinel: the frame source is exhausted


class AsyncTracker:
    """Runs ``tracker.track`` on a worker thread so the display thread never waits.

    Live mode (``latest_only=True``): ``submit`` never blocks; when a frame is still waiting
    because the worker is busy, the newer frame replaces it (the older is counted in
    ``dropped``). Ordered mode (``latest_only=False``): ``submit`` blocks once ``max_pending``
    frames wait, so every frame is tracked, in order (scoring a file as fast as possible).

    Example:
        >>> with AsyncTracker(MediaPipeTracker()) as at:   # doctest: +SKIP
        ...     at.submit(camera_frame)
        ...     overlay = at.latest()                       # None until the first result
    """

    def __init__(
        self,
        tracker: HandTracker,
        latest_only: bool = True,
        max_pending: int = 4,
        close_tracker: bool = True,
    ) -> None:
        self.tracker = tracker
        self.latest_only = latest_only
        self.max_pending = 1 if latest_only else max(1, max_pending)
        self.close_tracker = close_tracker
        self.dropped = 0
        self.processed = 0
        self.last_latency_s: float | None = None  # submit -> result of the last tracked frame
        self._pending: list[tuple[Frame, float]] = []
        self._results: list[TrackedFrame] = []
        self._latest: TrackedFrame | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="hand-tracker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                frame, submitted_at = self._pending.pop(0)
                self._busy = True
                self._cond.notify_all()
            try:
                tracked = self.tracker.track(frame)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                with self._cond:
                    self._error, self._busy = exc, False
                    self._cond.notify_all()
                return
            with self._cond:
                self._latest = tracked
                self._results.append(tracked)
                self.processed += 1
                self.last_latency_s = time.perf_counter() - submitted_at
                self._busy = False
                self._cond.notify_all()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            err = self._error
            if isinstance(err, RehabError):
                raise err
            raise TrackerError(f"the hand tracker stopped: {err}") from err

    def submit(self, frame: Frame) -> None:
        """Queue ``frame`` for tracking (see the class docstring for when it blocks or drops)."""
        with self._cond:
            self._raise_if_failed()
            if self._closed:
                raise TrackerError("the hand tracker is closed")
            if self.latest_only and self._pending:
                self._pending.clear()
                self.dropped += 1
            while len(self._pending) >= self.max_pending and self._error is None:
                self._cond.wait()
            self._raise_if_failed()
            self._pending.append((frame, time.perf_counter()))
            self._cond.notify_all()

    def latest(self) -> TrackedFrame | None:
        """The most recent result, or None before the first one. Never blocks on inference."""
        with self._cond:
            self._raise_if_failed()
            return self._latest

    def results(self) -> list[TrackedFrame]:
        """Every result since the previous call, in submission order (and forgets them)."""
        with self._cond:
            self._raise_if_failed()
            out, self._results = self._results, []
            return out

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted frame is tracked; False when ``timeout_s`` ran out."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while (self._pending or self._busy) and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            self._raise_if_failed()
            return True

    def close(self) -> None:
        """Stop the worker (frames still waiting are discarded) and close the tracker."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
        self._thread.join()
        if self.close_tracker:
            self.tracker.close()

    def __enter__(self) -> AsyncTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode(frames: Iterable[Frame], out: queue.Queue, stop: threading.Event) -> None:
    """Decoder thread: push frames (then _END, or the exception that ended the source)."""
    item: object = _END
    try:
        for frame in frames:
            while not stop.is_set():
                try:
                    out.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
        item = exc
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def track_pipelined(
    frames: Iterable[Frame], tracker: HandTracker, queue_size: int = 2
) -> Iterator[TrackedFrame]:
    """Track every frame of ``frames`` in order, decoding on a second thread.

    OpenCV decoding and MediaPipe inference both release the GIL, so with the source on its
    own thread (bounded queue: memory stays flat on long videos) the two overlap instead of
    taking turns. An exception raised by the source is re-raised here, after the frames before it.
    """
    buf: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()
    decoder = threading.Thread(
        target=_decode, args=(frames, buf, stop), name="frame-decoder", daemon=True
    )
    decoder.start()
    try:
        while True:
            item = buf.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield tracker.track(item)
    finally:
        stop.set()
        decoder.join(timeout=5.0)
