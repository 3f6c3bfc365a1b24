"""The guided bedtime routine: steps spoken one at a time, with the holds timed in SSML breaks.

While it runs, the session attribute ``routine_step`` is the step being done. The same index is kept
as a persistent attribute at every step, so a pause, a stop or a session that simply times out can
be picked up another night; finishing the routine forgets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill import screens, speech
from skill.content import Content, escape_template
from skill.handlers import habit, offers
from skill.handlers.common import content, forget, is_intent, remember, reply, session, state
from skill.handlers.scope import intents
from skill.services import SkillServices

STEP = "routine_step"
PAUSED = "routine_paused"

NAVIGATION = (
    "AMAZON.NextIntent",
    "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent",
    "AMAZON.PauseIntent",
)


def steps(words: Content) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = words.get("routine.steps")
    return found


def running(handler_input: HandlerInput) -> bool:
    return isinstance(offers.session_attributes(handler_input).get(STEP), int)


def current(handler_input: HandlerInput) -> int:
    return int(offers.session_attributes(handler_input).get(STEP) or 0)


def saved_step(handler_input: HandlerInput) -> int | None:
    """Where the user left off on an earlier night, if that step still exists."""
    value = state(handler_input).get(STEP)
    if isinstance(value, int) and 0 <= value < len(steps(content(handler_input))):
        return value
    return None


def step_parts(words: Content, index: int) -> tuple[list[str], list[str]]:
    """One step's words up to the start of its hold, and the hold with what follows it."""
    step = steps(words)[index]
    before = [words.say("routine.step_intro", number=index + 1), escape_template(step["say"])]
    seconds = int(step.get("seconds", 0))
    if not seconds:
        return before, []
    before.append(words.say(f"routine.timer.{step['timer']}", seconds=seconds))
    return before, [speech.hold(seconds, cue=words.say("routine.ten_left")), words.say("routine.relax")]


def step_ssml(words: Content, index: int) -> list[str]:
    """One step's words, and its timed hold: silence in breaks of at most 10 s, a cue near the end."""
    before, hold = step_parts(words, index)
    return [*before, *hold]


def routine_card(words: Content) -> tuple[str, str]:
    lines = [
        words.text("routine.card_line", number=i + 1, name=step["name"])
        for i, step in enumerate(steps(words))
    ]
    return words.text("routine.title"), "\n".join(lines)


def speak_step(
    handler_input: HandlerInput, index: int, lead: Sequence[str] = (), *, show_card: bool = False
) -> Response:
    words = content(handler_input)
    attrs = session(handler_input)
    attrs.pop(PAUSED, None)
    before, hold = step_parts(words, index)
    fragments = [*lead, *before, *hold]
    card = routine_card(words) if show_card else None
    if index >= len(steps(words)) - 1:
        # The end: nothing left to resume, the night is kept, and the reminders area answers the
        # offer's "yes".
        attrs.pop(STEP, None)
        forget(handler_input, STEP)
        offers.make(handler_input, offers.REMINDER_STRETCH)
        fragments += [words.say("routine.done"), *habit.finished(handler_input)]
        prompt, reprompt = "routine.reminder_offer", "routine.reminder_offer_reprompt"
    else:
        attrs[STEP] = index
        remember(handler_input, **{STEP: index})
        offers.make(handler_input, None)
        prompt, reprompt = "routine.next_prompt", "routine.next_reprompt"
    fragments.append(words.say(prompt))
    screen = screens.step(words, index, spoken_before_hold=[*lead, *before], hint=words.text(prompt))
    return reply(handler_input, fragments, reprompt=words.say(reprompt), card=card, screen=screen)


def start(handler_input: HandlerInput, lead: Sequence[str] = ()) -> Response:
    words = content(handler_input)
    intro = words.say("routine.intro", count=len(steps(words)))
    return speak_step(handler_input, 0, [*lead, intro], show_card=True)


def resume(handler_input: HandlerInput, index: int) -> Response:
    words = content(handler_input)
    return speak_step(handler_input, index, [words.say("routine.resuming", number=index + 1)])


def offer_resume(
    handler_input: HandlerInput, index: int, *, at_launch: bool, lead: Sequence[str] = ()
) -> Response:
    words = content(handler_input)
    if at_launch:
        offers.make(handler_input, offers.RESUME)
        key = "routine.resume_offer_launch"
    else:
        offers.make(handler_input, offers.RESUME_OR_RESTART)
        key = "routine.resume_offer"
    return reply(
        handler_input,
        [*lead, words.say(key, number=index + 1)],
        reprompt=words.say(f"{key}_reprompt"),
    )


def offer_routine(handler_input: HandlerInput) -> Response:
    words = content(handler_input)
    offers.make(handler_input, offers.ROUTINE)
    return reply(
        handler_input, words.say("routine.not_running"), reprompt=words.say("routine.offer_reprompt")
    )


class StartRoutineHandler(AbstractRequestHandler):
    scope = intents("StartRoutineIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        saved = saved_step(handler_input)
        if not running(handler_input) and saved:
            return offer_resume(handler_input, saved, at_launch=False)
        return start(handler_input, offers.disclaimer_once(handler_input))


class NextHandler(AbstractRequestHandler):
    """Next, or a plain "yes" to "say next when you're ready"."""

    scope = intents("AMAZON.YesIntent", "AMAZON.NextIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if not running(handler_input):
            return False
        plain_yes = is_intent(handler_input, "AMAZON.YesIntent") and not offers.pending(handler_input)
        return plain_yes or is_intent(handler_input, "AMAZON.NextIntent")

    def handle(self, handler_input: HandlerInput) -> Response:
        return speak_step(handler_input, current(handler_input) + 1)


class PreviousHandler(AbstractRequestHandler):
    scope = intents("AMAZON.PreviousIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return running(handler_input) and self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        index = current(handler_input)
        if index == 0:
            return speak_step(handler_input, 0, [content(handler_input).say("routine.first_step")])
        return speak_step(handler_input, index - 1)


class RepeatHandler(AbstractRequestHandler):
    scope = intents("AMAZON.RepeatIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return running(handler_input) and self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return speak_step(handler_input, current(handler_input))


class StartOverHandler(AbstractRequestHandler):
    """Start over: from the first step, whether the routine runs now or was paused another night."""

    scope = intents("AMAZON.StartOverIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input) and (
            running(handler_input) or saved_step(handler_input) is not None
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        return start(handler_input, [content(handler_input).say("routine.start_over")])


class PauseHandler(AbstractRequestHandler):
    scope = intents("AMAZON.PauseIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return running(handler_input) and self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        index = current(handler_input)
        session(handler_input)[PAUSED] = True
        remember(handler_input, **{STEP: index})
        offers.make(handler_input, None)
        return reply(
            handler_input,
            words.say("routine.paused", number=index + 1),
            reprompt=words.say("routine.paused_reprompt"),
        )


class ResumeHandler(AbstractRequestHandler):
    """Resume: the step we paused on tonight, else the one saved from another night, else step one."""

    scope = intents("AMAZON.ResumeIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        if running(handler_input):
            return resume(handler_input, current(handler_input))
        saved = saved_step(handler_input)
        if saved is not None:
            return resume(handler_input, saved)
        return start(handler_input, [content(handler_input).say("routine.nothing_to_resume")])


class NotRunningHandler(AbstractRequestHandler):
    """Next, previous, repeat, pause or start over with no routine going: offer to start one."""

    scope = intents(*NAVIGATION, "AMAZON.StartOverIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return not running(handler_input) and self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return offer_routine(handler_input)


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [
        StartRoutineHandler(),
        NextHandler(),
        PreviousHandler(),
        RepeatHandler(),
        StartOverHandler(),
        PauseHandler(),
        ResumeHandler(),
        NotRunningHandler(),
    ]
