"""The protocols in protocols/ validate, cite what they follow, and fit their stated purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehab.clips.render import shipped_clips
from rehab.paths import shipped_protocols_dir, shipped_videos_dir
from rehab.protocol import (
    ExecuteStep,
    ImagineStep,
    InstructionStep,
    MirrorStep,
    ObserveStep,
    RateStep,
    check_protocol,
    load_protocol,
)

CLIPS = tuple(f"{name}.mp4" for name, _task, _view in shipped_clips())
SHIPPED = sorted(shipped_protocols_dir().glob("*.yaml"))
EXPECTED = {
    "ertelt2007_ao.yaml",
    "franceschini2012_ao.yaml",
    "yavuzer2008_mirror.yaml",
    "motor_imagery.yaml",
    "ao_mi_combined.yaml",
    "home_session.yaml",
    "demo.yaml",
}


@pytest.fixture(scope="module")
def fake_videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    for name in CLIPS:
        (folder / name).write_bytes(b"")
    return folder


def test_every_expected_protocol_is_shipped():
    assert EXPECTED <= {p.name for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_protocol_validates(path, fake_videos):
    issues = check_protocol(path, fake_videos)
    assert issues == [], "\n".join(map(str, issues))
    protocol = load_protocol(path, fake_videos).protocol
    assert protocol.reference and len(protocol.reference) > 20
    assert path.read_text().lstrip().startswith("#"), "starts with a comment a clinician can read"


def test_shipped_protocols_validate_against_real_videos():
    videos = shipped_videos_dir()
    missing = [name for name in CLIPS if not (videos / name).is_file()]
    if missing:
        pytest.skip(
            f"clips not rendered yet in {videos}: {', '.join(missing)} (rehab render-demo TASK)"
        )
    for path in SHIPPED:
        issues = check_protocol(path)
        assert issues == [], "\n".join(map(str, issues))


def _flat(name: str, videos: Path):
    return [
        p.step for p in load_protocol(shipped_protocols_dir() / name, videos).protocol.flatten()
    ]


def _seconds(steps, kind) -> float:
    return sum(getattr(s, "duration_s", 0) or 0 for s in steps if isinstance(s, kind))


def test_demo_is_short_and_has_every_leaf_kind(fake_videos):
    steps = _flat("demo.yaml", fake_videos)
    kinds = {s.kind for s in steps}
    assert kinds == {"instruction", "observe", "execute", "mirror", "imagine", "rest", "rate"}
    execute = next(s for s in steps if isinstance(s, ExecuteStep))
    assert execute.task == "open_close" and execute.target_reps and execute.duration_s <= 60
    timed = sum(getattr(s, "duration_s", 0) or 0 for s in steps)
    assert timed <= 90  # leaves time for the clip and the answers in ~2 minutes


def test_home_session_has_pain_before_and_after_and_stop_rule(fake_videos):
    loaded = load_protocol(shipped_protocols_dir() / "home_session.yaml", fake_videos)
    steps = [p.step for p in loaded.protocol.flatten()]
    rates = [
        i
        for i, s in enumerate(steps)
        if isinstance(s, RateStep) and any(r.scale == "pain" for r in s.ratings)
    ]
    assert rates and rates[0] <= 1 and rates[-1] >= len(steps) - 2
    assert loaded.protocol.safety.pain_stop_rise == 2
    timed_min = sum(getattr(s, "duration_s", 0) or 0 for s in steps) / 60
    assert 7 <= timed_min <= 15


def test_yavuzer_is_thirty_minutes_of_mirror_with_rests(fake_videos):
    steps = _flat("yavuzer2008_mirror.yaml", fake_videos)
    assert _seconds(steps, MirrorStep) == 30 * 60
    assert any(s.kind == "rest" for s in steps)
    movements = " ".join(s.movement.lower() for s in steps if isinstance(s, MirrorStep))
    assert "wrist" in movements and "finger" in movements


def test_franceschini_three_sequences_watch_then_imitate(fake_videos):
    steps = [
        s
        for s in _flat("franceschini2012_ao.yaml", fake_videos)
        if s.kind in ("observe", "execute")
    ]
    assert [s.kind for s in steps] == ["observe", "execute"] * 3
    assert all(s.duration_s == 120 for s in steps if isinstance(s, ExecuteStep))


def test_ertelt_three_actions_watch_then_about_six_minutes_doing(fake_videos):
    steps = _flat("ertelt2007_ao.yaml", fake_videos)
    tasks = []
    for s in steps:
        if isinstance(s, ExecuteStep) and s.task not in tasks:
            tasks.append(s.task)
    assert len(tasks) == 3
    for task in tasks:
        assert (
            sum(s.duration_s or 0 for s in steps if isinstance(s, ExecuteStep) and s.task == task)
            == 360
        )


def test_imagery_protocols(fake_videos):
    mi = _flat("motor_imagery.yaml", fake_videos)
    assert any(isinstance(s, ImagineStep) and s.rate_vividness and s.eyes_closed for s in mi)
    combined = _flat("ao_mi_combined.yaml", fake_videos)
    observes = [s for s in combined if isinstance(s, ObserveStep)]
    assert observes and all(s.imagine for s in observes)


def test_watching_times_match_the_papers_with_the_real_clips():
    from rehab.clips.library import ClipLibrary

    videos = shipped_videos_dir()
    if not all((videos / name).is_file() for name in CLIPS):
        pytest.skip(f"clips not rendered yet in {videos}")
    library = ClipLibrary(videos)

    def watch_s(step: ObserveStep) -> float:
        return library.get(step.clip).duration_s * step.repeat / step.speed

    fr = [s for s in _flat("franceschini2012_ao.yaml", videos) if isinstance(s, ObserveStep)]
    assert len(fr) == 3 and all(170 <= watch_s(s) <= 190 for s in fr)  # 3 min video each
    er = [s for s in _flat("ertelt2007_ao.yaml", videos) if isinstance(s, ObserveStep)]
    per_clip: dict[str, float] = {}
    for s in er:
        per_clip[s.clip] = per_clip.get(s.clip, 0.0) + watch_s(s)
    assert len(per_clip) == 3 and all(330 <= t <= 390 for t in per_clip.values())  # ~6 min each


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_patient_text_promises_a_first_person_view_only_with_such_clips(path):
    from rehab.clips.library import ClipLibrary

    videos = shipped_videos_dir()
    if not all((videos / name).is_file() for name in CLIPS):
        pytest.skip(f"clips not rendered yet in {videos}")
    steps = _flat(path.name, videos)
    shown = " ".join(s.text or "" for s in steps if isinstance(s, (InstructionStep, ObserveStep)))
    if "point of view" not in shown.lower() and "first-person" not in shown.lower():
        return
    library = ClipLibrary(videos)
    views = {s.clip: library.get(s.clip).view for s in steps if isinstance(s, ObserveStep)}
    assert set(views.values()) == {"first_person"}, f"the patient is told first person: {views}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_opposition_rounds_in_the_text_match_the_touches_counted(path, fake_videos):
    import re

    for step in _flat(path.name, fake_videos):
        if not (isinstance(step, ExecuteStep) and step.task == "opposition" and step.target_reps):
            continue
        rounds = re.search(r"(\d+) rounds", step.text or "")
        if rounds:  # repetitions of opposition are touches: four fingertips a round
            assert step.target_reps == 4 * int(rounds.group(1)), step.text
