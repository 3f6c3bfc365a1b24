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


def _system(handler_input: HandlerInput) -> Any:
    return getattr(handler_input.request_envelope.context, "system", None)


def user_id(handler_input: HandlerInput) -> str:
    return str(getattr(getattr(_system(handler_input), "user", None), "user_id", ""))


def notifications_allowed(handler_input: HandlerInput) -> bool:
    """Whether the user granted our notifications permission, as this request reports it."""
    permissions = getattr(getattr(_system(handler_input), "user", None), "permissions", None)
    if permissions is None:
        return False
    scopes = getattr(permissions, "scopes", None) or {}
    if NOTIFICATIONS_SCOPE in scopes:
        status = getattr(getattr(scopes[NOTIFICATIONS_SCOPE], "status", None), "value", None)
        return status == "GRANTED"
    # Without per-scope detail a consent token means the one permission we ask for was granted.
    return bool(getattr(permissions, "consent_token", None))


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
