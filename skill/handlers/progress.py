""" "How am I doing?" (ProgressIntent): the last two weeks of the bedtime routine, the streak, and
tonight's routine offered if it is still to do. The nights are those ``habit.py`` keeps.
"""

from __future__ import annotations

from datetime import date

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill import habit, screens, speech
from skill.content import Content
from skill.handlers import offers, routine
from skill.handlers.common import content, remember, reply, services, state
from skill.handlers.habit import MIN_STREAK, zone_now
from skill.handlers.scope import intents
from skill.services import SkillServices

PROGRESS_INTENT = "ProgressIntent"


def _summary(words: Content, kept: habit.Habit, nights: list[tuple[date, bool]], count: int) -> list[str]:
    done = sum(1 for _, finished_that_night in nights if finished_that_night)
    if not kept.nights:
        return [words.say("habit.progress.none")]
    if done == 0:
        return [words.say("habit.progress.none_lately")]
    if done == len(nights):
        fragments = [words.say("habit.progress.all")]
    elif done == 1:
        fragments = [words.say("habit.progress.one")]
    else:
        fragments = [words.say("habit.progress.many", count=done)]
    # The run is news when it is not simply every night just counted.
    if count >= MIN_STREAK and count != done:
        fragments.append(words.say("habit.progress.streak", count=count))
    return fragments


class ProgressHandler(AbstractRequestHandler):
    """ "How am I doing?": the last two weeks, the streak, and tonight's routine if it is still to do."""

    scope = intents(PROGRESS_INTENT)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        kept = habit.read(state(handler_input))
        zone = kept.zone or zone_now(handler_input, kept)
        if zone is None:
            offers.make(handler_input, None)
            return reply(
                handler_input,
                words.say("habit.progress.zone_unknown"),
                reprompt=words.say("prompts.anything_else_reprompt"),
            )
        if kept.pending:
            kept = habit.place_pending(kept, zone)
            remember(handler_input, **{habit.KEY: habit.stored(kept)})
        tonight = habit.night_of(services(handler_input).clock(), zone)
        nights = habit.recent(kept, tonight)
        summary = _summary(words, kept, nights, habit.streak(kept, tonight))
        if habit.done_tonight(kept, tonight):
            summary.append(words.say("habit.progress.tonight_done"))
        if routine.running(handler_input):
            # Mid-routine, the way on is "next", not another offer.
            offers.make(handler_input, None)
            next_key, reprompt = "routine.next_reprompt", words.say("routine.next_reprompt")
        elif habit.done_tonight(kept, tonight):
            offers.make(handler_input, None)
            next_key, reprompt = "prompts.anything_else", words.say("prompts.anything_else_reprompt")
        else:
            offers.make(handler_input, offers.ROUTINE)
            next_key, reprompt = "habit.progress.offer", words.say("routine.offer_reprompt")
        shown = speech.plain(" ".join(summary))
        hint = words.text(next_key)
        return reply(
            handler_input,
            [*summary, words.say(next_key)],
            reprompt=reprompt,
            card=(words.text("habit.screen.title"), shown),
            screen=screens.habit(words, nights, summary=shown, hint=hint),
        )


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [ProgressHandler()]
