"""Scoring: tracked hand landmarks -> filtered signals -> clinical metrics -> trial scores (numpy only).

Where things are::

    rehab.scoring.trial.score_trial(frames, task, hand, reference=None) -> TrialScore
    rehab.scoring.live.LiveScorer(task, hand).update(tracked_frame) -> LiveState
        (the counter score_trial runs, fed one frame at a time)
    rehab.scoring.reference.Reference.from_frames(frames, hand) / .load(path) / .save(path)
    rehab.scoring.smoothness.sparc(speed, fs), ldlj(speed, fs)

The package imports nothing itself: the task registry (``rehab.tasks``) is built from these
modules' building blocks (signals, detectors, metrics), and ``trial``/``live`` read the
registry, so importing either side first works.
"""
