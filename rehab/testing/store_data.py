"""Session data for tests, demos and benchmarks, scored by the real scorer (no camera needed).

Every trial score here is what ``score_trial`` writes for a synthetic hand (``rehab.synth``)
doing the task, so a generated store has exactly the columns a real session's export has.
``hand_frames`` makes a plausible opening/closing hand; ``real_score`` a score dict for a task
at a level of progress; ``bulk_populate`` writes many sessions in one transaction (fast).
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa

from rehab import synth
from rehab.devices.base import TrackedFrame
from rehab.engine.writer import SessionInfo
from rehab.store import queries, schema
from rehab.store.writer import to_json
from rehab.tasks import TASK_NAMES, TASKS

FAKE_PROTOCOL_YAML = """name: fake home session
description: synthetic protocol for tests
steps:
  - rate: {ratings: [{scale: pain}, {scale: fatigue}]}
  - execute: {task: open_close, target_reps: 5}
  - execute: {task: finger_tap, duration_s: 10}
  - rate: {ratings: [{scale: pain}, {scale: fatigue}]}
"""
# Share of trials the hand never came into view for (stored with the scorer's error, as the
# engine keeps them): real sessions have some, and their ``error`` column.
UNSCORABLE_SHARE = 0.02
FAKE_SHA = hashlib.sha256(FAKE_PROTOCOL_YAML.encode()).hexdigest()
LEVELS = 4  # steps of progress a generated patient goes through (0 = first weeks): each
# task's registry ``example`` at levels 0..LEVELS-1, more, faster and bigger with practice

def hand_frames(n: int, hand: str = "right", fps: float = 30.0, dropped_every: int = 0,
                seed: int = 0) -> list[TrackedFrame]:
    """``n`` frames of a synthetic hand opening and closing at 0.5 Hz, a light tracker-like
    noise, and every ``dropped_every``-th frame without the hand."""
    options = synth.FrameOptions(noise_px=0.5, seed=seed)
    frames = synth.open_close(max(1, int(n / fps / 2) + 1), 0.5, fps=fps, hand=hand,
                              options=options, rest_s=0.0)[:n]
    if dropped_every:
        frames = [TrackedFrame(t=f.t, frame_index=f.frame_index, hands=())
                  if i % dropped_every == dropped_every - 1 else f for i, f in enumerate(frames)]
    return frames


@cache
def _scored(task: str, level: int, hand: str) -> str:
    """JSON of the real score of ``task`` at ``level`` for ``hand``, with a demonstration (the
    level-0 movement) so similarity is filled in as in a protocol that names one."""
    from rehab.scoring.reference import Reference
    from rehab.scoring.trial import score_trial

    make = TASKS[task].example
    reference = Reference.from_frames(make(LEVELS - 1, "right"), "right")
    return to_json(score_trial(make(level, hand), task, hand, reference).to_dict())


@cache
def _unscorable(task: str, hand: str) -> str:
    """JSON of what a trial the hand never came into view for stores: the engine's own
    ``safe_score`` over the real scorer, which keeps the trial with the scorer's ``error``."""
    from rehab.engine.scoring_seam import RehabScoring, safe_score

    frames = [TrackedFrame(t=f.t, frame_index=f.frame_index, hands=())
              for f in TASKS[task].example(0, hand)]
    return to_json(safe_score(RehabScoring(), frames, task, hand, None)[0])


@cache
def _decoded(text: str) -> dict[str, Any]:
    """A stored score's dict, decoded once per distinct text (shared: read it, never change it)."""
    return json.loads(text)


def _level(rng: random.Random, progress: float) -> int:
    """The progress level at ``progress`` (0..1) of a programme, drawn around it so sessions
    differ."""
    return min(LEVELS - 1, max(0, round(progress * (LEVELS - 1) + rng.uniform(-0.6, 0.6))))


def real_score(task: str, hand: str, rng: random.Random, progress: float = 0.0) -> dict[str, Any]:
    """The real scorer's dict (a fresh copy) for ``task`` at ``progress`` of a programme."""
    return json.loads(_scored(task, _level(rng, progress), hand))


def fake_info(patient_id: str = "P001", affected_side: str = "left", total_steps: int = 4,
              resumed_from: str | None = None, start_step: int = 0) -> SessionInfo:
    return SessionInfo(
        patient_id=patient_id, protocol_name="fake home session",
        protocol_yaml=FAKE_PROTOCOL_YAML, protocol_sha256=FAKE_SHA,
        protocol_path="protocols/fake.yaml", affected_side=affected_side,
        total_steps=total_steps, resumed_from=resumed_from, start_step=start_step,
    )


def bulk_populate(engine: sa.Engine, patient_id: str, n_sessions: int, trials_per_session: int,
                  seed: int = 0, start: datetime | None = None) -> None:
    """Write ``n_sessions`` completed sessions (trials scored by the real scorer, steps, ratings,
    events; no frames) in one transaction with executemany - the benchmarks' generator."""
    rng = random.Random(seed)
    start = start or datetime(2025, 1, 6, 9, 0)
    rows: dict[str, list[dict]] = {k: [] for k in ("sessions", "steps", "trials", "ratings", "events")}
    for s in range(n_sessions):
        sid = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
        t0 = start + timedelta(days=s * 7 / 5, minutes=rng.randint(0, 600))
        rows["sessions"].append(dict(
            id=sid, patient_id=patient_id, protocol_sha256=FAKE_SHA, protocol_name="fake home session",
            protocol_path="protocols/fake.yaml", affected_side="left", total_steps=trials_per_session + 2,
            started_wall=t0, ended_wall=t0 + timedelta(minutes=25), status="completed",
            resumed_from=None, start_step=0, owner=""))
        for key, base in (("pain", 3), ("fatigue", 2)):
            for k, step in enumerate((0, trials_per_session + 1)):
                rows["ratings"].append(dict(session_id=sid, step_index=step, key=key,
                                            value=min(10, base + k + rng.randint(0, 2)), t=k * 1500.0,
                                            wall=t0))
        for n in range(trials_per_session):
            task = TASK_NAMES[n % len(TASK_NAMES)]
            level = _level(rng, s / max(1, n_sessions))
            text = (_unscorable(task, "left") if rng.random() < UNSCORABLE_SHARE
                    else _scored(task, level, "left"))
            score = _decoded(text)
            rows["trials"].append(dict(
                session_id=sid, trial_no=n + 1, step_index=n + 1, task=task, hand="left",
                frames=score["frames"], tracked_fraction=score["tracked_fraction"],
                repetitions=score["repetitions"], score_json=text, wall=t0))
            rows["steps"].append(dict(session_id=sid, step_index=n + 1, kind="execute",
                                      status="completed", started_t=n * 45.0, ended_t=n * 45.0 + 40,
                                      wall=t0))
            rows["events"].append(dict(session_id=sid, t=n * 45.0, wall=t0, kind="step_start",
                                       step_index=n + 1, data_json="{}"))
    with engine.begin() as conn:
        queries.ensure_protocol(conn, FAKE_SHA, "fake home session", FAKE_PROTOCOL_YAML, start)
        if conn.execute(sa.select(schema.patients.c.id).where(
                schema.patients.c.id == patient_id)).first() is None:
            conn.execute(schema.patients.insert().values(
                id=patient_id, affected_side="left", notes="", consent_video=False, created=start))
        for table in ("sessions", "steps", "trials", "ratings", "events"):
            if rows[table]:
                conn.execute(schema.metadata.tables[table].insert(), rows[table])
