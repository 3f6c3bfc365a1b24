"""The scoped request mapper picks the handler the SDK's own mapper picks, for every kind of request.

Each handler's ``scope`` says which request types or intents its ``can_handle`` may accept; a
wrong scope would send a request to a later handler. Every request type and intent the skill
knows, in and out of a session, with the session and stored state that change what handlers say
(a routine running, each pending offer, a saved step), goes through both mappers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from ask_sdk_core.attributes_manager import AttributesManager
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.request import Request
from ask_sdk_runtime.dispatch_components import GenericRequestMapper
from flask import Flask

from skill import content
from skill.endpoint import EXTENSION
from skill.handlers import offers, routine
from skill.handlers.scope import INTENT_REQUEST, ScopedRequestMapper, scope_of
from skill.interceptors import CONTENT, SERVICES
from skill.metrics import known_intents
from skill.persistence import SqlAlchemyPersistenceAdapter
from tests.envelopes import Envelopes

# Every request type the SDK can read: the skill handles a few, and the rest must reach the same place.
REQUEST_TYPES = sorted(Request.discriminator_value_class_map)
SESSIONS: list[dict[str, Any] | None] = [
    None,
    {},
    {routine.STEP: 2},
    {routine.STEP: 2, offers.OFFER: offers.MORE_PREFIX + "causes"},
    *({offers.OFFER: offer} for offer in (offers.ROUTINE, offers.RESUME, offers.REMINDER, "cancel:water")),
    {offers.OFFER: offers.SET_REMINDER},
]
STATES: list[dict[str, Any]] = [{}, {routine.STEP: 1}]


def _mappers(app: Flask) -> tuple[ScopedRequestMapper, GenericRequestMapper]:
    mappers = app.extensions[EXTENSION]["skill"].request_dispatcher.request_mappers
    assert len(mappers) == 1 and isinstance(mappers[0], ScopedRequestMapper)
    return mappers[0], GenericRequestMapper(list(mappers[0].request_handler_chains))


def _requests(envelopes: Envelopes) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in sorted(known_intents() | {"NoSuchIntent"}):
        for attributes in SESSIONS:
            yield (
                f"{name} {attributes}",
                envelopes.intent(name, session_attributes=attributes, with_session=attributes is not None),
            )
    for request_type in (t for t in REQUEST_TYPES if t != INTENT_REQUEST):
        for attributes in SESSIONS[:3]:
            request: dict[str, Any] = {"type": request_type}
            if request_type == "CanFulfillIntentRequest":
                request["intent"] = {"name": "CausesIntent", "slots": {}}
            body = envelopes.envelope(
                request, session_attributes=attributes, with_session=attributes is not None
            )
            yield f"{request_type} {attributes}", body


def _inputs(app: Flask, envelopes: Envelopes) -> Iterator[tuple[str, HandlerInput]]:
    ext = app.extensions[EXTENSION]
    services = ext["services"]
    adapter = SqlAlchemyPersistenceAdapter(services.engine)
    for (label, body), state in itertools.product(_requests(envelopes), STATES):
        envelope = ext["skill"].serializer.envelope(body)
        manager = AttributesManager(envelope, persistence_adapter=adapter)
        manager.request_attributes[SERVICES] = services
        manager.request_attributes[CONTENT] = content.for_locale("en-US")
        manager.persistent_attributes = dict(state)
        yield f"{label} state={state}", HandlerInput(envelope, attributes_manager=manager)


def test_every_request_reaches_the_handler_the_sdk_picks(app: Flask, envelopes: Envelopes) -> None:
    scoped, sdk = _mappers(app)
    checked = 0
    for label, handler_input in _inputs(app, envelopes):
        expected = sdk.get_request_handler_chain(handler_input)
        assert scoped.get_request_handler_chain(handler_input) is expected, label
        checked += 1
    assert checked > 500


def test_no_handler_accepts_a_request_outside_its_scope(app: Flask, envelopes: Envelopes) -> None:
    scoped, _ = _mappers(app)
    handlers = [chain.request_handler for chain in scoped.request_handler_chains]
    assert sum(scope_of(h) is not None for h in handlers) >= len(handlers) - 1
    for label, handler_input in _inputs(app, envelopes):
        request = handler_input.request_envelope.request
        intent = getattr(getattr(request, "intent", None), "name", None)
        for handler in handlers:
            scope = scope_of(handler)
            if scope is not None and not scope.holds(request.object_type, intent):
                assert not handler.can_handle(handler_input), f"{type(handler).__name__}: {label}"


def test_an_intent_request_without_an_intent_fails_as_in_the_sdk(app: Flask, envelopes: Envelopes) -> None:
    scoped, sdk = _mappers(app)
    envelope = app.extensions[EXTENSION]["skill"].serializer.envelope(
        envelopes.envelope({"type": INTENT_REQUEST})
    )
    handler_input = HandlerInput(envelope)
    with pytest.raises(AttributeError):
        sdk.get_request_handler_chain(handler_input)
    with pytest.raises(AttributeError):
        scoped.get_request_handler_chain(handler_input)
