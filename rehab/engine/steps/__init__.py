"""One runner per step kind; each takes the StepContext and the step model."""

from rehab.engine.steps.execute import run_execute
from rehab.engine.steps.mirror_step import run_mirror
from rehab.engine.steps.observe import run_observe
from rehab.engine.steps.screens import ask_rating, run_imagine, run_instruction, run_rate, run_rest

LABELS = {
    "observe": "Watch",
    "execute": "Your turn",
    "mirror": "Mirror",
    "imagine": "Imagine",
    "rest": "Rest",
    "rate": "Questions",
    "instruction": "",
}
CAMERA_KINDS = ("execute", "mirror")

__all__ = [
    "CAMERA_KINDS", "LABELS", "ask_rating", "run_execute", "run_imagine", "run_instruction",
    "run_mirror", "run_observe", "run_rate", "run_rest",
]
