"""The pygame display, audio cues, clip decoding and clocks (headless: SDL dummy drivers)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pygame
import pytest

from rehab.devices.audio import CUES, PygameAudio, tone
from rehab.devices.base import CommandKind
from rehab.devices.clock import MonotonicClock, SimulatedClock
from rehab.devices.display import PygameDisplay, mirror_view
from rehab.devices.drawing import Colours, fit_lines
from rehab.devices.video import ClipSource, OpenCVClip
from rehab.engine import scenes as sc
from rehab.engine.mirror import mirror_image
from rehab.errors import ClipError

P = sc.Progress(2, 9, "Watch")


def _camera_like(w: int = 640, h: int = 360) -> np.ndarray:
    """An asymmetric test image: a red left quarter, a gradient, a green block at top right."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[:, : w // 4] = (0, 0, 255)
    img[: h // 4, -w // 5 :] = (0, 255, 0)
    return img


def _grab(display: PygameDisplay, tmp_path, name: str) -> np.ndarray:
    path = tmp_path / f"{name}.png"
    display.screenshot(path)
    return cv2.imread(str(path))


def _region(shot: np.ndarray, rect) -> np.ndarray:
    x, y, w, h = rect
    return shot[y : y + h, x : x + w].astype(int)


ALL_SCENES = {
    "text": sc.TextScene("Get ready", "Sit comfortably with your forearm on the table.", progress=P),
    "countdown": sc.TextScene("Rest", "Relax.", seconds_left=12.2, footer="", progress=P),
    "dim": sc.TextScene("Imagine", "Close your eyes.", dim=True, progress=P),
    "video": sc.VideoScene(_camera_like(), True, "Watch", seconds_left=3, progress=P),
    "camera": sc.CameraScene(_camera_like(), np.full((21, 2), 0.5), "Open and close", 2, 10, 30.0,
                             hint="Hand not visible - move it into view", progress=P),
    "mirror": sc.MirrorScene(_camera_like(), "Move your unaffected hand", 60, progress=P),
    "rating": sc.RatingScene("How much pain?", 0, 10, {0: "no pain", 10: "worst"}, 4, progress=P),
    "result": sc.ResultScene("Well done", ("10 taps - 2 more than last time",), progress=P),
    "overlay": sc.Overlay(sc.TextScene("Rest", progress=P), "Paused", "Take your time.", "P to go on"),
}


@pytest.mark.parametrize("name", sorted(ALL_SCENES))
def test_every_scene_draws_and_screenshots(display, tmp_path, name):
    flip_t = display.show(ALL_SCENES[name])
    assert flip_t == 5.0  # the flip time comes from the injected clock
    shot = _grab(display, tmp_path, name)
    assert shot.shape == (720, 1280, 3)
    assert shot.std() > 5  # something was drawn, not a blank screen


def test_folded_yaml_text_is_not_cut_for_its_trailing_newline(display):
    from rehab.devices.drawing import wrap

    text = "Bend your wrist up and down slowly. About one movement every 2 seconds.\n"
    font = display.fonts.get("small")
    width = font.size(text.strip())[0] + 10
    assert wrap(text, font, width) == [text.strip()]
    _, lines = fit_lines(display.fonts, text, ["small"], width, 1)
    assert lines == [text.strip()]  # fits on one line: no "..."


def test_screenshot_is_owner_only(display, tmp_path):
    display.show(ALL_SCENES["camera"])
    path = tmp_path / "shot.png"
    display.screenshot(path)
    assert (path.stat().st_mode & 0o777) == 0o600


def test_unknown_scene_is_an_error(display):
    with pytest.raises(TypeError):
        display.show(object())


def test_video_mirror_flag_flips_the_image_region(display, tmp_path):
    img = _camera_like()
    display.show(sc.VideoScene(img, False, "Watch", progress=P))
    plain = _region(_grab(display, tmp_path, "plain"), display.image_rect)
    display.show(sc.VideoScene(img, True, "Watch", progress=P))
    mirrored = _region(_grab(display, tmp_path, "mirrored"), display.image_rect)
    assert np.abs(mirrored - plain[:, ::-1]).mean() < 2
    assert np.abs(mirrored - plain).mean() > 40  # and the image really is asymmetric
    x, y, w, h = display.image_rect
    expected = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(plain - expected).mean() < 2


def test_mirror_scene_image_is_shown_as_given(display, tmp_path):
    img = _camera_like()
    display.show(sc.MirrorScene(img, "Move", progress=P))
    shown = _region(_grab(display, tmp_path, "m"), display.image_rect)
    x, y, w, h = display.image_rect
    assert abs(w / h - 640 / 360) < 0.01  # aspect ratio kept
    assert np.abs(shown - cv2.resize(img, (w, h)).astype(int)).mean() < 2


@pytest.mark.parametrize("width", [640, 641])
@pytest.mark.parametrize("mode,keep", [("flip", "left"), ("split", "left"), ("split", "right")])
def test_display_mirror_view_equals_the_engine_reference(width, mode, keep):
    rng = np.random.default_rng(width)
    img = rng.integers(0, 256, (48, width, 3), dtype=np.uint8)
    assert np.array_equal(mirror_view(img, mode, keep), mirror_image(img, mode, keep))


def test_split_mirror_scene_is_drawn_split(display, tmp_path):
    img = _camera_like()
    scene = sc.MirrorScene(img, "Move", progress=P, mode="split", keep="right")
    display.show(scene)
    shown = _region(_grab(display, tmp_path, "split"), display.image_rect)
    x, y, w, h = display.image_rect
    assert np.abs(shown - cv2.resize(scene.shown(), (w, h)).astype(int)).mean() < 2


def test_camera_landmarks_are_drawn_in_the_mirrored_view(display, tmp_path):
    img = np.full((360, 640, 3), 90, np.uint8)
    lm = np.tile([[0.2, 0.5]], (21, 1))  # every point at 20 % from the left of the raw frame
    display.show(sc.CameraScene(img, lm, "Go", mirror=True, progress=P))
    shot = _grab(display, tmp_path, "lm")
    x, y, w, h = display.image_rect
    mirrored_px = shot[y + h // 2, x + int(0.8 * w)]
    raw_px = shot[y + h // 2, x + int(0.2 * w)]
    assert tuple(int(v) for v in mirrored_px[::-1]) == Colours.JOINT
    assert tuple(int(v) for v in raw_px) == (90, 90, 90)


def test_hand_not_visible_hint_is_a_yellow_banner(display, tmp_path):
    img = np.full((360, 640, 3), 90, np.uint8)
    display.show(sc.CameraScene(img, None, "Go", hint="Hand not visible", progress=P))
    region = _region(_grab(display, tmp_path, "hint"), display.image_rect)
    yellow = np.all(np.abs(region[..., ::-1] - np.array(Colours.WARN_BG)) < 3, axis=-1)
    assert yellow.mean() > 0.05


def test_a_countdown_says_what_it_counts(display, tmp_path):
    """The rest screen's big "5" alone left the patient to guess: "seconds" is written under
    it, a band of text of its own below the number."""
    display.show(sc.TextScene(title="Rest", body="Relax your hand.", footer="", seconds_left=4.2,
                              progress=P))
    shot = _grab(display, tmp_path, "count")
    h = shot.shape[0]
    lit = (shot.max(axis=-1) > 200)[h // 2:].any(axis=1)  # rows with text, lower half
    starts = np.flatnonzero(lit[1:] & ~lit[:-1])
    assert len(starts) == 2  # the number, then the word under it


def test_the_banner_never_covers_the_hand(display, tmp_path):
    """'Good - the camera can see your hand well' across the hand hid it: the banner takes
    the half of the image the hand is not in."""
    img = np.full((360, 640, 3), 90, np.uint8)
    for hand_y, banner_half in ((0.8, "top"), (0.3, "bottom"), (None, "bottom")):
        lm = None if hand_y is None else np.tile([[0.5, hand_y]], (21, 1))
        display.show(sc.CameraScene(img, lm, "Go", hint="Good - the camera can see your hand",
                                    progress=P))
        region = _region(_grab(display, tmp_path, f"b{hand_y}"), display.image_rect)
        yellow = np.all(np.abs(region[..., ::-1] - np.array(Colours.WARN_BG)) < 3, axis=-1)
        rows = np.nonzero(yellow.any(axis=1))[0]
        half = "top" if rows.mean() < len(region) / 2 else "bottom"
        assert half == banner_half, hand_y
        if hand_y is not None:  # not a yellow pixel on the hand's row
            assert not yellow[int(hand_y * len(region))].any()


def test_rating_highlights_the_selected_value(display, tmp_path):
    def yellow_columns(selected):
        display.show(sc.RatingScene("Pain?", 0, 10, {}, selected, progress=P))
        shot = _grab(display, tmp_path, f"r{selected}")[150:450]
        yellow = np.all(np.abs(shot[..., ::-1].astype(int) - np.array(Colours.ACCENT)) < 3, axis=-1)
        return np.nonzero(yellow.sum(axis=0) > 30)[0]

    cols2, cols8 = yellow_columns(2), yellow_columns(8)
    assert len(cols2) > 40 and len(cols8) > 40
    assert cols8.mean() - cols2.mean() > 400  # the highlight moved right with the value
    assert len(yellow_columns(None)) == 0


def test_dim_scene_is_dark(display, tmp_path):
    display.show(sc.TextScene("Imagine", "Close your eyes", dim=True))
    assert _grab(display, tmp_path, "dim").mean() < 15


def test_long_text_is_fitted_not_overflowing(display):
    font, lines = fit_lines(display.fonts, "word " * 400, ["body", "small"], 600, 5)
    assert len(lines) == 5
    assert all(font.size(line)[0] <= 600 for line in lines)
    assert lines[-1].endswith("...")
    font, lines = fit_lines(display.fonts, "Short line", ["title", "small"], 600, 1)
    assert font is display.fonts.get("title") and lines == ["Short line"]


def _key(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))


def test_poll_maps_keys_to_commands(display):
    pygame.event.clear()
    for key in (pygame.K_SPACE, pygame.K_RETURN, pygame.K_p, pygame.K_ESCAPE, pygame.K_y,
                pygame.K_n, pygame.K_F8, pygame.K_LEFT, pygame.K_RIGHT, pygame.K_UP, pygame.K_DOWN,
                pygame.K_7, pygame.K_KP0, pygame.K_a):
        _key(key)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    cmds = display.poll()
    K = CommandKind
    assert [c.kind for c in cmds] == [K.CONTINUE, K.CONTINUE, K.PAUSE, K.QUIT, K.YES, K.NO,
                                      K.SKIP, K.LEFT, K.RIGHT, K.UP, K.DOWN, K.NUMBER, K.NUMBER,
                                      K.CLOSE]
    assert [c.value for c in cmds if c.kind == K.NUMBER] == [7, 0]
    assert all(c.t == 5.0 for c in cmds)
    assert display.poll() == []


def test_tones_have_soft_edges_and_the_right_length():
    samples = tone([(440.0, 0.1)])
    assert samples.dtype == np.int16 and len(samples) == 4410
    assert abs(int(samples[0])) < 200 and abs(int(samples[-1])) < 200  # no click
    assert np.abs(samples).max() > 10000


def test_audio_plays_cues_or_degrades_silently_once(monkeypatch):
    audio = PygameAudio(report=lambda m: None)
    for name in CUES:
        audio.cue(name)
    assert audio.played == list(CUES)
    audio.close()

    def no_device(*a, **k):
        raise pygame.error("no audio device")

    monkeypatch.setattr(pygame.mixer, "get_init", lambda: None)
    monkeypatch.setattr(pygame.mixer, "init", no_device)
    reports: list[str] = []
    silent = PygameAudio(report=reports.append)
    silent.cue("start")
    silent.cue("stop")
    assert not silent.available and silent.played == ["start", "stop"]
    assert len(reports) == 1 and "no audio device" in reports[0]


def test_simulated_clock_jumps_and_never_goes_back():
    c = SimulatedClock()
    t0 = time.perf_counter()
    c.sleep_until(1800.0)
    c.sleep_until(10.0)
    c.advance(0.5)
    assert c.now() == 1800.5
    assert time.perf_counter() - t0 < 0.1


def test_monotonic_clock_sleeps_until_the_deadline():
    c = MonotonicClock()
    late_ms = []
    for _ in range(5):
        target = c.now() + 0.02
        c.sleep_until(target)
        late_ms.append((c.now() - target) * 1000)
    assert min(late_ms) >= 0
    assert np.median(late_ms) < 2.0


@pytest.fixture
def clip_file(tmp_path):
    path = tmp_path / "numbers.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for i in range(40):
        img = np.zeros((120, 160, 3), np.uint8)
        img[:, :] = (i * 6, 255 - i * 6, (i * 37) % 255)
        writer.write(img)
    writer.release()
    return path


def test_clip_frames_are_exact_with_cheap_skips(clip_file):
    with OpenCVClip(clip_file) as seq:
        frames = [seq.read() for _ in range(40)]
        assert seq.read() is None
    with OpenCVClip(clip_file) as clip:
        assert (clip.fps, clip.frame_count, clip.size) == (25.0, 40, (160, 120))
        assert np.array_equal(clip.frame(5), frames[5])
        assert clip.grabbed_only == 5  # frames 0-4 skipped without decoding to images
        assert np.array_equal(clip.frame(5), frames[5])
        assert clip.grab()
        assert np.array_equal(clip.read(), frames[7])
        assert np.array_equal(clip.frame(2), frames[2])  # backwards: a seek
        assert clip.frame(39) is not None and clip.frame(40) is None


def test_damaged_clip_is_an_error_without_ffmpeg_chatter(tmp_path, capfd):
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(b"garbage")
    with pytest.raises(ClipError, match="cannot be decoded"):
        OpenCVClip(damaged)
    assert "moov" not in capfd.readouterr().err  # FFmpeg's own message, not ours


def test_clip_source_finds_clips_by_name(clip_file):
    src = ClipSource(clip_file.parent)
    assert src.check("numbers.mp4") == (25.0, 40)
    with pytest.raises(ClipError, match="not found"):
        src.open("missing.mp4")
    (clip_file.parent / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(ClipError):
        src.check("broken.mp4")


def test_simulated_clock_steps_land_on_the_grid():
    c = SimulatedClock(step_s=0.25)
    c.sleep_until(0.01)
    assert c.now() == 0.25
    c.sleep_until(0.5)
    assert c.now() == 0.5  # a target on the grid is not pushed further
    c.sleep_until(0.2)
    assert c.now() == 0.5


def test_cached_clip_decodes_each_frame_once(clip_file):
    from rehab.devices.video import CachedClip

    with OpenCVClip(clip_file) as seq:
        frames = [seq.read() for _ in range(40)]
    clip = CachedClip(OpenCVClip(clip_file))
    for _ in range(3):  # three repetitions showing every 4th frame
        clip.seek(0)
        for i in range(40):
            if i % 4:
                assert clip.grab()
            else:
                assert np.array_equal(clip.read(), frames[i])
        assert clip.read() is None
    assert clip.decoded == 10
    clip.close()
    with ClipSource(clip_file.parent, cache_frames=True).open(clip_file.name) as cached:
        assert isinstance(cached, CachedClip)


def _shipped_captions() -> list[str]:
    from rehab.paths import shipped_protocols_dir, shipped_videos_dir
    from rehab.protocol import load_protocol

    captions = []
    for path in sorted(shipped_protocols_dir().glob("*.yaml")):
        for planned in load_protocol(path, shipped_videos_dir()).protocol.flatten():
            step = planned.step
            text = getattr(step, "text", None) or getattr(step, "movement", None)
            if planned.kind in ("observe", "execute", "mirror") and text:
                captions.append(text)
    return captions


def test_shipped_captions_fit_under_the_image_on_a_4_3_screen():
    """Captions under a clip or camera image get two lines; a cut one loses the instruction."""
    small = PygameDisplay(fullscreen=False, size=(1024, 768), clock=SimulatedClock(5.0))
    try:
        width = int(small.size[0] * 0.92)
        for text in set(_shipped_captions()):
            _, lines = fit_lines(small.fonts, text, ["footer", "small"], width, 2)
            assert not lines[-1].endswith("..."), text
    finally:
        small.close()


def _text_mask(pixels: np.ndarray) -> np.ndarray:
    return pixels.min(axis=2) > 200  # white text; the darkened picture behind it stays below


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("mirror", [False, True])
def test_rendered_clip_label_reads_the_right_way_round_when_mirrored(display, tmp_path, mirror):
    """The "animated demonstration" mark is drawn by the display over the mirrored picture,
    so it reads left to right in both screenshots (and a mirrored text would not match)."""
    from rehab.clips.library import RENDERED_LABEL
    from rehab.clips.render import demo_states, render_frames

    frame = next(render_frames(demo_states("open_close")[:1]))
    display.show(sc.VideoScene(frame, mirror, "Watch", progress=P, label=RENDERED_LABEL))
    shot = _grab(display, tmp_path, f"label_{mirror}")
    text = display.fonts.get("small").render(RENDERED_LABEL, True, (255, 255, 255), (0, 0, 0))
    glyphs = pygame.surfarray.array3d(text).transpose(1, 0, 2)
    expected = _text_mask(glyphs)
    x, y, w, h = display.image_rect
    pad = max(2, int(720 * 0.01))
    top, left = y + h - pad - glyphs.shape[0], x + pad
    seen = _text_mask(shot[top: top + glyphs.shape[0], left: left + glyphs.shape[1]])
    assert expected.sum() > 200
    assert _iou(seen, expected) > 0.9
    assert _iou(seen, expected[:, ::-1]) < 0.5  # reversed text would not pass
    picture = shot[y: y + h // 2, x: x + w]  # the picture itself is mirrored as asked
    unmirrored = cv2.resize(frame, (w, h))[: h // 2]
    closer = np.abs(picture.astype(int) - (unmirrored[:, ::-1] if mirror else unmirrored)).mean()
    other = np.abs(picture.astype(int) - (unmirrored if mirror else unmirrored[:, ::-1])).mean()
    assert closer < other
