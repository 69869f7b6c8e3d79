"""The default scoring seam over ``rehab.scoring`` (tests inject a fake), and safe scoring."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from rehab.devices.base import TrackedFrame
from rehab.engine.types import LiveScorer, Scoring, TrialScore
from rehab.errors import RehabError, ScoringError


class RehabScoring:
    """The real scoring: ``rehab.scoring``'s live scorer, ``score_trial`` and references.

    The scorer and live counter are imported on first use (the task registry the protocol
    needs already brings their building blocks: numpy and the scipy filters).
    """

    def live(self, task: str, hand: str) -> LiveScorer:
        from rehab.scoring.live import LiveScorer as RealLiveScorer

        return RealLiveScorer(task, hand)

    def score(self, frames: Sequence[TrackedFrame], task: str, hand: str,
              reference: object | None) -> TrialScore:
        from rehab.scoring.reference import Reference
        from rehab.scoring.trial import score_trial

        # the engine passes back what load_reference returned: a Reference or None
        return score_trial(frames, task, hand, cast("Reference | None", reference))

    def load_reference(self, path: Path) -> object | None:
        from rehab.scoring.reference import Reference

        return Reference.load(path)


def check_available() -> str | None:
    """None when ``rehab.scoring`` can be imported, else what is missing (numpy, scipy)."""
    try:
        import rehab.scoring.live  # noqa: F401
        import rehab.scoring.trial  # noqa: F401
    except ImportError as exc:
        return f"the scoring module is not available ({exc})"
    return None


def safe_score(scoring: Scoring, frames: Sequence[TrackedFrame], task: str, hand: str,
               reference: object | None) -> tuple[dict[str, Any], str | None]:
    """Score a trial; a trial that cannot be scored still gives a dict (with ``error``).

    Returns:
        (score dict, error message or None). The patient's screen words come from the task
        registry (``rehab.tasks.patient_line``), not from the scorer.
    """
    try:
        return scoring.score(frames, task, hand, reference).to_dict(), None
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
        return fallback, exc.message
