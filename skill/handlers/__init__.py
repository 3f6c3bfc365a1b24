"""All handlers, in the order the SDK tries them: the first whose ``can_handle`` is true wins.

Device-reminder requests and skill events come first (they are not conversation turns), then
reminders and their pauses (their yes/no follow-ups are checked before the general ones), the
routine, "how am I doing", questions, and the built-ins
(including CanFulfillIntentRequest, which no earlier handler matches), whose fallback catches
whatever is left. Exception handlers: events (a 503 so Alexa redelivers), reminder storage
outages, then the catch-all apology.
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler

from skill.services import SkillServices


def request_handlers(services: SkillServices) -> list[AbstractRequestHandler]:
    from skill.handlers import builtins, device, events, pauses, progress, questions, reminders, routine

    return [
        *device.build(services),
        *events.build(services),
        *reminders.build(services),
        *pauses.build(services),
        *routine.build(services),
        *progress.build(services),
        *questions.build(services),
        *builtins.build(services),
    ]


def exception_handlers(services: SkillServices) -> list[AbstractExceptionHandler]:
    from skill.handlers import builtins, events, reminders

    return [
        *events.build_exception_handlers(services),
        *reminders.build_exception_handlers(services),
        *builtins.build_exception_handlers(services),
    ]
