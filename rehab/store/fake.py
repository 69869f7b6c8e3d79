"""Synthetic session data for tests, demos and the export benchmark (no camera needed).

``hand_frames`` makes a plausible opening/closing hand; ``fake_score`` a score dict shaped like
``TrialScore.to_dict()``; ``bulk_populate`` writes many sessions in one transaction (fast).
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from rehab.devices.base import HandObservation, TrackedFrame
from rehab.engine.writer import SessionInfo
from rehab.store import queries, schema
from rehab.store.writer import to_json

FAKE_PROTOCOL_YAML = """name: fake home session
description: synthetic protocol for tests
steps:
  - rate: {ratings: [{scale: pain}, {scale: fatigue}]}
  - execute: {task: open_close, target_reps: 5}
  - execute: {task: finger_tap, duration_s: 10}
  - rate: {ratings: [{scale: pain}, {scale: fatigue}]}
"""
FAKE_SHA = hashlib.sha256(FAKE_PROTOCOL_YAML.encode()).hexdigest()
TASKS = ("open_close", "finger_tap", "opposition", "reach_grasp", "wrist_flex")

# Direction of each finger from the wrist (image x, y); thumb first. Joints at 4 radii.
_FINGER_ANGLES_DEG = (-150.0, -110.0, -90.0, -72.0, -55.0)


def hand_pose(openness: float, hand: str = "right", centre=(0.5, 0.6)) -> np.ndarray:
    """(21, 3) normalised image landmarks of a hand ``openness`` in [0 closed, 1 open]."""
    pts = np.zeros((21, 3), dtype=np.float32)
    cx, cy = centre
    pts[0] = (cx, cy + 0.12, 0.0)
    sign = 1.0 if hand == "right" else -1.0
    for f, ang in enumerate(_FINGER_ANGLES_DEG):
        a = math.radians(ang)
        reach = 0.25 + 0.75 * openness
        for j in range(4):
            r = (0.07 + 0.045 * j * reach) if f else (0.04 + 0.035 * j * reach)
            pts[1 + 4 * f + j] = (cx + sign * r * math.cos(a), cy + 0.12 + r * math.sin(a), -0.01 * j)
    return pts


def hand_frames(n: int, hand: str = "right", fps: float = 30.0, dropped_every: int = 0,
                seed: int = 0) -> list[TrackedFrame]:
    """``n`` frames of a hand opening and closing at ~1 Hz (with a little noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = i / fps
        if dropped_every and i % dropped_every == dropped_every - 1:
            out.append(TrackedFrame(t=t, frame_index=i, hands=()))
            continue
        img = hand_pose(0.5 + 0.5 * math.sin(2 * math.pi * t), hand)
        img = img + rng.normal(0, 0.002, img.shape).astype(np.float32)
        world = (img - img[0]) * np.float32(0.2)
        obs = HandObservation(t=t, hand=hand, confidence=0.95, image=img, world=world, frame_index=i)
        out.append(TrackedFrame(t=t, frame_index=i, hands=(obs,)))
    return out


def fake_score(task: str, hand: str, rng: random.Random, progress: float = 0.0) -> dict:
    """A score dict like ``TrialScore.to_dict()`` (headline keys first, then task metrics)."""
    reps = max(0, int(rng.gauss(8 + 6 * progress, 2)))
    return {
        "task": task, "hand": hand, "frames": 300,
        "tracked_fraction": round(min(1.0, rng.uniform(0.85, 1.0)), 3),
        "repetitions": reps,
        "amplitude_deg": round(rng.gauss(40 + 30 * progress, 5), 2),
        "frequency_hz": round(rng.gauss(0.8 + 0.4 * progress, 0.1), 3),
        "decrement_pct": round(rng.gauss(20 - 10 * progress, 4), 2),
        "similarity": {"dtw": round(rng.uniform(0.4, 0.9), 3), "corr": round(rng.uniform(0, 1), 3)},
    }


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
    """Write ``n_sessions`` completed sessions (trials, steps, ratings, events; no frames) in one
    transaction with executemany - the benchmark's generator."""
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
            task = TASKS[n % len(TASKS)]
            score = fake_score(task, "left", rng, progress=s / max(1, n_sessions))
            rows["trials"].append(dict(
                session_id=sid, trial_no=n + 1, step_index=n + 1, task=task, hand="left",
                frames=300, tracked_fraction=score["tracked_fraction"],
                repetitions=score["repetitions"], score_json=to_json(score), wall=t0))
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
