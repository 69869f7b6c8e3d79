"""Hostile protocol files: every bound has its own code at its line, in bounded time; the batch
always finishes and nothing a terminal would act on is printed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rehab.cli import main
from rehab.protocol import check_protocol
from rehab.protocol.limits import MAX_FILE_BYTES, MAX_PLANNED_STEPS

HEAD = "name: T\ndescription: D\nsteps:\n"

BLOCK_BOMB = HEAD + "".join(
    " " * (2 + 6 * i) + "- block:\n"
    + " " * (6 + 6 * i) + "repeat: 100\n"
    + " " * (6 + 6 * i) + "steps:\n"
    for i in range(4)
) + " " * 26 + "- rest: {duration_s: 1}\n"

LAUGHS = 'a0: &a0 "lol"\n' + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
) + HEAD + "  - rest: {duration_s: 1}\n"


def _check(tmp_path: Path, text: str | bytes, name: str = "p.yaml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    issues = check_protocol(path, tmp_path)
    return [(i.code, i.line, i.col) for i in issues], issues, time.perf_counter() - start


def test_block_bomb_is_too_long_a_session_without_expanding_it(tmp_path):
    found, issues, took = _check(tmp_path, BLOCK_BOMB)
    assert found == [("P025", 3, 1)]
    assert "100,000,000 steps" in issues[0].message and f"{MAX_PLANNED_STEPS:,}" in issues[0].message
    assert took < 1.0


def test_billion_laughs_stops_at_the_alias_budget(tmp_path):
    found, issues, took = _check(tmp_path, LAUGHS)
    assert [f[0] for f in found] == ["P024"]
    assert found[0][1] == 1  # where the expansion ran over: inside a0's first use
    assert took < 2.0


def test_timed_steps_over_four_hours(tmp_path):
    text = HEAD + "  - block:\n      repeat: 5\n      steps:\n        - rest: {duration_s: 3600}\n"
    found, issues, _ = _check(tmp_path, text)
    assert found == [("P025", 3, 1)]
    assert "5.0 hours" in issues[0].message


def test_file_over_the_size_limit(tmp_path):
    text = HEAD + "  - rest: {duration_s: 1}\n" + "# " + "x" * MAX_FILE_BYTES + "\n"
    assert _check(tmp_path, text)[0] == [("P023", 1, 1)]


def test_huge_custom_scale_is_refused(tmp_path):
    text = HEAD + (
        "  - rate:\n      ratings:\n        - {scale: custom, name: effort, question: 'How hard',"
        " min: 0, max: 1000000000000, anchors: {0: low}}\n"
    )
    found, issues, _ = _check(tmp_path, text)
    assert found == [("P028", 6, 11)]
    assert "1000000000001 answers" in issues[0].message


def test_scale_of_21_choices_is_allowed(tmp_path):
    text = HEAD + (
        "  - rate:\n      ratings:\n        - {scale: custom, name: effort, question: 'How hard',"
        " min: 0, max: 20, anchors: {0: low, 20: high}}\n"
    )
    assert _check(tmp_path, text)[0] == []


def test_long_word_and_long_text(tmp_path):
    text = HEAD + f"  - instruction: {{text: {'x' * 41}}}\n  - rest: {{duration_s: 1, text: '{'ab ' * 700}'}}\n"
    found, issues, _ = _check(tmp_path, text)
    assert found == [("P026", 4, 25), ("P026", 5, 33)]
    assert "41 letters" in issues[0].message and "2,100 characters" in issues[1].message


def test_nul_escape_in_text(tmp_path):
    found, issues, _ = _check(tmp_path, HEAD + '  - instruction: {text: "before\\0after"}\n')
    assert found == [("P027", 4, 25)]
    assert "NUL" in issues[0].message and "\x00" not in str(issues[0])


def test_raw_nul_byte_is_reported_at_its_line_on_one_line(tmp_path):
    found, issues, _ = _check(tmp_path, (HEAD + '  - rest: {duration_s: 1, text: "a\0b"}\n').encode())
    assert found == [("P027", 4, 35)]
    assert "\n" not in str(issues[0])


def test_lone_surrogate_is_one_problem(tmp_path):
    found, issues, _ = _check(tmp_path, 'name: "bad \\ud800 name"\ndescription: y\nsteps:\n'
                              "  - rest: {duration_s: 1}\n")
    assert found == [("P027", 1, 7)]
    str(issues[0]).encode("utf-8")  # printable: no UnicodeEncodeError


def test_long_clip_name_is_a_clip_name_problem(tmp_path):
    found, _, _ = _check(tmp_path, HEAD + f"  - observe: {{clip: {'a' * 300}.mp4}}\n")
    assert found == [("P020", 4, 21)]


def test_huge_number_is_a_value_problem(tmp_path):
    found, _, _ = _check(tmp_path, HEAD + f"  - rest: {{duration_s: {'9' * 5000}}}\n")
    assert ("P001", 4, 24) in found


def test_validate_batch_survives_hostile_files_and_escapes_output(tmp_path):
    files = {
        "a_ansi.yaml": 'name: "\\e[2J\\e[31mANSI\\e]0;owned\\a"\ndescription: d\nsteps:\n'
        "  - instruction: {text: hi}\n",
        "b_surrogate.yaml": 'name: "bad \\ud800"\ndescription: y\nsteps:\n  - rest: {duration_s: 1}\n',
        "c_clip.yaml": HEAD + f"  - observe: {{clip: {'a' * 300}.mp4}}\n",
        "d_bomb.yaml": BLOCK_BOMB,
        "e_laughs.yaml": LAUGHS,
        "f_good.yaml": HEAD + "  - rest: {duration_s: 1}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert lines[-1] == "1 of 6 files valid"
    assert "\x1b" not in result.output and "\x07" not in result.output
    problems = [ln for ln in lines if ": P0" in ln]
    assert [ln.split(": ")[1] for ln in problems] == ["P027", "P027", "P020", "P025", "P024"]
    for line in problems:
        file, line_no, col = line.split(": ")[0].rsplit(":", 2)
        assert Path(file).parent == tmp_path and line_no.isdigit() and col.isdigit()


def test_a_crash_inside_the_loader_does_not_stop_the_batch(tmp_path, monkeypatch):
    import rehab.protocol.loader as loader

    real = loader.parse

    def explode(text, file):
        if "boom" in file:
            raise MemoryError
        return real(text, file)

    monkeypatch.setattr(loader, "parse", explode)
    (tmp_path / "a_boom.yaml").write_text(HEAD + "  - rest: {duration_s: 1}\n")
    (tmp_path / "b_good.yaml").write_text(HEAD + "  - rest: {duration_s: 1}\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert f"{tmp_path / 'a_boom.yaml'}:1:1: P019: could not check this file (MemoryError)" in result.output
    assert "1 of 2 files valid" in result.output


@pytest.mark.parametrize("key", ["text", "title"])
def test_instruction_texts_are_checked(tmp_path, key):
    text = HEAD + f"  - instruction: {{text: hi, {key}: \"a\\x1bb\"}}\n" if key == "title" else (
        HEAD + '  - instruction: {text: "a\\x1bb"}\n'
    )
    assert [f[0] for f in _check(tmp_path, text)[0]] == ["P027"]


@pytest.mark.parametrize("command", ["assign", "run"])
def test_block_bomb_is_refused_quickly_by_assign_and_run(tmp_path, command):
    from rehab.store import Store

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BLOCK_BOMB)
    Store(tmp_path / "data").add_patient("P1", "left")
    args = (["assign", "P1", str(bomb), "--per-week", "3"] if command == "assign"
            else ["run", str(bomb), "--patient", "P1", "--autopilot", "--fast"])
    start = time.perf_counter()
    result = CliRunner().invoke(main, [*args, "--data", str(tmp_path / "data")])
    assert time.perf_counter() - start < 5.0
    assert result.exit_code != 0
    assert f"{bomb}:3:1: P025: the steps expand to 100,000,000 steps" in result.output
