"""Spoken questions: one topic per intent, or per slot value, answered briefly and then offered in full.

Every topic lives in content/<language>/topics.json with a short ``answer`` (about 20 seconds), a
``more`` part for a "yes", and a ``title`` for the card. A slot-bearing intent with no value, or
with one we don't know, gets the group's ``overview``, which names the choices.

A question in words no specific intent fits arrives as QuestionIntent, whose free text
``skill.router`` sends to a topic, a red flag, the routine, reminders, or the "I can tell you
about..." answer; :func:`answer_route` speaks any of those (the fallback uses it too).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from scheduler.logs import safe
from skill import router, screens
from skill.content import Content
from skill.handlers import offers, reminders, routine
from skill.handlers.common import content, reply
from skill.handlers.scope import intents
from skill.services import SkillServices
from skill.slots import partial_match, raw_value, resolve

log = logging.getLogger(__name__)

OVERVIEW = "overview"
Match = Literal["none", "exact", "partial", "unknown"]


@dataclass(frozen=True)
class Question:
    intent: str
    branch: str
    slot: str | None = None
    # The vocabulary.json slot type whose value ids are this group's topics.
    slot_type: str | None = None


QUESTIONS: tuple[Question, ...] = (
    Question("WhatIsCrampIntent", "what_is"),
    Question("RestlessLegsIntent", "restless_legs"),
    Question("ReassuranceIntent", "reassurance"),
    Question("CausesIntent", "causes", "cause", "CauseType"),
    Question("MedicationIntent", "medications", "medication", "MedicationType"),
    Question("ConditionIntent", "conditions", "condition", "ConditionType"),
    Question("PreventionIntent", "prevention"),
    Question("FoodsIntent", "foods", "mineral", "MineralType"),
    Question("SupplementsIntent", "supplements", "supplement", "SupplementType"),
    Question("ReliefIntent", "relief"),
    Question("ShoesActivityIntent", "shoes_activity"),
    Question("DoctorIntent", "doctor"),
    Question("StretchIntent", "stretches", "stretch", "StretchType"),
)
RED_FLAGS = Question("RedFlagIntent", "red_flags", "symptom", "SymptomType")
BY_INTENT = {q.intent: q for q in (*QUESTIONS, RED_FLAGS)}
# The free-text question: its one slot is an AMAZON.SearchQuery.
FREE_TEXT = "QuestionIntent"
QUERY = "query"


@dataclass(frozen=True)
class Choice:
    """The topic a question lands on, and how sure we are of the slot value that chose it."""

    path: str
    match: Match
    spoken: str | None = None


def pick(handler_input: HandlerInput, words: Content, question: Question) -> Choice:
    if question.slot is None or question.slot_type is None:
        return Choice(question.branch, "exact")
    overview = f"{question.branch}.{OVERVIEW}"
    spoken = raw_value(handler_input, question.slot)
    synonyms = words.synonyms(question.slot_type)
    # Alexa's entity resolution first, then the exact words, then the words inside a longer phrase.
    value_id = resolve(handler_input, question.slot, synonyms)
    if value_id is not None:
        return Choice(follow(words, f"{question.branch}.{value_id}"), "exact", spoken)
    if spoken is None:
        return Choice(overview, "none")
    value_id = partial_match(spoken, synonyms)
    if value_id is not None:
        return Choice(follow(words, f"{question.branch}.{value_id}"), "partial", spoken)
    return Choice(overview, "unknown", spoken)


def follow(words: Content, path: str) -> str:
    """Some choices share another group's answer ("medications" as a cause): follow ``see``."""
    node = words.get(f"topics.{path}")
    target = node.get("see") if isinstance(node, dict) else None
    return str(target) if target else path


def card(words: Content, path: str) -> tuple[str, str]:
    key = f"topics.{path}"
    parts = [words.text(f"{key}.answer")]
    if words.has(f"{key}.more"):
        parts.append(words.text(f"{key}.more"))
    return words.text(f"{key}.title"), " ".join(parts)


def has_more(words: Content, path: str) -> bool:
    return words.has(f"topics.{path}.more") and words.has(f"topics.{path}.answer")


def answer(handler_input: HandlerInput, path: str, lead: Sequence[str] = ()) -> Response:
    """The short answer, then the offer of more (the topic's own wording, or the general one)."""
    words = content(handler_input)
    key = f"topics.{path}"
    offer_key = f"{key}.offer" if words.has(f"{key}.offer") else "prompts.offer_more"
    offers.make(handler_input, offers.MORE_PREFIX + path)
    return reply(
        handler_input,
        [*lead, words.say(f"{key}.answer"), words.say(offer_key)],
        reprompt=words.say("prompts.more_reprompt"),
        card=card(words, path),
        screen=screens.topic(words, path, hint=words.text(offer_key)),
    )


def more(handler_input: HandlerInput, path: str) -> Response:
    """The rest of a topic, after a "yes"; then the topic's follow-up offer (routine or reminder)."""
    words = content(handler_input)
    key = f"topics.{path}"
    then = words.get(f"{key}.then") if words.has(f"{key}.then") else None
    if then == offers.ROUTINE:
        offers.make(handler_input, offers.ROUTINE)
        tail, reprompt = words.say("routine.offer"), words.say("routine.offer_reprompt")
    elif then == offers.REMINDER:
        offers.make(handler_input, offers.REMINDER)
        tail = words.say("reminders.offer_after_prevention")
        reprompt = words.say("reminders.offer_yes_no_reprompt")
    else:
        offers.make(handler_input, None)
        tail, reprompt = words.say("prompts.anything_else"), words.say("prompts.anything_else_reprompt")
    return reply(handler_input, [words.say(f"{key}.more"), tail], reprompt=reprompt)


class QuestionHandler(AbstractRequestHandler):
    """One question intent; the instances differ only in which intent and topic group they serve."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.scope = intents(question.intent)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        choice = pick(handler_input, words, self.question)
        lead = offers.disclaimer_once(handler_input)
        if choice.match == "unknown":
            lead.append(words.say("prompts.unknown_choice", value=choice.spoken or ""))
        return answer(handler_input, choice.path, lead)


def red_flag(handler_input: HandlerInput, path: str) -> Response:
    """Warning signs: the urgent advice comes first and alone, with no offers after it."""
    words = content(handler_input)
    key = f"topics.{path}"
    offers.make(handler_input, None)
    shown = card(words, path)
    if words.has(f"{key}.urgent") and words.get(f"{key}.urgent"):
        # End the session: the person should be calling for help, not hearing a reprompt.
        return reply(
            handler_input,
            words.say(f"{key}.answer"),
            card=shown,
            end_session=True,
            screen=screens.topic(words, path, hint="", urgent=True),
        )
    return reply(
        handler_input,
        [words.say(f"{key}.answer"), words.say("prompts.red_flag_follow")],
        reprompt=words.say("prompts.red_flag_reprompt"),
        card=shown,
        screen=screens.topic(words, path, hint=words.text("prompts.red_flag_follow"), urgent=True),
    )


class RedFlagHandler(AbstractRequestHandler):
    scope = intents(RED_FLAGS.intent)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return red_flag(handler_input, pick(handler_input, content(handler_input), RED_FLAGS).path)


def answer_route(handler_input: HandlerInput, where: router.Route) -> Response:
    """Speak what the router found: a red flag, a topic, the routine, reminders, or what we can do."""
    words = content(handler_input)
    if where.kind == "red_flag":
        return red_flag(handler_input, where.target)
    if where.kind == "routine":
        if where.target == "start":
            return routine.StartRoutineHandler().handle(handler_input)
        offers.make(handler_input, offers.ROUTINE)
        return reply(
            handler_input,
            [*offers.disclaimer_once(handler_input), words.say("routine.describe")],
            reprompt=words.say("routine.offer_reprompt"),
        )
    if where.kind == "reminders":
        return reminders.continue_as(handler_input, where.target, where.reminder_kind)
    if where.kind == "topic":
        lead = offers.disclaimer_once(handler_input)
        if where.note:
            lead.append(words.say("prompts.doctor_note"))
        if where.unknown:
            lead.append(words.say("prompts.unknown_choice", value=where.unknown))
        return answer(handler_input, follow(words, where.target), lead)
    offers.make(handler_input, None)
    if routine.running(handler_input):
        # Mid-routine, whatever was said, the way on is "next".
        return reply(
            handler_input, words.say("routine.next_reprompt"), reprompt=words.say("routine.next_reprompt")
        )
    return reply(
        handler_input, words.say("prompts.fallback"), reprompt=words.say("prompts.fallback_reprompt")
    )


class FreeTextHandler(AbstractRequestHandler):
    """QuestionIntent: a question in the user's own words, sent where its vocabulary points."""

    scope = intents(FREE_TEXT)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.scope.accepts(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        text = raw_value(handler_input, QUERY)
        where = router.route(text, content(handler_input))
        if where.kind == "nothing":
            # What people ask that we have no words for is what the vocabulary should learn next.
            log.info("free-text question matched no topic: %s", safe(text or ""))
        return answer_route(handler_input, where)


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [RedFlagHandler(), *(QuestionHandler(q) for q in QUESTIONS), FreeTextHandler()]
