"""Placement messages: the out-of-session requests that put reminders on the user's device.

``Messaging.MessageReceived`` is the worker asking, through Alexa's Skill Messaging, for one
occurrence to be placed on the user's device (scheduler/placements.py); its token is what the
Reminders API accepts. Like skill events, these get an empty answer; when storage or the Reminders
API fails for now, the endpoint answers 503 and Alexa delivers them again.
"""

from __future__ import annotations

import logging
from typing import Any

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from scheduler.logs import safe, user_ref
from skill import device_reminders
from skill.alexa_context import user_id
from skill.errors import EventNotStored
from skill.handlers import habit
from skill.handlers.common import services
from skill.handlers.scope import request_types
from skill.services import SkillServices

log = logging.getLogger(__name__)

MESSAGE_RECEIVED = "Messaging.MessageReceived"


def _empty(handler_input: HandlerInput) -> Response:
    response: Response = handler_input.response_builder.response
    return response


class PlacementMessageHandler(AbstractRequestHandler):
    scope = request_types(MESSAGE_RECEIVED)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        message: Any = getattr(handler_input.request_envelope.request, "message", None)
        user = user_id(handler_input)
        if not isinstance(message, dict):
            log.warning("skill message for %s without a data object; ignored", user_ref(user))
            return _empty(handler_input)
        try:
            outcome = device_reminders.place(
                handler_input,
                services(handler_input),
                user,
                message,
                streak=lambda zone: habit.reminder_streak(handler_input, zone),
            )
        except device_reminders.DeviceReminderError as exc:
            raise EventNotStored(f"Reminders API failed for now, Alexa will redeliver: {exc}") from exc
        log.info("placement message for %s: %s", user_ref(user), safe(outcome, 300))
        return _empty(handler_input)


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [PlacementMessageHandler()]
