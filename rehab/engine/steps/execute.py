"""The execute step: countdown, live camera trial scored as it goes, then the result screen."""

from __future__ import annotations

from typing import Any

import numpy as np

from rehab.devices.base import TrackedFrame, other_side
from rehab.engine.context import StepContext
from rehab.engine.scenes import CameraScene, ResultScene, TextScene
from rehab.engine.scoring_seam import safe_score
from rehab.engine.steps.camera_check import run_camera_check
from rehab.engine.steps.camera_feed import camera_feed
from rehab.engine.steps.tracking import TrackingLane
from rehab.errors import RehabError
from rehab.protocol.models import ExecuteStep
from rehab.tasks import NO_REPETITION, TASKS, patient_line

HIDDEN_HINT_S = 1.0  # show "hand not visible" once the hand has been missing this long
# A trial with target_reps and no duration_s still ends some time: nobody can be left
# repeating a movement they cannot complete (the clinician key skips sooner).
OPEN_TRIAL_MAX_S = 600.0
HIDDEN_HINT = "Hand not visible - move it into view"
POOR_TRACKING = "I could not see your hand well; let's try the next one."
# Below this share of frames with the hand, a trial's numbers say more about the camera than
# about the movement: the patient hears the gentle word, not a count.
MIN_TRACKED_FOR_RESULT = 0.5
WRONG_HAND_SHARE = 0.5  # more of the trial than this with only the other hand: say so after


def wrong_hand_hint(seen: str, wanted: str) -> str:
    """What to say when only the other hand is in view (the tracker names the anatomical side)."""
    return f"I can see your {seen} hand - please use your {wanted} hand"


def only_other_hand_share(frames: list[TrackedFrame], hand: str) -> float:
    """Share of the trial's frames where the other hand was seen and ``hand`` was not."""
    if not frames:
        return 0.0
    other = other_side(hand)
    n = sum(1 for f in frames if f.hand(hand) is None and f.hand(other) is not None)
    return n / len(frames)


def resolve_hand(choice: str, affected_side: str) -> str:
    """Anatomical side to score: affected / unaffected; "both" scores the affected hand."""
    return other_side(affected_side) if choice == "unaffected" else affected_side


def run_execute(ctx: StepContext, step: ExecuteStep, reference: object | None) -> None:
    defaults = ctx.protocol.defaults
    choice = step.hand or defaults.hand
    hand = resolve_hand(choice, ctx.patient.affected_side)
    feedback = defaults.feedback if step.feedback is None else step.feedback
    show_result = defaults.show_result if step.show_result is None else step.show_result
    instruction = step.text or TASKS[step.task].instruction
    who = "both hands" if choice == "both" else f"{hand} hand"
    if not ctx.camera_checked:
        ctx.camera_checked = True
        run_camera_check(ctx, hand)
    _countdown(ctx, f"Your turn: {who}", instruction, defaults.countdown_s)
    ctx.cue("start")
    ctx.event("trial_started", task=step.task, hand=hand, hand_choice=choice)
    ctx.screenshot_next("camera")
    frames = _capture(ctx, step, hand, instruction, feedback, wrong_ok=choice == "both")
    ctx.cue("stop")
    scoring = ctx.scoring
    score, error = safe_score(scoring, frames, step.task, hand, reference)
    ctx.record_trial(step.task, hand, score, frames)
    wrong = 0.0 if choice == "both" else only_other_hand_share(frames, hand)
    if wrong > WRONG_HAND_SHARE:
        ctx.event("wrong_hand_seen", seen=other_side(hand), wanted=hand, share=round(wrong, 3))
    if show_result:
        _result_screen(ctx, step, hand, score, error, wrong_hand=wrong > WRONG_HAND_SHARE)


def _countdown(ctx: StepContext, title: str, body: str, countdown_s: float) -> None:
    if countdown_s <= 0:
        return

    def render(left: float | None) -> TextScene:
        return TextScene(title=title, body=body, footer="Get ready", seconds_left=left,
                         progress=ctx.progress)

    ctx.hold(render, countdown_s)


def _capture(ctx: StepContext, step: ExecuteStep, hand: str, caption: str,
             feedback: bool, wrong_ok: bool = False) -> list[TrackedFrame]:
    """Camera -> tracker -> live scorer -> screen, until target reps, time, or camera end.

    Fast mode tracks every frame before showing it. In real time tracking runs on a worker
    thread and the screen shows each new camera frame with the latest tracking result.
    """
    lane = TrackingLane(ctx.devices.tracker, background=ctx.options.track_in_background)
    live = _Live(ctx.scoring.live(step.task, hand), hand)
    # A counter stuck at 0 (reach_grasp, free: not counted live) would tell the patient they fail.
    show_reps = feedback and TASKS[step.task].counted
    sink = open_recording(ctx, step)
    try:
        for frame, elapsed in camera_feed(ctx, step.duration_s or OPEN_TRIAL_MAX_S):
            if sink is not None:
                sink.write(frame.image)
            live.feed(lane.add(frame), elapsed)
            landmarks = live.landmarks if feedback else None
            hint = live.hint(elapsed, wrong_ok)
            left = None if step.duration_s is None else max(0.0, step.duration_s - elapsed)
            scene = CameraScene(image=frame.image, landmarks=landmarks, caption=caption,
                                reps=live.reps if show_reps else None,
                                target_reps=step.target_reps, seconds_left=left, hint=hint,
                                reps_label=TASKS[step.task].counter_label,
                                progress=ctx.progress)
            flip_t = ctx.show(scene)
            ctx.event("frame_shown", frame=frame.index, captured_at=frame.captured_at,
                      flip_t=flip_t, reps=live.reps, visible=live.visible)
            if step.target_reps is not None and live.reps >= step.target_reps:
                ctx.event("target_reached", reps=live.reps)
                break
        live.feed(lane.finish(), None)
    finally:
        lane.close()
        if sink is not None:
            sink.close()
            ctx.event("video_recorded", path=str(getattr(sink, "path", "")),
                      frames=getattr(sink, "frames", None))
    return live.frames


def open_recording(ctx: StepContext, step: ExecuteStep) -> Any:
    """A VideoSink when the step asks for video, the patient consented and a recorder exists."""
    if not step.record_video:
        return None
    if not ctx.patient.consent_video:
        ctx.event("video_not_recorded", reason="the patient has not consented to video")
        return None
    recorder = ctx.devices.recorder
    camera = ctx.devices.camera
    if recorder is None or camera is None:
        ctx.event("video_not_recorded", reason="no video recorder was given")
        return None
    index = ctx.step.index if ctx.step else -1
    width, height = camera.size
    try:
        return recorder(index, float(camera.fps), (int(width), int(height)))
    except (RehabError, OSError) as exc:  # no video is no reason to stop the trial
        ctx.event("video_not_recorded", reason=str(exc))
        return None


class _Live:
    """The live scorer's view of the trial so far: frames, reps, visibility, landmarks."""

    def __init__(self, scorer: Any, hand: str) -> None:
        self.scorer, self.hand = scorer, hand
        self.frames: list[TrackedFrame] = []
        self.reps = 0
        self.visible = False
        self.landmarks: np.ndarray | None = None
        self.last_seen_s = 0.0
        self.other_seen = False  # the latest frame showed only the other hand

    def feed(self, tracked: list[TrackedFrame], elapsed: float | None) -> None:
        for tf in tracked:
            self.frames.append(tf)
            state = self.scorer.update(tf)
            self.reps, self.visible = int(state.reps), bool(state.visible)
            self.landmarks = _landmarks(state, tf, self.hand) if self.visible else None
            self.other_seen = not self.visible and tf.hand(other_side(self.hand)) is not None
            if self.visible and elapsed is not None:
                self.last_seen_s = elapsed

    def hint(self, elapsed: float, wrong_ok: bool = False) -> str | None:
        """Once the hand has been missing a while: which hand is seen and which to use."""
        if elapsed - self.last_seen_s <= HIDDEN_HINT_S:
            return None
        if self.other_seen and not wrong_ok:
            return wrong_hand_hint(other_side(self.hand), self.hand)
        return HIDDEN_HINT


def _landmarks(live: Any, tf: TrackedFrame, hand: str) -> np.ndarray | None:
    if getattr(live, "landmarks", None) is not None:
        return live.landmarks
    obs = tf.hand(hand)
    return None if obs is None else np.asarray(obs.image)[:, :2]


def _result_screen(ctx: StepContext, step: ExecuteStep, hand: str, score: dict[str, Any],
                   error: str | None, wrong_hand: bool = False) -> None:
    """One plain sentence for the patient (the clinician's numbers are in the review)."""
    history = ctx.devices.history if step.compare_previous else None
    compare = history is not None
    previous = history(step.task, hand) if history is not None else None
    if error is not None and wrong_hand:
        line = f"I only saw your {other_side(hand)} hand. This exercise is for your {hand} hand."
    else:
        line = result_line(step.task, score, error, previous, compare)
    # praise only a result; "Well done" over "I could not see your hand" contradicts itself
    praised = error is None and line not in (POOR_TRACKING, NO_REPETITION)
    scene = ResultScene(title="Well done" if praised else "Thank you", lines=(line,),
                        progress=ctx.progress)
    ctx.screenshot_next("result")
    ctx.hold(lambda _left: scene, until_continue=True)


def result_line(task: str, score: dict[str, Any], error: str | None,
                previous: dict[str, Any] | None, compare: bool = False) -> str:
    """The patient's sentence: the task's one number, compared with last time when asked; a
    gentle word instead when the hand was not seen well enough to score."""
    tracked = score.get("tracked_fraction")
    if error is not None or not isinstance(tracked, (int, float)) or tracked < MIN_TRACKED_FOR_RESULT:
        return POOR_TRACKING
    return patient_line(TASKS[task], score, previous, compare)
