"""The patient's home screen: today's assigned session and this week's count, one key to start.

``home_plan`` works out what to offer from the store (no screen involved, easy to test);
``home_scene`` turns it into a screen; ``wait_for_start`` shows it and waits for one key;
``run_home`` does all of it and runs the chosen session (``rehab home``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rehab.devices.base import Clock, CommandKind, Display
from rehab.engine.scenes import TextScene
from rehab.errors import RehabError

if TYPE_CHECKING:
    from rehab.runner import RunRequest

POLL_S = 0.05


@dataclass(frozen=True)
class AssignmentStatus:
    protocol_name: str
    protocol_path: Path
    per_week: int
    done_this_week: int

    @property
    def left_this_week(self) -> int:
        return max(0, self.per_week - self.done_this_week)


@dataclass(frozen=True)
class HomePlan:
    """What the home screen offers.

    Attributes:
        patient_id: the patient.
        items: every current assignment with this week's completed sessions.
        today: the assignment to start with one key (the first one with sessions left this
            week, else the first one: extra practice is allowed), or None when nothing is assigned.
    """

    patient_id: str
    items: tuple[AssignmentStatus, ...]
    today: AssignmentStatus | None


def home_plan(store, patient_id: str, day: date | None = None) -> HomePlan:
    """The plan for ``patient_id`` from ``store`` (a ``rehab.store.Store``)."""
    store.require_patient(patient_id)
    items = []
    for a in store.assignments(patient_id):
        week = store.sessions_in_week(patient_id, day, a.protocol_name)
        done = sum(1 for s in week if s.status == "completed")
        items.append(AssignmentStatus(a.protocol_name, Path(a.protocol_path), a.per_week, done))
    pending = [i for i in items if i.left_this_week > 0]
    today = pending[0] if pending else (items[0] if items else None)
    return HomePlan(patient_id, tuple(items), today)


def home_scene(plan: HomePlan) -> TextScene:
    """The home screen for ``plan``: big, calm, one key."""
    if plan.today is None:
        return TextScene(
            title="No session assigned yet",
            body="Your clinician has not set up a session for you.\n"
            f"Please tell them your code: {plan.patient_id}",
            footer="Press ESC to close",
        )
    t = plan.today
    # only what the patient can start with SPACE, named without the clinician's citation
    lines = [patient_title(t.protocol_name), "",
             f"This week: {t.done_this_week} of {t.per_week} sessions done"]
    if t.left_this_week == 0:
        lines += ["", "You have done all your sessions this week. Well done!",
                  "You may practise again if you like."]
    return TextScene(
        title="Today's session",
        body="\n".join(lines),
        footer="Press SPACE to start      ESC to close",
    )


_CITATION = re.compile(r"\s*\((?:after|based on|from)\s[^()]*\)\s*$", re.IGNORECASE)


def patient_title(protocol_name: str) -> str:
    """A protocol's name as a patient reads it: "Mirror therapy (after Yavuzer et al. 2008)"
    -> "Mirror therapy" (the citation is for the clinician)."""
    return _CITATION.sub("", protocol_name).strip() or protocol_name


def closing_line(item: AssignmentStatus) -> str:
    """What to say at the end of the session just run for ``item`` (counted before it)."""
    left = item.left_this_week - 1
    if left <= 0:
        return "That was your last session for this week. Well done!"
    if item.per_week >= 7:
        return "See you tomorrow."
    more = "1 more session" if left == 1 else f"{left} more sessions"
    return f"See you next time: {more} this week."


def wait_for_start(display: Display, clock: Clock, plan: HomePlan, autopilot: bool = False) -> bool:
    """Show the home screen until SPACE (True) or ESC / window closed (False)."""
    display.show(home_scene(plan))
    if autopilot:
        return plan.today is not None
    while True:
        for cmd in display.poll():
            if cmd.kind in (CommandKind.CONTINUE, CommandKind.YES) and plan.today is not None:
                return True
            if cmd.kind in (CommandKind.QUIT, CommandKind.CLOSE, CommandKind.NO):
                return False
        clock.sleep_until(clock.now() + POLL_S)


def run_home(req: RunRequest, display: Display | None = None) -> Any:
    """The home screen for ``req.patient_id``; on one key, runs today's assigned protocol.

    Returns the ``SessionResult``, or None when the patient closed the home screen.
    """
    from rehab.runner import make_clock, run_session
    from rehab.store import Store

    with Store(req.data_dir) as store:
        plan = home_plan(store, req.patient_id)
    clock = make_clock(req.fast)
    own = display is None
    if display is None:
        from rehab.devices.display import PygameDisplay
        from rehab.devices.visibility import require_visible

        require_visible(req.autopilot)
        display = PygameDisplay(fullscreen=not req.window, clock=clock)
    try:
        if not wait_for_start(display, clock, plan, req.autopilot) or plan.today is None:
            return None
        if not plan.today.protocol_path.is_file():
            raise RehabError(
                f"the assigned protocol file {plan.today.protocol_path} is missing",
                hint=f"ask your clinician to assign it again: rehab assign {req.patient_id} "
                "PROTOCOL --per-week N",
            )
        req.protocol_path = plan.today.protocol_path
        req.closing_line = closing_line(plan.today)
        return run_session(req, display=display, clock=clock)
    finally:
        if own:
            display.close()
