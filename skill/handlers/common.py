"""Small helpers every handler uses, so handlers stay thin."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import Response
from ask_sdk_model.directive import Directive
from ask_sdk_model.ui import Card, SimpleCard

from skill import screens, speech
from skill.content import Content
from skill.interceptors import CONTENT, SERVICES, STATE_DIRTY, STATE_UNAVAILABLE
from skill.services import SkillServices


def services(handler_input: HandlerInput) -> SkillServices:
    return cast(SkillServices, handler_input.attributes_manager.request_attributes[SERVICES])


def content(handler_input: HandlerInput) -> Content:
    return cast(Content, handler_input.attributes_manager.request_attributes[CONTENT])


def state(handler_input: HandlerInput) -> dict[str, Any]:
    """The user's persistent attributes ({} when there is no user or the database is down)."""
    manager = handler_input.attributes_manager
    if manager.request_attributes.get(STATE_UNAVAILABLE):
        return {}
    try:
        return cast(dict[str, Any], manager.persistent_attributes)
    except Exception:  # no user id in this request: nothing to remember
        return {}


def remember(handler_input: HandlerInput, **values: Any) -> None:
    """Change persistent attributes; the response interceptor saves them once."""
    manager = handler_input.attributes_manager
    if manager.request_attributes.get(STATE_UNAVAILABLE):
        return
    current = state(handler_input)
    current.update(values)
    manager.persistent_attributes = current
    manager.request_attributes[STATE_DIRTY] = True


def forget(handler_input: HandlerInput, *keys: str) -> None:
    manager = handler_input.attributes_manager
    current = state(handler_input)
    if any(k in current for k in keys):
        for key in keys:
            current.pop(key, None)
        manager.persistent_attributes = current
        manager.request_attributes[STATE_DIRTY] = True


def session(handler_input: HandlerInput) -> dict[str, Any]:
    return cast(dict[str, Any], handler_input.attributes_manager.session_attributes)


def is_intent(handler_input: HandlerInput, *names: str) -> bool:
    return any(is_intent_name(name)(handler_input) for name in names)


def is_type(handler_input: HandlerInput, *types: str) -> bool:
    return any(is_request_type(t)(handler_input) for t in types)


def reply(
    handler_input: HandlerInput,
    speech_ssml: Sequence[str] | str,
    *,
    reprompt: Sequence[str] | str | None = None,
    card: tuple[str, str] | Card | None = None,
    end_session: bool = False,
    directives: Iterable[Directive] = (),
    screen: screens.Screen | None = None,
) -> Response:
    """Build a response. Speech fragments are SSML (escaped); an open session needs a reprompt.

    ``screen`` is shown only on a device that displays APL; every other device hears the same words.
    """
    fragments = [speech_ssml] if isinstance(speech_ssml, str) else list(speech_ssml)
    rb = handler_input.response_builder
    rb.speak(speech.speak(*fragments))
    if not end_session:
        if reprompt is None:
            raise ValueError("a response that keeps the session open needs a reprompt")
        reprompt_fragments = [reprompt] if isinstance(reprompt, str) else list(reprompt)
        rb.ask(speech.speak(*reprompt_fragments))
    if isinstance(card, tuple):
        rb.set_card(SimpleCard(title=card[0], content=card[1]))
    elif card is not None:
        rb.set_card(card)
    for directive in directives:
        rb.add_directive(directive)
    if screen is not None and screens.supported(handler_input):
        rb.add_directive(screens.directive(screen))
    rb.set_should_end_session(end_session)
    response: Response = rb.response
    return response
