"""The default scoring seam: ``rehab.scoring`` imported on first use (tests inject a fake)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rehab.devices.base import TrackedFrame
from rehab.errors import RehabError, ScoringError


def _scoring_attr(name: str, module: str) -> Any:
    """``rehab.scoring.NAME``, or from its own module when the package does not re-export it."""
    import importlib

    package = importlib.import_module("rehab.scoring")
    if hasattr(package, name):
        return getattr(package, name)
    return getattr(importlib.import_module(f"rehab.scoring.{module}"), name)


class RehabScoring:
    """Wraps ``rehab.scoring.LiveScorer``, ``score_trial`` and ``Reference.load``."""

    def live(self, task: str, hand: str) -> Any:
        return _scoring_attr("LiveScorer", "live")(task, hand)

    def score(
        self, frames: Sequence[TrackedFrame], task: str, hand: str, reference: object | None
    ) -> Any:
        return _scoring_attr("score_trial", "trial")(frames, task, hand, reference)

    def load_reference(self, path: Path) -> object | None:
        from rehab.scoring.reference import Reference

        return Reference.load(path)


def check_available() -> str | None:
    """None when ``rehab.scoring`` provides what the engine needs, else what is missing."""
    try:
        _scoring_attr("LiveScorer", "live")
        _scoring_attr("score_trial", "trial")
    except (ImportError, AttributeError) as exc:
        return f"the scoring module is not available ({exc})"
    return None


def safe_score(scoring: Any, frames: Sequence[TrackedFrame], task: str, hand: str,
               reference: object | None) -> tuple[dict[str, Any], list[tuple[str, str]], str | None]:
    """Score a trial; a trial that cannot be scored still gives a dict (with ``error``).

    Returns:
        (score dict, headline lines, error message or None).
    """
    try:
        score = scoring.score(frames, task, hand, reference)
        return score.to_dict(), list(score.headline()), None
    except (ScoringError, RehabError) as exc:
        seen = sum(1 for f in frames if f.hand(hand) is not None)
        fallback = {
            "task": task,
            "hand": hand,
            "frames": len(frames),
            "tracked_fraction": (seen / len(frames)) if frames else 0.0,
            "repetitions": 0,
            "error": exc.message,
        }
        return fallback, [], exc.message
