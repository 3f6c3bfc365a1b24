"""Launch, the built-in intents, yes/no to our offers, session end, and the catch-all error handler."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from sqlalchemy.exc import SQLAlchemyError

from scheduler.logs import safe
from skill import content as content_loader
from skill import router
from skill.alexa_context import user_id
from skill.content import Content, ContentError
from skill.errors import describe, stack
from skill.handlers import habit, offers, questions, routine
from skill.handlers.cfir import CanFulfillIntentHandler
from skill.handlers.common import content, forget, is_intent, is_type, remember, reply, services, session
from skill.handlers.scope import INTENT_REQUEST, intents, request_types
from skill.interceptors import GREETING
from skill.request_kinds import may_speak
from skill.services import SkillServices

log = logging.getLogger(__name__)


def _empty(handler_input: HandlerInput) -> Response:
    response: Response = handler_input.response_builder.response
    return response


def _take_greeting(handler_input: HandlerInput) -> str | None:
    """Which reminder was delivered since the last visit ("stretch", "water"), if the database says.

    It was read with the user's state (LoadRequestContext); saying it marks it as said.
    """
    kind = handler_input.attributes_manager.request_attributes.get(GREETING)
    if not isinstance(kind, str):
        return None
    try:
        services(handler_input).reminders.clear_greeting(user_id(handler_input), kind)
    except SQLAlchemyError as exc:
        # A greeting is a nicety: say it now, at the risk of saying it once more next time.
        log.error("could not mark the pending greeting as said: %s", exc.__class__.__name__)
    return kind


class LaunchHandler(AbstractRequestHandler):
    scope = request_types("LaunchRequest")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        greeting = _take_greeting(handler_input)
        first_time = offers.disclaimer_once(handler_input)
        saved = routine.saved_step(handler_input)
        session(handler_input).pop(routine.STEP, None)
        offers.make(handler_input, None)
        # The habit follows a greeting, or is part of the welcome back; the offer to pick up a
        # paused routine is kept short.
        note = None if saved and greeting is None else habit.launch_note(handler_input)

        if greeting in ("stretch", "water"):
            opening = [words.say(f"prompts.greeting.{greeting}"), *first_time]
        elif first_time:
            opening = [words.say("prompts.welcome"), *first_time]
        else:
            opening = []
        if opening and note:
            opening.append(habit.launch_line(words, note))

        if saved:
            # After a stretch reminder they came to stretch, so "no" starts afresh rather than ends.
            return routine.offer_resume(handler_input, saved, at_launch=greeting != "stretch", lead=opening)
        if greeting == "stretch":
            offers.make(handler_input, offers.ROUTINE)
            return reply(
                handler_input,
                [*opening, words.say("routine.offer")],
                reprompt=words.say("routine.offer_reprompt"),
            )
        if greeting == "water":
            opening.append(words.say("prompts.reprompt"))
        return reply(
            handler_input,
            opening or habit.welcome_back(words, note),
            reprompt=words.say("prompts.reprompt"),
        )


class HelpHandler(AbstractRequestHandler):
    scope = intents("AMAZON.HelpIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        # Help always carries the disclaimer, so hearing it here counts as having heard it.
        remember(handler_input, **{offers.DISCLAIMER_HEARD: True})
        return reply(handler_input, words.say("prompts.help"), reprompt=words.say("prompts.help_reprompt"))


class StopHandler(AbstractRequestHandler):
    """Stop and Cancel end the session; mid-routine, the step is kept for another night."""

    scope = intents("AMAZON.StopIntent", "AMAZON.CancelIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        if routine.running(handler_input):
            index = routine.current(handler_input)
            remember(handler_input, **{routine.STEP: index})
            return reply(
                handler_input, words.say("prompts.goodbye_routine", number=index + 1), end_session=True
            )
        return reply(handler_input, words.say("prompts.goodbye"), end_session=True)


class NavigateHomeHandler(AbstractRequestHandler):
    scope = intents("AMAZON.NavigateHomeIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        offers.make(handler_input, None)
        # Leaving the routine this way keeps its step saved (every step is), so it can be resumed.
        session(handler_input).pop(routine.STEP, None)
        return reply(handler_input, words.say("prompts.home"), reprompt=words.say("prompts.reprompt"))


class YesHandler(AbstractRequestHandler):
    """Yes to one of our offers: more of a topic, the routine, or carrying on a paused routine."""

    scope = intents("AMAZON.YesIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        offer = offers.pending(handler_input)
        offers.make(handler_input, None)
        words = content(handler_input)
        topic = offers.more_topic(offer)
        if topic is not None and questions.has_more(words, topic):
            return questions.more(handler_input, topic)
        if offer == offers.ROUTINE:
            return routine.start(handler_input, offers.disclaimer_once(handler_input))
        if offer in (offers.RESUME, offers.RESUME_OR_RESTART):
            saved = routine.saved_step(handler_input)
            if saved is not None:
                return routine.resume(handler_input, saved)
            return routine.start(handler_input)
        return _unclear(handler_input, words)


class NoHandler(AbstractRequestHandler):
    scope = intents("AMAZON.NoIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        offer = offers.pending(handler_input)
        offers.make(handler_input, None)
        words = content(handler_input)
        if offer == offers.RESUME_OR_RESTART:
            forget(handler_input, routine.STEP)
            return routine.start(handler_input, [words.say("routine.start_over")])
        if offer == offers.RESUME:
            forget(handler_input, routine.STEP)
        elif offer.startswith("reminder"):
            # Said at the end of the bedtime routine: the kind thing is to let them sleep.
            return reply(handler_input, words.say("prompts.no_reminder"), end_session=True)
        elif not offer:
            return _unclear(handler_input, words)
        return reply(
            handler_input,
            words.say("prompts.no_thanks"),
            reprompt=words.say("prompts.anything_else_reprompt"),
        )


def _unclear(handler_input: HandlerInput, words: Content) -> Response:
    return reply(
        handler_input,
        words.say("prompts.yes_no_unclear"),
        reprompt=words.say("prompts.anything_else_reprompt"),
    )


class SessionEndedHandler(AbstractRequestHandler):
    scope = request_types("SessionEndedRequest")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        reason = getattr(getattr(request, "reason", None), "value", None) or "UNKNOWN"
        if reason == "ERROR":
            error = getattr(request, "error", None)
            error_type = getattr(getattr(error, "object_type", None), "value", None)
            log.error(
                "session ended with an error: %s: %s", safe(error_type), safe(getattr(error, "message", None))
            )
        else:
            log.info("session ended: %s", safe(reason))
        return _empty(handler_input)


class ExceptionEncounteredHandler(AbstractRequestHandler):
    """Alexa telling us our last response was refused; no speech is allowed in the answer."""

    scope = request_types("System.ExceptionEncountered")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        _log_refused_response(handler_input)
        return _empty(handler_input)


def _log_refused_response(handler_input: HandlerInput) -> None:
    request = handler_input.request_envelope.request
    error = getattr(request, "error", None)
    cause = getattr(request, "cause", None)
    log.error(
        "Alexa refused our response to request %s: %s: %s",
        safe(getattr(cause, "request_id", None)),
        safe(getattr(getattr(error, "object_type", None), "value", None)),
        safe(getattr(error, "message", None)),
    )


class FallbackHandler(AbstractRequestHandler):
    """AMAZON.FallbackIntent, and any intent no other handler took: say what we can do.

    Alexa sends no words with a fallback, so it is the free-text router's answer to nothing heard:
    the same "I can tell you about..." answer and reprompt (or "say next" mid-routine).
    """

    scope = request_types(INTENT_REQUEST)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        intent = getattr(handler_input.request_envelope.request, "intent", None)
        if not is_intent(handler_input, "AMAZON.FallbackIntent"):
            log.info(
                "no handler for intent %s: answered with the fallback", safe(getattr(intent, "name", None))
            )
        return questions.answer_route(handler_input, router.route(None, content(handler_input)))


class CatchAllExceptionHandler(AbstractExceptionHandler):
    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        request = handler_input.request_envelope.request
        request_type = getattr(request, "object_type", None)
        log.error(
            "handler failed for %s %s: %s\n%s",
            safe(request_type),
            safe(getattr(request, "request_id", None)),
            describe(exception),
            stack(exception),
        )
        if not may_speak(request_type, offers.in_session(handler_input)):
            # These requests may not be answered with speech; say nothing rather than break the rule.
            if is_type(handler_input, "System.ExceptionEncountered"):
                _log_refused_response(handler_input)
            return _empty(handler_input)
        try:
            words = content(handler_input)
            apology, reprompt = words.say("prompts.error"), words.say("prompts.reprompt")
        except (ContentError, KeyError):
            # The words themselves may be what broke; the default language's file is the last resort.
            words = content_loader.load_language("en")
            apology, reprompt = words.say("prompts.error"), words.say("prompts.reprompt")
        return reply(handler_input, apology, reprompt=reprompt)


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [
        CanFulfillIntentHandler(),
        LaunchHandler(),
        HelpHandler(),
        StopHandler(),
        NavigateHomeHandler(),
        YesHandler(),
        NoHandler(),
        SessionEndedHandler(),
        ExceptionEncounteredHandler(),
        FallbackHandler(),
    ]


def build_exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    return [CatchAllExceptionHandler()]
