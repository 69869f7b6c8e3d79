"""Protocol files: YAML a clinician writes -> a validated, frozen Protocol (or coded Issues).

Public API::

    from rehab.protocol import load_protocol, check_protocol, Issue, ProtocolError

    loaded = load_protocol("protocols/demo.yaml")     # raises ProtocolError(issues=[...])
    for planned in loaded.protocol.flatten():
        print(planned.index, planned.kind)
    problems = check_protocol("my_protocol.yaml")       # [] when valid
"""

from rehab.errors import ProtocolError
from rehab.protocol.issues import CATALOGUE, Issue, IssueKind
from rehab.protocol.loader import LoadedProtocol, check_protocol, load_protocol
from rehab.protocol.models import (
    STEP_KINDS,
    Block,
    Defaults,
    ExecuteStep,
    ImagineStep,
    InstructionStep,
    LeafStep,
    MirrorStep,
    ObserveStep,
    PlannedStep,
    Protocol,
    RateStep,
    Rating,
    RestStep,
    Safety,
)
from rehab.protocol.schema import protocol_json_schema

__all__ = [
    "CATALOGUE",
    "STEP_KINDS",
    "Block",
    "Defaults",
    "ExecuteStep",
    "ImagineStep",
    "InstructionStep",
    "Issue",
    "IssueKind",
    "LeafStep",
    "LoadedProtocol",
    "MirrorStep",
    "ObserveStep",
    "PlannedStep",
    "Protocol",
    "ProtocolError",
    "RateStep",
    "Rating",
    "RestStep",
    "Safety",
    "check_protocol",
    "load_protocol",
    "protocol_json_schema",
]
