"""Typed rating numbers: a digit replaces the selection unless it is a valid continuation typed
within TYPE_CONTINUE_S (0-10, 1-5 and custom scales)."""

from __future__ import annotations

import pytest
from engine_helpers import protocol, rig

from rehab.devices.base import CommandKind
from rehab.engine.steps.screens import TYPE_CONTINUE_S, typed_number
from rehab.testing import ScriptedInput, number

CUSTOM_20 = {"scale": "custom", "name": "effort", "question": "How hard was it?", "min": 0,
             "max": 20, "anchors": {0: "easy", 20: "very hard"}}
CUSTOM_3 = {"scale": "custom", "name": "mood", "question": "How do you feel?", "min": 1,
            "max": 3, "anchors": {1: "bad", 3: "good"}}


@pytest.mark.parametrize(("digits", "lo", "hi", "want"), [
    ("10", 0, 10, 10), ("20", 0, 10, 0), ("05", 0, 10, 5), ("37", 0, 10, 7), ("3", 0, 10, 3),
    ("12", 1, 5, 2), ("0", 1, 5, None), ("50", 1, 5, 5), ("60", 1, 5, None),
    ("15", 0, 20, 15), ("25", 0, 20, 5), ("100", 0, 100, 100), ("123", 0, 100, 3),
    ("13", 1, 3, 3), ("4", 1, 3, None),
])
def test_typed_digits_within_the_window(digits, lo, hi, want):
    got, buffer = None, None
    for d in digits:
        value, buffer = typed_number(buffer, int(d), lo, hi)
        got = value if value is not None else got
    assert got == want


def _rate(scale: dict, presses: list[tuple[float, int | CommandKind]]) -> int:
    keys = ScriptedInput()
    for t, key in presses:
        keys.at(t, number(key) if isinstance(key, int) else key)
    last = presses[-1][0]
    keys.at(last + 1.0, CommandKind.CONTINUE).at(last + 2.0, CommandKind.CONTINUE)
    r = rig(protocol({"kind": "rate", "ratings": [scale]}), keys=keys, autopilot=False)
    r.session.run()
    (rating,) = r.writer.ratings
    return rating["value"]


@pytest.mark.parametrize(("scale", "presses", "want"), [
    # pain 0-10: "1" "0" quickly is 10; with a pause the 0 replaces the 1
    ({"scale": "pain"}, [(1.0, 1), (1.5, 0)], 10),
    ({"scale": "pain"}, [(1.0, 1), (1.0 + TYPE_CONTINUE_S + 0.5, 0)], 0),
    ({"scale": "pain"}, [(1.0, 2), (1.3, 0)], 0),  # 20 is off the scale: the 0 replaces
    ({"scale": "pain"}, [(1.0, CommandKind.UP), (1.1, CommandKind.UP), (1.2, 0)], 0),  # 1 by arrows
    # vividness 1-5: every digit stands alone
    ({"scale": "vividness"}, [(1.0, 1), (1.2, 2)], 2),
    ({"scale": "vividness"}, [(1.0, 4), (1.2, 0)], 4),  # 0 is no answer: nothing changes
    # custom scales
    (CUSTOM_20, [(1.0, 1), (1.4, 5)], 15),
    (CUSTOM_20, [(1.0, 1), (4.0, 5)], 5),
    (CUSTOM_3, [(1.0, 1), (1.2, 3)], 3),
])
def test_rating_screen_typing(scale, presses, want):
    assert _rate(scale, presses) == want
