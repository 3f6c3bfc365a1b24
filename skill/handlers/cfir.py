"""CanFulfillIntentRequest: Alexa asks whether we could answer an intent before the user names us.

The answer is a pure lookup; it must not change anything (no state written, no offers, no
reminders touched), because the user may never talk to this skill at all.
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.canfulfill import (
    CanFulfillIntent,
    CanFulfillIntentValues,
    CanFulfillSlot,
    CanFulfillSlotValues,
    CanUnderstandSlotValues,
)

from skill import router
from skill.handlers import questions
from skill.handlers.common import content
from skill.handlers.scope import request_types
from skill.slots import raw_value

ROUTINE_INTENTS = frozenset({"StartRoutineIntent"})
# Setting a reminder needs a time, a time zone and a permission: we can only say perhaps.
REMINDER_INTENTS = frozenset(
    {
        "SetReminderIntent",
        "ListRemindersIntent",
        "MoveReminderIntent",
        "CancelReminderIntent",
        "CancelAllRemindersIntent",
        "SkipReminderIntent",
        "PauseRemindersIntent",
        "ResumeRemindersIntent",
    }
)

YES = CanFulfillIntentValues.YES
NO = CanFulfillIntentValues.NO
MAYBE = CanFulfillIntentValues.MAYBE


def _spoken_slots(handler_input: HandlerInput) -> list[str]:
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    names = list((getattr(intent, "slots", None) or {}).keys())
    return [name for name in names if raw_value(handler_input, name)]


def _slot(understand: CanUnderstandSlotValues, fulfill: CanFulfillSlotValues) -> CanFulfillSlot:
    return CanFulfillSlot(can_understand=understand, can_fulfill=fulfill)


def judge(handler_input: HandlerInput, intent_name: str) -> CanFulfillIntent:
    spoken = _spoken_slots(handler_input)
    # Wording slots ("leg cramps at night", "my bedtime routine") only carry the way it was said.
    wording = set(content(handler_input).get("vocabulary.wording"))
    said = {
        name: _slot(CanUnderstandSlotValues.YES, CanFulfillSlotValues.YES)
        for name in spoken
        if name in wording
    }
    slot_names = [name for name in spoken if name not in wording]
    verdict = _judge(handler_input, intent_name, slot_names)
    slots = dict(verdict.slots or {})
    if verdict.can_fulfill != NO:
        slots.update(said)
    return CanFulfillIntent(can_fulfill=verdict.can_fulfill, slots=slots)


def _judge(handler_input: HandlerInput, intent_name: str, slot_names: list[str]) -> CanFulfillIntent:
    if intent_name == questions.FREE_TEXT:
        return _judge_free_text(handler_input, slot_names)
    question = questions.BY_INTENT.get(intent_name)
    if question is not None:
        return _judge_question(handler_input, question, slot_names)
    if intent_name in ROUTINE_INTENTS and not slot_names:
        return CanFulfillIntent(can_fulfill=YES, slots={})
    if intent_name in REMINDER_INTENTS:
        maybe = _slot(CanUnderstandSlotValues.MAYBE, CanFulfillSlotValues.YES)
        return CanFulfillIntent(can_fulfill=MAYBE, slots={name: maybe for name in slot_names})
    return CanFulfillIntent(can_fulfill=NO, slots={})


def _judge_question(
    handler_input: HandlerInput, question: questions.Question, slot_names: list[str]
) -> CanFulfillIntent:
    verdicts: dict[str, CanFulfillSlot] = {}
    overall = YES
    for name in slot_names:
        if name != question.slot:
            verdicts[name] = _slot(CanUnderstandSlotValues.NO, CanFulfillSlotValues.NO)
            overall = NO
            continue
        match = questions.pick(handler_input, content(handler_input), question).match
        if match == "exact":
            verdicts[name] = _slot(CanUnderstandSlotValues.YES, CanFulfillSlotValues.YES)
        elif match == "partial":
            verdicts[name] = _slot(CanUnderstandSlotValues.MAYBE, CanFulfillSlotValues.YES)
            overall = NO if overall == NO else MAYBE
        else:
            verdicts[name] = _slot(CanUnderstandSlotValues.NO, CanFulfillSlotValues.NO)
            overall = NO
    return CanFulfillIntent(can_fulfill=overall, slots=verdicts)


def _judge_free_text(handler_input: HandlerInput, slot_names: list[str]) -> CanFulfillIntent:
    """The words of a free-text question, routed as they would be if the user asked: the same router."""
    where = router.route(raw_value(handler_input, questions.QUERY), content(handler_input))
    if where.kind == "nothing" or any(name != questions.QUERY for name in slot_names):
        no = _slot(CanUnderstandSlotValues.NO, CanFulfillSlotValues.NO)
        return CanFulfillIntent(can_fulfill=NO, slots={name: no for name in slot_names})
    if where.kind == "reminders":
        # Like the reminder intents: it depends on a time, a time zone and a permission.
        maybe = _slot(CanUnderstandSlotValues.MAYBE, CanFulfillSlotValues.YES)
        return CanFulfillIntent(can_fulfill=MAYBE, slots={name: maybe for name in slot_names})
    yes = _slot(CanUnderstandSlotValues.YES, CanFulfillSlotValues.YES)
    return CanFulfillIntent(can_fulfill=YES, slots={name: yes for name in slot_names})


class CanFulfillIntentHandler(AbstractRequestHandler):
    scope = request_types("CanFulfillIntentRequest")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        intent = getattr(handler_input.request_envelope.request, "intent", None)
        verdict = judge(handler_input, str(getattr(intent, "name", "") or ""))
        handler_input.response_builder.set_can_fulfill_intent(verdict)
        response: Response = handler_input.response_builder.response
        return response
