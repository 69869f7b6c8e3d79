"""`rehab validate` exit codes and output; `rehab schema` describes the written YAML form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rehab.cli import main
from rehab.paths import shipped_protocols_dir
from rehab.protocol import STEP_KINDS, protocol_json_schema

GOOD = "name: T\ndescription: D\nsteps:\n  - rest: {duration_s: 5}\n"
BAD = "name: T\ndescription: D\nsteps:\n  - rest: {duration_s: -5}\n  - execute: {task: fist}\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    return good, bad


def test_validate_valid_file_exits_0(files):
    result = CliRunner().invoke(main, ["validate", str(files[0])])
    assert result.exit_code == 0, result.output
    assert "valid - 1 step (1 rest); about 0.1 min planned" in result.output


def test_validate_invalid_file_exits_1_and_prints_every_issue(files):
    bad = files[1]
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4:24: P005:" in result.output
    assert f"{bad}:5:" in result.output and "P007" in result.output and "P009" in result.output
    assert "INVALID, 3 problems" in result.output
    assert "Traceback" not in result.output


def test_validate_several_files_exits_1_if_any_invalid(files):
    result = CliRunner().invoke(main, ["validate", str(files[0]), str(files[1])])
    assert result.exit_code == 1
    assert "1 of 2 files valid" in result.output


def test_validate_missing_file_is_an_issue_not_a_crash(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "P019" in result.output and "no such file" in result.output


def test_validate_uses_videos_option(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: T\ndescription: D\nsteps:\n  - observe: {clip: a.mp4}\n")
    clips = tmp_path / "clips"
    clips.mkdir()
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(path), "--videos", str(clips)]).exit_code == 1
    (clips / "a.mp4").write_bytes(b"")
    assert runner.invoke(main, ["validate", str(path), "--videos", str(clips)]).exit_code == 0


def test_schema_is_json_for_the_written_form(tmp_path):
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    items = schema["properties"]["steps"]["items"]["oneOf"]
    assert sorted(next(iter(i["properties"])) for i in items) == sorted(STEP_KINDS)
    assert all(i["additionalProperties"] is False and len(i["required"]) == 1 for i in items)
    for name, definition in schema["$defs"].items():
        assert "kind" not in definition.get("properties", {}), name
    assert schema["$defs"]["ObserveStep"]["properties"]["speed"]["description"]
    out = tmp_path / "s.json"
    assert CliRunner().invoke(main, ["schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == schema


def _check_keys(node, schema, defs):
    """Minimal structural check (no jsonschema needed): every key written is in the schema."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema and "properties" not in schema:
        schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), schema)
    if isinstance(node, dict) and "oneOf" in schema:
        (key,) = node
        arm = next(a for a in schema["oneOf"] if key in a["properties"])
        _check_keys(node[key], arm["properties"][key], defs)
    elif isinstance(node, dict) and "properties" in schema:
        for key, value in node.items():
            assert key in schema["properties"], f"{key} not in schema"
            _check_keys(value, schema["properties"][key], defs)
    elif isinstance(node, list) and "items" in schema:
        for item in node:
            _check_keys(item, schema["items"], defs)


@pytest.mark.parametrize(
    "path", sorted(shipped_protocols_dir().glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_protocols_match_schema_keys(path):
    schema = protocol_json_schema()
    _check_keys(yaml.safe_load(path.read_text()), schema, schema["$defs"])


@pytest.mark.parametrize(
    "path", sorted(shipped_protocols_dir().glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_protocols_validate_with_jsonschema(path):
    import jsonschema  # a test dependency (pyproject [test] extra)

    schema = protocol_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, schema)
    data["steps"][0] = {"instruction": {"text": "x", "colour": "red"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_validate_a_folder_checks_every_yaml_in_it(files):
    folder = files[0].parent
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "good.yaml: valid" in result.output and "bad.yaml: INVALID" in result.output


def test_summary_counts_clip_time_from_its_length(tmp_path):
    from rehab.protocol import Protocol
    from rehab.protocol.summary import summarize

    proto = Protocol.model_validate(
        {
            "name": "t",
            "description": "d",
            "steps": [
                {"kind": "observe", "clip": "a.mp4", "repeat": 2, "speed": 0.5},
                {"kind": "execute", "task": "free", "target_reps": 3},
                {"kind": "rest", "duration_s": 20},
            ],
        }
    )
    assert summarize(proto, lambda name: 10.0).endswith("about 1.0 min planned + 1 untimed")
    assert summarize(proto).endswith("about 0.3 min planned + 2 untimed")


def test_schema_into_a_missing_folder_is_a_message_not_a_traceback(tmp_path):
    target = tmp_path / "nowhere" / "schema.json"
    result = CliRunner().invoke(main, ["schema", "-o", str(target)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert str(target) in result.output and "what to do" in result.output
