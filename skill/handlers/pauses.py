"""Breaks from reminders by voice: skip tonight's, pause them for a while, and resume.

Each change is our table first (``ReminderService``), then the device, with the session's token.
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Intent, IntentConfirmationStatus, Response, Slot, SlotConfirmationStatus

from scheduler import ReminderError
from skill.alexa_context import user_id
from skill.handlers import offers
from skill.handlers.common import content, reply, services
from skill.handlers.reminders import ask_slot, carry_to_device, kind_of
from skill.handlers.scope import intents
from skill.phrasing import join, say_date, say_time, say_when
from skill.services import SkillServices
from skill.slots import parse_duration, raw_value


class SkipReminderHandler(AbstractRequestHandler):
    """ "Skip tonight's reminder": the next occurrence of each reminder (of the kind named) within a day."""

    scope = intents("SkipReminderIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        svc = services(handler_input)
        kind = kind_of(handler_input, words)
        result = svc.reminders.skip(user_id(handler_input), kind)
        reprompt = words.say("reminders.set_reprompt")
        if not result.skipped:
            if kind is None:
                return reply(handler_input, words.say("reminders.skip_none"), reprompt=reprompt)
            label = words.text(f"reminders.kinds.{kind}.label")
            return reply(handler_input, words.say("reminders.skip_none_kind", label=label), reprompt=reprompt)
        now = svc.clock()
        items = [
            words.text(
                "reminders.skip_item",
                label=words.text(f"reminders.kinds.{view.kind}.label"),
                when=say_when(words, at, view.time_zone, now),
                time=say_time(words, view.local_time),
            )
            for view, at in result.skipped
        ]
        speech = words.say("reminders.skip_done", items=join(words, items))
        return reply(
            handler_input, [speech, *carry_to_device(handler_input, result.device)], reprompt=reprompt
        )


class PauseRemindersHandler(AbstractRequestHandler):
    """ "Pause my reminders for a week": the length arrives as ISO 8601 ("P1W"), as Alexa sends it."""

    scope = intents("PauseRemindersIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        raw = raw_value(handler_input, "duration")
        if raw is None:
            return ask_slot(handler_input, "duration", "reminders.pause_ask", "reminders.pause_ask_reprompt")
        length = parse_duration(raw)
        kind = kind_of(handler_input, words)
        svc = services(handler_input)
        try:
            if length is None:
                raise ReminderError("bad_pause", f"unreadable duration {raw!r}")
            result = svc.reminders.pause(user_id(handler_input), length, kind)
        except ReminderError:
            return ask_slot(
                handler_input, "duration", "reminders.pause_bad_length", "reminders.pause_ask_reprompt"
            )
        reprompt = words.say("reminders.set_reprompt")
        if not result.views:
            return reply(handler_input, words.say("reminders.pause_none"), reprompt=reprompt)
        date = say_date(words, result.until, result.views[0].time_zone)
        if kind is None:
            speech = words.say("reminders.pause_done", date=date)
        else:
            speech = words.say(
                "reminders.pause_done_kind", date=date, label=words.text(f"reminders.kinds.{kind}.label")
            )
        return reply(
            handler_input, [speech, *carry_to_device(handler_input, result.device)], reprompt=reprompt
        )


class ResumeRemindersHandler(AbstractRequestHandler):
    """ "Resume my reminders": ends a pause and unskips a skipped day."""

    scope = intents("ResumeRemindersIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        svc = services(handler_input)
        views = svc.reminders.resume(user_id(handler_input))
        reprompt = words.say("reminders.set_reprompt")
        if not views:
            return reply(handler_input, words.say("reminders.resume_none"), reprompt=reprompt)
        first = min(views, key=lambda v: v.next_fire_at)
        speech = words.say(
            "reminders.resume_done",
            when=say_when(words, first.next_fire_at, first.time_zone, svc.clock()),
            time=say_time(words, first.local_time),
        )
        return reply(handler_input, speech, reprompt=reprompt)


def continue_as(handler_input: HandlerInput, action: str, kind: str | None) -> Response:
    """A break asked for in words the models sent as a free-text question (skill/router.py)."""
    if action == "skip":
        return SkipReminderHandler().handle(handler_input)
    if action == "resume":
        return ResumeRemindersHandler().handle(handler_input)
    # A pause needs its length: asked for as the pause intent, so the answer arrives as that intent.
    slots = {n: Slot(name=n, confirmation_status=SlotConfirmationStatus.NONE) for n in ("duration", "kind")}
    slots["kind"].value = kind
    intent = Intent(
        name="PauseRemindersIntent", slots=slots, confirmation_status=IntentConfirmationStatus.NONE
    )
    return ask_slot(
        handler_input, "duration", "reminders.pause_ask", "reminders.pause_ask_reprompt", intent=intent
    )


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [SkipReminderHandler(), PauseRemindersHandler(), ResumeRemindersHandler()]
