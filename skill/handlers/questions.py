"""Spoken questions: one topic per intent, or per slot value, answered briefly and then offered in full.

Every topic lives in content/<language>/topics.json with a short ``answer`` (about 20 seconds), a
``more`` part for a "yes", and a ``title`` for the card. A slot-bearing intent with no value, or
with one we don't know, gets the group's ``overview``, which names the choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.content import Content
from skill.handlers import offers
from skill.handlers.common import content, is_intent, reply
from skill.services import SkillServices
from skill.slots import partial_match, raw_value, resolve

OVERVIEW = "overview"
Match = Literal["none", "exact", "partial", "unknown"]


@dataclass(frozen=True)
class Question:
    intent: str
    branch: str
    slot: str | None = None


QUESTIONS: tuple[Question, ...] = (
    Question("WhatIsCrampIntent", "what_is"),
    Question("RestlessLegsIntent", "restless_legs"),
    Question("CausesIntent", "causes", "cause"),
    Question("MedicationIntent", "medications", "medication"),
    Question("ConditionIntent", "conditions", "condition"),
    Question("PreventionIntent", "prevention"),
    Question("FoodsIntent", "foods", "mineral"),
    Question("SupplementsIntent", "supplements", "supplement"),
    Question("ReliefIntent", "relief"),
    Question("ShoesActivityIntent", "shoes_activity"),
    Question("DoctorIntent", "doctor"),
    Question("StretchIntent", "stretches", "stretch"),
)
RED_FLAGS = Question("RedFlagIntent", "red_flags", "symptom")
BY_INTENT = {q.intent: q for q in (*QUESTIONS, RED_FLAGS)}


@dataclass(frozen=True)
class Choice:
    """The topic a question lands on, and how sure we are of the slot value that chose it."""

    path: str
    match: Match
    spoken: str | None = None


def pick(handler_input: HandlerInput, words: Content, question: Question) -> Choice:
    if question.slot is None:
        return Choice(question.branch, "exact")
    overview = f"{question.branch}.{OVERVIEW}"
    spoken = raw_value(handler_input, question.slot)
    synonyms = words.synonyms(f"topics.{question.branch}")
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

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent(handler_input, self.question.intent)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        choice = pick(handler_input, words, self.question)
        lead = offers.disclaimer_once(handler_input)
        if choice.match == "unknown":
            lead.append(words.say("prompts.unknown_choice", value=choice.spoken or ""))
        return answer(handler_input, choice.path, lead)


class RedFlagHandler(AbstractRequestHandler):
    """Warning signs: the urgent advice comes first and alone, with no offers after it."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent(handler_input, RED_FLAGS.intent)

    def handle(self, handler_input: HandlerInput) -> Response:
        words = content(handler_input)
        path = pick(handler_input, words, RED_FLAGS).path
        key = f"topics.{path}"
        offers.make(handler_input, None)
        shown = card(words, path)
        if words.has(f"{key}.urgent") and words.get(f"{key}.urgent"):
            # End the session: the person should be calling for help, not hearing a reprompt.
            return reply(handler_input, words.say(f"{key}.answer"), card=shown, end_session=True)
        return reply(
            handler_input,
            [words.say(f"{key}.answer"), words.say("prompts.red_flag_follow")],
            reprompt=words.say("prompts.red_flag_reprompt"),
            card=shown,
        )


def build(services: SkillServices) -> list[AbstractRequestHandler]:
    return [RedFlagHandler(), *(QuestionHandler(q) for q in QUESTIONS)]
