"""Mirror-therapy views: pixel-wise checks and processing time at 1280x720."""

from __future__ import annotations

import numpy as np
import pytest

from rehab.engine.mirror import flip_view, mirror_image, selfie_view, split_view


def _frame(width: int = 1280, height: int = 720) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_flip_equals_the_unmirrored_frame():
    img = _frame(64, 36)
    assert np.array_equal(flip_view(img), img)
    assert np.array_equal(mirror_image(img, "flip", "right"), img)
    # and it is the selfie view turned back
    assert np.array_equal(selfie_view(flip_view(img))[:, ::-1], img)


@pytest.mark.parametrize("width", [64, 65])
@pytest.mark.parametrize("keep", ["left", "right"])
def test_split_halves_mirror_each_other(width, keep):
    img = _frame(width, 20)
    out = split_view(img, keep)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert np.array_equal(out, out[:, ::-1])  # column j equals column W-1-j
    half = width // 2
    if keep == "left":
        assert np.array_equal(out[:, :half], img[:, :half])
    else:
        assert np.array_equal(out[:, width - half:], img[:, width - half:])


def test_split_keeps_the_unaffected_hand_side_of_the_selfie_view():
    # unmirrored frame: the patient's right hand is on the image's LEFT (camera faces them)
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :10] = 200  # right hand region (unmirrored)
    img[:, 10:] = 50  # left hand region
    shown = mirror_image(img, "split", unaffected_side="right")
    assert (shown == 200).all()  # both halves now show the unaffected right hand
    shown = mirror_image(img, "split", unaffected_side="left")
    assert (shown == 50).all()


def test_split_rejects_a_bad_side():
    with pytest.raises(ValueError):
        split_view(_frame(8, 8), "middle")
    with pytest.raises(ValueError):
        mirror_image(_frame(8, 8), "sideways", "left")
