"""Skill events from Alexa: disable, permission changes, proactive subscription changes, and
device reminders deleted in the Alexa app.

Events carry no conversation: the response is empty. When storage fails the endpoint answers
503, so Alexa redelivers the event instead of it being lost; an event that can never be processed
(a malformed body) gets 400, so it is not redelivered for nothing. Event types the skill does not
use are acknowledged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from scheduler.logs import safe, user_ref
from skill import device_reminders
from skill.alexa_context import NOTIFICATIONS_SCOPE, REMINDERS_SCOPE, user_id
from skill.errors import EventNotStored, EventRefused, describe, is_storage_failure
from skill.handlers.common import services
from skill.handlers.scope import request_types
from skill.request_kinds import is_event
from skill.services import SkillServices

log = logging.getLogger(__name__)

PERMISSION_EVENTS = ("AlexaSkillEvent.SkillPermissionAccepted", "AlexaSkillEvent.SkillPermissionChanged")
SUBSCRIPTION_EVENT = "AlexaSkillEvent.ProactiveSubscriptionChanged"
REMINDER_DELETED = "Reminders.ReminderDeleted"
# Each list an event body may carry, and the string field every item of it must have.
_BODY_LISTS = {
    **{name: ("acceptedPermissions", "scope") for name in PERMISSION_EVENTS},
    SUBSCRIPTION_EVENT: ("subscriptions", "eventName"),
}


def event_problem(payload: Mapping[str, Any]) -> str | None:
    """Why a skill event's JSON can never be processed, or None; checked before the SDK reads it.

    The SDK would turn ``"acceptedPermissions": "abc"`` into three empty permissions (and so a
    withdrawal), and ``[null]`` into an error on every redelivery; both are refused instead.
    """
    request = payload.get("request") or {}
    user = ((payload.get("context") or {}).get("System") or {}).get("user")
    if not isinstance(user, dict) or not isinstance(user.get("userId"), str) or not user["userId"]:
        return "skill event has no context.System.user.userId"
    shape = _BODY_LISTS.get(str(request.get("type")))
    if shape is None:
        return None
    body = request.get("body")
    if body is None:
        return None  # no list at all reads as an empty one: nothing accepted, no subscription
    list_name, field = shape
    if not isinstance(body, dict):
        return "skill event body is not an object"
    items = body.get(list_name)
    if items is None:
        return None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get(field), str) for item in items
    ):
        return f"skill event body.{list_name} is not a list of objects with a {field}"
    return None


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
    scope = request_types("AlexaSkillEvent.SkillDisabled")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        user = user_id(handler_input)
        on_device = services(handler_input).reminders.forget_user(user)
        log.info("skill disabled: deleted everything stored for user %s", user_ref(user))
        # Nothing after SkillDisabled, not even what was placed on the device for tonight.
        device_reminders.delete_all(handler_input, user, on_device)
        return _empty(handler_input)


class SkillEnabledHandler(AbstractRequestHandler):
    scope = request_types("AlexaSkillEvent.SkillEnabled")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("skill enabled by user %s", user_ref(user_id(handler_input)))
        return _empty(handler_input)


class PermissionHandler(AbstractRequestHandler):
    """SkillPermissionAccepted and SkillPermissionChanged: the accepted scopes are the whole truth."""

    scope = request_types(*PERMISSION_EVENTS)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        body = getattr(handler_input.request_envelope.request, "body", None)
        scopes = {p.scope for p in (getattr(body, "accepted_permissions", None) or [])}
        allowed, device = NOTIFICATIONS_SCOPE in scopes, REMINDERS_SCOPE in scopes
        user = user_id(handler_input)
        applied = services(handler_input).reminders.set_permissions(
            user, _event_time(handler_input), notifications=allowed, reminders=device
        )
        log.info(
            "permissions for user %s: notifications %s, reminders %s%s",
            user_ref(user),
            "granted" if allowed else "withdrawn",
            "granted" if device else "withdrawn",
            "" if applied else " (older than the last change: ignored)",
        )
        return _empty(handler_input)


class ProactiveSubscriptionHandler(AbstractRequestHandler):
    """An empty subscription list means the user turned our notifications off."""

    scope = request_types(SUBSCRIPTION_EVENT)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        body = getattr(handler_input.request_envelope.request, "body", None)
        subscribed = bool(getattr(body, "subscriptions", None))
        user = user_id(handler_input)
        applied = services(handler_input).reminders.set_subscription(
            user, subscribed, _event_time(handler_input)
        )
        log.info(
            "proactive subscription %s for user %s%s",
            "on" if subscribed else "off",
            user_ref(user),
            "" if applied else " (older than the last change: ignored)",
        )
        return _empty(handler_input)


class ReminderDeletedHandler(AbstractRequestHandler):
    """Device reminders deleted (in the Alexa app, or by us): those occurrences count as skipped."""

    scope = request_types(REMINDER_DELETED)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        body = getattr(handler_input.request_envelope.request, "body", None)
        tokens = [str(t) for t in (getattr(body, "alert_tokens", None) or []) if t]
        services(handler_input).placements.removed_in_app(user_id(handler_input), tokens)
        return _empty(handler_input)


class OtherEventHandler(AbstractRequestHandler):
    """An event type the skill does not subscribe to or use: acknowledged, so it is not redelivered."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_event(_request_type(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("ignored skill event %s", safe(_request_type(handler_input)))
        return _empty(handler_input)


def _request_type(handler_input: HandlerInput) -> str:
    return str(getattr(handler_input.request_envelope.request, "object_type", "") or "")


class EventFailedHandler(AbstractExceptionHandler):
    """An event that failed is never turned into speech: 503 if storage failed (Alexa redelivers
    it), 400 for anything else, which would fail the same way every time."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return is_event(_request_type(handler_input))

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        request_type = safe(_request_type(handler_input))
        if isinstance(exception, EventNotStored):
            raise exception  # a handler already decided it must come again
        if is_storage_failure(exception):
            raise EventNotStored(f"{request_type}: {describe(exception)}") from exception
        log.error(
            "skill event %s failed and cannot succeed on redelivery: %s", request_type, describe(exception)
        )
        raise EventRefused("skill event could not be processed") from exception


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [
        SkillDisabledHandler(),
        SkillEnabledHandler(),
        PermissionHandler(),
        ProactiveSubscriptionHandler(),
        ReminderDeletedHandler(),
        OtherEventHandler(),
    ]


def build_exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    return [EventFailedHandler()]
