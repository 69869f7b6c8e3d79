"""Clocks: the real monotonic clock, and a simulated one for ``--fast`` runs.

Both implement the ``Clock`` seam of ``rehab.devices.base``: ``now()`` in monotonic seconds and
``sleep_until(t)``. The simulated clock never waits: ``sleep_until`` jumps its time forward, so a
30-minute protocol's countdowns and clip pacing take no wall time.
"""

from __future__ import annotations

import time


class MonotonicClock:
    """Wall time from ``time.perf_counter`` (monotonic, sub-microsecond resolution)."""

    # The OS sleep overshoots by up to ~1-2 ms; the last stretch is spent yielding instead so a
    # frame flip lands on its deadline rather than a millisecond late.
    _SPIN_S = 0.002

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, t: float) -> None:
        """Block until ``now() >= t`` (returns at once when ``t`` has passed)."""
        while True:
            left_s = t - time.perf_counter()
            if left_s <= 0:
                return
            if left_s > self._SPIN_S:
                time.sleep(left_s - self._SPIN_S)
            else:
                time.sleep(0)


class SimulatedClock:
    """Simulated time for ``--fast``: ``sleep_until`` jumps, ``now`` never goes backwards.

    ``advance(dt_s)`` moves time on by hand (a file camera read in fast mode can move the clock to
    the frame's own timestamp with ``advance_to``).

    Example:
        >>> c = SimulatedClock()
        >>> c.sleep_until(1800.0); c.now()
        1800.0
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._t = float(start_s)

    def now(self) -> float:
        return self._t

    def sleep_until(self, t: float) -> None:
        if t > self._t:
            self._t = float(t)

    def advance(self, dt_s: float) -> None:
        """Move time forward by ``dt_s`` seconds (negative values are ignored)."""
        if dt_s > 0:
            self._t += float(dt_s)

    def advance_to(self, t: float) -> None:
        """Move time forward to ``t`` if it lies ahead."""
        self.sleep_until(t)
