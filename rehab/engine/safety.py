"""The protocol's safety stop rules, applied to every rating of the session chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rehab.protocol.models import Safety


@dataclass(frozen=True)
class SafetyFiring:
    """A rule that fired: its name (as in the protocol's ``safety``), the values and a sentence."""

    rule: str
    reason: str
    values: dict[str, Any]


@dataclass
class SafetyMonitor:
    """Applies the stop rules to all ratings of the session *chain* (a session and every
    interrupted fragment it resumes), not only to those given since this process started.

    Rules (from ``protocol.safety``):
    - ``pain_stop_rise``: pain minus the *first* pain rating of the chain >= the rise;
    - ``pain_stop_at``: pain >= the value;
    - ``fatigue_stop_at``: fatigue >= the value.

    ``history`` holds the (key, value) ratings stored before this fragment, oldest first (the
    runner reads them from the store); ``replay()`` applies the rules to them so a rating that
    fired a rule just before a crash still stops the resumed session.
    """

    rules: Safety
    history: list[tuple[str, int]] = field(default_factory=list)

    @property
    def first_pain(self) -> int | None:
        return next((v for k, v in self.history if k == "pain"), None)

    def replay(self) -> SafetyFiring | None:
        """The first rule fired by the ratings already in ``history``, or None."""
        earlier: list[tuple[str, int]] = []
        for key, value in self.history:
            earlier.append((key, value))
            firing = _evaluate(self.rules, earlier)
            if firing is not None:
                return firing
        return None

    def check(self, key: str, value: int) -> str | None:
        """Record a rating; returns why the session must stop, or None."""
        firing = self.check_firing(key, value)
        return None if firing is None else firing.reason

    def check_firing(self, key: str, value: int) -> SafetyFiring | None:
        self.history.append((key, int(value)))
        return _evaluate(self.rules, self.history)


def _evaluate(rules: Safety, ratings: list[tuple[str, int]]) -> SafetyFiring | None:
    """Does the last rating of ``ratings`` fire a rule (given all before it)?"""
    key, value = ratings[-1]
    if key == "pain":
        first = next(v for k, v in ratings if k == "pain")
        rise = value - first
        if rules.pain_stop_rise is not None and rise >= rules.pain_stop_rise:
            return SafetyFiring("pain_stop_rise", f"pain rose by {rise} (from {first} to {value})",
                                {"first": first, "value": value, "rise": rise,
                                 "limit": rules.pain_stop_rise})
        if rules.pain_stop_at is not None and value >= rules.pain_stop_at:
            return SafetyFiring("pain_stop_at", f"pain reached {value}",
                                {"value": value, "limit": rules.pain_stop_at})
    if key == "fatigue" and rules.fatigue_stop_at is not None and value >= rules.fatigue_stop_at:
        return SafetyFiring("fatigue_stop_at", f"fatigue reached {value}",
                            {"value": value, "limit": rules.fatigue_stop_at})
    return None


STOP_TITLE = "We will stop here for today"
STOP_BODY = (
    "Thank you - you have done well.\n"
    "Please rest your arm, and tell your therapist how you feel."
)
