"""The task registry against what the real scorer, screens and review do with it."""

from __future__ import annotations

import pytest

from rehab import synth
from rehab.scoring import signals as sig
from rehab.scoring.headline import headline
from rehab.scoring.live import LiveScorer
from rehab.scoring.reference import Reference
from rehab.scoring.reps import SwingParams
from rehab.scoring.trial import score_trial
from rehab.tasks import (
    TASK_NAMES,
    TASKS,
    Counting,
    Measured,
    Metric,
    PatientResult,
    Task,
    any_metric,
    metric,
    patient_line,
    value_at,
)

BOOKKEEPING = {"task", "hand", "frames", "events", "smoothness.signal", "similarity.error",
               "similarity.reference_duration_s", "similarity.patient_duration_s",
               "similarity.dtw_cost", "similarity.reference_repeats", "quality.tracked_fraction",
               "touch_times_s",
               "smoothness"}  # None where the task has no smoothness measure


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.fixture(scope="module")
def real_scores() -> dict[str, dict]:
    out = {}
    for name in TASK_NAMES:
        frames = TASKS[name].example(1, "left")  # its own movement, drawn by the synthetic hand
        out[name] = score_trial(frames, name, "left", Reference.from_frames(frames, "left")).to_dict()
    return out


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_headline_metric_is_in_a_real_score(name, real_scores):
    """The review's progress panels read these keys: each must exist in what the scorer writes
    (``opening_amplitude``, which nothing produced, left open/close without its range)."""
    score = real_scores[name]
    missing = [k for k in TASKS[name].headline if value_at(score, k) is None]
    assert missing == []
    assert value_at(score, TASKS[name].patient.key) is not None if TASKS[name].patient.key else True


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_metric_the_scorer_writes_has_a_label_and_unit(name, real_scores):
    flat = _flat(real_scores[name])
    unlabelled = [k for k in flat if k not in BOOKKEEPING and TASKS[name].metric(k) is None]
    assert unlabelled == []


@pytest.mark.parametrize("name", TASK_NAMES)
def test_declared_metrics_are_produced(name, real_scores):
    flat = _flat(real_scores[name])
    assert [m.key for m in TASKS[name].metrics if m.key not in flat] == []


def test_metric_formatting():
    assert metric("tracked_fraction").format(0.934) == "93 %"
    assert metric("rom.ring_mcp.range_deg").format(69.54) == "70 deg"
    assert metric("rom.ring_mcp.range_deg").heading == "Ring MCP range (deg)"
    assert TASKS["finger_tap"].metric("amplitude_decrement").format(-0.001) == "0 %"
    assert TASKS["opposition"].metric("fingers_reached").format(["index", "ring"]) == "index, ring"
    assert TASKS["finger_tap"].metric("repetitions").format(None) == "-"
    assert any_metric("no_such_metric") is None
    assert any_metric("repetitions").label == "Repetitions"  # every task has its own word
    assert any_metric("rate_hz") is TASKS["finger_tap"].metric("rate_hz")


@pytest.mark.parametrize(("name", "today", "before", "line"), [
    ("finger_tap", 12, 10, "12 taps - 2 more than last time"),
    ("finger_tap", 1, None, "1 tap"),
    ("opposition", 4, 6, "4 touches - 2 fewer than last time"),
    ("open_close", 5, 5, "You opened and closed your hand 5 times - the same as last time"),
])
def test_patient_line_for_counted_tasks(name, today, before, line):
    previous = None if before is None else {"repetitions": before}
    assert patient_line(TASKS[name], {"repetitions": today}, previous) == line


def test_patient_line_for_a_reach_and_free_movement():
    reach = TASKS["reach_grasp"]
    assert (patient_line(reach, {"movement_time_s": 1.23}, {"movement_time_s": 1.52})
            == "Your reach took 1.2 seconds - 0.3 seconds quicker than last time")
    assert patient_line(reach, {"movement_time_s": None}, None) == "Well done."
    assert (patient_line(TASKS["free"], {"tracked_fraction": 1.0}, None)
            == "Your free movement practice is done.")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_patient_line_of_a_real_score_has_no_technical_words(name, real_scores):
    line = patient_line(TASKS[name], real_scores[name], real_scores[name])
    assert "%" not in line and "_" not in line and "/ 100" not in line


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)])
def test_every_result_sentence_is_drawn_large(size, real_scores):
    """Each task's sentence (with the longest comparison) at heading size: >= 36 px."""
    from rehab.devices.display import PygameDisplay
    from rehab.devices.drawing import SIZES
    from rehab.engine.scenes import ResultScene
    from rehab.engine.steps.execute import POOR_TRACKING

    display = PygameDisplay(fullscreen=False, size=size)
    try:
        for name in TASK_NAMES:
            worse = {k: (v * 2 if _is_count(v) else v) for k, v in real_scores[name].items()}
            line = patient_line(TASKS[name], real_scores[name], worse)
            for text in (line, POOR_TRACKING):
                display.show(ResultScene(title="Well done", lines=(text,)))
                font, wrapped = display.result_text((text,), int(size[1] * 0.55))
                assert font is display.fonts.get("heading") and len(wrapped[0]) <= 2, text
        assert int(SIZES["heading"] * 600) >= 36
    finally:
        display.close()


def _is_count(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _pinch_task() -> Task:
    """A task that is in no module of the program: thumb-index pinches, counted as closings."""
    def measure(track, counter):
        return Measured({"pinches": counter.count}, counter.count)

    return Task(
        name="pinch", title="Pinch", instruction="Pinch your thumb and index finger together.",
        counter_label="Pinches", count_words=("pinch", "pinches"),
        metrics=(Metric("pinches", "Pinches", fmt="d", better="higher"),),
        headline=("pinches",), patient=PatientResult("repetitions", "{value} {noun}"),
        counting=Counting(SwingParams(min_swing=0.15, window_s=1.0, hold_s=0.05), sig.aperture,
                          "closings"),
        measure=measure,
        example=lambda level, hand: synth.finger_tap(1.0 + level, 3.0, hand=hand))


def test_a_task_added_to_the_registry_is_scored_counted_live_and_told(monkeypatch):
    """Adding a task is one record: with nothing else changed, the scorer scores it, the live
    counter counts it, the clinician's headline labels it and the patient is told about it."""
    record = _pinch_task()
    monkeypatch.setitem(TASKS, "pinch", record)
    frames = record.example(1, "left")  # 2 pinches a second for 3 s

    score = score_trial(frames, "pinch", "left")
    assert (score.repetitions, score.metrics["pinches"]) == (6, 6)
    live = LiveScorer("pinch", "left")
    for tf in frames:
        state = live.update(tf)
    assert state.reps == 6
    assert headline(score)[0] == ("Pinches", "6")
    assert patient_line(record, score.to_dict(), {"repetitions": 4}) == (
        "6 pinches - 2 more than last time")
