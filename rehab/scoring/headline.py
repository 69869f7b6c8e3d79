"""Result-screen lines (label, formatted value) for a TrialScore, headline numbers first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rehab.scoring.trial import TrialScore


# The to_dict() keys each task's result leads with (for reports and exports to pick columns).
HEADLINE_KEYS: dict[str, list[str]] = {
    "open_close": ["repetitions", "openings", "closings", "opening_range"],
    "finger_tap": ["taps", "rate_hz", "amplitude", "amplitude_decrement", "hesitations",
                   "slowing"],
    "opposition": ["repetitions", "fingers_reached"],
    "reach_grasp": ["movement_time_s", "peak_speed_hand_sizes_per_s", "time_to_peak_aperture_s"],
    "free": ["tracked_fraction"],
}


def _fmt(value: Any, fmt: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{fmt}}{unit}"


def headline(score: TrialScore) -> list[tuple[str, str]]:
    """Lines for ``score``: the task's main numbers, then similarity and tracking."""
    m = score.metrics
    lines: list[tuple[str, str]] = []
    if score.task == "open_close":
        lines += [("Open-close cycles", str(score.repetitions)),
                  ("Openings", str(m.get("openings", 0))),
                  ("Closings", str(m.get("closings", 0))),
                  ("Opening range", _fmt(m.get("opening_range"), ".2f", " hand lengths"))]
    elif score.task == "finger_tap":
        dec = m.get("amplitude_decrement")
        lines += [("Taps", str(m.get("taps", 0))), ("Rate", _fmt(m.get("rate_hz"), ".1f", " per s")),
                  ("Amplitude", _fmt(m.get("amplitude"), ".2f", " hand lengths")),
                  ("Amplitude loss", _fmt(_pct(dec), ".0f", " %")),
                  ("Hesitations", str(m.get("hesitations", 0))),
                  ("Slowing", _fmt(_pct(m.get("slowing")), ".0f", " %"))]
    elif score.task == "opposition":
        reached = m.get("fingers_reached") or []
        lines += [("Touches", str(score.repetitions)),
                  ("Fingers reached", ", ".join(reached) if reached else "none")]
    elif score.task == "reach_grasp":
        lines += [("Movement time", _fmt(m.get("movement_time_s"), ".2f", " s")),
                  ("Peak speed", _fmt(m.get("peak_speed_hand_sizes_per_s"), ".1f", " hand lengths/s")),
                  ("Time to widest grip", _fmt(m.get("time_to_peak_aperture_s"), ".2f", " s"))]
    else:
        ranges = sorted(((v.get("range_deg") or 0.0, k) for k, v in score.rom.items()), reverse=True)
        lines += [(f"{k.replace('_', ' ').capitalize()} range", f"{r:.0f} deg") for r, k in ranges[:3]]
    sim = score.similarity
    if sim and sim.get("score") is not None:
        lines.append(("Match to demonstration", f"{sim['score']:.0f} / 100"))
        if sim.get("tempo_ratio"):
            lines.append(("Tempo vs demonstration", f"{sim['tempo_ratio']:.2f} x duration"))
    lines.append(("Hand tracked", f"{100 * score.tracked_fraction:.0f} % of frames"))
    return lines


def validity_lines(score: TrialScore) -> list[tuple[str, str]]:
    """(label, text) lines for a clinician: valid or not and why, hands seen, warnings."""
    v = score.validity
    if not v:
        return []
    seen = v.get("hands_seen") or {}
    lines = [("Valid", "yes" if v.get("valid") else "NO: " + "; ".join(v.get("reasons", []))),
             ("Hands seen", ", ".join(f"{side} in {n} frames" for side, n in seen.items() if n)
              + f" ({score.hand} scored)")]
    if v.get("effective_fps") is not None:
        lines.append(("Frame rate", f"{v['effective_fps']:.1f} tracked frames/s"))
    lines.append(("Unreliable frames", f"{100 * v.get('unreliable_fraction', 0):.0f} %"))
    lines += [("Warning", w) for w in v.get("warnings", [])]
    return lines


def _pct(v: float | None) -> float | None:
    return None if v is None else 100.0 * v
