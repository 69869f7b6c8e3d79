"""Clocks: the real monotonic clock, and a simulated one for ``--fast`` runs.

Both implement the ``Clock`` seam of ``rehab.devices.base``: ``now()`` in monotonic seconds and
``sleep_until(t)``. The simulated clock never waits: ``sleep_until`` jumps its time forward, so a
30-minute protocol's countdowns and clip pacing take no wall time.
"""

from __future__ import annotations

import math
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

    Args:
        start_s: the time to start at.
        step_s: when > 0, every jump lands on the next multiple of ``step_s`` at or after its
            target (still ``now() >= t``, as the Clock contract asks). A fast run then shows a
            clip at 1 / ``step_s`` frames per simulated second instead of every frame, and the
            frames it skips are not drawn; nobody watches a fast run at full frame rate.

    ``advance(dt_s)`` moves time on by hand.

    Example:
        >>> c = SimulatedClock()
        >>> c.sleep_until(1800.0); c.now()
        1800.0
        >>> c = SimulatedClock(step_s=0.25); c.sleep_until(0.01); c.now()
        0.25
    """

    def __init__(self, start_s: float = 0.0, step_s: float = 0.0) -> None:
        self._t = float(start_s)
        self.step_s = float(step_s)

    def now(self) -> float:
        return self._t

    def sleep_until(self, t: float) -> None:
        if t <= self._t:
            return
        if self.step_s > 0:
            # a tiny tolerance so a target already on the grid is not pushed one step further
            t = math.ceil(t / self.step_s - 1e-9) * self.step_s
        self._t = float(t)

    def advance(self, dt_s: float) -> None:
        """Move time forward by ``dt_s`` seconds (negative values are ignored)."""
        if dt_s > 0:
            self._t += float(dt_s)
