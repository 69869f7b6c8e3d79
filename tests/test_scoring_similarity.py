"""Similarity to a demonstration (DTW) and Reference files."""

from __future__ import annotations

import numpy as np
import pytest

from rehab import synth
from rehab.errors import ScoringError
from rehab.scoring.reference import Reference
from rehab.scoring.trial import score_trial


@pytest.fixture(scope="module")
def reference():
    return Reference.from_frames(synth.open_close(3, 0.5), "right")


def _sim(frames, reference, task="open_close", hand="right"):
    return score_trial(frames, task, hand, reference).similarity


def test_same_movement_scores_100(reference):
    sim = _sim(synth.open_close(3, 0.5), reference)
    assert sim["score"] >= 99.5
    assert sim["tempo"] == pytest.approx(1.0, abs=0.02)


def test_noisy_copy_still_scores_well(reference):
    sim = _sim(synth.open_close(3, 0.5, options=synth.FrameOptions(noise_px=2, drop_fraction=0.1)),
               reference)
    assert sim["score"] > 70
    assert sim["tempo"] == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("stretch", [1.5, 2.0])
def test_time_stretched_copy_scores_high_with_matching_tempo(reference, stretch):
    sim = _sim(synth.open_close(3, 0.5, stretch=stretch), reference)
    assert sim["score"] > 90
    assert sim["tempo"] == pytest.approx(stretch, rel=0.05)


def test_more_repetitions_at_the_same_pace_is_the_same_tempo(reference):
    sim = _sim(synth.open_close(9, 0.5), reference)
    assert sim["reference_repeats"] == 3
    assert sim["score"] > 90
    assert sim["tempo"] == pytest.approx(1.0, abs=0.1)


def test_left_hand_following_a_right_demonstration(reference):
    assert _sim(synth.open_close(3, 0.5, hand="left"), reference, hand="left")["score"] >= 99.5


@pytest.mark.parametrize("frames", [
    lambda: synth.finger_tap(2.0, 5.0),
    lambda: synth.opposition(),
    lambda: synth.to_frames(synth.wrist_flex_motion()),
], ids=["tapping", "opposition", "wrist"])
def test_a_different_movement_scores_low(reference, frames):
    assert _sim(frames(), reference)["score"] < 30


def test_a_half_opening_scores_lower_than_a_full_one(reference):
    half = synth.fist().blend(synth.open_hand(), 0.5)
    sim = _sim(synth.to_frames(synth.open_close_motion(3, 0.5, opened=half)), reference)
    assert sim["score"] < 60


def test_reference_round_trip(tmp_path, reference):
    path = reference.save(tmp_path / "open_close")
    assert path.name == "open_close.landmarks.npz"
    back = Reference.load(path)
    assert back.hand == "right" and back.fps == pytest.approx(30.0)
    np.testing.assert_allclose(back.world, reference.world, atol=1e-6)
    np.testing.assert_array_equal(back.present, reference.present)
    with np.load(path, allow_pickle=False) as z:
        assert {"t", "image", "world", "present", "hand", "fps"} <= set(z.files)


def test_reference_keeps_missing_frames(tmp_path):
    frames = synth.open_close(1, 0.5, options=synth.FrameOptions(drop_ranges_s=((0.5, 1.0),)))
    ref = Reference.from_frames(frames, "right")
    assert not ref.present[15:30].any() and np.isnan(ref.world[20]).all()
    back = Reference.load(ref.save(tmp_path / "x.landmarks.npz"))
    assert len(back.to_frames()) == len(frames)
    assert sum(bool(f.hands) for f in back.to_frames()) == int(ref.present.sum())


def test_bad_reference_files(tmp_path):
    with pytest.raises(ScoringError, match="not found"):
        Reference.load(tmp_path / "none.landmarks.npz")
    junk = tmp_path / "junk.landmarks.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ScoringError, match="not a valid landmarks file"):
        Reference.load(junk)
    with pytest.raises(ValueError):
        Reference(np.zeros(2), np.zeros((2, 21, 3)), np.zeros((2, 21, 3)), np.ones(2, bool),
                  "both", 30.0)


def test_an_unusable_reference_gives_no_score_not_an_error(reference):
    frames = synth.open_close(1, 0.5)
    tiny = Reference.from_frames(frames[:2], "right")
    sim = _sim(frames, tiny)
    assert sim["score"] is None and "reference" in sim["error"]
    assert set(sim) >= {"score", "tempo", "dtw_cost"}


def test_a_shipped_clip_tracked_by_mediapipe_matches_its_ground_truth():
    """The rendered finger-tapping clip seen by the lite model scores high against the exact
    landmarks it was drawn from and low against another movement's (a few seconds of CPU)."""
    from rehab.clips.library import ClipLibrary
    from rehab.clips.record import iter_clip_frames
    from rehab.devices.tracker import MediaPipeTracker
    from rehab.paths import shipped_videos_dir

    library = ClipLibrary(shipped_videos_dir())
    info = library.get("finger_tap")
    with MediaPipeTracker("lite", num_hands=1) as tracker:
        frames = [tracker.track(f) for f in iter_clip_frames(info.path)]
    own = _sim(frames, Reference.load(info.reference_path), task="finger_tap")
    other = _sim(frames, Reference.load(library.get("opposition").reference_path),
                 task="finger_tap")
    assert own["score"] >= 80 and own["tempo"] == pytest.approx(1.0, abs=0.1), own
    assert other["score"] <= 40, other


def _dtw_by_definition(cost: np.ndarray, slack: float) -> float:
    """The DTW recurrence written cell by cell (the definition in ``dtw_cost``'s docstring)."""
    n, m = cost.shape
    sn, sm = int(slack * n), int(slack * m)
    acc = {(0, j): (0.0, 0) if j <= sm else (np.inf, 0) for j in range(m + 1)}
    acc.update({(i, 0): (0.0, 0) if i <= sn else (np.inf, 0) for i in range(1, n + 1)})
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best = acc[i - 1, j - 1]
            for prev in (acc[i - 1, j], acc[i, j - 1]):
                if prev[0] < best[0]:
                    best = prev
            acc[i, j] = (cost[i - 1, j - 1] + best[0], best[1] + 1)
    ends = [(n, j) for j in range(m - sm, m + 1)] + [(i, m) for i in range(n - sn, n)]
    return min(acc[e][0] / acc[e][1] for e in ends if acc[e][1] > 0)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 1), (2, 2), (7, 13), (30, 21)])
@pytest.mark.parametrize("slack", [0.0, 0.15, 0.5])
def test_dtw_follows_its_recurrence_including_ties(shape, slack):
    from rehab.scoring.similarity import dtw_cost

    rng = np.random.default_rng(sum(shape))
    for rounding in (None, 1):  # rounded costs make ties, which the order of the min decides
        cost = rng.random(shape)
        cost = np.round(cost, rounding) if rounding else cost
        assert dtw_cost(cost, slack) == pytest.approx(_dtw_by_definition(cost, slack), abs=1e-12)


def test_long_signals_are_resampled_not_strided():
    """A 3.5 Hz wobble (inside the 4 Hz feature band) on a 1,000-sample signal: every third
    sample would alias it to a slow 1.5 Hz swing of full size; shortening removes it."""
    from rehab.scoring.similarity import DTW_FS, MAX_DTW_LEN, _shorten

    t = np.arange(1000) / DTW_FS
    slow = np.sin(2 * np.pi * 0.3 * t)
    f = np.stack([slow + np.sin(2 * np.pi * 3.5 * t), slow], axis=1)
    short = _shorten(f)
    assert short.shape == (MAX_DTW_LEN, 2)
    assert np.abs(short[20:-20, 0] - short[20:-20, 1]).max() < 0.1
    assert np.abs(f[::3][20:-20, 0] - f[::3][20:-20, 1]).max() > 0.9
    assert np.array_equal(_shorten(f[:MAX_DTW_LEN]), f[:MAX_DTW_LEN])  # short ones untouched
