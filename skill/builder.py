"""Wires handlers, interceptors, the API client and the persistence adapter into one skill."""

from __future__ import annotations

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder

from skill import handlers
from skill.api_client import PooledApiClient
from skill.handlers.scope import ScopedRequestMapper
from skill.interceptors import LoadRequestContext, SaveState
from skill.persistence import SqlAlchemyPersistenceAdapter
from skill.serializer import EnvelopeSerializer
from skill.services import SkillServices


def build_skill(services: SkillServices) -> CustomSkill:
    adapter = SqlAlchemyPersistenceAdapter(services.engine)
    builder = CustomSkillBuilder(persistence_adapter=adapter, api_client=PooledApiClient())
    # The skill id is checked in the endpoint (a clean 400); setting it here too would make a
    # mismatch raise inside the SDK instead.
    builder.add_global_request_interceptor(LoadRequestContext(services, adapter))
    builder.add_global_response_interceptor(SaveState())
    for handler in handlers.request_handlers(services):
        builder.add_request_handler(handler)
    for exception_handler in handlers.exception_handlers(services):
        builder.add_exception_handler(exception_handler)
    skill: CustomSkill = builder.create()
    # Each request is offered only to the handlers whose scope holds it, in the same order.
    dispatcher = skill.request_dispatcher
    dispatcher.request_mappers = [
        ScopedRequestMapper(mapper.request_handler_chains) for mapper in dispatcher.request_mappers
    ]
    # The SDK's models and mapping, with a fast timestamp parse and no second JSON parse.
    skill.serializer = EnvelopeSerializer()
    return skill
