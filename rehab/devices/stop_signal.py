"""SIGTERM and SIGHUP (logout, shutdown, a service stop) as a polite request to stop.

The handler only notes the request; the engine asks ``requested()`` at every input poll and
between steps, saves what it has, and ends the session resumably ("terminated"). Nothing is
written from inside the signal handler, so a signal can never cut a database transaction.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                if s is not None)


class StopSignal:
    """Context manager installing the handlers (main thread only) and restoring the old ones."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._old: dict[int, Any] = {}

    def requested(self) -> str | None:
        return self.reason

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.reason = f"{signal.Signals(signum).name} from the system"

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Put the previous handlers back (safe to call twice)."""
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()
