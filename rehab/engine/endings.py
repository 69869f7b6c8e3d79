"""Why a session ended: the one registry of end reasons (engine, store, CLI, review, export).

Each reason says how the session is stored (``status``: completed | aborted | interrupted),
whether it can be resumed, how people read it, and its ``tone`` for the review's colours:
``done`` (completed), ``safety`` (a stop rule fired: the clinician must look), ``patient``
(the person ended it), ``system`` (the computer ended it: terminated, lost camera, crash).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndReason:
    code: str
    label: str  # for people: "stopped by a safety rule"
    status: str  # the sessions.status it is stored with
    tone: str  # done | safety | patient | system

    @property
    def resumable(self) -> bool:
        return self.status == "interrupted"


END_REASONS: dict[str, EndReason] = {r.code: r for r in (
    EndReason("completed", "completed", "completed", "done"),
    EndReason("safety_stop", "stopped by a safety rule", "aborted", "safety"),
    EndReason("ended_by_patient", "ended by the patient", "aborted", "patient"),
    EndReason("window_closed", "window closed", "aborted", "patient"),
    EndReason("camera_lost", "camera lost", "aborted", "system"),
    # SIGTERM (logout, shutdown, service stop): everything saved, then resumable
    EndReason("terminated", "terminated by the system", "interrupted", "system"),
    # the process died (kill, power cut) or an unexpected error: resumable
    EndReason("interrupted", "interrupted", "interrupted", "system"),
)}


def end_reason(code: str) -> EndReason:
    """The registered reason ``code``; raises KeyError naming the known ones."""
    try:
        return END_REASONS[code]
    except KeyError:
        raise KeyError(f"unknown end reason {code!r} (one of {', '.join(END_REASONS)})") from None


def describe(code: str | None, detail: dict | None = None) -> str:
    """One line for people: "stopped by a safety rule: pain rose by 2 (from 1 to 3)"."""
    if not code:
        return ""
    label = END_REASONS[code].label if code in END_REASONS else code
    detail = detail or {}
    why = detail.get("reason")
    text = f"{label}: {why}" if why and why != label else label
    rule = detail.get("rule")
    if rule:  # the protocol's rule as the clinician wrote it: "pain_stop_rise: 2"
        limit = (detail.get("values") or {}).get("limit")
        text += f" (rule {rule}: {limit})" if limit is not None else f" (rule {rule})"
    return text
