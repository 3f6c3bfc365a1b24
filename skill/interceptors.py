"""Request and response interceptors: per-request context in, saved user state out."""

from __future__ import annotations

import copy
import logging

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill import content
from skill.persistence import SqlAlchemyPersistenceAdapter, StoredState
from skill.services import SkillServices

log = logging.getLogger(__name__)

SERVICES = "services"
CONTENT = "content"
STATE_DIRTY = "state_dirty"
STATE_UNAVAILABLE = "state_unavailable"
# The state as read, to tell at the end whether a handler really changed it.
STATE_AS_READ = "state_as_read"
# At launch: the kind of reminder delivered since the last visit ("stretch", "water"), or None.
GREETING = "greeting"

_is_launch = is_request_type("LaunchRequest")
_is_intent = is_request_type("IntentRequest")


class LoadRequestContext(AbstractRequestInterceptor):
    """Puts the services and the locale's words in request attributes, and reads the user's state.

    One read per request: the state, and at launch the pending greeting with it. Only launches and
    intents use the state; session ends, CanFulfillIntent, Alexa's error reports and skill events
    are answered without it, so they are not made to wait for it (a handler that reads it anyway
    gets it from the adapter then). When the database is down the read fails; the skill then
    carries on with empty state and no greeting, so questions are still answered, and handlers
    that need storage say so.
    """

    def __init__(self, services: SkillServices, adapter: SqlAlchemyPersistenceAdapter) -> None:
        self._services = services
        self._adapter = adapter

    def process(self, handler_input: HandlerInput) -> None:
        attrs = handler_input.attributes_manager.request_attributes
        attrs[SERVICES] = self._services
        locale = getattr(handler_input.request_envelope.request, "locale", None)
        attrs[CONTENT] = content.for_locale(locale)
        if not _has_user(handler_input) or not (_is_launch(handler_input) or _is_intent(handler_input)):
            return
        launch = _is_launch(handler_input)
        try:
            stored = self._adapter.load(handler_input.request_envelope, greeting=launch)
        except PersistenceException as exc:
            what = "skill state and pending greeting" if launch else "skill state"
            log.error("%s unavailable, answering without it: %s", what, exc)
            attrs[STATE_UNAVAILABLE] = True
            stored = StoredState({})
        handler_input.attributes_manager.persistent_attributes = stored.attributes
        attrs[STATE_AS_READ] = copy.deepcopy(stored.attributes)
        attrs[GREETING] = stored.greeting


class SaveState(AbstractResponseInterceptor):
    """Saves the user's state once per request, and only when a handler changed it."""

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        manager = handler_input.attributes_manager
        attrs = manager.request_attributes
        if not attrs.get(STATE_DIRTY) or attrs.get(STATE_UNAVAILABLE):
            return
        if STATE_AS_READ in attrs and manager.persistent_attributes == attrs[STATE_AS_READ]:
            return  # set to what it already was (e.g. the disclaimer heard again): nothing to write
        try:
            manager.save_persistent_attributes()
        except PersistenceException as exc:
            log.error("could not save skill state; the user keeps today's answer: %s", exc)


def _has_user(handler_input: HandlerInput) -> bool:
    system = getattr(handler_input.request_envelope.context, "system", None)
    return bool(getattr(getattr(system, "user", None), "user_id", None))
