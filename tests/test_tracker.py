"""Hand tracker: model bundle, anatomical handedness, async/pipelined running, real footage."""

from __future__ import annotations

import threading
import time
import zipfile

import cv2
import numpy as np
import pytest
from conftest import fixture_path

from rehab.devices import handmodel
from rehab.devices.base import Frame, HandObservation, TrackedFrame
from rehab.devices.camera import FileCamera, iter_frames
from rehab.devices.handmodel import DETECTOR_MEMBER, LANDMARKS_MEMBER, ensure_hand_model
from rehab.devices.tracker import (
    RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED,
    AsyncTracker,
    HandednessSmoother,
    MediaPipeTracker,
    ScanSchedule,
    anatomical_side,
    track_pipelined,
)
from rehab.errors import TrackerError

# ---------------------------------------------------------------- model bundle


def test_bundle_is_built_from_the_wheel_into_the_cache(tmp_path):
    path = ensure_hand_model("lite")
    assert path.is_file() and "lite" in path.name
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {DETECTOR_MEMBER, LANDMARKS_MEMBER}
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        # The palm detector is always the full one (the lite one fails to load).
        detector, _ = handmodel.wheel_model_files("lite")
        assert zf.getinfo(DETECTOR_MEMBER).file_size == detector.stat().st_size
    mtime = path.stat().st_mtime_ns
    assert ensure_hand_model("lite") == path and path.stat().st_mtime_ns == mtime  # cached
    assert ensure_hand_model("full") != path
    assert not list(path.parent.glob("*.tmp"))


def test_a_corrupt_cached_bundle_is_rebuilt(tmp_path):
    path = ensure_hand_model("lite", cache=tmp_path)
    path.write_bytes(b"half a zip")
    assert ensure_hand_model("lite", cache=tmp_path) == path
    assert zipfile.is_zipfile(path)


def test_given_model_path_is_used_or_rejected(tmp_path, monkeypatch):
    built = ensure_hand_model("lite", cache=tmp_path)
    assert ensure_hand_model("full", model_path=built) == built
    monkeypatch.setenv(handmodel.MODEL_ENV, str(built))
    assert ensure_hand_model("full") == built
    with pytest.raises(TrackerError, match="does not exist"):
        ensure_hand_model(model_path=tmp_path / "missing.task")
    not_a_bundle = tmp_path / "x.task"
    not_a_bundle.write_text("nope")
    with pytest.raises(TrackerError, match="not a MediaPipe hand_landmarker"):
        ensure_hand_model(model_path=not_a_bundle)


def test_no_model_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(handmodel, "wheel_model_files", lambda variant: None)
    with pytest.raises(TrackerError) as info:
        ensure_hand_model("full")
    assert "no hand model" in info.value.message and ".task" in info.value.hint
    with pytest.raises(TrackerError, match="unknown hand model"):
        ensure_hand_model("huge")


# ---------------------------------------------------------------- handedness


def test_one_convention_maps_raw_labels_to_anatomical_sides():
    same = "right" if RAW_LABEL_IS_ANATOMICAL_WHEN_UNMIRRORED else "left"
    assert anatomical_side("Right", flipped=False) == same
    assert anatomical_side("Right", flipped=True) != same
    assert anatomical_side("Left", flipped=False) != same
    with pytest.raises(TrackerError):
        anatomical_side("Up", flipped=False)


def _obs(side: str, conf: float, x: float = 0.5, t: float = 0.0) -> HandObservation:
    image = np.full((21, 3), 0.5)
    image[:, 0] = x
    return HandObservation(t=t, hand=side, confidence=conf, image=image, world=np.zeros((21, 3)))


def test_smoother_keeps_a_followed_hand_on_its_side():
    smoother = HandednessSmoother()
    sides = []
    for i in range(30):
        label = "left" if 12 <= i < 18 else "right"  # a burst of confident wrong labels
        (hand,) = smoother.update(i / 30, [_obs(label, 0.9, x=0.5 + i * 0.002)])
        sides.append(hand.hand)
    assert sides == ["right"] * 30
    # A hand far away is a new hand and gets its own label.
    assert smoother.update(1.0, [_obs("left", 0.9, x=0.05)])[0].hand == "left"


def test_two_hands_with_the_same_label_are_separated():
    smoother = HandednessSmoother()
    a, b = smoother.update(0.0, [_obs("right", 0.95, x=0.2), _obs("right", 0.6, x=0.8)])
    assert (a.hand, b.hand) == ("right", "left")
    assert b.confidence == pytest.approx(0.4)  # 1 - p: the label's probability for the other side


def _run_schedule(sched: ScanSchedule, hands_in_view: list[int], one_hand_lag: int = 0):
    """Plans and choices for a scene with ``hands_in_view[i]`` hands; the one-hand landmarker
    needs ``one_hand_lag`` frames to catch a hand after it first runs."""
    plans, used, one_runs = [], [], 0
    for n in hands_in_view:
        plan = sched.plan()
        if 1 in plan:
            one_runs += 1
        found = {k: min(k, n) if k == 2 or one_runs > one_hand_lag else 0 for k in plan}
        plans.append(plan)
        used.append(sched.choose(found))
    return plans, used


def test_scan_schedule_hands_over_to_one_hand_and_scans_for_a_second():
    sched = ScanSchedule(scan_every=4, settle=3)
    plans, used = _run_schedule(sched, [1] * 13, one_hand_lag=1)
    assert plans == [(2,)] * 3 + [(2, 1)] * 2 + [(1,)] * 3 + [(1, 2)] + [(1,)] * 3 + [(1, 2)]
    # The two-hand result is used until the one-hand landmarker has caught the hand.
    assert used == [2] * 5 + [1] * 8
    plans, used = _run_schedule(sched, [2] * 5)  # a second hand enters
    assert plans[:4] == [(1,)] * 3 + [(1, 2)]  # found by the next scan ...
    assert used == [1] * 3 + [2, 2] and sched.mode == "two"  # ... which takes over
    always = ScanSchedule(scan_every=0)
    assert _run_schedule(always, [1] * 30)[0] == [(2,)] * 30


# ---------------------------------------------------------------- async and pipelined


class _SlowTracker:
    def __init__(self, delay_s: float = 0.02, fail_at: int | None = None) -> None:
        self.delay_s = delay_s
        self.fail_at = fail_at
        self.closed = False
        self.seen: list[int] = []
        # A test may hold the tracker inside track() until it releases this gate.
        self.gate: threading.Event | None = None

    def track(self, frame: Frame) -> TrackedFrame:
        if self.gate is not None:
            assert self.gate.wait(timeout=10.0), "the test never released the tracker"
        time.sleep(self.delay_s)
        if frame.index == self.fail_at:
            raise RuntimeError("model exploded")
        self.seen.append(frame.index)
        return TrackedFrame(t=frame.captured_at, frame_index=frame.index)

    def close(self) -> None:
        self.closed = True


def _frames(n: int) -> list[Frame]:
    return [Frame(np.zeros((4, 4, 3), np.uint8), captured_at=i / 30, index=i) for i in range(n)]


def test_async_latest_wins_and_never_blocks():
    fake = _SlowTracker(delay_s=0.0)
    fake.gate = threading.Event()  # inference is stuck until we release it
    at = AsyncTracker(fake)
    assert at.latest() is None
    for frame in _frames(20):
        at.submit(frame)  # would hang here if submit waited for inference
    assert fake.seen == []  # nothing was tracked while we submitted: submit did not wait
    fake.gate.set()
    assert at.flush(timeout_s=5.0)
    assert at.latest().frame_index == 19  # the newest frame was tracked
    assert at.dropped > 0 and at.processed + at.dropped == 20
    assert [f.frame_index for f in at.results()] == fake.seen and at.results() == []
    at.close()
    assert fake.closed


def test_async_ordered_mode_tracks_every_frame_in_order():
    with AsyncTracker(_SlowTracker(delay_s=0.002), latest_only=False, max_pending=3) as at:
        for frame in _frames(25):
            at.submit(frame)
        at.flush()
        assert [f.frame_index for f in at.results()] == list(range(25))
        assert at.dropped == 0


def test_async_tracker_failure_reaches_the_caller():
    at = AsyncTracker(_SlowTracker(delay_s=0.0, fail_at=2), latest_only=False)
    with pytest.raises(TrackerError, match="model exploded"):
        for frame in _frames(10):
            at.submit(frame)
            time.sleep(0.01)
    at.close()


def test_pipelined_tracking_keeps_order_and_overlaps():
    n = 30
    produced = [threading.Event() for _ in range(n + 1)]
    overlapped: list[int] = []

    def source():
        for frame in _frames(n):
            produced[frame.index].set()
            yield frame
        produced[n].set()

    class _WaitsForNextDecode(_SlowTracker):
        def track(self, frame: Frame) -> TrackedFrame:
            # Decoding overlaps inference when the next frame is decoded while this one is
            # still being tracked; run serially, this wait would time out.
            if produced[frame.index + 1].wait(timeout=2.0):
                overlapped.append(frame.index)
            return super().track(frame)

    out = list(track_pipelined(source(), _WaitsForNextDecode(delay_s=0.0)))
    assert [f.frame_index for f in out] == list(range(n))
    assert overlapped == list(range(n))  # every frame's successor was decoded during its inference


def test_pipelined_source_error_comes_after_the_good_frames():
    def broken():
        yield from _frames(3)
        raise ValueError("bad packet")

    got = []
    with pytest.raises(ValueError, match="bad packet"):
        for tf in track_pipelined(broken(), _SlowTracker(delay_s=0.0)):
            got.append(tf.frame_index)
    assert got == [0, 1, 2]


def test_pipelined_consumer_may_stop_early():
    gen = track_pipelined(iter(_frames(100)), _SlowTracker(delay_s=0.0), queue_size=2)
    assert next(gen).frame_index == 0
    gen.close()
    assert not any(t.name == "frame-decoder" for t in threading.enumerate())


# ---------------------------------------------------------------- MediaPipe on real footage


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hand-model")


def _track_clip(path, variant, model_dir, flipped=False, keep=lambda i: True):
    model = ensure_hand_model(variant, cache=model_dir)
    cam = FileCamera(path, realtime=False)
    cam.open()
    frames = (f for f in iter_frames(cam) if keep(f.index))
    if flipped:  # what a caller that mirrors frames for display would hand the tracker
        frames = (Frame(cv2.flip(f.image, 1), f.captured_at, f.index) for f in frames)
    with MediaPipeTracker(variant, model_path=model, flipped=flipped) as tracker:
        out = list(track_pipelined(frames, tracker))
    cam.close()
    return out


@pytest.fixture(scope="module")
def reach_open_tracked(model_dir):
    """hand_reach_open.mp4, every frame, full model (tracked once per test session)."""
    return _track_clip(fixture_path("hand_reach_open.mp4"), "full", model_dir)


@pytest.fixture(scope="module")
def reach_open_flipped(model_dir):
    """The same clip mirrored as for display, full model (lite misses the first frames)."""
    return _track_clip(fixture_path("hand_reach_open.mp4"), "full", model_dir, flipped=True)


def test_right_hand_in_every_frame_of_reach_open(reach_open_tracked):
    assert len(reach_open_tracked) == 202
    assert [tuple(h.hand for h in tf.hands) for tf in reach_open_tracked] == [("right",)] * 202
    first = reach_open_tracked[0].hands[0]
    assert first.image.shape == (21, 3) and first.world.shape == (21, 3)
    assert 0.0 < first.confidence <= 1.0
    assert [tf.t for tf in reach_open_tracked[:3]] == pytest.approx([0.0, 0.04, 0.08])


def test_right_hand_in_every_flipped_frame_in_unmirrored_coordinates(
    reach_open_tracked, reach_open_flipped
):
    assert [tuple(h.hand for h in tf.hands) for tf in reach_open_flipped] == [("right",)] * 202
    plain = np.array([tf.hands[0].image[:, :2] for tf in reach_open_tracked])
    mapped = np.array([tf.hands[0].image[:, :2] for tf in reach_open_flipped])
    # Mapped back (x -> 1 - x) the landmarks land where the unmirrored run put them; unmapped
    # they would be |1 - 2x| apart (about 0.25 here).
    assert np.median(np.abs(plain - mapped)) < 0.02
    # World x is mirrored back too (x -> -x): the fingers keep their side of the hand.
    world_plain = np.array([tf.hands[0].world for tf in reach_open_tracked])
    world_mapped = np.array([tf.hands[0].world for tf in reach_open_flipped])
    err = np.median(np.abs(world_plain - world_mapped))
    assert err < 0.5 * np.median(np.abs(world_plain[..., 0] + world_mapped[..., 0]))
    assert err < 0.01  # metres


def test_tracker_tolerates_repeated_timestamps(model_dir):
    model = ensure_hand_model("lite", cache=model_dir)
    blank = np.zeros((120, 160, 3), np.uint8)
    with MediaPipeTracker("lite", model_path=model, num_hands=1) as tracker:
        for t in (0.0, 0.0, 0.0004, -1.0, 0.5):
            assert tracker.track(Frame(blank, captured_at=t)).hands == ()
    with pytest.raises(TrackerError, match="closed"):
        tracker.track(Frame(blank, captured_at=1.0))


def test_open_close_score_of_reach_open_is_one_opening_no_cycle(reach_open_tracked):
    from rehab.scoring.trial import score_trial

    result = score_trial(reach_open_tracked, "open_close", "right")
    assert result.hand == "right" and result.tracked_fraction == 1.0
    assert result.metrics["openings"] == 1
    assert result.repetitions == 0


# Frames of hand_free_motions.mp4 (30 fps) tracked for the signal test: every 3rd frame from
# an open stretch through the fist (about 250-275) and the pinch (about 300-335).
FREE_FIRST, FREE_LAST, FREE_STEP = 120, 360, 3


@pytest.fixture(scope="module")
def free_motions_signals(model_dir):
    """Per tracked frame index: (finger extension, thumb-index aperture) in hand sizes."""
    from rehab.scoring.opening import aperture, extension, hand_size_m

    tracked = _track_clip(
        fixture_path("hand_free_motions.mp4"),
        "lite",
        model_dir,
        keep=lambda i: FREE_FIRST <= i < FREE_LAST and i % FREE_STEP == 0,
    )
    seen = [tf for tf in tracked if tf.hand("right") is not None]
    assert len(seen) >= 0.9 * len(tracked), "the right hand was lost too often"
    world = np.array([tf.hand("right").world for tf in seen])
    size_m = hand_size_m(world)
    index = np.array([tf.frame_index for tf in seen])
    return index, extension(world, size_m), aperture(world, size_m)


def _median_in(index, signal, first, last):
    sel = (index >= first) & (index <= last)
    assert sel.sum() >= 3, f"too few tracked frames in {first}-{last}"
    return float(np.median(signal[sel]))


def test_fist_and_pinch_show_in_the_signals(free_motions_signals):
    index, ext, ap = free_motions_signals
    open_ext = np.median(np.concatenate([ext[(index >= a) & (index <= b)]
                                         for a, b in ((130, 160), (290, 300), (340, 350))]))
    open_ap = np.median(np.concatenate([ap[(index >= a) & (index <= b)]
                                        for a, b in ((130, 160), (290, 300), (340, 350))]))
    fist_ext = _median_in(index, ext, 258, 278)
    pinch_ap = _median_in(index, ap, 305, 333)
    pinch_ext = _median_in(index, ext, 305, 333)
    assert fist_ext < 0.7 * open_ext  # fingers curled: tips near the wrist
    assert pinch_ap < 0.5 * open_ap  # thumb and index tips together ...
    assert pinch_ext > 0.85 * open_ext  # ... while the other fingers stay out (not a fist)


def test_a_second_hand_entering_is_found_within_a_scan(model_dir):
    """Left half: the real right hand; right half: blank, then (from frame 25) the same frame
    mirrored, which shows a left hand. Both must be found, with their own sides."""
    model = ensure_hand_model("full", cache=model_dir)
    cap = cv2.VideoCapture(str(fixture_path("hand_reach_open.mp4")))
    images = [cap.read()[1] for _ in range(110)][60:]
    cap.release()
    enter, scan_every = 25, 10
    sides = []
    with MediaPipeTracker("full", model_path=model, scan_every=scan_every) as tracker:
        for i, image in enumerate(images):
            other = cv2.flip(image, 1) if i >= enter else np.full_like(image, 128)
            tf = tracker.track(Frame(np.hstack([image, other]), captured_at=i / 25, index=i))
            sides.append(sorted((h.hand, round(float(h.image[:, 0].mean()), 1)) for h in tf.hands))
    assert all(s == [("right", 0.2)] for s in sides[:enter])
    assert all(s == [("left", 0.8), ("right", 0.2)] for s in sides[enter + scan_every:])
