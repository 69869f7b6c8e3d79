"""Protocol loader: every mistake is reported with its code at the line where it was made."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from rehab.errors import ProtocolError
from rehab.protocol import CATALOGUE, ExecuteStep, Issue, check_protocol, load_protocol
from rehab.tasks import TASK_NAMES, TASKS

CLIPS = ("open_close.mp4", "finger_tap.mp4", "opposition.mp4", "reach_grasp.mp4", "wrist_flex.mp4")

HEAD = """\
name: Test
description: A test protocol
"""


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    """A videos folder holding empty files with the shipped clip names."""
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in CLIPS:
        (folder / name).write_bytes(b"")
    return folder


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# (id, yaml text, expected code, expected line). HEAD takes lines 1-2.
CASES = [
    ("yaml-syntax", HEAD + "steps:\n  - rest: {duration_s: 5}\n  bad: [\n", "P001", 5),
    ("colon-in-value", "name: Test\ndescription: a: b\nsteps: []\n", "P001", 2),
    ("unclosed-quote", 'name: Test\ndescription: "abc\nsteps: []\n', "P001", 2),
    ("unclosed-brace", HEAD + "steps:\n  - rest: {duration_s: 3\n", "P001", 4),
    (
        "unknown-top-key",
        "name: Test\ndescripton: typo\nsteps:\n  - rest: {duration_s: 5}\n",
        "P002",
        2,
    ),
    ("unknown-step-key", HEAD + "steps:\n  - observe:\n      clipp: open_close.mp4\n", "P002", 5),
    (
        "kind-inside-step",
        HEAD + "steps:\n  - rest:\n      kind: rest\n      duration_s: 3\n",
        "P002",
        5,
    ),
    (
        "wrong-type-int",
        HEAD + "steps:\n  - observe:\n      clip: open_close.mp4\n      repeat: two\n",
        "P003",
        6,
    ),
    (
        "quoted-boolean",
        HEAD + 'defaults:\n  feedback: "yes"\nsteps:\n  - rest: {duration_s: 5}\n',
        "P003",
        4,
    ),
    ("settings-not-mapping", HEAD + "steps:\n  - rest: 10\n", "P003", 4),
    (
        "missing-required",
        HEAD + "steps:\n  - rest: {duration_s: 5}\n  - mirror:\n      duration_s: 10\n",
        "P004",
        5,
    ),
    ("missing-steps", HEAD + "version: 1\n", "P004", 1),
    (
        "speed-too-high",
        HEAD + "steps:\n  - observe:\n      clip: open_close.mp4\n      speed: 5\n",
        "P005",
        6,
    ),
    (
        "negative-duration",
        HEAD + "steps:\n  - rest: {duration_s: 5}\n  - rest: {duration_s: -3}\n",
        "P005",
        5,
    ),
    ("empty-steps", HEAD + "steps: []\n", "P005", 3),
    (
        "unknown-step-kind",
        HEAD + "steps:\n  - rest: {duration_s: 5}\n  - watch: {clip: open_close.mp4}\n",
        "P006",
        5,
    ),
    (
        "unknown-task",
        HEAD + "steps:\n  - execute:\n      task: fist\n      target_reps: 5\n",
        "P007",
        5,
    ),
    ("missing-clip", HEAD + "steps:\n  - observe:\n      clip: open_closee.mp4\n", "P008", 5),
    (
        "missing-demonstration",
        HEAD + "steps:\n  - execute: {task: free, duration_s: 5, demonstration: nope.mp4}\n",
        "P008",
        4,
    ),
    (
        "execute-never-ends",
        HEAD + "steps:\n  - rest: {duration_s: 5}\n  - execute:\n      task: open_close\n",
        "P009",
        5,
    ),
    (
        "unknown-scale",
        HEAD + "steps:\n  - rate:\n      ratings:\n        - scale: mood\n",
        "P010",
        6,
    ),
    (
        "custom-scale-incomplete",
        HEAD
        + "steps:\n  - rate:\n      ratings:\n        - scale: pain\n        - scale: custom\n          name: effort\n",
        "P010",
        7,
    ),
    (
        "anchor-outside-scale",
        HEAD
        + "steps:\n  - rate:\n      ratings:\n        - scale: vividness\n          anchors: {0: none}\n",
        "P010",
        6,
    ),
    (
        "duplicate-key",
        HEAD + "steps:\n  - rest:\n      duration_s: 5\n      duration_s: 6\n",
        "P011",
        6,
    ),
    (
        "hand-left",
        HEAD
        + "steps:\n  - execute:\n      task: open_close\n      target_reps: 5\n      hand: left\n",
        "P012",
        7,
    ),
    (
        "mirror-mode",
        HEAD + "steps:\n  - mirror: {duration_s: 5, movement: wave, mode: rotate}\n",
        "P012",
        4,
    ),
    ("tab-indent", HEAD + "steps:\n  - rest:\n\t\tduration_s: 5\n", "P013", 5),
    ("empty-file", "\n# only a comment\n", "P014", 1),
    ("top-level-list", "- rest: {duration_s: 5}\n", "P015", 1),
    ("step-is-word", HEAD + "steps:\n  - rest: {duration_s: 5}\n  - rest\n", "P016", 5),
    ("kind-as-field", HEAD + "steps:\n  - kind: rest\n    duration_s: 5\n", "P016", 4),
    ("not-indented", HEAD + "steps:\n  - observe:\n    clip: open_close.mp4\n", "P017", 5),
    (
        "safety-no-pain",
        HEAD + "safety:\n  pain_stop_rise: 2\nsteps:\n  - rest: {duration_s: 5}\n",
        "P018",
        4,
    ),
    (
        "reps-not-counted",
        HEAD + "steps:\n  - execute:\n      task: reach_grasp\n      target_reps: 5\n",
        "P021",
        6,
    ),
    ("clip-is-path", HEAD + "steps:\n  - observe: {clip: ../videos/open_close.mp4}\n", "P020", 4),
    (
        "nested-block",
        HEAD
        + "steps:\n  - block:\n      repeat: 2\n      steps:\n        - rest: {duration_s: 1}\n"
        "        - block:\n            steps:\n              - execute: {task: wave, duration_s: 5}\n",
        "P007",
        10,
    ),
]


@pytest.mark.parametrize("text,code,line", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_protocol_reports_code_and_line(tmp_path, videos, text, code, line):
    path = write(tmp_path, text)
    issues = check_protocol(path, videos)
    found = [(i.code, i.line) for i in issues]
    assert (code, line) in found, "\n".join(map(str, issues))


def test_at_least_fifteen_distinct_codes_are_exercised():
    assert len({c[2] for c in CASES}) >= 15
    assert {c[2] for c in CASES} <= set(CATALOGUE)


def test_unreadable_files(tmp_path):
    assert [i.code for i in check_protocol(tmp_path / "nope.yaml")] == ["P019"]
    assert [i.code for i in check_protocol(tmp_path)] == ["P019"]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: Caf\xe9\n")
    (issue,) = check_protocol(latin)
    assert issue.code == "P019" and "UTF-8" in issue.message


ALL_WRONG = """\
name: Test
descripton: typo
defaults:
  feedback: "yes"
steps:
  - observe:
      clip: open_closee.mp4
      speed: 5
  - execute:
      task: fist
      hand: left
  - observe:
    clip: open_close.mp4
  - watch: {clip: x.mp4}
  - rate:
      ratings:
        - scale: mood
  - block:
      repeat: 0
      steps:
        - rest:
"""


def test_all_problems_reported_at_once(tmp_path, videos):
    issues = check_protocol(write(tmp_path, ALL_WRONG), videos)
    got = {(i.code, i.line) for i in issues}
    expected = {
        ("P004", 1),
        ("P002", 2),
        ("P003", 4),
        ("P008", 7),
        ("P005", 8),
        ("P009", 9),
        ("P007", 10),
        ("P012", 11),
        ("P017", 13),
        ("P006", 14),
        ("P010", 17),
        ("P005", 19),
        ("P004", 21),
    }
    assert expected <= got, "\n".join(map(str, issues))
    assert [(i.line, i.col) for i in issues] == sorted((i.line, i.col) for i in issues)


def test_issue_format_is_file_line_col_code_message_hint(tmp_path, videos):
    path = write(tmp_path, HEAD + "steps:\n  - execute: {task: fist, duration_s: 5}\n")
    (issue,) = check_protocol(path, videos)
    assert re.fullmatch(rf"{re.escape(str(path))}:4:\d+: P007: .+ \(.+\)", str(issue)), str(issue)
    assert "open_close" in issue.hint  # lists the valid tasks


def test_unknown_key_suggests_the_closest(tmp_path, videos):
    path = write(tmp_path, HEAD + "steps:\n  - observe: {clip: open_close.mp4, sped: 0.5}\n")
    (issue,) = check_protocol(path, videos)
    assert issue.code == "P002" and "did you mean 'speed'" in issue.hint


def test_missing_clip_names_the_folder_searched(tmp_path, videos):
    path = write(tmp_path, HEAD + "steps:\n  - observe: {clip: open_clos.mp4}\n")
    (issue,) = check_protocol(path, videos)
    assert str(videos) in issue.message and "open_close.mp4" in issue.hint


def test_column_points_at_the_value(tmp_path, videos):
    path = write(tmp_path, HEAD + "steps:\n  - rest: {duration_s: -1}\n")
    (issue,) = check_protocol(path, videos)
    assert (issue.line, issue.col) == (4, 24)


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01binary",
        "---\n...\n",
        "!!python/object/apply:os.system ['echo hi']\n",
        "name: [[[[[[[[\n",
        "steps: 5\nname: x\ndescription: y\n",
        "steps: [1, 2, null]\nname: x\ndescription: y\n",
        "defaults: 3\nsafety: [1]\nsteps: [{rest: {duration_s: 1}}]\nname: 1\ndescription: 2\n",
        "a: &x [*x]\n",
        "a: " + "[" * 1500 + "]" * 1500 + "\n",
        "a: " + "[" * 400 + "]" * 400 + "\n",
        "\ufeffname: x\r\ndescription: y\r\nsteps: 1\r\n",
        "? [a, b]\n: c\n",
        "name: x\ndescription: y\nsteps:\n  - block: {steps: [{block: {steps: [{rest: {}}]}}]}\n",
    ],
)
def test_odd_input_gives_issues_not_exceptions(tmp_path, videos, text):
    issues = check_protocol(write(tmp_path, text), videos)
    assert issues and all(isinstance(i, Issue) and i.code in CATALOGUE for i in issues)
    assert all(i.line >= 1 and i.col >= 1 for i in issues)


def test_load_protocol_raises_with_every_issue(tmp_path, videos):
    path = write(tmp_path, ALL_WRONG)
    with pytest.raises(ProtocolError) as info:
        load_protocol(path, videos)
    err = info.value
    assert len(err.issues) >= 13
    assert f"{path}:10:" in err.message  # the message itself lists the issues
    assert "rehab validate" in (err.hint or "")


def test_load_valid_protocol(tmp_path, videos):
    text = (
        HEAD
        + """\
steps:
  - observe: {clip: open_close.mp4, speed: 0.5}
  - block:
      repeat: 2
      steps:
        - execute: {task: open_close, target_reps: 5}
        - rest: {duration_s: 3}
  - rate:
      ratings:
        - scale: custom
          name: effort
          question: How hard was it?
          min: 0
          max: 4
          anchors: {0: easy, 4: very hard}
"""
    )
    path = write(tmp_path, text)
    loaded = load_protocol(path, videos)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.text == path.read_text()
    assert loaded.clip_path("open_close.mp4") == videos / "open_close.mp4"
    kinds = [p.kind for p in loaded.protocol.flatten()]
    assert kinds == ["observe", "execute", "rest", "execute", "rest", "rate"]
    execute = loaded.protocol.flatten()[1].step
    assert isinstance(execute, ExecuteStep) and execute.hand is None
    with pytest.raises(ValidationError):  # frozen
        execute.target_reps = 9  # type: ignore[misc]


def test_default_videos_dir_is_beside_protocols(tmp_path):
    (tmp_path / "protocols").mkdir()
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "open_close.mp4").write_bytes(b"")
    path = write(
        tmp_path, HEAD + "steps:\n  - observe: {clip: open_close.mp4}\n", "protocols/p.yaml"
    )
    assert load_protocol(path).videos_dir == tmp_path / "videos"
    (tmp_path / "videos" / "open_close.mp4").unlink()
    assert [i.code for i in check_protocol(path)] == ["P008"]


def test_yaml_merge_keys_and_anchors_work(tmp_path, videos):
    text = (
        HEAD
        + """\
x-common: &common {task: open_close, duration_s: 10}
steps:
  - execute: {<<: *common, target_reps: 3}
"""
    )
    issues = check_protocol(write(tmp_path, text), videos)
    # anchors work; the helper key itself is still unknown
    assert [(i.code, i.line) for i in issues] == [("P002", 3)]


def test_readme_lists_every_problem_code():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Protocol files", 1)[-1]
    missing = [code for code in CATALOGUE if f"| {code} |" not in section]
    assert not missing, f"README 'Protocol files' lacks codes {missing}"


def test_text_that_yaml_reads_as_boolean_suggests_quotes(tmp_path, videos):
    path = write(tmp_path, "name: Test\ndescription: yes\nsteps:\n  - rest: {duration_s: 5}\n")
    (issue,) = check_protocol(path, videos)
    assert (issue.code, issue.line) == ("P003", 2)
    assert "quotes" in issue.hint and "not true" in issue.message


@pytest.mark.parametrize("task", TASK_NAMES)
def test_counted_tasks_match_the_live_scorer(task):
    """A task the registry calls counted (target_reps can end its step) is counted live."""
    from rehab.scoring.live import LiveScorer

    scorer = LiveScorer(task, "right")
    for frame in TASKS[task].example(0, "right"):
        scorer.update(frame)
    assert (scorer.reps > 0) == TASKS[task].counted, (task, scorer.reps)


def test_demonstration_must_show_the_step_task(tmp_path, videos):
    (videos / "open_close.yaml").write_text(
        "task: finger_tap\nhand: right\nfps: 30.0\nduration_s: 1.0\nframes: 30\n"
        "source: test\ndate: 2026-01-01\n"
    )
    text = HEAD + (
        "steps:\n"
        "  - execute: {task: finger_tap, duration_s: 5, demonstration: open_close.mp4}\n"
        "  - execute:\n      task: open_close\n      duration_s: 5\n"
        "      demonstration: open_close.mp4\n"
    )
    issues = check_protocol(write(tmp_path, text), videos)
    assert [(i.code, i.line) for i in issues] == [("P022", 8)]
    assert "shows finger_tap" in issues[0].message


def test_readme_examples_are_valid(tmp_path, videos):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Protocol files", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    full = [b for b in blocks if b.startswith("name:")]
    assert full, "the Protocol files section shows a whole protocol"
    for i, block in enumerate(full):
        issues = check_protocol(write(tmp_path, block, f"readme{i}.yaml"), videos)
        assert issues == [], "\n".join(map(str, issues))
    # the custom-scale snippet is a rate step: wrap it into a protocol
    snippet = next(b for b in blocks if "scale: custom" in b)
    wrapped = HEAD + "steps:\n" + snippet
    assert check_protocol(write(tmp_path, wrapped, "custom.yaml"), videos) == []
