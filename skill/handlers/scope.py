"""Which handlers a request is offered to: those whose ``can_handle`` could accept its type or intent.

The SDK's mapper asks every handler's ``can_handle`` in turn until one says yes: some 25 calls for
an intent near the end of the list. A handler may declare a ``scope``, the request types or intent
names outside which its ``can_handle`` is always false (``scope = intents("AMAZON.HelpIntent")``);
its ``can_handle`` checks ``self.scope.accepts(handler_input)``, so the list is written once.
The mapper here offers a request only to the handlers whose scope holds it and to every handler
without a scope, in the SDK's order, and the first whose ``can_handle`` says yes still wins; so
each handler keeps its own ``can_handle`` and the answer is the SDK's for every request
(``tests/test_handler_scope.py`` holds the two mappers equal). A request the SDK's predicates would
fail on (no request, an intent request without an intent) goes to the SDK's own mapper, so what it
raises stays the SDK's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import IntentRequest
from ask_sdk_runtime.dispatch_components import GenericRequestHandlerChain, GenericRequestMapper

__all__ = ["INTENT_REQUEST", "Scope", "ScopedRequestMapper", "intents", "request_types", "scope_of"]

INTENT_REQUEST = "IntentRequest"


@dataclass(frozen=True)
class Scope:
    """Request types (``request.type``) and intent names (of an IntentRequest) a handler may accept."""

    types: frozenset[str] = frozenset()
    intents: frozenset[str] = frozenset()

    def holds(self, request_type: str, intent: str | None) -> bool:
        return request_type in self.types or (request_type == INTENT_REQUEST and intent in self.intents)

    def accepts(self, handler_input: HandlerInput) -> bool:
        """The request is of one of these types, or one of these intents (the SDK's own predicates).

        A handler's ``can_handle`` starts from this, so its scope and its check are one list.
        """
        return any(is_request_type(name)(handler_input) for name in self.types) or any(
            is_intent_name(name)(handler_input) for name in self.intents
        )


def request_types(*names: str) -> Scope:
    return Scope(types=frozenset(names))


def intents(*names: str) -> Scope:
    return Scope(intents=frozenset(names))


def scope_of(handler: object) -> Scope | None:
    found = getattr(handler, "scope", None)
    return found if isinstance(found, Scope) else None


Chains = tuple[GenericRequestHandlerChain, ...]


class ScopedRequestMapper(GenericRequestMapper):
    """The SDK's mapper, asking only the handlers whose scope holds the request (and the unscoped)."""

    def __init__(self, request_handler_chains: Sequence[GenericRequestHandlerChain]) -> None:
        super().__init__(request_handler_chains=list(request_handler_chains))
        chains: list[GenericRequestHandlerChain] = self.request_handler_chains
        scoped = [(chain, scope_of(chain.request_handler)) for chain in chains]

        def offered(request_type: str | None, intent: str | None) -> Chains:
            return tuple(
                chain
                for chain, scope in scoped
                if scope is None or (request_type is not None and scope.holds(request_type, intent))
            )

        # Every key is a name some scope declares, so untrusted requests cannot grow these.
        named_types = {name for _, scope in scoped if scope for name in scope.types} | {INTENT_REQUEST}
        named_intents = {name for _, scope in scoped if scope for name in scope.intents}
        self._by_type: dict[str, Chains] = {name: offered(name, None) for name in named_types}
        self._by_intent: dict[str, Chains] = {name: offered(INTENT_REQUEST, name) for name in named_intents}
        self._unscoped: Chains = offered(None, None)

    # Any: the SDK types the input with a free type variable, which no override can match.
    def get_request_handler_chain(self, handler_input: Any) -> GenericRequestHandlerChain | None:
        request = cast(HandlerInput, handler_input).request_envelope.request
        request_type = getattr(request, "object_type", None)
        if not isinstance(request_type, str):
            return super().get_request_handler_chain(handler_input)
        if isinstance(request, IntentRequest):
            name = getattr(request.intent, "name", None)
            if request.intent is None or request_type != INTENT_REQUEST or not isinstance(name, str):
                return super().get_request_handler_chain(handler_input)
            offered = self._by_intent.get(name, self._by_type[INTENT_REQUEST])
        else:
            offered = self._by_type.get(request_type, self._unscoped)
        for chain in offered:
            if chain.request_handler.can_handle(handler_input=handler_input):
                return chain
        return None
