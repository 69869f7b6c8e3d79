"""Clip library, sidecars, mirroring rule, rendered demo clips and the recording core (no MediaPipe)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from rehab import synth
from rehab.cli import main
from rehab.clips.library import ClipLibrary, count_frames, needs_mirror
from rehab.clips.record import choose_hand, record_clip, verify_hand
from rehab.clips.render import (
    DEMOS,
    demo_frames,
    demo_states,
    render_demo,
    render_frames,
    shipped_clips,
)
from rehab.errors import ClipError
from rehab.paths import shipped_videos_dir
from rehab.scoring.reference import Reference
from rehab.testing import FakeCamera, FakeTracker, ReplayTracker

SHIPPED = ("open_close", "finger_tap", "opposition", "reach_grasp", "wrist_flex")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> ClipLibrary:
    """One rendered demo (the shortest) in a module-wide library; tests copy it before editing."""
    lib = ClipLibrary(tmp_path_factory.mktemp("rendered"))
    render_demo("reach_grasp", lib)
    return lib


def _copy(lib: ClipLibrary, tmp_path: Path) -> ClipLibrary:
    dest = tmp_path / "videos"
    shutil.copytree(lib.dir, dest)
    return ClipLibrary(dest)


# ---------------------------------------------------------------- mirroring rule

@pytest.mark.parametrize("clip_hand, affected, match, expected", [
    ("right", "left", True, True),
    ("right", "right", True, False),
    ("left", "right", True, True),
    ("left", "left", True, False),
    ("right", "left", False, False),
    ("left", "right", False, False),
    ("right", None, True, False),  # affected side unknown: show the clip as it is
    ("right", "both", True, False),
])
def test_needs_mirror_truth_table(clip_hand, affected, match, expected):
    assert needs_mirror(clip_hand, affected, match) is expected


# ---------------------------------------------------------------- shipped clips

def test_shipped_clips_are_all_there_and_check_clean():
    lib = ClipLibrary(shipped_videos_dir())
    assert set(SHIPPED) <= set(lib.names())
    assert lib.check() == []
    for name in SHIPPED:
        info = lib.get(f"{name}.mp4")
        assert info.rendered and info.hand == "right" and info.reference_path is not None
        assert 3.0 <= info.duration_s <= 8.0, name
        assert "ground truth" in (info.reference_note or "")


def test_shipped_clips_stay_small():
    files = list(shipped_videos_dir().iterdir())
    assert all(f.stat().st_size < 500_000 for f in files if f.suffix == ".mp4")
    assert sum(f.stat().st_size for f in files) < 3_000_000


def test_shipped_clips_match_the_renderer():
    """The committed clips are what `rehab render-demo all` makes now (regenerate after changes):
    every task in both views."""
    lib = ClipLibrary(shipped_videos_dir())
    assert {n for n, _t, _v in shipped_clips()} <= set(lib.names())
    for name, task, view in shipped_clips():
        info = lib.get(name)
        assert (info.task, info.view, info.rendered) == (task, view, True)
        ref = Reference.load(info.reference_path)
        truth = Reference.from_frames(demo_frames(task, info.fps, view=view), "right", fps=info.fps)
        assert len(ref) == info.frames == len(truth)
        np.testing.assert_allclose(
            ref.image, truth.image, atol=1e-5,
            err_msg=f"{name}: the synthetic hand changed; run `rehab render-demo all --library videos`")


# ---------------------------------------------------------------- rendering

def test_render_is_deterministic(rendered, tmp_path):
    again = ClipLibrary(tmp_path)
    render_demo("reach_grasp", again)
    first, second = rendered.get("reach_grasp"), again.get("reach_grasp")
    assert first.path.read_bytes() == second.path.read_bytes()
    a, b = Reference.load(first.reference_path), Reference.load(second.reference_path)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.world, b.world)
    assert first.sidecar_path.read_text() == second.sidecar_path.read_text()


def test_rendered_clip_decodes_with_the_sidecar_frame_count(rendered):
    info = rendered.get("reach_grasp")
    n, fps = count_frames(info.path)
    assert n == info.frames == len(demo_frames("reach_grasp"))
    assert fps == pytest.approx(30.0)
    assert info.path.stat().st_size < 400_000


def test_rendered_hand_is_drawn_where_the_landmarks_are():
    import dataclasses

    states = demo_states("open_close")
    frames = demo_frames("open_close")
    image, empty = render_frames([states[0], dataclasses.replace(states[0], visible=False)])
    h, w = image.shape[:2]
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8
    for x, y, _ in frames[0].hands[0].image[[0, 5, 9, 17]]:  # wrist and knuckles: skin, not wall
        px, bg = image[int(y * h), int(x * w)].astype(int), empty[int(y * h), int(x * w)].astype(int)
        assert px[2] > px[0] + 40 and np.abs(px - bg).sum() > 60  # skin is red-dominant
    np.testing.assert_array_equal(image[:, :40], empty[:, :40])  # far from the hand: the scene


def test_rendered_hand_is_a_true_mirror_image_for_the_left_hand():
    """A left hand is built mirrored in 3D (not a flipped picture): its silhouette is the right
    hand's flipped about the image centre when the hand stands on the optical axis, and with
    the light on the other side the picture is too."""
    import dataclasses

    from rehab.clips.shade import View, coverage
    from rehab.synth.body import build_body

    st = dataclasses.replace(demo_states("opposition")[40], wrist_m=(0.0, 0.08, 0.45))
    view = View(640, 360, 460.0)
    mask = {side: coverage(build_body(st.pose.as_vector(), side, np.array(st.wrist_m),
                                      np.array(st.orientation_deg)), view)
            for side in ("right", "left")}
    overlap = (mask["right"] & mask["left"][:, ::-1]).sum() / mask["right"].sum()
    assert mask["right"].sum() > 15000 and overlap > 0.999
    # lit from the other side, the whole left-hand picture is the right one's mirror image
    right, = render_frames([st], "right")
    left, = render_frames([st], "left")
    diff = np.abs(left.astype(int) - right[:, ::-1].astype(int))
    assert diff.max() <= 1


def test_render_left_hand_mirrors_the_right(tmp_path):
    right, left = demo_frames("open_close", hand="right"), demo_frames("open_close", hand="left")
    # index knuckle right of the little finger's for a right hand, palm to an unmirrored camera
    across_r = right[0].hands[0].image[5, 0] - right[0].hands[0].image[17, 0]
    across_l = left[0].hands[0].image[5, 0] - left[0].hands[0].image[17, 0]
    assert across_r > 0 > across_l
    info = render_demo("reach_grasp", ClipLibrary(tmp_path), name="reach_left", hand="left")
    assert info.hand == "left" and Reference.load(info.reference_path).hand == "left"


def test_render_refuses_to_replace_a_recorded_clip(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    data = yaml.safe_load(lib.paths("reach_grasp")[1].read_text())
    data["rendered"] = False
    lib.paths("reach_grasp")[1].write_text(yaml.safe_dump(data))
    with pytest.raises(ClipError, match="recorded clip"):
        render_demo("reach_grasp", lib)
    assert render_demo("reach_grasp", lib, force=True).rendered


def test_unknown_demo_is_a_clear_error(tmp_path):
    with pytest.raises(ClipError, match="no rendered demonstration called 'juggle'") as exc:
        render_demo("juggle", ClipLibrary(tmp_path))
    assert "open_close" in exc.value.hint


# ---------------------------------------------------------------- library check

def test_check_catches_a_broken_sidecar(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    sidecar = lib.paths("reach_grasp")[1]
    sidecar.write_text(sidecar.read_text().replace("hand: right", "hand: rigth") + "colour: blue\n")
    problems = [str(p) for p in lib.check()]
    assert len(problems) == 1
    assert "reach_grasp.yaml" in problems[0] and "hand" in problems[0] and "rigth" in problems[0]
    assert "colour: unknown field" in problems[0]
    with pytest.raises(ClipError, match="reach_grasp.yaml"):
        lib.get("reach_grasp")


def test_check_catches_bad_yaml_with_its_line(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    lib.paths("reach_grasp")[1].write_text("task: open_close\nhand: [right\n")
    (problem,) = lib.check()
    assert "not valid YAML" in str(problem) and "line" in str(problem)


def test_damaged_clip_is_a_clip_error_without_ffmpeg_chatter(tmp_path, capfd):
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(b"garbage")
    with pytest.raises(ClipError, match="cannot be opened"):
        count_frames(damaged)
    assert "moov" not in capfd.readouterr().err  # FFmpeg's own message, not ours


def test_check_catches_a_missing_clip(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    lib.paths("reach_grasp")[0].unlink()
    (problem,) = lib.check()
    assert "reach_grasp.mp4 is missing" in str(problem)
    with pytest.raises(ClipError, match="not found"):
        lib.get("reach_grasp")


def test_check_catches_a_clip_without_sidecar(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    shutil.copy(lib.paths("reach_grasp")[0], lib.dir / "extra.mp4")
    (problem,) = lib.check()
    assert "extra.mp4" in str(problem) and "no sidecar" in str(problem)


def test_check_catches_a_truncated_trajectory(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    ref_path = lib.paths("reach_grasp")[2]
    ref = Reference.load(ref_path)
    n = len(ref) - 10
    Reference(ref.t[:n], ref.image[:n], ref.world[:n], ref.present[:n], ref.hand, ref.fps).save(ref_path)
    (problem,) = lib.check()
    assert f"has {n} frames but the clip has {len(ref)}" in str(problem)


def test_check_catches_a_damaged_trajectory_and_video(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    clip, _, ref_path = lib.paths("reach_grasp")
    ref_path.write_bytes(b"not a zip")
    clip.write_bytes(clip.read_bytes()[:2000])
    text = "\n".join(str(p) for p in lib.check())
    assert "reach_grasp.landmarks.npz" in text and "reach_grasp.mp4" in text


def test_check_catches_a_frame_count_mismatch(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    sidecar = lib.paths("reach_grasp")[1]
    sidecar.write_text(sidecar.read_text().replace("frames: 120", "frames: 150"))
    text = "\n".join(str(p) for p in lib.check())
    assert "decodes to 120 frames but its sidecar says 150" in text


# ---------------------------------------------------------------- CLI

def test_cli_lists_and_checks(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    runner = CliRunner()
    out = runner.invoke(main, ["clips", "--library", str(lib.dir)])
    assert out.exit_code == 0, out.output
    assert "reach_grasp.mp4" in out.output and "rendered, reference" in out.output
    ok = runner.invoke(main, ["clips", "check", "--library", str(lib.dir)])
    assert ok.exit_code == 0 and "all good" in ok.output
    lib.paths("reach_grasp")[2].unlink()
    bad = runner.invoke(main, ["clips", "check", "--library", str(lib.dir)])
    assert bad.exit_code == 1
    assert "reach_grasp.landmarks.npz" in bad.output and "missing" in bad.output


def test_cli_render_demo(tmp_path):
    out = CliRunner().invoke(main, ["render-demo", "reach_grasp", "--library", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert ClipLibrary(tmp_path).check() == []
    bad = CliRunner().invoke(main, ["render-demo", "juggle", "--library", str(tmp_path)])
    assert bad.exit_code == 1 and "no rendered demonstration" in bad.output


def test_every_clip_command_has_an_example():
    for args in (["clips"], ["clips", "check"], ["record"], ["render-demo"]):
        out = CliRunner().invoke(main, [*args, "--help"])
        assert out.exit_code == 0 and "Examples:" in out.output, args


# ---------------------------------------------------------------- recording core (fakes)

def _frames_from(lib: ClipLibrary, name: str) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(lib.get(name).path))
    images = []
    while True:
        ok, image = cap.read()
        if not ok:
            return images
        images.append(image)


def test_record_from_a_file_camera_writes_clip_sidecar_and_reference(rendered, tmp_path):
    images = _frames_from(rendered, "reach_grasp")
    truth = demo_frames("reach_grasp")
    camera = FakeCamera(images, size=(640, 360), fps=30.0, name="fake file")
    camera.open()
    lib = ClipLibrary(tmp_path / "videos")
    result = record_clip(camera, ReplayTracker(truth), lib, "my_reach", task="reach_grasp")
    info = result.info
    assert (info.frames, info.fps, info.hand, info.rendered) == (len(images), 30.0, "right", False)
    assert lib.check() == []
    ref = Reference.load(info.reference_path)
    np.testing.assert_allclose(ref.image, Reference.from_frames(truth, "right").image, atol=1e-6)
    assert result.hand_counts == {"left": 0, "right": len(images)}
    assert "fake file" in lib.get("my_reach").source


def test_record_never_overwrites_without_force(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    before = lib.paths("reach_grasp")[0].read_bytes()
    camera = FakeCamera(count=5)
    camera.open()
    with pytest.raises(ClipError, match="already exists"):
        record_clip(camera, FakeTracker(), lib, "reach_grasp", task="reach_grasp")
    assert lib.paths("reach_grasp")[0].read_bytes() == before
    record_clip(camera, FakeTracker(), lib, "reach_grasp", task="reach_grasp", force=True)
    assert lib.get("reach_grasp").frames == 5 and not lib.get("reach_grasp").rendered


def test_record_duration_limits_and_stop_callback(tmp_path):
    lib = ClipLibrary(tmp_path)
    camera = FakeCamera(count=100, fps=25.0)
    camera.open()
    info = record_clip(camera, FakeTracker(), lib, "short", task="open_close", duration_s=1.0).info
    assert info.frames == 25 and info.duration_s == pytest.approx(1.0)
    seen = []
    stop_at_ten = lambda frame, tf: seen.append(frame.index) or len(seen) < 10  # noqa: E731
    camera.open()
    info = record_clip(camera, FakeTracker(), lib, "stopped", task="open_close",
                       on_frame=stop_at_ten).info
    assert info.frames == 10 == len(seen)


def test_record_picks_the_hand_seen_most_or_the_one_given(tmp_path):
    lib = ClipLibrary(tmp_path)
    both = FakeTracker(hands=("left", "right"), visible=lambda i: True)
    camera = FakeCamera(count=12)
    camera.open()
    r = record_clip(camera, both, lib, "given", task="free", hand="left")
    assert r.info.hand == "left" and Reference.load(r.info.reference_path).hand == "left"
    left_only = synth.open_close(cycles=1, hand="left")[:12]
    assert choose_hand(left_only, None)[0] == "left"
    mostly_right = [*synth.open_close(cycles=1)[:8], *left_only[:3]]
    assert choose_hand(mostly_right, None) == ("right", {"left": 3, "right": 8})


def test_record_without_any_hand_keeps_the_clip_and_warns(tmp_path):
    lib = ClipLibrary(tmp_path)
    camera = FakeCamera(count=8)
    camera.open()
    r = record_clip(camera, FakeTracker(visible=lambda i: False), lib, "empty", task="free")
    assert r.info.reference_path is None and r.info.frames == 8
    assert any("no hand" in w for w in r.warnings)
    assert lib.check() == []


# ---------------------------------------------------------------- verify_hand

def test_verify_hand_agrees_disagrees_or_cannot_tell(rendered):
    info = rendered.get("reach_grasp")
    assert verify_hand(info, FakeTracker(hands=("right",))) is None
    warning = verify_hand(info, FakeTracker(hands=("left",)))
    assert "sidecar says hand: right" in warning and "left" in warning
    nothing = verify_hand(info, FakeTracker(visible=lambda i: False))
    assert "no hand detected, cannot verify" in nothing


def test_demos_cover_the_shipped_names():
    assert set(DEMOS) == set(SHIPPED)


class _SlowLiveCamera(FakeCamera):
    """Claims 30 fps but delivers frames 1/20 s apart (a webcam in dim light)."""

    def read(self):
        frame = super().read()
        if frame is None:
            return None
        return type(frame)(frame.image, frame.index / 20.0, frame.index)


def test_record_retimes_a_camera_slower_than_it_claims(tmp_path):
    camera = _SlowLiveCamera(count=40, fps=30.0)
    camera.open()
    info = record_clip(camera, FakeTracker(), ClipLibrary(tmp_path), "dim", task="free").info
    assert info.fps == pytest.approx(20.0)
    n, fps = count_frames(info.path)
    assert (n, fps) == (40, pytest.approx(20.0))
    assert Reference.load(info.reference_path).fps == pytest.approx(20.0)
    assert ClipLibrary(tmp_path).check() == []
    # --duration counts the camera's real time, not frames at the claimed rate
    camera = _SlowLiveCamera(count=100, fps=30.0)
    camera.open()
    timed = record_clip(camera, FakeTracker(), ClipLibrary(tmp_path), "dim2", task="free",
                        duration_s=1.0).info
    assert (timed.frames, timed.fps, timed.duration_s) == (20, pytest.approx(20.0), pytest.approx(1.0))


def test_countdown_headless_says_each_second():
    from rehab.clips.preview import countdown

    camera = FakeCamera()  # endless
    camera.open()
    said: list[str] = []
    countdown(camera, 0.3, show=False, say=said.append)
    assert said[0] == "recording starts in 1 ..." and said[-1].startswith("recording ...")


def test_package_exports():
    import rehab.clips as clips

    assert clips.needs_mirror("right", "left", True)
    assert callable(clips.verify_hand) and callable(clips.render_demo)
    with pytest.raises(AttributeError):
        clips.no_such_thing  # noqa: B018


def test_record_rejects_an_unknown_task_before_recording(tmp_path):
    camera = FakeCamera(count=5)
    camera.open()
    with pytest.raises(ClipError, match="unknown task 'juggling'"):
        record_clip(camera, FakeTracker(), ClipLibrary(tmp_path), "x", task="juggling")
    with pytest.raises(ClipError, match="unknown hand 'Right'"):
        record_clip(camera, FakeTracker(), ClipLibrary(tmp_path), "x", task="free", hand="Right")
    assert camera.delivered == 0 and not any(tmp_path.iterdir())


def test_library_ignores_its_own_temporary_files(rendered, tmp_path):
    lib = _copy(rendered, tmp_path)
    (lib.dir / ".reach_grasp.recording.mp4").write_bytes(b"half a recording")
    assert lib.names() == ["reach_grasp"] and lib.check() == []


def test_record_stops_with_a_clear_error_when_a_live_camera_stalls(tmp_path, monkeypatch):
    import rehab.clips.record as rec
    from rehab.errors import CameraError

    class Silent(FakeCamera):
        def read(self):
            return None

    monkeypatch.setattr(rec, "STALL_TIMEOUT_S", 0.05)
    camera = Silent(name="camera 0")
    camera.open()
    with pytest.raises(CameraError, match="camera 0 gave no frame"):
        record_clip(camera, FakeTracker(), ClipLibrary(tmp_path), "x", task="open_close")
    assert not ClipLibrary(tmp_path).exists("x")


def test_record_command_from_a_webcam_headless(tmp_path, monkeypatch):
    """`rehab record --camera 0` with fakes in place of the webcam and MediaPipe."""
    import rehab.devices.camera as cam_mod
    import rehab.devices.tracker as trk_mod

    class _Tracker(FakeTracker):
        def __init__(self, *args, **kwargs):
            super().__init__()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    camera = FakeCamera(count=None, fps=30.0, name="camera 0")
    monkeypatch.setattr(cam_mod, "open_camera", lambda spec, realtime, loop: camera)
    monkeypatch.setattr(trk_mod, "MediaPipeTracker", _Tracker)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    args = ["record", "live", "--task", "open_close", "--camera", "0", "--duration", "0.5",
            "--countdown", "0.2", "--library", str(tmp_path)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "recording starts in 1" in out.output and "wrote" in out.output
    info = ClipLibrary(tmp_path).get("live")
    assert info.frames == 15 and info.hand == "right" and "camera 0" in info.source
    assert camera.closed == 1


def test_first_person_view_shows_the_back_of_the_hand(tmp_path):
    third = demo_frames("finger_tap")[0].hands[0].image
    first = demo_frames("finger_tap", view="first_person")[0].hands[0].image
    # Seen from its owner's eyes, a right hand's index knuckle is left of the little finger's.
    assert third[5, 0] > third[17, 0] and first[5, 0] < first[17, 0]
    info = render_demo("finger_tap", ClipLibrary(tmp_path), name="tap_1p", view="first_person")
    assert info.view == "first_person" and ClipLibrary(tmp_path).check() == []
    with pytest.raises(ClipError, match="unknown view"):
        demo_frames("finger_tap", view="overhead")


def test_first_person_reach_goes_away_from_the_eyes():
    third = [f.hands[0].world for f in demo_frames("reach_grasp")]
    near = [s.wrist_m[2] for s in demo_states("reach_grasp", view="first_person")]
    far = [s.wrist_m[2] for s in demo_states("reach_grasp")]
    assert near[-1] - near[0] == pytest.approx(far[0] - far[-1]) and near[-1] > near[0] + 0.2
    first = demo_frames("reach_grasp", view="first_person")[0].hands[0].image
    assert first[5, 0] < first[17, 0]  # the back of the right hand: index knuckle on the left
    assert len(third) == len(near)


def test_webcam_recording_tracks_the_finished_clip_not_the_preview(rendered, tmp_path):
    """defer_tracking: the preview shows a (here wrong) fast tracker's newest result while
    recording; the reference comes from tracking every frame of the written clip afterwards."""
    images = _frames_from(rendered, "reach_grasp")
    truth = demo_frames("reach_grasp")
    camera = FakeCamera(images, size=(640, 360), fps=30.0, name="camera 0")
    camera.open()
    shown: list[int] = []
    on_frame = lambda frame, tf: shown.append(len(tf.hands)) is None  # noqa: E731
    preview = FakeTracker(hands=("left",))
    result = record_clip(camera, ReplayTracker(truth), ClipLibrary(tmp_path), "cam", task="reach_grasp",
                         on_frame=on_frame, defer_tracking=True, preview_tracker=preview)
    assert len(shown) == len(images) and preview.calls >= 1 and not preview.closed
    assert result.info.hand == "right" and result.hand_counts["left"] == 0
    ref = Reference.load(result.info.reference_path)
    np.testing.assert_allclose(ref.image, Reference.from_frames(truth, "right").image, atol=1e-6)


def test_listing_a_missing_library_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["clips", "--library", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "clip folder" in result.output and "not found" in result.output


@pytest.mark.parametrize("task, view", [("reach_grasp", "third_person"),
                                        ("wrist_flex", "first_person")])
def test_left_hand_demonstration_is_the_right_one_mirrored(task, view):
    right = demo_frames(task, view=view, hand="right")
    left = demo_frames(task, view=view, hand="left")
    for r, lf in zip(right[::10], left[::10], strict=True):
        a, b = r.hands[0].image, lf.hands[0].image
        np.testing.assert_allclose(b[:, 0], 1.0 - a[:, 0], atol=1e-9)
        np.testing.assert_allclose(b[:, 1:], a[:, 1:], atol=1e-9)
