"""Validity of a trial: can its numbers be trusted, and if not, why (stated in every score).

Reasons make a trial invalid (``valid`` False); warnings are reported but leave it valid:

- reason: the hand was tracked in under ``MIN_TRACKED`` of the frames;
- reason: under ``MIN_FRAMES_PER_CYCLE`` tracked frames per cycle at the faster of the measured
  rate of the fastest cycles and the task's expected rate (15.9 fps cannot follow 4 Hz tapping);
- reason: over ``MAX_UNRELIABLE`` of the tracked frames unreliable (hand edge-on, too small,
  low confidence: ``signals.reliable``), so events may have been missed;
- warning: a second hand in over ``SECOND_HAND_WARN`` of the frames (the scored one is named);
- warning: a joint's range beyond its anatomical limit (the ROM is then a tracking artefact;
  the joints are listed in ``rom_exceeded`` and the ROM entry is flagged).
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_TRACKED = 0.5
MIN_FRAMES_PER_CYCLE = 4.0
MAX_UNRELIABLE = 0.3
SECOND_HAND_WARN = 0.1
# Largest active flexion a joint can reach (degrees, AAOS norms rounded up) + 10 deg tolerance.
ROM_LIMIT_DEG = {"thumb_mcp": 70, "thumb_ip": 90, "mcp": 100, "pip": 115, "dip": 90}
ROM_TOLERANCE_DEG = 10.0


def rom_limit(joint: str) -> float:
    """Anatomical flexion limit of a ``angles.JOINTS`` name, degrees (with the tolerance)."""
    key = joint if joint.startswith("thumb") else joint.split("_")[1]
    return ROM_LIMIT_DEG[key] + ROM_TOLERANCE_DEG


def flag_rom(rom: dict[str, dict[str, Any]]) -> list[str]:
    """Mark each ROM entry with ``exceeds_limit`` and return the joints beyond their limit."""
    out = []
    for joint, entry in rom.items():
        hi = entry.get("max_deg")
        entry["limit_deg"] = rom_limit(joint)
        entry["exceeds_limit"] = hi is not None and hi > rom_limit(joint)
        if entry["exceeds_limit"]:
            out.append(joint)
    return out


def validity(arrays: dict[str, np.ndarray], side: str, hands_seen: dict[str, int],
             rate_hz: float | None, expected_hz: float | None,
             rom_exceeded: list[str]) -> dict[str, Any]:
    """The validity block of a score (see the module doc) from ``TrialCounter.arrays()``."""
    t, seen, ok = arrays["t"], arrays["seen"].astype(bool), arrays["ok"].astype(bool)
    n, tracked = len(t), int(seen.sum())
    span = float(t[seen][-1] - t[seen][0]) if tracked >= 2 else 0.0
    fps = (tracked - 1) / span if span > 0 else None
    unreliable = float(np.mean(~ok[seen])) if tracked else 1.0
    rates = [r for r in (rate_hz, expected_hz) if r]
    per_cycle = fps / max(rates) if fps and rates else None
    other = "left" if side == "right" else "right"
    second = int(np.sum(arrays["other_hand"]))
    reasons, warnings = [], []
    if n == 0 or tracked / n < MIN_TRACKED:
        reasons.append(f"the {side} hand was tracked in only {tracked} of {n} frames")
    if per_cycle is not None and per_cycle < MIN_FRAMES_PER_CYCLE:
        reasons.append(f"{fps:.1f} tracked frames/s is {per_cycle:.1f} frames per cycle at "
                       f"{max(rates):.1f} Hz (at least {MIN_FRAMES_PER_CYCLE:.0f} needed)")
    if tracked and unreliable > MAX_UNRELIABLE:
        reasons.append(f"{100 * unreliable:.0f} % of the tracked frames were unreliable "
                       "(hand edge-on, too small or uncertain)")
    if n and second / n > SECOND_HAND_WARN:
        warnings.append(f"a second hand ({other}) was in {second} of {n} frames; "
                        f"the {side} hand was scored")
    if rom_exceeded:
        warnings.append("range of motion beyond anatomical limits (tracking artefact): "
                        + ", ".join(rom_exceeded))
    return {"valid": not reasons, "reasons": reasons, "warnings": warnings,
            "frames": n, "frames_tracked": tracked,
            "effective_fps": None if fps is None else round(fps, 2),
            "frames_per_cycle": None if per_cycle is None else round(per_cycle, 2),
            "unreliable_fraction": round(unreliable, 4),
            "hands_seen": hands_seen, "scored_hand": side, "second_hand_frames": second,
            "rom_exceeded": rom_exceeded}
