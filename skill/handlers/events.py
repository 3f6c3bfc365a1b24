"""Skill events from Alexa: disable, permission changes, proactive subscription changes.

Events carry no conversation: the response is empty. When storage fails the endpoint answers
503, so Alexa redelivers the event instead of it being lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.alexa_context import NOTIFICATIONS_SCOPE, user_id
from skill.errors import EventNotStored
from skill.handlers.common import is_type, services
from skill.services import SkillServices

log = logging.getLogger(__name__)

EVENT_PREFIX = "AlexaSkillEvent."


def _event_time(handler_input: HandlerInput) -> datetime:
    """When Alexa created the event (the ordering key), else the request's timestamp."""
    request = handler_input.request_envelope.request
    at = getattr(request, "event_creation_time", None) or getattr(request, "timestamp", None)
    if not isinstance(at, datetime):
        return services(handler_input).clock()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _empty(handler_input: HandlerInput) -> Response:
    response: Response = handler_input.response_builder.response
    return response


class SkillDisabledHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_type(handler_input, "AlexaSkillEvent.SkillDisabled")

    def handle(self, handler_input: HandlerInput) -> Response:
        user = user_id(handler_input)
        services(handler_input).reminders.forget_user(user)
        log.info("skill disabled: deleted everything stored for user %s…", user[:24])
        return _empty(handler_input)


class SkillEnabledHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_type(handler_input, "AlexaSkillEvent.SkillEnabled")

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("skill enabled by user %s…", user_id(handler_input)[:24])
        return _empty(handler_input)


class PermissionHandler(AbstractRequestHandler):
    """SkillPermissionAccepted and SkillPermissionChanged: the accepted scopes are the whole truth."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_type(
            handler_input, "AlexaSkillEvent.SkillPermissionAccepted", "AlexaSkillEvent.SkillPermissionChanged"
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        body = getattr(handler_input.request_envelope.request, "body", None)
        scopes = {p.scope for p in (getattr(body, "accepted_permissions", None) or [])}
        allowed = NOTIFICATIONS_SCOPE in scopes
        user = user_id(handler_input)
        applied = services(handler_input).reminders.set_notifications_allowed(
            user, allowed, _event_time(handler_input)
        )
        log.info(
            "notification permission %s for user %s…%s",
            "granted" if allowed else "withdrawn",
            user[:24],
            "" if applied else " (older than the last change: ignored)",
        )
        return _empty(handler_input)


class ProactiveSubscriptionHandler(AbstractRequestHandler):
    """An empty subscription list means the user turned our notifications off."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_type(handler_input, "AlexaSkillEvent.ProactiveSubscriptionChanged")

    def handle(self, handler_input: HandlerInput) -> Response:
        body = getattr(handler_input.request_envelope.request, "body", None)
        subscribed = bool(getattr(body, "subscriptions", None))
        user = user_id(handler_input)
        applied = services(handler_input).reminders.set_subscription(
            user, subscribed, _event_time(handler_input)
        )
        log.info(
            "proactive subscription %s for user %s…%s",
            "on" if subscribed else "off",
            user[:24],
            "" if applied else " (older than the last change: ignored)",
        )
        return _empty(handler_input)


class EventFailedHandler(AbstractExceptionHandler):
    """An event we could not store must be redelivered, so it is not turned into speech."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        request_type = getattr(handler_input.request_envelope.request, "object_type", "") or ""
        return str(request_type).startswith(EVENT_PREFIX)

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        request_type = getattr(handler_input.request_envelope.request, "object_type", "?")
        raise EventNotStored(
            f"{request_type} not stored: {exception.__class__.__name__}: {exception}"
        ) from exception


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [
        SkillDisabledHandler(),
        SkillEnabledHandler(),
        PermissionHandler(),
        ProactiveSubscriptionHandler(),
    ]


def build_exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    return [EventFailedHandler()]
