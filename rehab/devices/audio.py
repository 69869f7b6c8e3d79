"""Audio cues: short synthesised tones played through pygame's mixer.

Cues are generated with numpy at start-up (no sound files to ship or lose). When the machine has
no audio device the cues become silent, the problem is reported once, and the session goes on:
sound helps but a session must never fail for lack of it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

SAMPLE_RATE_HZ = 44100

# name -> list of (frequency_hz, duration_s); 0 Hz is a silence. Rising = start, falling = stop.
CUES: dict[str, list[tuple[float, float]]] = {
    "start": [(660.0, 0.12), (0.0, 0.03), (880.0, 0.18)],
    "stop": [(880.0, 0.12), (0.0, 0.03), (587.0, 0.22)],
    "step": [(740.0, 0.10)],
    "done": [(523.0, 0.12), (659.0, 0.12), (784.0, 0.24)],
    "warning": [(440.0, 0.18), (0.0, 0.08), (440.0, 0.18)],
    "tick": [(1000.0, 0.04)],
}


def tone(parts: list[tuple[float, float]], volume: float = 0.4) -> np.ndarray:
    """Mono int16 samples for a sequence of (frequency_hz, duration_s) notes.

    Each note has 10 ms raised-cosine edges so it starts and stops without a click.
    """
    chunks = []
    for freq_hz, duration_s in parts:
        n = int(SAMPLE_RATE_HZ * duration_s)
        t = np.arange(n) / SAMPLE_RATE_HZ
        wave = np.sin(2 * np.pi * freq_hz * t) if freq_hz > 0 else np.zeros(n)
        edge = min(n // 2, int(0.01 * SAMPLE_RATE_HZ))
        if edge > 0:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
            wave[:edge] *= ramp
            wave[-edge:] *= ramp[::-1]
        chunks.append(wave)
    samples = np.concatenate(chunks) if chunks else np.zeros(1)
    return (samples * volume * 32767).astype(np.int16)


class PygameAudio:
    """Plays the named cues; silent (but still recording what was asked) without a device.

    Attributes:
        played: cue names asked for, in order (like ``SilentAudio``).
        available: False when there is no audio device.
        problem: why audio is unavailable, or None.
    """

    def __init__(self, report: Callable[[str], None] | None = None, volume: float = 0.4) -> None:
        self.played: list[str] = []
        self.problem: str | None = None
        self._sounds: dict[str, object] = {}
        self._report = report or (lambda msg: print(msg, file=sys.stderr))
        try:
            self._open(volume)
        except Exception as exc:  # noqa: BLE001 - any mixer failure means "no sound", never a crash
            self._fail(f"no audio device ({exc}); cues will be silent")

    @property
    def available(self) -> bool:
        return self.problem is None

    def _open(self, volume: float) -> None:
        import pygame
        import pygame.sndarray

        if not pygame.mixer.get_init():
            pygame.mixer.init(frequency=SAMPLE_RATE_HZ, size=-16, channels=2)
        _, _, channels = pygame.mixer.get_init()
        for name, parts in CUES.items():
            mono = tone(parts, volume)
            data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
            self._sounds[name] = pygame.sndarray.make_sound(np.ascontiguousarray(data))

    def _fail(self, message: str) -> None:
        if self.problem is None:
            self.problem = message
            self._report(f"note: {message}")
        self._sounds.clear()

    def cue(self, name: str) -> None:
        self.played.append(name)
        sound = self._sounds.get(name)
        if sound is None:
            return
        try:
            sound.play()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - a device unplugged mid-session
            self._fail(f"audio stopped working ({exc}); cues will be silent")

    def close(self) -> None:
        try:
            import pygame

            if pygame.mixer.get_init():
                pygame.mixer.quit()
        except Exception:  # noqa: BLE001 - closing must not raise
            pass
