"""Drawing helpers for the pygame display: colours, font sizes, text fitting, hand skeleton."""

from __future__ import annotations

# MediaPipe's 21-point hand topology (wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16;
# pinky 17-20), copied here so drawing a hand does not import mediapipe.
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)


class Colours:
    """High contrast for low vision: white and yellow on near-black (contrast > 15:1)."""

    BG = (12, 14, 20)
    DIM_BG = (0, 0, 0)
    TEXT = (255, 255, 255)
    DIM_TEXT = (110, 110, 120)
    ACCENT = (255, 214, 10)  # yellow: titles, the selected rating, the key to press
    BAR_BG = (60, 64, 76)
    BOX = (48, 52, 66)
    PANEL = (28, 32, 44)
    WARN_BG = (255, 214, 10)
    WARN_TEXT = (0, 0, 0)
    BONE = (0, 230, 120)
    JOINT = (255, 255, 255)


# Font sizes as a fraction of the screen height (720 px -> title 58 px, body 40 px, footer 32 px).
SIZES = {"huge": 0.24, "title": 0.08, "heading": 0.066, "body": 0.056, "footer": 0.045, "small": 0.037}


class Fonts:
    """DejaVu Sans (bold for titles) at sizes relative to the screen height, cached."""

    def __init__(self, pg, screen_h: int) -> None:
        self._pg = pg
        self._h = screen_h
        self._cache: dict[str, object] = {}
        self._regular = pg.font.match_font("dejavusans")
        self._bold = pg.font.match_font("dejavusans", bold=True) or self._regular

    def get(self, name: str):
        if name not in self._cache:
            px = max(12, int(SIZES[name] * self._h))
            path = self._bold if name in ("huge", "title", "heading") else self._regular
            self._cache[name] = self._pg.font.Font(path, px)  # None path = pygame's own font
        return self._cache[name]


# However long a text a scene carries, the screens look at no more than this much of it.
MAX_SHOWN_CHARS = 4000


def clean(text: str) -> str:
    """``text`` as pygame can render it: control characters (NUL makes pygame raise) become
    spaces, lone surrogates U+FFFD, and anything past ``MAX_SHOWN_CHARS`` is cut with "..."."""
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + "..."
    if text.isprintable():
        return text
    return "".join(_shown_char(ch) for ch in text)


def _shown_char(ch: str) -> str:
    if ch == "\n" or ch.isprintable():
        return ch
    return "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else " "


def _longest_prefix(text: str, font, max_w: int, mark: str = "") -> int:
    """How many characters of ``text`` (plus ``mark``) fit ``max_w``: a bisection, so a
    100,000-letter word costs ~17 measurements, not 100,000."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.size(text[:mid] + mark)[0] <= max_w:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _pieces(word: str, font, max_w: int) -> list[str]:
    """A word wider than the line cut into pieces that fit (at least one letter each)."""
    out = []
    while word and font.size(word)[0] > max_w:
        n = max(1, _longest_prefix(word, font, max_w))
        out.append(word[:n])
        word = word[n:]
    return out + [word] if word else out


def wrap(text: str, font, max_w: int) -> list[str]:
    """Word-wrap ``text`` (keeping its own line breaks) to lines no wider than ``max_w``;
    a word wider than a line is broken across lines."""
    out: list[str] = []
    # rstrip: YAML's folded text (">") ends in a newline, which must not cost a line
    for para in clean(text).rstrip().split("\n"):
        line = ""
        for word in para.split(" "):
            pieces = _pieces(word, font, max_w) if font.size(word)[0] > max_w else [word]
            for piece in pieces:
                trial = f"{line} {piece}" if line else piece
                if font.size(trial)[0] <= max_w or not line:
                    line = trial
                else:
                    out.append(line)
                    line = piece
        out.append(line)
    return out


def fit_lines(fonts: Fonts, text: str, sizes: list[str], max_w: int, max_lines: int):
    """The largest font of ``sizes`` at which ``text`` wraps into at most ``max_lines`` lines.

    At the smallest size the lines are cut and the last one ends in "..." rather than overflow.
    """
    for name in sizes:
        font = fonts.get(name)
        lines = wrap(text, font, max_w)
        if len(lines) <= max_lines and all(font.size(ln)[0] <= max_w for ln in lines):
            return font, lines
    cut = len(lines) > max_lines
    lines = lines[:max_lines]
    for i, line in enumerate(lines):
        ends = cut and i == len(lines) - 1
        if font.size(line + ("..." if ends else ""))[0] > max_w:
            line, ends = line[: _longest_prefix(line, font, max_w, "...")], True
        lines[i] = line + ("..." if ends else "")
    return font, lines


def draw_lines(screen, lines, font, colour, y: int, screen_w: int, centre: bool = True,
               centre_x: int | None = None) -> int:
    """Blit ``lines`` from ``y`` down (centred on ``centre_x`` or the screen); returns the y below."""
    cx = screen_w // 2 if centre_x is None else centre_x
    for line in lines:
        surf = font.render(clean(line), True, colour)
        x = cx - surf.get_width() // 2 if centre else int(screen_w * 0.05)
        screen.blit(surf, (x, y))
        y += font.get_linesize()
    return y
