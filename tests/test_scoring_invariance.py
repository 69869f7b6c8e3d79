"""Invariance: a mirrored, slowed, brighter or smaller copy of a trial gives the same count.

Synthetic clips (exact ground truth) are transformed at the landmark level; the shared fixture
videos are transformed as images and tracked again by MediaPipe (once per clip and transform per
test session: the ``tracked`` fixture caches them).

Tolerances of the key metrics between a fixture video and its mirrored copy, which MediaPipe
tracks independently: event times within 0.25 s (measured: hand_reach_open's opening at 0.35 s
and 0.59 s, as the mirrored track starts less closed), opening range within 0.1 hand sizes.
"""

from __future__ import annotations

import pytest
from conftest import fixture_path

from rehab.devices.base import other_side
from rehab.scoring.trial import score_trial
from rehab.testing.accuracy import FIXTURES, SYNTHETIC, Labelled, counted
from rehab.testing.transforms import TRANSFORMS, mirror_frames, slow_frames, track_transformed

IDS = [c.name for c in SYNTHETIC]


def _score(frames, clip: Labelled, hand: str | None = None) -> dict:
    return score_trial(frames, clip.task, hand or clip.hand).to_dict()


@pytest.mark.parametrize("clip", SYNTHETIC, ids=IDS)
def test_synthetic_clip_counts_exactly(clip):
    assert counted(_score(clip.frames(), clip), clip.key) == clip.truth


@pytest.mark.parametrize("clip", SYNTHETIC, ids=IDS)
def test_mirrored_synthetic_clip_is_the_other_hand_with_the_same_numbers(clip):
    frames = clip.frames()
    mirrored = mirror_frames(frames)
    assert {h.hand for f in mirrored for h in f.hands} == {
        other_side(h.hand) for f in frames for h in f.hands}
    a, b = _score(frames, clip), _score(mirrored, clip, other_side(clip.hand))
    assert b["hand"] == other_side(clip.hand)
    for key in ("repetitions", "openings", "closings", "taps", "touches", "rate_hz",
                "amplitude", "opening_range", "sequence", "hesitations"):
        assert a.get(key) == pytest.approx(b.get(key), abs=1e-9), key
    assert a["validity"]["unreliable_fraction"] == b["validity"]["unreliable_fraction"]


@pytest.mark.parametrize("clip", [c for c in SYNTHETIC if "blip" not in c.name
                                  and "glitch" not in c.name and "false" not in c.name],
                         ids=lambda c: c.name)
def test_slowed_synthetic_clip_counts_the_same_at_half_the_rate(clip):
    frames = clip.frames()
    a, b = _score(frames, clip), _score(slow_frames(frames), clip)
    assert counted(b, clip.key) == counted(a, clip.key) == clip.truth
    if clip.task == "finger_tap":
        assert b["rate_hz"] == pytest.approx(a["rate_hz"] / 2, rel=0.01)
    if a.get("mean_cycle_s"):
        assert b["mean_cycle_s"] == pytest.approx(2 * a["mean_cycle_s"], rel=0.02)


def test_blips_of_100_ms_count_nothing_even_twice_as_slow_when_edge_on():
    """Edge-on frames make no event however long; a 200 ms false fist facing the camera is
    (by the 120 ms rule) a real closing and opening."""
    blip = next(c for c in SYNTHETIC if c.name.startswith("synth open/close x3 + 100 ms"))
    assert counted(_score(slow_frames(blip.frames()), blip), blip.key) == blip.truth
    glitch = next(c for c in SYNTHETIC if "false fist" in c.name)
    assert counted(_score(slow_frames(glitch.frames()), glitch), "events") == 2


# ---- the shared fixture videos, tracked by MediaPipe -------------------------------------

@pytest.fixture(scope="session")
def tracked():
    cache: dict = {}

    def get(video: str, transform: str):
        if (video, transform) not in cache:
            cache[video, transform] = track_transformed(fixture_path(video),
                                                        TRANSFORMS[transform])
        return cache[video, transform]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("clip", FIXTURES, ids=[c.name for c in FIXTURES])
def test_fixture_count_is_within_one_of_the_label(clip, tracked):
    assert abs(counted(_score(tracked(clip.video, "original"), clip), clip.key) - clip.truth) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("transform", ["mirrored", "brightness", "640x360"])
@pytest.mark.parametrize("clip", FIXTURES, ids=[c.name for c in FIXTURES])
def test_fixture_copies_count_the_same(clip, transform, tracked):
    original = _score(tracked(clip.video, "original"), clip)
    frames = tracked(clip.video, transform)
    hand = other_side(clip.hand) if transform == "mirrored" else clip.hand
    if transform == "mirrored":  # the tracker itself reports the other hand
        assert {h.hand for f in frames for h in f.hands} == {hand}
    copy = _score(frames, clip, hand)
    assert counted(copy, clip.key) == counted(original, clip.key)
    events = [e["t"] for e in original.get("events", [])]
    assert [e["t"] for e in copy.get("events", [])] == pytest.approx(events, abs=0.25)
    if original.get("opening_range") is not None:
        assert copy["opening_range"] == pytest.approx(original["opening_range"], abs=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("clip", FIXTURES, ids=[c.name for c in FIXTURES])
def test_fixture_slowed_2x_counts_within_one(clip, tracked):
    """Within one, not equal: holds are in time, and hand_free_motions has a partial closing
    (ring and little half curled for 4 frames, 0.31 hand sizes held over 133 ms) that, held
    twice as long in the slowed copy, measures 0.36 against the 0.35 threshold."""
    frames = tracked(clip.video, "original")
    assert abs(counted(_score(slow_frames(frames), clip), clip.key)
               - counted(_score(frames, clip), clip.key)) <= 1
