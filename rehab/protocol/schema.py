"""JSON Schema of protocol files as clinicians write them (for editors such as VS Code).

Pydantic describes the models as the loader sees them (``{"kind": "observe", ...}``); a
clinician writes ``- observe: {...}``. This rewrites pydantic's schema into the written form.
"""

from __future__ import annotations

import copy
from typing import Any

from rehab.protocol.models import Protocol

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def protocol_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a protocol YAML file.

    Example:
        >>> schema = protocol_json_schema()
        >>> sorted(schema["$defs"]["ObserveStep"]["required"])
        ['clip']
    """
    schema = copy.deepcopy(Protocol.model_json_schema())
    defs: dict[str, Any] = schema.get("$defs", {})
    for definition in defs.values():
        props = definition.get("properties", {})
        if "kind" in props:
            del props["kind"]
            definition["required"] = [r for r in definition.get("required", []) if r != "kind"]
            if not definition["required"]:
                del definition["required"]
    if "ExecuteStep" in defs:
        # The model's own rule: an execute step needs something that ends it.
        defs["ExecuteStep"]["anyOf"] = [{"required": ["target_reps"]}, {"required": ["duration_s"]}]
    schema = _rewrite_unions(schema, defs)
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "rehab protocol"
    return schema


def _rewrite_unions(node: Any, defs: dict[str, Any]) -> Any:
    """Replace each discriminated step union by the single-key form ``{kind: settings}``."""
    if isinstance(node, list):
        return [_rewrite_unions(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "discriminator" in node and "oneOf" in node:
        mapping: dict[str, str] = node["discriminator"].get("mapping", {})
        return {"oneOf": [_single_key(kind, ref, defs) for kind, ref in mapping.items()]}
    return {key: _rewrite_unions(value, defs) for key, value in node.items()}


def _single_key(kind: str, ref: str, defs: dict[str, Any]) -> dict[str, Any]:
    name = ref.rsplit("/", 1)[-1]
    return {
        "type": "object",
        "description": defs.get(name, {}).get("description", kind),
        "properties": {kind: {"$ref": ref}},
        "required": [kind],
        "additionalProperties": False,
    }
