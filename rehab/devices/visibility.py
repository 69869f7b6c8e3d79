"""Can anybody see the session window? SDL's headless video drivers draw nowhere.

``rehab run/demo/home`` refuse to start on them unless ``--autopilot`` answers every screen
(else a patient-less session would wait for SPACE forever); ``rehab doctor`` says the same.
"""

from __future__ import annotations

import os

from rehab.errors import RehabError

HEADLESS_DRIVERS = ("dummy", "offscreen")
HEADLESS_HINT = (
    "run it from the desktop session (with DISPLAY or WAYLAND_DISPLAY set, SDL_VIDEODRIVER "
    "unset); to run without a screen (a test, CI, a server) add --autopilot, with --fast for "
    "simulated time, e.g. SDL_VIDEODRIVER=dummy rehab demo --autopilot --fast --camera FILE.mp4"
)


def video_driver() -> str | None:
    """The SDL video driver this environment gets, or None when SDL video cannot start."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from rehab.devices.quiet import quiet_native_stderr

    was_up = pygame.display.get_init()
    try:
        with quiet_native_stderr():
            pygame.display.init()
        return str(pygame.display.get_driver())
    except pygame.error:
        return None  # the display itself reports why when it opens
    finally:
        if not was_up:
            pygame.display.quit()


def unseen_reason(driver: str | None) -> str | None:
    """Why nobody would see the window on ``driver``, or None when it is a real screen."""
    if driver not in HEADLESS_DRIVERS:
        return None
    why = ("SDL_VIDEODRIVER is set to it" if os.environ.get("SDL_VIDEODRIVER") == driver
           else "no desktop display was found")
    return f"SDL video driver '{driver}' ({why}): nobody can see the session window"


def require_visible(autopilot: bool, driver: str | None = None) -> None:
    """Raise RehabError (saying how to run headless) when the window would be invisible and
    nobody answers the screens (no ``--autopilot``)."""
    if autopilot:
        return
    reason = unseen_reason(driver if driver is not None else video_driver())
    if reason is not None:
        raise RehabError(f"the session cannot start: {reason}", hint=HEADLESS_HINT)
