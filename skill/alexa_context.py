"""What a request's context says about the user and device: id, permission, time zone."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ask_sdk_core.exceptions import ApiClientException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services import ServiceException

from scheduler.logs import safe
from skill.errors import describe

log = logging.getLogger(__name__)

NOTIFICATIONS_SCOPE = "alexa::devices:all:notifications:write"
# Spoken device reminders (the Reminders API); notifications are the fallback without it.
REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"


def _system(handler_input: HandlerInput) -> Any:
    return getattr(handler_input.request_envelope.context, "system", None)


def user_id(handler_input: HandlerInput) -> str:
    return str(getattr(getattr(_system(handler_input), "user", None), "user_id", ""))


def _scope_status(handler_input: HandlerInput, scope: str) -> tuple[bool, bool]:
    """(whether the request lists ``scope``, whether it is GRANTED)."""
    permissions = getattr(getattr(_system(handler_input), "user", None), "permissions", None)
    scopes = getattr(permissions, "scopes", None) or {}
    if scope not in scopes:
        return False, False
    status = getattr(getattr(scopes[scope], "status", None), "value", None)
    return True, status == "GRANTED"


def notifications_allowed(handler_input: HandlerInput) -> bool:
    """Whether the user granted our notifications permission, as this request reports it."""
    listed, granted = _scope_status(handler_input, NOTIFICATIONS_SCOPE)
    if listed:
        return granted
    # Without per-scope detail, a consent token means the permission the skill first asked for
    # (notifications) was granted; the reminders permission is only ever read from its scope.
    permissions = getattr(getattr(_system(handler_input), "user", None), "permissions", None)
    return bool(getattr(permissions, "consent_token", None))


def reminders_allowed(handler_input: HandlerInput) -> bool:
    """Whether the user granted the reminders permission, as this request reports it."""
    return _scope_status(handler_input, REMINDERS_SCOPE)[1]


def device_time_zone(handler_input: HandlerInput) -> str | None:
    """The device's IANA zone from the Alexa Settings API, or None when it cannot be had."""
    system = _system(handler_input)
    device_id = getattr(getattr(system, "device", None), "device_id", None)
    if not device_id or not getattr(system, "api_access_token", None):
        log.warning("no device id or API token in the request: cannot look up the time zone")
        return None
    try:
        zone = handler_input.service_client_factory.get_ups_service().get_system_time_zone(device_id)
    except (ServiceException, ApiClientException, ValueError) as exc:
        log.warning("Settings API time zone lookup failed: %s", describe(exc))
        return None
    if not isinstance(zone, str):
        log.warning("Settings API returned no time zone")
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("Settings API returned an unknown time zone %s", safe(zone))
        return None
    return zone
