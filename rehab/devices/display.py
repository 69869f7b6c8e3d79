"""The pygame display: draws every scene of ``rehab.engine.scenes`` and turns keys into commands.

Designed for older patients: large DejaVu Sans text, white/yellow on near-black, one key to go
on, the session's progress always at the top. Images arrive BGR and unmirrored; the display
mirrors them when the scene says so and draws them into one region whose rectangle is kept in
``image_rect`` (tests crop screenshots with it).
"""

from __future__ import annotations

import os
from typing import Any

import cv2
import numpy as np

from rehab.devices.base import Clock, Command, CommandKind
from rehab.devices.clock import MonotonicClock
from rehab.devices.drawing import HAND_CONNECTIONS, Colours, Fonts, draw_lines, fit_lines
from rehab.engine import scenes as sc
from rehab.errors import DisplayError
from rehab.protocol.limits import MAX_RATING_CHOICES as MAX_CHOICES_SHOWN
from rehab.safeio import atomic_path

C = Colours


def mirror_view(image: np.ndarray, mode: str, keep: str) -> np.ndarray:
    """``rehab.engine.mirror.mirror_image`` composed with OpenCV (numpy's column-reversed copies
    cost ~2 ms at 1280x720; ``cv2.flip`` ~0.2 ms). Same pixels; tests/test_display.py holds them
    equal. Split: in the selfie view keep the ``keep`` half and mirror it onto the other half.
    """
    if mode == "flip":
        return image
    if mode != "split" or keep not in ("left", "right"):
        raise ValueError(f"unknown mirror view {mode!r}/{keep!r}")
    out = cv2.flip(image, 1)  # the selfie view, as a new array we may write into
    width = out.shape[1]
    half = width // 2
    if keep == "left":
        out[:, width - half :] = cv2.flip(out[:, :half], 1)
    else:
        out[:, :half] = cv2.flip(out[:, width - half :], 1)
    return out


class PygameDisplay:
    """A pygame window (fullscreen by default) implementing the ``Display`` seam.

    Args:
        fullscreen: cover the whole screen (the default for patients); False opens a window.
        size: window size in pixels when not fullscreen.
        clock: the clock whose time ``show`` returns (the engine's clock).
        caption: the window title.
    """

    def __init__(
        self,
        fullscreen: bool = True,
        size: tuple[int, int] = (1280, 720),
        clock: Clock | None = None,
        caption: str = "rehab",
    ) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self._pg = pygame
        self._clock = clock or MonotonicClock()
        try:
            pygame.display.init()
            pygame.font.init()
            flags = pygame.FULLSCREEN if fullscreen else 0
            self._screen = pygame.display.set_mode((0, 0) if fullscreen else size, flags)
        except pygame.error as exc:
            raise DisplayError(
                f"cannot open a window ({exc})",
                hint="run from a desktop session, or set SDL_VIDEODRIVER=dummy for a headless run",
            ) from exc
        pygame.display.set_caption(caption)
        pygame.mouse.set_visible(not fullscreen)
        self.size = self._screen.get_size()
        self.fonts = Fonts(pygame, self.size[1])
        self.image_rect: tuple[int, int, int, int] | None = None  # x, y, w, h of the last image
        self.last_scene: object | None = None

    # ----------------------------------------------------------------- seam
    def show(self, scene: object) -> float:
        """Draw ``scene``, flip, and return the clock time just after the flip."""
        self._draw(scene)
        self._pg.display.flip()
        self.last_scene = scene
        return self._clock.now()

    def poll(self) -> list[Command]:
        """Commands from the keyboard and the window since the last call."""
        pg = self._pg
        out: list[Command] = []
        for ev in pg.event.get():
            cmd = None
            if ev.type == pg.QUIT:
                cmd = Command(CommandKind.CLOSE)
            elif ev.type == pg.KEYDOWN:
                cmd = key_to_command(pg, ev.key)
            if cmd is not None:
                out.append(Command(cmd.kind, cmd.value, self._clock.now()))
        return out

    def screenshot(self, path: str | os.PathLike) -> None:
        """Save what is on screen now as a PNG, readable by the owner only (camera screens show
        the patient)."""
        with atomic_path(path, make_dirs=True) as temp:
            self._pg.image.save(self._screen, str(temp))

    def close(self) -> None:
        self._pg.display.quit()

    # ----------------------------------------------------------- dispatch
    def _draw(self, scene: object) -> None:
        if isinstance(scene, sc.Overlay):
            self._draw(scene.under)
            self._draw_overlay(scene)
            return
        dim = isinstance(scene, sc.TextScene) and scene.dim
        self._screen.fill(C.DIM_BG if dim else C.BG)
        self.image_rect = None
        progress = getattr(scene, "progress", None)
        top = self._draw_progress(progress, dim) if progress else int(self.size[1] * 0.04)
        drawers = {
            sc.TextScene: self._draw_text,
            sc.VideoScene: self._draw_video,
            sc.CameraScene: self._draw_camera,
            sc.MirrorScene: self._draw_mirror,
            sc.RatingScene: self._draw_rating,
            sc.ResultScene: self._draw_result,
        }
        drawer = drawers.get(type(scene))
        if drawer is None:
            raise TypeError(f"no drawing for scene {type(scene).__name__}")
        drawer(scene, top)

    # ------------------------------------------------------------- pieces
    def _draw_progress(self, p: sc.Progress, dim: bool) -> int:
        """Top bar: "Step n of N  label" and a filled bar. Returns the y below it."""
        w, h = self.size
        pad = int(h * 0.025)
        font = self.fonts.get("small")
        label = f"Step {p.step} of {p.total}" + (f"   {p.label}" if p.label else "")
        colour = C.DIM_TEXT if dim else C.TEXT
        surf = font.render(fit_lines(self.fonts, label, ["small"], w - 2 * pad, 1)[1][0], True, colour)
        self._screen.blit(surf, (pad, pad))
        bar_y = pad + surf.get_height() + pad // 2
        bar_h = max(8, int(h * 0.014))
        pg = self._pg
        pg.draw.rect(self._screen, C.BAR_BG, (pad, bar_y, w - 2 * pad, bar_h), border_radius=bar_h // 2)
        done = p.fraction if p.total else 0.0
        if done > 0:
            fill = (C.DIM_TEXT if dim else C.ACCENT)
            pg.draw.rect(self._screen, fill, (pad, bar_y, int((w - 2 * pad) * done), bar_h),
                         border_radius=bar_h // 2)
        return bar_y + bar_h + pad

    def _blit_lines(self, lines, font, colour, y: int, centre: bool = True) -> int:
        return draw_lines(self._screen, lines, font, colour, y, self.size[0], centre)

    def _footer(self, text: str, dim: bool = False) -> int:
        """Draw the footer line at the bottom; returns its top y."""
        w, h = self.size
        if not text:
            return h - int(h * 0.03)
        font, lines = fit_lines(self.fonts, text, ["footer", "small"], int(w * 0.92), 2)
        y = h - int(h * 0.04) - len(lines) * font.get_linesize()
        self._blit_lines(lines, font, C.DIM_TEXT if dim else C.ACCENT, y)
        return y

    def _image_label(self, text: str, rect: tuple) -> None:
        """A small mark in the picture's bottom-left corner, drawn after any mirroring (so it
        reads the right way round), on a dark backdrop so it shows on any picture."""
        if not text:
            return
        surf = self.fonts.get("small").render(text, True, C.TEXT)
        pad = max(2, int(self.size[1] * 0.01))
        x, y = rect[0] + pad, rect[1] + rect[3] - pad - surf.get_height()
        backdrop = self._pg.Surface((surf.get_width() + 2 * pad, surf.get_height()),
                                    self._pg.SRCALPHA)
        backdrop.fill((0, 0, 0, 110))
        self._screen.blit(backdrop, (x - pad, y))
        self._screen.blit(surf, (x, y))

    def _seconds_badge(self, seconds_left: float | None) -> None:
        if seconds_left is None:
            return
        s = max(0, int(np.ceil(seconds_left)))
        txt = f"{s // 60}:{s % 60:02d}"
        surf = self.fonts.get("small").render(txt, True, C.TEXT)
        pad = int(self.size[1] * 0.025)
        self._screen.blit(surf, (self.size[0] - pad - surf.get_width(), pad))

    def _blit_image(self, image: np.ndarray, mirror: bool, area: tuple[int, int, int, int]) -> tuple:
        """Fit ``image`` (BGR) into ``area`` keeping its aspect ratio, centred. Returns the rect."""
        ax, ay, aw, ah = area
        ih, iw = image.shape[:2]
        scale = min(aw / iw, ah / ih)
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        shown = image if (w, h) == (iw, ih) else cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        if mirror:
            shown = cv2.flip(shown, 1)
        shown = np.ascontiguousarray(shown)
        surf = self._pg.image.frombuffer(shown.data, (w, h), "BGR")
        rect = (ax + (aw - w) // 2, ay + (ah - h) // 2, w, h)
        self._screen.blit(surf, rect[:2])
        self.image_rect = rect
        return rect

    def _image_area(self, top: int, caption_lines: int = 2) -> tuple[int, int, int, int]:
        """The region for an image: below ``top``, above room for the caption's lines."""
        w, h = self.size
        bottom = h - int(h * 0.04) - caption_lines * self.fonts.get("footer").get_linesize()
        return (int(w * 0.02), top, int(w * 0.96), max(10, bottom - top))

    def _caption(self, text: str, rect: tuple) -> None:
        """The caption under the image: one line at body size, else up to two smaller lines."""
        w, h = self.size
        font, lines = fit_lines(self.fonts, text, ["body"], int(w * 0.92), 1)
        if lines[-1].endswith("..."):
            font, lines = fit_lines(self.fonts, text, ["footer", "small"], int(w * 0.92), 2)
        self._blit_lines(lines, font, C.TEXT, rect[1] + rect[3] + int(h * 0.012))

    # ------------------------------------------------------------- scenes
    def _draw_text(self, s: sc.TextScene, top: int) -> None:
        w, h = self.size
        text_c = C.DIM_TEXT if s.dim else C.TEXT
        footer_y = self._footer(s.footer, s.dim)
        y = top + int(h * 0.03)
        font, lines = fit_lines(self.fonts, s.title, ["title", "heading", "body"], int(w * 0.9), 2)
        y = self._blit_lines(lines, font, C.ACCENT if not s.dim else text_c, y) + int(h * 0.03)
        if s.seconds_left is not None:  # the countdown, and what it counts under it
            left = max(0, int(np.ceil(s.seconds_left)))
            big = self.fonts.get("huge").render(str(left), True, text_c)
            unit = self.fonts.get("body").render("second" if left == 1 else "seconds", True,
                                                 text_c)
            unit_y = footer_y - unit.get_height() - int(h * 0.02)
            count_y = unit_y - big.get_height()
            self._screen.blit(big, ((w - big.get_width()) // 2, count_y))
            self._screen.blit(unit, ((w - unit.get_width()) // 2, unit_y))
            footer_y = count_y
        if s.body:
            max_lines = max(1, (footer_y - y) // self.fonts.get("small").get_linesize())
            font, lines = fit_lines(self.fonts, s.body, ["body", "footer", "small"], int(w * 0.86), max_lines)
            self._blit_lines(lines, font, text_c, y)

    def _draw_video(self, s: sc.VideoScene, top: int) -> None:
        rect = self._blit_image(s.image, s.mirror, self._image_area(top))
        self._image_label(s.label, rect)
        self._caption(s.caption, rect)
        self._seconds_badge(s.seconds_left)

    def _draw_mirror(self, s: sc.MirrorScene, top: int) -> None:
        rect = self._blit_image(mirror_view(s.image, s.mode, s.keep), False, self._image_area(top))
        self._caption(s.caption, rect)
        self._seconds_badge(s.seconds_left)

    def _draw_camera(self, s: sc.CameraScene, top: int) -> None:
        w, h = self.size
        side_w = int(w * 0.22)
        ax, ay, aw, ah = self._image_area(top)
        rect = self._blit_image(s.image, s.mirror, (ax, ay, aw - side_w, ah))
        if s.landmarks is not None:
            self._draw_skeleton(np.asarray(s.landmarks), rect, s.mirror)
        self._caption(s.caption, rect)
        self._seconds_badge(s.seconds_left)
        x = ax + aw - side_w + int(w * 0.02)
        y = ay + int(h * 0.02)
        if s.reps is not None:
            lbl = self.fonts.get("small").render(s.reps_label, True, C.TEXT)
            self._screen.blit(lbl, (x, y))
            y += lbl.get_height()
            reps = f"{s.reps}" + (f" / {s.target_reps}" if s.target_reps else "")
            font, lines = fit_lines(self.fonts, reps, ["huge", "title", "heading"], side_w - int(w * 0.02), 1)
            big = font.render(lines[0], True, C.ACCENT)
            self._screen.blit(big, (x, y))
        if s.hint:  # over the half of the image the hand is not in, so it never hides it
            hand_low = s.landmarks is not None and float(np.mean(np.asarray(s.landmarks)[:, 1])) > 0.5
            self._banner(s.hint, rect, at_top=hand_low)

    def _draw_skeleton(self, lm: np.ndarray, rect: tuple, mirror: bool) -> None:
        rx, ry, rw, rh = rect
        xs = (1.0 - lm[:, 0]) if mirror else lm[:, 0]
        pts = [(int(rx + x * rw), int(ry + y * rh)) for x, y in zip(xs, lm[:, 1], strict=True)]
        width = max(3, rh // 160)
        for a, b in HAND_CONNECTIONS:
            self._pg.draw.line(self._screen, C.BONE, pts[a], pts[b], width)
        for p in pts:
            self._pg.draw.circle(self._screen, C.JOINT, p, width + 2)

    def _banner(self, text: str, rect: tuple, at_top: bool = False) -> None:
        """A high-contrast black-on-yellow message across the lower part of the image (the
        upper part with ``at_top``)."""
        rx, ry, rw, rh = rect
        font, lines = fit_lines(self.fonts, text, ["body", "footer", "small"], int(rw * 0.9), 2)
        bh = len(lines) * font.get_linesize() + int(self.size[1] * 0.03)
        by = ry + int(rh * 0.05) if at_top else ry + rh - bh - int(rh * 0.05)
        self._pg.draw.rect(self._screen, C.WARN_BG, (rx + int(rw * 0.03), by, int(rw * 0.94), bh),
                           border_radius=12)
        draw_lines(self._screen, lines, font, C.WARN_TEXT, by + int(self.size[1] * 0.015),
                   self.size[0], True, centre_x=rx + rw // 2)

    def _draw_rating(self, s: sc.RatingScene, top: int) -> None:
        w, h = self.size
        self._footer(s.footer)
        font, lines = fit_lines(self.fonts, s.question, ["heading", "body"], int(w * 0.9), 3)
        y = self._blit_lines(lines, font, C.TEXT, top + int(h * 0.06)) + int(h * 0.08)
        first, last = rating_window(s.lo, s.hi, s.selected)
        n = last - first + 1
        gap = int(w * 0.01)
        box = min(int(h * 0.16), (int(w * 0.92) - gap * (n - 1)) // n)
        x0 = (w - (n * box + (n - 1) * gap)) // 2
        num_font = self.fonts.get("heading")
        fit = fit_lines(self.fonts, str(last), ["heading", "body", "footer", "small"], box, 1)[0]
        num_font = fit if num_font.size(str(last))[0] > box else num_font
        for i, value in enumerate(range(first, last + 1)):
            x = x0 + i * (box + gap)
            selected = value == s.selected
            self._pg.draw.rect(self._screen, C.ACCENT if selected else C.BOX, (x, y, box, box),
                               border_radius=10)
            if selected:
                self._pg.draw.rect(self._screen, C.TEXT, (x - 4, y - 4, box + 8, box + 8), 4,
                                   border_radius=12)
            num = num_font.render(str(value), True, C.BG if selected else C.TEXT)
            self._screen.blit(num, (x + (box - num.get_width()) // 2, y + (box - num.get_height()) // 2))
        self._draw_anchors(s, first, last, (x0, box, gap), y + box + int(h * 0.02))

    def _draw_anchors(self, s: sc.RatingScene, first: int, last: int, boxes: tuple, y: int) -> None:
        """Anchor labels under their boxes, wrapped to a column wide enough not to collide."""
        x0, box, gap = boxes
        keys = sorted(k for k in (s.anchors or {}) if first <= k <= last)[:MAX_CHOICES_SHOWN]
        if not keys:
            return
        spacing = [b - a for a, b in zip(keys, keys[1:], strict=False)] or [last - first + 1]
        col_w = max(box * 2, min(spacing) * (box + gap) - gap)
        for value in keys:
            cx = x0 + (value - first) * (box + gap) + box // 2
            font, lines = fit_lines(self.fonts, s.anchors[value], ["footer", "small"], col_w, 3)
            half = max(font.size(ln)[0] for ln in lines) // 2
            margin = int(self.size[0] * 0.03)
            cx = min(max(cx, margin + half), self.size[0] - margin - half)
            colour = C.ACCENT if value == s.selected else C.TEXT
            draw_lines(self._screen, lines, font, colour, y, self.size[0], True, centre_x=cx)

    def _draw_result(self, s: sc.ResultScene, top: int) -> None:
        w, h = self.size
        footer_y = self._footer(s.footer)
        font, lines = fit_lines(self.fonts, s.title, ["title", "heading"], int(w * 0.9), 2)
        y = self._blit_lines(lines, font, C.ACCENT, top + int(h * 0.03)) + int(h * 0.03)
        font, wrapped = self.result_text(s.lines, max(1, footer_y - y))
        for lines in wrapped:
            y = self._blit_lines(lines, font, C.TEXT, y)

    def result_text(self, lines: tuple[str, ...], room_px: int) -> tuple[Any, list[list[str]]]:
        """(font, wrapped lines) of a result's sentence: heading size (>= 36 px from a 600 px
        screen up) when it fits in ``room_px``; the sentence is short by design, so body size
        is only the fallback for a long custom text."""
        w = self.size[0]
        for size in ("heading", "body"):
            font = self.fonts.get(size)
            wrapped = [fit_lines(self.fonts, ln, [size], int(w * 0.9), 3)[1] for ln in lines]
            if sum(map(len, wrapped)) * font.get_linesize() <= room_px:
                break
        return font, wrapped

    def _draw_overlay(self, o: sc.Overlay) -> None:
        w, h = self.size
        pg = self._pg
        shade = pg.Surface((w, h), pg.SRCALPHA)
        shade.fill((0, 0, 0, 200))
        self._screen.blit(shade, (0, 0))
        bw, bh = int(w * 0.8), int(h * 0.6)
        bx, by = (w - bw) // 2, (h - bh) // 2
        pg.draw.rect(self._screen, C.PANEL, (bx, by, bw, bh), border_radius=18)
        pg.draw.rect(self._screen, C.ACCENT, (bx, by, bw, bh), 4, border_radius=18)
        font, lines = fit_lines(self.fonts, o.title, ["title", "heading"], int(bw * 0.9), 2)
        y = self._blit_lines(lines, font, C.ACCENT, by + int(bh * 0.08)) + int(h * 0.03)
        if o.footer:
            f_font, f_lines = fit_lines(self.fonts, o.footer, ["body", "footer", "small"], int(bw * 0.9), 2)
            f_y = by + bh - int(bh * 0.08) - len(f_lines) * f_font.get_linesize()
            self._blit_lines(f_lines, f_font, C.ACCENT, f_y)
        else:
            f_y = by + bh
        if o.body:
            max_lines = max(1, (f_y - y) // self.fonts.get("small").get_linesize())
            b_font, b_lines = fit_lines(self.fonts, o.body, ["body", "footer", "small"], int(bw * 0.9),
                                        max_lines)
            self._blit_lines(b_lines, b_font, C.TEXT, y)


def rating_window(lo: int, hi: int, selected: int | None) -> tuple[int, int]:
    """The answers drawn as boxes: all of them, or ``MAX_CHOICES_SHOWN`` around the selected one
    when a scale has more (validation refuses such scales; a screen still never draws O(range)).

    Example:
        >>> rating_window(0, 10, 3)
        (0, 10)
        >>> rating_window(0, 10**12, 10**9)
        (999999990, 1000000010)
    """
    if hi - lo + 1 <= MAX_CHOICES_SHOWN:
        return lo, hi
    centre = lo if selected is None else min(max(selected, lo), hi)
    first = max(lo, centre - MAX_CHOICES_SHOWN // 2)
    last = min(hi, first + MAX_CHOICES_SHOWN - 1)
    return last - MAX_CHOICES_SHOWN + 1, last


def key_to_command(pg, key: int) -> Command | None:
    """The command a key stands for, or None for keys that mean nothing here."""
    simple = {
        pg.K_SPACE: CommandKind.CONTINUE,
        pg.K_RETURN: CommandKind.CONTINUE,
        pg.K_KP_ENTER: CommandKind.CONTINUE,
        pg.K_p: CommandKind.PAUSE,
        pg.K_ESCAPE: CommandKind.QUIT,
        pg.K_y: CommandKind.YES,
        pg.K_n: CommandKind.NO,
        pg.K_F8: CommandKind.SKIP,
        pg.K_UP: CommandKind.UP,
        pg.K_DOWN: CommandKind.DOWN,
        pg.K_LEFT: CommandKind.LEFT,
        pg.K_RIGHT: CommandKind.RIGHT,
    }
    if key in simple:
        return Command(simple[key])
    if pg.K_0 <= key <= pg.K_9:
        return Command(CommandKind.NUMBER, key - pg.K_0)
    # SDL numbers the keypad 1..9 then 0, so map each key explicitly.
    keypad = [pg.K_KP0, pg.K_KP1, pg.K_KP2, pg.K_KP3, pg.K_KP4, pg.K_KP5, pg.K_KP6, pg.K_KP7,
              pg.K_KP8, pg.K_KP9]
    if key in keypad:
        return Command(CommandKind.NUMBER, keypad.index(key))
    return None
