"""Scoring: tracked hand landmarks -> filtered signals -> clinical metrics -> trial scores (numpy only).

Public API::

    score_trial(frames, task, hand, reference=None) -> TrialScore
    LiveScorer(task, hand).update(tracked_frame) -> LiveState
    Reference.from_frames(frames, hand) / Reference.load(path) / .save(path)
    sparc(speed, fs), ldlj(speed, fs)
"""

from rehab.scoring.live import LiveScorer, LiveState
from rehab.scoring.reference import Reference
from rehab.scoring.smoothness import ldlj, sparc
from rehab.scoring.trial import TrialScore, score_trial

__all__ = ["LiveScorer", "LiveState", "Reference", "TrialScore", "ldlj", "score_trial",
           "sparc"]
