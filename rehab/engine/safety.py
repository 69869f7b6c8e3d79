"""The protocol's safety stop rules, checked the moment each rating is given."""

from __future__ import annotations

from dataclasses import dataclass

from rehab.protocol.models import Safety


@dataclass
class SafetyMonitor:
    """Remembers the session's first pain rating and says when a rule fires.

    Rules (from ``protocol.safety``):
    - ``pain_stop_rise``: pain minus the *first* pain rating of this session >= the rise;
    - ``pain_stop_at``: pain >= the value;
    - ``fatigue_stop_at``: fatigue >= the value.
    """

    rules: Safety
    first_pain: int | None = None

    def check(self, key: str, value: int) -> str | None:
        """Record a rating; returns why the session must stop, or None."""
        if key == "pain":
            if self.first_pain is None:
                self.first_pain = value
            rise = value - self.first_pain
            if self.rules.pain_stop_rise is not None and rise >= self.rules.pain_stop_rise:
                return f"pain rose by {rise} (from {self.first_pain} to {value})"
            if self.rules.pain_stop_at is not None and value >= self.rules.pain_stop_at:
                return f"pain reached {value}"
        if key == "fatigue" and self.rules.fatigue_stop_at is not None:
            if value >= self.rules.fatigue_stop_at:
                return f"fatigue reached {value}"
        return None


STOP_TITLE = "We will stop here for today"
STOP_BODY = (
    "Thank you - you have done well.\n"
    "Please rest your arm, and tell your therapist how you feel."
)
