"""The screens defend themselves: huge rating ranges, 100,000-letter words, NUL and control
characters are drawn in bounded time (validation refuses them; the screens never rely on it)."""

from __future__ import annotations

import time

import cv2
import numpy as np

from rehab.devices.display import rating_window
from rehab.devices.drawing import Colours, clean, fit_lines, wrap
from rehab.engine import scenes as sc

P = sc.Progress(1, 3, "Rate")


def _timed_show(display, scene) -> float:
    start = time.perf_counter()
    display.show(scene)
    return time.perf_counter() - start


def test_rating_window_is_bounded_and_holds_the_selection():
    assert rating_window(0, 10, None) == (0, 10)
    assert rating_window(0, 20, 20) == (0, 20)
    assert rating_window(0, 10**12, None) == (0, 20)
    assert rating_window(0, 10**12, 10**12) == (10**12 - 20, 10**12)
    assert rating_window(-5, 10**6, 500) == (490, 510)


def test_trillion_answer_scale_draws_21_boxes_quickly(display, tmp_path):
    scene = sc.RatingScene("How hard?", 0, 10**12, {0: "low", 10**12: "high"}, 7, progress=P)
    assert _timed_show(display, scene) < 0.5
    display.screenshot(tmp_path / "huge.png")
    shot = cv2.imread(str(tmp_path / "huge.png"))[..., ::-1].astype(int)
    row = shot[275]  # through the boxes, below the numbers
    box = np.all(np.abs(row - np.array(Colours.BOX)) < 3, axis=-1)
    selected = np.all(np.abs(row - np.array(Colours.ACCENT)) < 3, axis=-1)
    runs = np.count_nonzero(np.diff(np.concatenate([[0], box | selected, [0]]).astype(int)) == 1)
    assert runs == 21


def test_hundred_thousand_letter_word_is_cut_with_a_mark(display):
    word = "x" * 100_000
    assert _timed_show(display, sc.TextScene("Title", word, progress=P)) < 1.0
    font, lines = fit_lines(display.fonts, word, ["body", "footer", "small"], 1100, 4)
    assert len(lines) == 4 and lines[-1].endswith("...")
    assert all(font.size(ln)[0] <= 1100 for ln in lines)


def test_long_word_wraps_across_lines_without_losing_letters(display):
    font = display.fonts.get("body")
    word = "abcdefghij" * 30
    lines = wrap(word, font, 400)
    assert "".join(lines) == word
    assert len(lines) > 1 and all(font.size(ln)[0] <= 400 for ln in lines)


def test_nul_and_escapes_are_drawn_not_raised(display):
    for text in ("before\0after", "a\x1b[2Jb", "bad \ud800 name"):
        display.show(sc.TextScene(text, text, progress=sc.Progress(1, 2, text)))
        display.show(sc.RatingScene(text, 0, 4, {0: text}, 1, footer=text))
    assert clean("a\0b\x1bc\ud800") == "a b c\ufffd"
    assert clean("line\nbreak") == "line\nbreak"
