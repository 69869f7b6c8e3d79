"""The clip library: action-observation clips with sidecars and reference landmark trajectories.

Public API (recording and rendering load OpenCV/synth only when used):

- ``ClipLibrary(videos_dir)``: ``.get(name) -> ClipInfo``, ``.list()``, ``.check()``,
  ``.reference(name)``.
- ``needs_mirror(clip_hand, affected_side, match_affected_side) -> bool``.
- ``verify_hand(clip, tracker) -> str | None`` (a warning when the tracker disagrees).
- ``record_clip(camera, tracker, library, name, task=...)`` and ``render_demo(task, library)``.
"""

from __future__ import annotations

from typing import Any

from rehab.clips.library import ClipInfo, ClipLibrary, ClipProblem, needs_mirror
from rehab.clips.sidecar import ClipSidecar

__all__ = ["ClipInfo", "ClipLibrary", "ClipProblem", "ClipSidecar", "needs_mirror",
           "record_clip", "render_demo", "verify_hand"]

_LAZY = {"record_clip": "rehab.clips.record", "verify_hand": "rehab.clips.record",
         "render_demo": "rehab.clips.render"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rehab.clips' has no attribute {name!r}")
