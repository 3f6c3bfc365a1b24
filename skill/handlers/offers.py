"""The conversation state that several areas share: the pending offer, and the one-time disclaimer.

The skill asks yes/no questions ("Want to hear more?", "Want me to walk you through it?"); what the
question was lives in the session attribute ``offer`` so that the next "yes" or "no" means the right
thing. The reminders area reads the same attribute for its own offers (``reminder``, ``cancel:``).
"""

from __future__ import annotations

from typing import Any

from ask_sdk_core.handler_input import HandlerInput

from skill.handlers.common import content, remember, session, state

OFFER = "offer"
ROUTINE = "routine"
# "Pick up where you left off?" asked at launch: no means forget the paused step.
RESUME = "resume"
# The same question asked after "start my routine": no means start from the beginning.
RESUME_OR_RESTART = "resume:restart"
MORE_PREFIX = "more:"
# The reminders area handles yes to this; naming the kind lets it ask straight for the time.
REMINDER_STRETCH = "reminder:stretch"
# Either kind: the reminders area asks which.
REMINDER = "reminder"
# "Should I remind you to ... at 9:30 PM, every day?": the reminder waits for a yes (its details
# are in the session attribute PENDING_REMINDER), as Amazon's reminder guidelines require.
SET_REMINDER = "set:reminder"
PENDING_REMINDER = "pending_reminder"

DISCLAIMER_HEARD = "disclaimer_heard"


def in_session(handler_input: HandlerInput) -> bool:
    """Whether the request has a session (System.ExceptionEncountered and skill events do not)."""
    return handler_input.request_envelope.session is not None


def session_attributes(handler_input: HandlerInput) -> dict[str, Any]:
    """The session attributes, or an empty dict for a request outside a session (the SDK raises)."""
    return session(handler_input) if in_session(handler_input) else {}


def pending(handler_input: HandlerInput) -> str:
    return str(session_attributes(handler_input).get(OFFER) or "")


def make(handler_input: HandlerInput, offer: str | None) -> None:
    """Record the question just asked; None clears it, so a stale offer never answers a later yes."""
    attrs = session_attributes(handler_input)
    if offer:
        attrs[OFFER] = offer
    else:
        attrs.pop(OFFER, None)


def more_topic(offer: str) -> str | None:
    return offer[len(MORE_PREFIX) :] if offer.startswith(MORE_PREFIX) else None


def disclaimer_once(handler_input: HandlerInput) -> list[str]:
    """The "not medical advice" sentence, the first time this user hears from us; then nothing."""
    if state(handler_input).get(DISCLAIMER_HEARD):
        return []
    remember(handler_input, **{DISCLAIMER_HEARD: True})
    return [content(handler_input).say("prompts.disclaimer")]
