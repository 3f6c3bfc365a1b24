"""Which requests may be answered with speech: one rule for the endpoint and the exception handlers.

Alexa expects silence for skill events, for CanFulfillIntentRequest (a pure "could you?"), for
SessionEndedRequest and System.ExceptionEncountered, and for anything outside a session. An error
on any of those must never become a spoken apology.
"""

from __future__ import annotations

# Requests with no conversation that Alexa redelivers when they fail: skill events, reminder
# events and out-of-session skill messages.
EVENT_PREFIXES = ("AlexaSkillEvent.", "Reminders.", "Messaging.")
SILENT_TYPES = frozenset({"System.ExceptionEncountered", "SessionEndedRequest", "CanFulfillIntentRequest"})


def is_event(request_type: str | None) -> bool:
    return bool(request_type) and str(request_type).startswith(EVENT_PREFIXES)


def may_speak(request_type: str | None, in_session: bool) -> bool:
    """Whether an answer to this request may carry outputSpeech (including an apology)."""
    return in_session and not is_event(request_type) and str(request_type) not in SILENT_TYPES
