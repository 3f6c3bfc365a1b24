"""Launch, the built-in intents, session end, and the catch-all error handler."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.handlers.common import content, is_type, reply
from skill.services import SkillServices

log = logging.getLogger(__name__)


class LaunchHandler(AbstractRequestHandler):  # type: ignore[misc]
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_type(handler_input, "LaunchRequest")

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        return reply(handler_input, words.say("prompts.welcome"), reprompt=words.say("prompts.reprompt"))


class CatchAllExceptionHandler(AbstractExceptionHandler):  # type: ignore[misc]
    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.exception("handler failed", exc_info=exception)
        words = content(handler_input)
        return reply(handler_input, words.say("prompts.error"), reprompt=words.say("prompts.reprompt"))


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [LaunchHandler()]


def build_exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    return [CatchAllExceptionHandler()]
