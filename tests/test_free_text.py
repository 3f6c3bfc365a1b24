"""QuestionIntent over HTTP: the router's answer for each kind of question, the fallback it shares,
and CanFulfillIntentRequest, which asks the same router and changes nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from scheduler.models import User
from skill.endpoint import EXTENSION
from skill.handlers import routine
from tests.envelopes import Envelopes, reprompt_of, said, speech_of
from tests.test_builtins import post, state_rows, stored
from tests.test_questions import WORDS, Talk, card_of, heard


@pytest.fixture
def talk(client: FlaskClient, envelopes: Envelopes) -> Talk:
    t = Talk(client, envelopes)
    heard(t)
    return t


def ask(talk: Talk, text: str | None, **kw: Any) -> dict[str, Any]:
    return talk.intent("QuestionIntent", {"query": text} if text is not None else None, **kw)


def test_a_red_hot_or_swollen_leg_is_urgent_and_ends_the_session(talk: Talk) -> None:
    body = ask(talk, "my calf is hot and swollen")
    assert said(body) == WORDS.text("topics.red_flags.swollen.answer")
    assert body["response"]["shouldEndSession"] is True
    assert "reprompt" not in body["response"]


def test_weakness_is_see_a_doctor_soon_with_a_reprompt(talk: Talk) -> None:
    body = ask(talk, "my leg muscles feel weak")
    assert said(body).startswith(WORDS.text("topics.red_flags.weakness.answer"))
    assert body["response"]["shouldEndSession"] is False
    assert reprompt_of(body)


def test_a_topic_in_other_words_gets_its_answer_and_the_offer_of_more(talk: Talk) -> None:
    body = ask(talk, "could not drinking enough be why my legs cramp")
    assert said(body).startswith(WORDS.text("topics.causes.dehydration.answer"))
    assert talk.offer == "more:causes.dehydration"
    assert card_of(body)[0] == WORDS.text("topics.causes.dehydration.title")
    more = talk.intent("AMAZON.YesIntent")
    assert said(more).startswith(WORDS.text("topics.causes.dehydration.more"))


def test_an_alias_is_followed(talk: Talk) -> None:
    body = ask(talk, "can my shoes cause cramps")
    assert said(body).startswith(WORDS.text("topics.shoes_activity.answer"))


def test_reassurance_says_most_are_harmless_then_when_to_see_a_doctor(talk: Talk) -> None:
    spoken = said(ask(talk, "are these cramps dangerous"))
    assert spoken.startswith(WORDS.text("topics.reassurance.answer"))
    assert spoken.index("harmless") < spoken.index("see a doctor")


def test_frequent_cramps_add_the_doctor_note_before_the_answer(talk: Talk) -> None:
    spoken = said(ask(talk, "how do I stop them, I get them every night"))
    note, answer = WORDS.text("prompts.doctor_note"), WORDS.text("topics.prevention.answer")
    assert spoken.startswith(f"{note} {answer}")


def test_words_we_have_nothing_on_are_named_before_the_overview_as_plain_words(talk: Talk) -> None:
    body = ask(talk, "can <caffeine> cause cramps")
    # The router reads words, not markup: what it names back is plain words, and valid SSML.
    assert "<caffeine>" not in speech_of(body) and "&lt;" not in speech_of(body)
    assert said(body).startswith(WORDS.text("prompts.unknown_choice", value="caffeine"))
    assert WORDS.text("topics.causes.overview.answer") in said(body)
    body = ask(talk, "should I take zinc & copper")
    assert said(body).startswith(WORDS.text("prompts.unknown_choice", value="zinc copper"))
    assert WORDS.text("topics.supplements.overview.answer") in said(body)


def test_the_routine_starts_or_is_described_then_offered(talk: Talk) -> None:
    started = said(ask(talk, "walk me through the bedtime routine"))
    assert WORDS.text("routine.step_intro", number=1) in started
    talk.intent("AMAZON.StopIntent")
    talk.new_session()
    body = ask(talk, "tell me about the routine")
    assert said(body) == WORDS.text("routine.describe")
    assert talk.offer == "routine"
    assert WORDS.text("routine.step_intro", number=1) in said(talk.intent("AMAZON.YesIntent"))


def test_a_reminder_request_carries_on_as_the_reminder_intent(talk: Talk) -> None:
    body = ask(talk, "can you remind me to drink water")
    [directive] = body["response"]["directives"]
    assert directive["type"] == "Dialog.ElicitSlot" and directive["slotToElicit"] == "time"
    assert directive["updatedIntent"]["name"] == "SetReminderIntent"
    assert directive["updatedIntent"]["slots"]["kind"]["value"] == "water"
    assert said(body) == WORDS.text("reminders.ask_time", action=WORDS.text("reminders.kinds.water.action"))
    listed = ask(talk, "what reminders have I got")
    assert said(listed) == WORDS.text("reminders.list_none")
    cancel = ask(talk, "get rid of one of my reminders")
    [directive] = cancel["response"]["directives"]
    assert (directive["updatedIntent"]["name"], directive["slotToElicit"]) == ("CancelReminderIntent", "kind")


def test_what_we_cannot_answer_is_the_fallback_and_the_operator_sees_it(
    talk: Talk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="skill.handlers.questions"):
        body = ask(talk, "play some jazz\nplease")
    assert said(body) == WORDS.text("prompts.fallback")
    assert reprompt_of(body) == f"<speak>{WORDS.say('prompts.fallback_reprompt')}</speak>"
    [line] = [r.getMessage() for r in caplog.records if "matched no topic" in r.getMessage()]
    assert "play some jazz\\x0aplease" in line  # one printable line, the newline escaped
    assert said(ask(talk, None)) == WORDS.text("prompts.fallback")


def test_mid_routine_what_we_cannot_answer_says_the_way_on(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    assert routine.STEP in talk.attributes
    body = ask(talk, "play some jazz")
    assert said(body) == WORDS.text("routine.next_reprompt")
    assert talk.attributes[routine.STEP] == 0


# --- CanFulfillIntentRequest ---------------------------------------------------------------------------


# The verdicts for free text and wording slots are in tests/test_builtins.py, beside the others.


def test_can_fulfill_for_free_text_writes_nothing(
    app: Flask, client: FlaskClient, envelopes: Envelopes
) -> None:
    before = state_rows(app)
    user = "amzn1.ask.account.CFIRFREE"
    for text in ("walk me through the routine", "remind me to stretch at nine", "is it dangerous"):
        body = post(client, envelopes.can_fulfill("QuestionIntent", {"query": text}, user_id=user))
        assert not body.get("sessionAttributes")
        assert "outputSpeech" not in body["response"]
    assert state_rows(app) == before
    assert stored(app, user) is None
    with app.extensions[EXTENSION]["services"].sessions() as session:
        assert session.scalar(select(User).where(User.alexa_user_id == user)) is None
