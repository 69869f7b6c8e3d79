"""The synthetic hand: exact joint angles, image-side conventions, noise and dropped frames."""

from __future__ import annotations

import numpy as np
import pytest

from rehab import synth
from rehab.scoring.angles import joint_angles
from rehab.scoring.opening import fingertip_distances, hand_size_m

POSE = synth.HandPose(mcp_deg=(30, 45, 60, 70), pip_deg=(20, 35, 50, 65), dip_deg=(5, 15, 25, 35),
                      thumb_cmc_flex_deg=20, thumb_cmc_abd_deg=30, thumb_mcp_deg=25,
                      thumb_ip_deg=40)


@pytest.mark.parametrize("hand", ["right", "left"])
@pytest.mark.parametrize("orientation", [(0, 0, 0), (40, -30, 75), (-60, 170, 10)])
def test_joint_angles_are_exact_in_any_orientation(hand, orientation):
    _, world = synth.landmarks(POSE, hand, (0.05, 0.0, 0.6), orientation)
    got = joint_angles(world)
    expected = {"thumb_mcp": 25, "thumb_ip": 40}
    for k, finger in enumerate(synth.FINGERS):
        expected |= {f"{finger}_mcp": POSE.mcp_deg[k], f"{finger}_pip": POSE.pip_deg[k],
                     f"{finger}_dip": POSE.dip_deg[k]}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_abduction_enters_the_mcp_angle_as_documented():
    pose = synth.HandPose(mcp_deg=(40, 0, 0, 0), abd_deg=(15, 0, 0, 0))
    _, world = synth.landmarks(pose)
    expected = np.degrees(np.arccos(np.cos(np.radians(40)) * np.cos(np.radians(15))))
    assert joint_angles(world)["index_mcp"] == pytest.approx(expected, abs=1e-6)


def test_right_palm_to_unmirrored_camera_shows_thumb_on_image_right():
    image, _ = synth.landmarks(synth.open_hand(), "right")
    assert image[4, 0] > image[0, 0] > image[20, 0]  # thumb tip right of wrist, little tip left
    assert image[8, 1] < image[0, 1]  # fingers up
    left, _ = synth.landmarks(synth.open_hand(), "left")
    assert left[4, 0] < left[0, 0] < left[20, 0]
    back, _ = synth.landmarks(synth.open_hand(), "right", orientation_deg=(0, 180, 0))
    assert back[4, 0] < back[0, 0]  # back of the hand to the camera: thumb on the image left


def test_left_hand_world_is_the_mirror_of_the_right():
    _, right = synth.landmarks(POSE, "right")
    _, left = synth.landmarks(POSE, "left")
    np.testing.assert_allclose(left, right * [-1, 1, 1], atol=1e-12)


def test_image_landmarks_follow_the_pinhole_model():
    cam = synth.PinholeCamera(640, 480, 600.0)
    image, world = synth.landmarks(synth.relaxed(), wrist_position=(0.0, 0.0, 0.5), camera=cam)
    assert image[0, :2] == pytest.approx([0.5, 0.5])
    assert image[0, 2] == 0.0
    assert hand_size_m(world) == pytest.approx(synth.HAND_SIZE_M)
    assert np.all((image[:, :2] > 0) & (image[:, :2] < 1))
    flat, _ = synth.landmarks(synth.open_hand(), wrist_position=(0.0, 0.0, 0.5), camera=cam)
    far, _ = synth.landmarks(synth.open_hand(), wrist_position=(0.0, 0.0, 1.0), camera=cam)
    fingers = [0, *range(5, 21)]  # the open hand's fingers lie flat, parallel to the image plane
    span = np.ptp(flat[fingers, :2], axis=0)
    assert np.ptp(far[fingers, :2], axis=0) == pytest.approx(span / 2, rel=1e-9)  # twice as far


@pytest.mark.parametrize("finger", synth.FINGERS)
def test_pinch_brings_thumb_to_that_fingertip_only(finger):
    _, world = synth.landmarks(synth.pinch(finger))
    d = fingertip_distances(world, hand_size_m(world))
    k = synth.FINGERS.index(finger)
    assert d[k] < 0.15
    assert np.delete(d, k).min() > 0.8


def test_named_poses_differ_as_expected():
    ext = {}
    for name, pose in [("open", synth.open_hand()), ("fist", synth.fist()),
                       ("relaxed", synth.relaxed())]:
        _, w = synth.landmarks(pose)
        ext[name] = np.mean(np.linalg.norm(w[[8, 12, 16, 20]] - w[0], axis=1))
    assert ext["fist"] < ext["relaxed"] < ext["open"]


def test_frame_count_duration_and_stretch():
    frames = synth.open_close(cycles=2, freq_hz=0.5, fps=25, rest_s=1.0)
    assert len(frames) == 25 * 6
    assert frames[1].t - frames[0].t == pytest.approx(0.04)
    slow = synth.open_close(cycles=2, freq_hz=0.5, fps=25, rest_s=1.0, stretch=1.5)
    assert len(slow) == 25 * 9
    assert all(f.hands[0].hand == "right" for f in frames)


def test_noise_is_reproducible_and_of_the_requested_size():
    opts = synth.FrameOptions(noise_px=2.0, seed=7)
    states = synth.still_motion(1.0, 30)
    a = synth.to_frames(states, options=opts)
    b = synth.to_frames(states, options=opts)
    clean = synth.to_frames(states)
    np.testing.assert_array_equal(a[5].hands[0].image, b[5].hands[0].image)
    px = np.stack([(f.hands[0].image - c.hands[0].image)[:, 0] * 640 for f, c in zip(a, clean, strict=True)])
    assert px.std() == pytest.approx(2.0, rel=0.1)


def test_dropped_frames():
    states = synth.still_motion(4.0, 30)
    frames = synth.to_frames(states, options=synth.FrameOptions(drop_fraction=0.25, seed=1,
                                                                drop_ranges_s=((1.0, 2.0),)))
    assert len(frames) == len(states)
    seen = np.array([bool(f.hands) for f in frames])
    t = np.array([f.t for f in frames])
    assert not seen[(t >= 1.0) & (t < 2.0)].any()
    outside = seen[(t < 1.0) | (t >= 2.0)]
    assert 0.65 < outside.mean() < 0.85


def test_finger_tap_truth_and_freeze_lengthen_the_trial():
    plain = synth.finger_tap_motion(freq_hz=2.0, duration_s=3.0, fps=20)
    frozen = synth.finger_tap_motion(freq_hz=2.0, duration_s=3.0, fps=20, freezes_s=((1.0, 0.5),))
    assert len(frozen) - len(plain) == 10  # 0.5 s at 20 fps
    assert synth.tap_phase(1.2, 2.0, ((1.0, 0.5),)) == pytest.approx(2.0)  # frozen at phase 2


def test_bad_hand_and_camera_position_raise():
    with pytest.raises(ValueError):
        synth.landmarks(POSE, "middle")
    with pytest.raises(ValueError):
        synth.landmarks(POSE, wrist_position=(0, 0, 0.0))
