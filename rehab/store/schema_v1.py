"""The store's tables exactly as schema version 1 created them (frozen: never edit).

Migration 1 builds these tables; later migrations alter them. ``rehab.store.schema`` is the
current shape after every migration, so it may differ from this file.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID_LEN = 64

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied", DateTime, nullable=False),
)

patients = Table(
    "patients",
    metadata,
    Column("id", String(ID_LEN), primary_key=True),
    Column("affected_side", String(8), nullable=False),
    Column("notes", Text, nullable=False, default=""),
    Column("consent_video", Boolean, nullable=False, default=False),
    Column("created", DateTime, nullable=False),
)

protocols = Table(
    "protocols",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("yaml", Text, nullable=False),
    Column("first_seen", DateTime, nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(ID_LEN), ForeignKey("patients.id"), nullable=False),
    Column("protocol_sha256", String(64), ForeignKey("protocols.sha256"), nullable=False),
    Column("protocol_name", String(200), nullable=False),
    Column("protocol_path", Text, nullable=False),
    Column("per_week", Integer, nullable=False),
    Column("from_date", Date, nullable=False),
    Column("created", DateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(ID_LEN), primary_key=True),
    Column("patient_id", String(ID_LEN), ForeignKey("patients.id"), nullable=False),
    Column("protocol_sha256", String(64), ForeignKey("protocols.sha256"), nullable=False),
    Column("protocol_name", String(200), nullable=False),
    Column("protocol_path", Text, nullable=False),
    Column("affected_side", String(8), nullable=False),
    Column("total_steps", Integer, nullable=False),
    Column("started_wall", DateTime, nullable=False),
    Column("ended_wall", DateTime),
    # running | completed | aborted | interrupted (set when a running session's process is gone)
    Column("status", String(16), nullable=False),
    Column("resumed_from", String(ID_LEN), ForeignKey("sessions.id")),
    Column("start_step", Integer, nullable=False, default=0),
    # "host:pid:process-start-ticks" of the writing process, to tell a crash from a live run
    Column("owner", String(200), nullable=False, default=""),
    Index("ix_sessions_patient", "patient_id", "started_wall"),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(ID_LEN), ForeignKey("sessions.id"), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # completed | skipped | aborted | failed
    Column("started_t", Float, nullable=False),
    Column("ended_t", Float),
    Column("wall", DateTime, nullable=False),
    Index("ix_steps_session", "session_id", "step_index"),
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(ID_LEN), ForeignKey("sessions.id"), nullable=False),
    Column("trial_no", Integer, nullable=False),  # 1-based within the session (replay --trial N)
    Column("step_index", Integer, nullable=False),
    Column("task", String(32), nullable=False),
    Column("hand", String(8), nullable=False),
    Column("frames", Integer, nullable=False),
    Column("tracked_fraction", Float),
    Column("repetitions", Integer),
    Column("score_json", Text, nullable=False),
    Column("wall", DateTime, nullable=False),
    Index("ix_trials_session", "session_id", "trial_no"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(ID_LEN), ForeignKey("sessions.id"), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", Integer, nullable=False),
    Column("t", Float, nullable=False),
    Column("wall", DateTime, nullable=False),
    Index("ix_ratings_session", "session_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(ID_LEN), ForeignKey("sessions.id"), nullable=False),
    Column("t", Float, nullable=False),
    Column("wall", DateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("step_index", Integer),
    Column("data_json", Text, nullable=False, default="{}"),
    Index("ix_events_session", "session_id"),
)

# One row per (frame, hand seen). A frame where no hand was seen keeps one row with hand ""
# and no landmarks, so the trial's timeline (and its tracked fraction) survives intact.
trial_frames = Table(
    "trial_frames",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.id"), primary_key=True),
    Column("frame_no", Integer, primary_key=True),  # 0-based position within the trial
    Column("hand", String(8), primary_key=True),  # "left" | "right" | "" (nothing seen)
    Column("t", Float, nullable=False),
    Column("frame_index", Integer, nullable=False),
    Column("confidence", Float),
    Column("image", LargeBinary),  # float32 (21, 3) normalised image landmarks
    Column("world", LargeBinary),  # float32 (21, 3) world landmarks, metres
)

