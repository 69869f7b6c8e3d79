"""The labelled clips the counters are checked on: synthetic ground truth and the shared fixtures.

One catalogue for ``tests/test_scoring_invariance.py`` and ``bench/accuracy.py``. Each clip
names the task it is scored as, the hand, the score key that is counted and the true count.
Synthetic clips are exact; fixture labels are what a person counts watching the video
(``shared/fixtures/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rehab import synth
from rehab.devices.base import TrackedFrame
from rehab.synth import robustness

BLIP_S = 0.1  # every blip below lasts 100 ms: under the 120 ms no blip may count


@dataclass(frozen=True)
class Labelled:
    """A clip with a known count: ``frames()`` gives tracker frames (synthetic clips)."""

    name: str
    task: str
    hand: str
    key: str  # the score key counted: repetitions, openings, closings, taps, touches, events
    truth: int
    frames: Callable[[], list[TrackedFrame]] | None = None  # None: a shared fixture video
    video: str | None = None


def _oc_blip() -> list[TrackedFrame]:
    return synth.to_frames(robustness.with_blip(synth.open_close_motion(3, 0.5), 2.0, BLIP_S))


def _still_glitch() -> list[TrackedFrame]:
    still = synth.still_motion(4.0, pose=synth.open_hand())
    return synth.to_frames(robustness.flexion_glitch(still, 2.0, BLIP_S))


def _tap_blip() -> list[TrackedFrame]:
    states = synth.finger_tap_motion(3.0, 5.0)
    return synth.to_frames(robustness.with_blip(states, 2.1, BLIP_S, pose=synth.pinch("index")))


NOISY = synth.FrameOptions(noise_px=2.0, drop_fraction=0.15, seed=3)

SYNTHETIC: tuple[Labelled, ...] = (
    Labelled("synth open/close x5", "open_close", "right", "repetitions", 5,
             lambda: synth.open_close(5, 0.5)),
    Labelled("synth open/close x5, noise + 15 % drops", "open_close", "right", "repetitions", 5,
             lambda: synth.open_close(5, 0.5, options=NOISY)),
    Labelled("synth open-start open/close x3", "open_close", "right", "repetitions", 3,
             lambda: synth.to_frames(robustness.open_start_open_close(3))),
    Labelled("synth open/close x3 + 100 ms pronation blip", "open_close", "right",
             "repetitions", 3, _oc_blip),
    Labelled("synth still hand + 100 ms false fist", "open_close", "right", "events", 0,
             _still_glitch),
    Labelled("synth two hands, open/close x3", "open_close", "right", "repetitions", 3,
             lambda: robustness.with_second_hand(synth.open_close(3, 0.5))),
    Labelled("synth taps 3 Hz x30, amplitude to 20 %", "finger_tap", "right", "taps", 30,
             lambda: synth.finger_tap(3.0, 10.0, decrement=0.8,
                                      options=synth.FrameOptions(noise_px=1.0))),
    Labelled("synth taps x30, hesitations 1.0 s + 0.6 s", "finger_tap", "right", "taps", 30,
             lambda: synth.finger_tap(3.0, 10.0, freezes_s=((2.0, 1.0), (5.0, 0.6)))),
    Labelled("synth taps x15 + 100 ms pronation blip", "finger_tap", "right", "taps", 15,
             _tap_blip),
    Labelled("synth opposition x4", "opposition", "right", "touches", 4,
             lambda: synth.opposition(options=synth.FrameOptions(noise_px=1.5))),
    Labelled("synth left hand open/close x4", "open_close", "left", "repetitions", 4,
             lambda: synth.open_close(4, 1.0, hand="left")),
)

FIXTURES: tuple[Labelled, ...] = (
    Labelled("hand_reach_open: openings", "open_close", "right", "openings", 1,
             video="hand_reach_open.mp4"),
    Labelled("hand_reach_open: cycles", "open_close", "right", "repetitions", 0,
             video="hand_reach_open.mp4"),
    Labelled("hand_free_motions: fists", "open_close", "right", "closings", 2,
             video="hand_free_motions.mp4"),
    Labelled("hand_free_motions: pinches", "opposition", "right", "touches", 5,
             video="hand_free_motions.mp4"),
)


def _rendered(name: str, task: str, key: str, truth: int) -> tuple[Labelled, ...]:
    from rehab.paths import shipped_videos_dir

    return tuple(Labelled(f"rendered {name}{' (1st person)' if view else ''}", task, "right", key,
                          truth, video=str(shipped_videos_dir() / f"{name}{view}.mp4"))
                 for view in ("", "_1p"))


# The shipped demonstrations (rehab/clips/render.py draws them from the synthetic hand, so the
# count is exact), tracked by MediaPipe like a patient's video: third and first person.
RENDERED: tuple[Labelled, ...] = (
    *_rendered("open_close", "open_close", "repetitions", 3),
    *_rendered("finger_tap", "finger_tap", "taps", 8),
    *_rendered("opposition", "opposition", "touches", 4),
)


def counted(score: dict, key: str) -> int:
    """The count ``key`` of a score dict; "events" = openings + closings."""
    if key == "events":
        return int(score.get("openings", 0)) + int(score.get("closings", 0))
    return int(score[key])
