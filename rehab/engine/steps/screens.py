"""Step runners without a camera or a clip: instruction, rest, rate (and ratings), imagine."""

from __future__ import annotations

from rehab.devices.base import Command, CommandKind
from rehab.engine.context import StepContext
from rehab.engine.scenes import RatingScene, TextScene
from rehab.protocol.models import ImagineStep, InstructionStep, RateStep, Rating, RestStep


def run_instruction(ctx: StepContext, step: InstructionStep) -> None:
    """Text until SPACE (or, with ``duration_s``, until that time has passed)."""
    footer = "Press SPACE to continue"

    def render(_left: float | None) -> TextScene:
        return TextScene(title=step.title or "", body=step.text, footer=footer, progress=ctx.progress)

    ctx.hold(render, step.duration_s, until_continue=True)


def run_rest(ctx: StepContext, step: RestStep) -> None:
    """A countdown; only the clinician key ends it early."""
    body = step.text or "Relax your arm and hand."

    def render(left: float | None) -> TextScene:
        return TextScene(title="Rest", body=body, footer="", seconds_left=left, progress=ctx.progress)

    ctx.hold(render, step.duration_s)


def run_rate(ctx: StepContext, step: RateStep) -> None:
    for rating in step.ratings:
        ask_rating(ctx, rating, intro=step.text)


TYPE_CONTINUE_S = 1.5  # a digit this soon after another may continue the same number


def typed_number(digits: str | None, digit: int, lo: int, hi: int) -> tuple[int | None, str | None]:
    """(value selected, digits typed so far) after typing ``digit``.

    ``digits`` are the digits typed just before (None: nothing recent, see TYPE_CONTINUE_S).
    The digit continues them when the result is on the scale ("1", "0" -> 10 on 0-10 or
    0-20); otherwise it starts a new number on its own ("1", "2" -> 2 on 1-5; "2", "0" -> 0
    on 0-10). A digit that is no answer on its own (0 on 1-5) changes nothing.

    Example:
        >>> typed_number("1", 0, 0, 10)
        (10, '10')
        >>> typed_number("1", 2, 1, 5)
        (2, '2')
    """
    if digits is not None:
        joined = digits + str(digit)
        if lo <= int(joined) <= hi and not joined.startswith("0"):
            return int(joined), joined
    if lo <= digit <= hi:
        return digit, str(digit)
    return None, None


def ask_rating(ctx: StepContext, rating: Rating, intro: str | None = None) -> int:
    """One rating scale: arrows change the value, a typed number replaces it, SPACE confirms.

    A digit typed within ``TYPE_CONTINUE_S`` of the previous one continues that number when
    the result is on the scale (``typed_number``); otherwise it replaces the selection.

    Autopilot answers ``rating.autopilot_value``. The value is stored and the safety rules
    are applied before this returns (SafetyStop may be raised).
    """
    question = f"{intro}\n{rating.prompt}" if intro else rating.prompt
    selected: list[int | None] = [rating.autopilot_value if ctx.autopilot else None]
    confirmed = [False]
    typing: list = [None, 0.0]  # digits typed so far (str) and when the last one came

    def render(_left: float | None) -> RatingScene:
        return RatingScene(question=question, lo=rating.lo, hi=rating.hi,
                           anchors=rating.anchor_labels, selected=selected[0],
                           progress=ctx.progress)

    def on_command(c: Command) -> bool:
        value = selected[0]
        if c.kind != CommandKind.NUMBER:
            typing[0] = None  # an arrow (or anything else) ends the number being typed
        if c.kind in (CommandKind.UP, CommandKind.RIGHT):
            selected[0] = rating.lo if value is None else min(rating.hi, value + 1)
        elif c.kind in (CommandKind.DOWN, CommandKind.LEFT):
            selected[0] = rating.lo if value is None else max(rating.lo, value - 1)
        elif c.kind == CommandKind.NUMBER and c.value is not None:
            now = ctx.active_now()
            fresh = typing[0] is not None and now - typing[1] <= TYPE_CONTINUE_S
            number, typing[0] = typed_number(typing[0] if fresh else None, c.value,
                                             rating.lo, rating.hi)
            typing[1] = now
            if number is not None:
                selected[0] = number
        elif c.kind == CommandKind.CONTINUE and value is not None:
            confirmed[0] = True
            return True
        return False

    if ctx.autopilot:
        ctx.show(render(None))
    else:
        while not confirmed[0]:
            ctx.hold(render, on_command=on_command)
    value = selected[0] if selected[0] is not None else rating.autopilot_value
    ctx.record_rating(rating.key, value)
    return value


def _timed_imagery(ctx: StepContext, step: ImagineStep, render) -> None:
    """Hold the imagery screen; record its active (pause-free) seconds even when cut short."""
    began = ctx.active_now()
    try:
        ctx.hold(render, step.duration_s)
    finally:
        ctx.event("imagery", imagined_s=round(ctx.active_now() - began, 3),
                  eyes_closed=bool(step.eyes_closed))


def run_imagine(ctx: StepContext, step: ImagineStep) -> None:
    """Imagery prompt; eyes-closed mode gives a dim screen between a start and a stop tone."""
    if step.eyes_closed and ctx.audio_problem:
        # without the tones nobody would know when to open their eyes: imagine eyes open
        ctx.not_as_planned(f"eyes open instead of closed: {ctx.audio_problem}",
                           cause="no_sound")
        ctx.message("Imagine", f"{step.text}\n\nThere is no sound today, so keep your eyes "
                    "open and watch the countdown.", "Press SPACE when you are ready")
        ctx.cue("start")
        ctx.event("eyes_open_instead")

        def render_cue(left: float | None) -> TextScene:
            return TextScene(title="Imagine", body=step.text, footer="", seconds_left=left,
                             progress=ctx.progress)

        ctx.hold(render_cue, step.duration_s)
        ctx.cue("stop")
    elif step.eyes_closed:
        ctx.message("Imagine", f"{step.text}\n\nClose your eyes at the tone. "
                    "Open them at the second tone.", "Press SPACE when you are ready")
        ctx.cue("start")
        ctx.event("eyes_closed_started")

        def render(left: float | None) -> TextScene:
            return TextScene(title="Eyes closed", body="Imagine the movement.", footer="",
                             seconds_left=left, dim=True, progress=ctx.progress)

        _timed_imagery(ctx, step, render)
        ctx.cue("stop")
        ctx.event("eyes_closed_ended")
    else:
        def render_open(left: float | None) -> TextScene:
            return TextScene(title="Imagine", body=step.text, footer="", seconds_left=left,
                             progress=ctx.progress)

        _timed_imagery(ctx, step, render_open)
    if step.rate_vividness:
        ask_rating(ctx, Rating(scale="vividness"))
