"""Request and response interceptors: per-request context in, saved user state out."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill import content
from skill.services import SkillServices

log = logging.getLogger(__name__)

SERVICES = "services"
CONTENT = "content"
STATE_DIRTY = "state_dirty"
STATE_UNAVAILABLE = "state_unavailable"


class LoadRequestContext(AbstractRequestInterceptor):
    """Puts the services and the locale's words in request attributes, and reads the user's state.

    When the database is down the state read fails; the skill then carries on with empty state, so
    questions are still answered, and handlers that need storage say so.
    """

    def __init__(self, services: SkillServices) -> None:
        self._services = services

    def process(self, handler_input: HandlerInput) -> None:
        attrs = handler_input.attributes_manager.request_attributes
        attrs[SERVICES] = self._services
        locale = getattr(handler_input.request_envelope.request, "locale", None)
        attrs[CONTENT] = content.for_locale(locale)
        if _has_user(handler_input):
            try:
                handler_input.attributes_manager.persistent_attributes  # noqa: B018 (loads it)
            except PersistenceException as exc:
                log.error("skill state unavailable, answering without it: %s", exc)
                attrs[STATE_UNAVAILABLE] = True
                handler_input.attributes_manager.persistent_attributes = {}


class SaveState(AbstractResponseInterceptor):
    """Saves the user's state once per request, and only when a handler changed it."""

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        attrs = handler_input.attributes_manager.request_attributes
        if not attrs.get(STATE_DIRTY) or attrs.get(STATE_UNAVAILABLE):
            return
        try:
            handler_input.attributes_manager.save_persistent_attributes()
        except PersistenceException as exc:
            log.error("could not save skill state; the user keeps today's answer: %s", exc)


def _has_user(handler_input: HandlerInput) -> bool:
    system = getattr(handler_input.request_envelope.context, "system", None)
    return bool(getattr(getattr(system, "user", None), "user_id", None))
