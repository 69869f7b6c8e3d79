"""Observation and imagery dose: how long each demonstration was really shown, and imagined.

Computed from events the engine already logs, so it needs no extra table: each observe step
writes ``observe_started`` (clip, fps, speed, mirror, imagine, frames) and then one
``frame_shown`` per frame put on the screen; each imagine step writes ``imagery`` with its active
seconds. A shown frame stands for ``1 / (fps * speed)`` seconds of the demonstration, so

    observation time = frames displayed x frame time

which leaves out paused time (nothing is shown while paused), frames dropped because drawing
fell behind, and the rest of a step that was skipped or cut short. Imagery (MI) time is the
imagine steps' seconds plus the observation time of steps that ask the patient to imagine doing
it while watching (AO+MI). ``demonstrations`` counts clip plays: frames shown / clip frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

STEP_COLUMNS = ["session_id", "step_index", "step_kind", "clip", "speed", "mirrored", "imagine",
                "frames_shown", "demonstrations", "ao_s", "mi_s"]
SESSION_COLUMNS = ["ao_min", "mi_min", "ao_mirrored_min", "demonstrations"]


@dataclass
class StepDose:
    """The dose of one observe or imagine step of one session."""

    session_id: str
    step_index: int | None
    step_kind: str  # "observe" or "imagine"
    clip: str | None = None
    speed: float | None = None
    mirrored: bool | None = None
    imagine: bool = False
    frames_shown: int = 0
    demonstrations: float = 0.0
    ao_s: float = 0.0
    mi_s: float = 0.0
    _frame_s: float = 0.0
    _clip_frames: int = 0

    def add_frame(self) -> None:
        self.frames_shown += 1
        self.ao_s += self._frame_s
        if self.imagine:
            self.mi_s += self._frame_s
        if self._clip_frames:
            self.demonstrations = self.frames_shown / self._clip_frames


def step_doses(events: Iterable[tuple]) -> list[StepDose]:
    """Per-step doses from (session_id, step_index, kind, data) events in time order."""
    out: list[StepDose] = []
    current: dict[tuple, StepDose] = {}
    for session_id, step_index, kind, data in events:
        key = (session_id, step_index)
        if kind == "observe_started":
            fps, speed = float(data.get("fps") or 0), float(data.get("speed") or 1.0)
            dose = StepDose(session_id, step_index, "observe", clip=data.get("clip"), speed=speed,
                            mirrored=bool(data.get("mirror")), imagine=bool(data.get("imagine")),
                            _frame_s=1.0 / (fps * speed) if fps > 0 and speed > 0 else 0.0,
                            _clip_frames=int(data.get("frames") or 0))
            current[key] = dose  # a resumed step starts again: a new row
            out.append(dose)
        elif kind == "frame_shown" and key in current and data.get("clip") == current[key].clip:
            current[key].add_frame()
        elif kind == "imagery":
            seconds = float(data.get("imagined_s") or 0.0)
            out.append(StepDose(session_id, step_index, "imagine", imagine=True, mi_s=seconds))
    return out


def steps_table(doses: list[StepDose]) -> pd.DataFrame:
    """One row per observe/imagine step (``rehab export --dose``), seconds rounded to 0.001."""
    rows = [{k: v for k, v in asdict(d).items() if not k.startswith("_")} for d in doses]
    df = pd.DataFrame(rows, columns=STEP_COLUMNS)
    for c in ("ao_s", "mi_s"):
        df[c] = df[c].astype(float).round(3)
    df["demonstrations"] = df["demonstrations"].astype(float).round(2)
    return df


def sessions_table(doses: list[StepDose]) -> pd.DataFrame:
    """Per session: AO minutes, MI minutes, AO minutes mirrored, demonstrations watched
    (indexed by session_id; sessions without observe or imagine steps are absent)."""
    df = steps_table(doses)
    if df.empty:
        return pd.DataFrame(columns=SESSION_COLUMNS, index=pd.Index([], name="session_id"))
    mirrored = df["ao_s"].where(df["mirrored"].fillna(False).astype(bool), 0.0)
    g = df.assign(mirrored_s=mirrored).groupby("session_id")
    out = pd.DataFrame({"ao_min": g["ao_s"].sum() / 60, "mi_min": g["mi_s"].sum() / 60,
                        "ao_mirrored_min": g["mirrored_s"].sum() / 60,
                        "demonstrations": g["demonstrations"].sum()})
    return out.round({"ao_min": 3, "mi_min": 3, "ao_mirrored_min": 3, "demonstrations": 2})


def load_doses(store, patient_id: str | None = None) -> list[StepDose]:
    """Every step dose in ``store`` (one patient's, or everybody's when None)."""
    from rehab.store.queries import dose_events

    with store.engine.connect() as conn:
        return step_doses(dose_events(conn, patient_id))


def with_session_dose(sessions: pd.DataFrame, doses: list[StepDose]) -> pd.DataFrame:
    """``sessions`` (one row per session_id) with the SESSION_COLUMNS added (0 when none)."""
    dose = sessions_table(doses)
    df = sessions.merge(dose, left_on="session_id", right_index=True, how="left")
    df[SESSION_COLUMNS] = df[SESSION_COLUMNS].astype(float).fillna(0.0)
    return df


def weekly_dose(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per Monday-week of ``sessions`` (an export with the dose columns): sessions, AO and MI
    minutes, demonstrations watched and movement repetitions done (executed trials)."""
    cols = ["week", "sessions", "ao_min", "mi_min", "demonstrations", "repetitions"]
    if not len(sessions):
        return pd.DataFrame(columns=cols)
    day = pd.to_datetime(sessions["session_start"]).dt.normalize()
    week = (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.date
    df = sessions.assign(week=week, repetitions=sessions["repetitions_total"].fillna(0))
    g = df.groupby("week", sort=True)
    out = pd.DataFrame({"sessions": g.size(), "ao_min": g["ao_min"].sum(),
                        "mi_min": g["mi_min"].sum(), "demonstrations": g["demonstrations"].sum(),
                        "repetitions": g["repetitions"].sum().astype(int)}).reset_index()
    return out[cols].round({"ao_min": 2, "mi_min": 2, "demonstrations": 1})
