"""The one event detector: swings (openings/closings) and touches, run sample by sample.

The same objects count live (one frame at a time) and for the stored score (all frames of the
trial fed in order), so the two counts are equal by construction.

Definitions used everywhere:

- A *closing* is a confirmed fall of the signal (fist, thumb meeting index), an *opening* a
  confirmed rise. Swings alternate. A *cycle* (repetition) is two consecutive swings, whichever
  comes first: open -> close -> open and close -> open -> close are both one cycle, so
  cycles = swings // 2. A *tap* is a closing of the thumb-index aperture (the contact).
- Hysteresis follows the local amplitude: a swing is confirmed once the signal has moved
  h = max(min_swing, fraction x local amplitude, floor x first amplitude) away from the last
  extreme, where the local amplitude is the smaller of max - min over the last ``window_s``
  seconds and the latest swing's size, and the first amplitude is the median of the first
  three swings. A sequence whose swings shrink keeps being
  counted down to about 1.5 x floor of its first amplitude.
- An event needs its new state to *hold*: the signal must stay past the confirmation level for
  ``hold_s``, counted in frames at the tracked frame rate (ceil(hold_s x fps), never fewer
  than ``MIN_HOLD_FRAMES``); and it must come ``refractory_s`` after the previous event. A blip
  shorter than ``hold_s`` never counts, nor becomes an extreme later swings are measured from.
- Unreliable samples (``signals.reliable`` False) and missing ones are skipped: they neither
  move the extremes nor count toward a hold, so they never create an event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

MIN_HOLD_FRAMES = 2


@dataclass(frozen=True)
class SwingParams:
    """Detector settings for one signal (units of the signal, seconds)."""

    min_swing: float
    fraction: float = 0.4
    floor: float = 0.1
    window_s: float = 1.5
    hold_s: float = 0.12
    refractory_s: float = 0.12
    expected_hz: float = 1.0  # typical cycle rate of the movement (for the frame-rate check)


@dataclass(frozen=True)
class Event:
    """A confirmed swing: ``start`` = index of the extreme it left, ``at`` = confirming sample."""

    rising: bool
    start: int
    at: int


@dataclass
class Hold:
    """How long a state has lasted: a run of k frames lasts t_k - t_1 + one frame interval."""

    hold_s: float
    frames: int = 0
    start: float = 0.0
    dt: float = 0.0  # the latest interval between consecutive samples
    last_t: float | None = None

    def step(self, t: float, active: bool) -> bool:
        """Advance by the sample at ``t`` (every sample, also unreliable ones: active False)."""
        if self.last_t is not None and t > self.last_t:
            self.dt = t - self.last_t
        self.last_t = t
        if not active:
            self.frames = 0
            return False
        if self.frames == 0:
            self.start = t
        self.frames += 1
        return self.frames >= MIN_HOLD_FRAMES and t - self.start + self.dt >= self.hold_s - 1e-9

    def reset(self) -> None:
        self.frames = 0


@dataclass
class SwingDetector:
    """Incremental swing detection (see the module doc). Feed ``update`` every sample in order.

    The extremes and the confirmation use *sustained* values: over the last n reliable samples
    (n = max(2, ceil(hold_s / frame interval))), the highest level the signal stayed above
    (their minimum) and the lowest level it stayed below (their maximum). A blip shorter than
    the hold moves neither, so it can neither make an event nor become the extreme that a
    later swing is measured from.
    """

    params: SwingParams
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._window: deque[tuple[float, float]] = deque()  # local amplitude
        self._recent: deque[int] = deque()  # the last reliable samples (the hold)
        self._lo = self._hi = -1  # indices of the sustained extremes since the last event
        self._lo_v = self._hi_v = float("nan")
        self._mode = 0  # 0 none yet, +1 after an opening, -1 after a closing
        self._dt = 0.0

    @property
    def openings(self) -> int:
        return sum(e.rising for e in self.events)

    @property
    def closings(self) -> int:
        return len(self.events) - self.openings

    @property
    def cycles(self) -> int:
        return len(self.events) // 2

    def threshold(self) -> float:
        """The hysteresis h in force now."""
        p = self.params
        local = (max(v for _, v in self._window) - min(v for _, v in self._window)
                 if self._window else 0.0)
        if self.events:  # the latest swing: a shrinking sequence lowers h at once
            local = min(local, self.amplitude(len(self.events) - 1))
        h = max(p.min_swing, p.fraction * local)
        if self.events:
            amps = [self.amplitude(k) for k in range(min(3, len(self.events)))]
            h = max(h, p.floor * float(np.median(amps)))
        return h

    def amplitude(self, k: int) -> float:
        """|signal change| of event k, from the extreme it left to the extreme it reached."""
        return abs(self.x[self.reached(k)] - self.x[self.events[k].start])

    def reached(self, k: int) -> int:
        """Index of the extreme event k reached (the next event's start, or the running one)."""
        if k + 1 < len(self.events):
            return self.events[k + 1].start
        return self._hi if self.events[k].rising else self._lo

    def _sustained(self) -> tuple[int, int] | None:
        """(index of the sustained low, of the sustained high) over the hold, None if too few."""
        n = max(MIN_HOLD_FRAMES, int(np.ceil(self.params.hold_s / self._dt - 1e-6))) \
            if self._dt > 0 \
            else MIN_HOLD_FRAMES
        while len(self._recent) > n:
            self._recent.popleft()
        if len(self._recent) < n:
            return None
        low = max(self._recent, key=lambda j: self.x[j])  # stayed at or below this
        high = min(self._recent, key=lambda j: self.x[j])  # stayed at or above this
        return low, high

    def update(self, t: float, v: float, ok: bool = True) -> Event | None:
        """Take one sample (NaN or ok=False: skipped); returns the event it confirmed, if any."""
        i = len(self.x)
        if self.t and t > self.t[-1]:
            self._dt = t - self.t[-1]
        self.t.append(t)
        self.x.append(v)
        if not ok or not np.isfinite(v):
            return None
        self._window.append((t, v))
        while self._window and self._window[0][0] < t - self.params.window_s:
            self._window.popleft()
        self._recent.append(i)
        sus = self._sustained()
        if sus is None:
            return None
        low, high = sus
        if self._lo < 0:
            self._lo, self._hi = low, high
        if self._mode >= 0 and self.x[high] > self.x[self._hi]:
            self._hi = high
        if self._mode <= 0 and self.x[low] < self.x[self._lo]:
            self._lo = low
        h = self.threshold()
        rising = self._mode != 1 and self.x[high] >= self.x[self._lo] + h
        falling = self._mode != -1 and self.x[low] <= self.x[self._hi] - h
        recent = self.events and t - self.t[self.events[-1].at] < self.params.refractory_s
        if not (rising or falling) or recent:
            return None
        event = Event(rising, self._lo if rising else self._hi, i)
        self.events.append(event)
        self._mode = 1 if rising else -1
        if rising:
            self._hi = high
        else:
            self._lo = low
        return event


@dataclass(frozen=True)
class TouchParams:
    """Thumb-to-fingertip touch hysteresis, hand sizes; hold and refractory in seconds."""

    enter: float = 0.4  # MediaPipe puts pinching tips 0.15-0.35 hand sizes apart in the image
    exit: float = 0.55
    hold_s: float = 0.1  # a fingertip passing the thumb on its way into a fist is not a touch
    refractory_s: float = 0.2
    expected_hz: float = 1.0


@dataclass
class TouchDetector:
    """Incremental thumb-to-fingertip touches from (4,) distances per sample (inf = curled).

    A contact *episode* begins when the nearest finger comes under ``enter`` and ends when every
    finger is above ``exit`` (hysteresis). An episode is one touch, counted when the thumb lets
    go, if it lasted the hold and it neither came straight out of a fist nor went into one
    (every finger curled, inf, on the sample before it or during it; or its finger, the one
    that came nearest, curled when it ended): a thumb sliding across several fingertips without
    letting go is one touch at any speed, and fingertips passing the thumb on their way into or
    out of a fist are none. Unreliable samples are
    skipped; an episode still open at the end of the trial is not counted.
    """

    params: TouchParams
    touches: list[tuple[int, int]] = field(default_factory=list)  # (finger, start index)
    samples: int = 0

    def __post_init__(self) -> None:
        self._in_contact, self._start, self._held = False, 0, False
        self._fist = self._tainted = False  # previous sample a fist / episode touched a fist
        self._best = (np.inf, -1)  # (nearest distance, finger) in this episode
        self._hold = Hold(self.params.hold_s)
        self._last_t = -np.inf

    def update(self, t: float, dist: np.ndarray | None, ok: bool = True) -> bool:
        """Take one sample; True when it completed a touch."""
        i = self.samples
        self.samples += 1
        if dist is None or not ok or np.isnan(dist).any():
            self._hold.step(t, False)
            return False
        k = int(np.argmin(dist))
        fist, was_fist = bool(np.isinf(dist).all()), self._fist
        self._fist = fist
        if self._in_contact and dist[k] > self.params.exit:
            self._in_contact = False
            finger = self._best[1]
            if (self._held and not self._tainted and np.isfinite(dist[finger])
                    and t - self._last_t >= self.params.refractory_s):
                self.touches.append((finger, self._start))
                self._last_t = t
                return True
        if not self._in_contact and dist[k] < self.params.enter:
            self._in_contact, self._start, self._held = True, i, False
            self._best, self._tainted = (np.inf, -1), was_fist
            self._hold.reset()
        self._tainted = self._tainted or (self._in_contact and fist)
        if self._in_contact and dist[k] < self._best[0]:
            self._best = (float(dist[k]), k)
        self._held = self._hold.step(t, self._in_contact) or self._held
        return False


def crossing_time(t: np.ndarray, x: np.ndarray, start: int, end: int, fraction: float) -> float:
    """First time after ``start`` that x crosses x[end] + fraction * (x[start] - x[end]),
    linearly interpolated between samples (NaN samples skipped): when a swing from sample
    ``start`` to ``end`` was ``1 - fraction`` of the way."""
    level = x[end] + fraction * (x[start] - x[end])
    falling = x[start] > x[end]
    for i in range(start + 1, end + 1):
        a, b = x[i - 1], x[i]
        if np.isnan(a) or np.isnan(b):
            continue
        if (b <= level) if falling else (b >= level):
            frac = (a - level) / (a - b) if a != b else 1.0
            return float(t[i - 1] + frac * (t[i] - t[i - 1]))
    return float(t[end])
