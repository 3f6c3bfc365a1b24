"""Launch, help, stop, fallback, home, yes/no, session end, Alexa's error reports, CanFulfillIntent,
and the catch-all error handler, over HTTP with the real serializer and SQLite."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from scheduler.models import SkillState, User
from skill import content as content_module
from skill.content import Content, load_language
from skill.endpoint import EXTENSION
from tests.envelopes import Envelopes, reprompt_of, said
from tests.test_questions import Talk, heard

WORDS = load_language("en")


@pytest.fixture
def talk(client: FlaskClient, envelopes: Envelopes) -> Talk:
    return Talk(client, envelopes)


def state_rows(app: Flask) -> int:
    with app.extensions[EXTENSION]["services"].sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SkillState)) or 0)


def stored(app: Flask, user_id: str) -> dict[str, Any] | None:
    with app.extensions[EXTENSION]["services"].sessions() as session:
        attributes = session.scalar(select(SkillState.attributes).where(SkillState.alexa_user_id == user_id))
    return None if attributes is None else dict(attributes)


def set_greeting(app: Flask, user_id: str, kind: str) -> None:
    with app.extensions[EXTENSION]["services"].sessions.begin() as session:
        session.add(User(alexa_user_id=user_id, pending_greeting=kind))


# --- Launch -----------------------------------------------------------------------------------------


def test_first_launch_has_the_disclaimer_and_the_second_does_not(app: Flask, talk: Talk) -> None:
    body = talk.launch()
    assert said(body) == WORDS.text("prompts.welcome") + " " + WORDS.text("prompts.disclaimer")
    assert body["response"]["shouldEndSession"] is False
    assert reprompt_of(body) == f"<speak>{WORDS.say('prompts.reprompt')}</speak>"
    # Remembered through the SQLAlchemy persistence adapter, not the session.
    assert stored(app, talk.user_id) == {"disclaimer_heard": True}
    assert talk.attributes == {}

    talk.new_session()
    body = talk.launch()
    assert said(body) == WORDS.text("prompts.welcome_back")
    assert WORDS.text("prompts.disclaimer") not in said(body)


def test_launch_after_a_stretch_reminder_offers_the_routine(app: Flask, talk: Talk) -> None:
    heard(talk)
    set_greeting(app, talk.user_id, "stretch")
    body = talk.launch()
    assert said(body) == WORDS.text("prompts.greeting.stretch") + " " + WORDS.text("routine.offer")
    assert talk.offer == "routine"
    assert said(talk.intent("AMAZON.YesIntent")).startswith(WORDS.text("routine.intro", count=7))
    # The greeting is used once.
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("prompts.welcome_back")


def test_launch_after_a_water_reminder_nudges_hydration(app: Flask, talk: Talk) -> None:
    heard(talk)
    set_greeting(app, talk.user_id, "water")
    body = talk.launch()
    assert said(body) == WORDS.text("prompts.greeting.water") + " " + WORDS.text("prompts.reprompt")
    assert talk.offer is None


def test_launch_after_a_stretch_reminder_with_a_paused_routine_offers_to_continue(
    app: Flask, talk: Talk
) -> None:
    heard(talk)
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.StopIntent")
    talk.new_session()
    set_greeting(app, talk.user_id, "stretch")
    body = talk.launch()
    assert said(body) == " ".join(
        [WORDS.text("prompts.greeting.stretch"), WORDS.text("routine.resume_offer", number=2)]
    )
    assert talk.offer == "resume:restart"


# --- Help, stop, cancel, fallback, home --------------------------------------------------------------


def test_help_has_the_disclaimer_and_counts_as_hearing_it(app: Flask, talk: Talk) -> None:
    body = talk.intent("AMAZON.HelpIntent")
    spoken = said(body)
    assert spoken == WORDS.text("prompts.help")
    assert "not medical advice" in spoken
    assert reprompt_of(body)
    assert stored(app, talk.user_id) == {"disclaimer_heard": True}
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("prompts.welcome_back")


@pytest.mark.parametrize("intent", ["AMAZON.StopIntent", "AMAZON.CancelIntent"])
def test_stop_and_cancel_say_goodbye_and_end(talk: Talk, intent: str) -> None:
    talk.intent("PreventionIntent")
    body = talk.intent(intent)
    assert said(body) == WORDS.text("prompts.goodbye")
    assert body["response"]["shouldEndSession"] is True
    assert "reprompt" not in body["response"]


@pytest.mark.parametrize("intent", ["AMAZON.FallbackIntent", "NoSuchThingIntent"])
def test_fallback_says_what_we_can_do(talk: Talk, intent: str) -> None:
    body = talk.intent(intent)
    assert said(body) == WORDS.text("prompts.fallback")
    assert reprompt_of(body) == f"<speak>{WORDS.say('prompts.fallback_reprompt')}</speak>"
    assert body["response"]["shouldEndSession"] is False


def test_navigate_home_leaves_the_routine_and_clears_the_offer(talk: Talk) -> None:
    heard(talk)
    talk.intent("StartRoutineIntent")
    body = talk.intent("AMAZON.NavigateHomeIntent")
    assert said(body) == WORDS.text("prompts.home")
    assert body["response"]["shouldEndSession"] is False
    assert talk.attributes == {}
    assert said(talk.intent("AMAZON.NextIntent")) == WORDS.text("routine.not_running")


@pytest.mark.parametrize("intent", ["AMAZON.YesIntent", "AMAZON.NoIntent"])
def test_yes_or_no_with_nothing_asked_gets_a_helpful_prompt(talk: Talk, intent: str) -> None:
    body = talk.intent(intent)
    assert said(body) == WORDS.text("prompts.yes_no_unclear")
    assert body["response"]["shouldEndSession"] is False


def test_yes_to_an_offer_we_never_made_is_not_an_error(talk: Talk) -> None:
    talk.attributes = {"offer": "more:no.such.topic"}
    assert said(talk.intent("AMAZON.YesIntent")) == WORDS.text("prompts.yes_no_unclear")


# --- Requests that are not conversation turns --------------------------------------------------------


def post(client: FlaskClient, envelope: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_session_ended_gets_an_empty_response_and_logs_the_reason(
    client: FlaskClient, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="skill.handlers.builtins"):
        body = post(client, envelopes.session_ended("USER_INITIATED"))
    assert body["response"] == {}
    assert any("session ended: USER_INITIATED" in r.getMessage() for r in caplog.records)


def test_session_ended_by_an_error_logs_the_details(
    client: FlaskClient, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = envelopes.session_ended("ERROR")
    envelope["request"]["error"] = {"type": "INVALID_RESPONSE", "message": "SSML is not well formed"}
    with caplog.at_level(logging.INFO, logger="skill.handlers.builtins"):
        body = post(client, envelope)
    assert body["response"] == {}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        "INVALID_RESPONSE" in r.getMessage() and "SSML is not well formed" in r.getMessage() for r in errors
    )


def test_exception_encountered_is_logged_and_answered_without_speech(
    client: FlaskClient, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="skill.handlers.builtins"):
        body = post(client, envelopes.exception_encountered())
    assert "outputSpeech" not in body["response"]
    assert "reprompt" not in body["response"]
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "INVALID_RESPONSE" in message and "bad directive" in message
    assert "amzn1.echo-api.request.previous" in message


# --- CanFulfillIntentRequest -------------------------------------------------------------------------


def can_fulfill(
    client: FlaskClient, envelopes: Envelopes, name: str, slots: dict[str, str] | None = None
) -> Any:
    body = post(client, envelopes.can_fulfill(name, slots))
    assert "outputSpeech" not in body["response"]
    return body["response"]["canFulfillIntent"]


@pytest.mark.parametrize(
    "name, slots, verdict, slot_verdicts",
    [
        ("WhatIsCrampIntent", None, "YES", {}),
        ("DoctorIntent", None, "YES", {}),
        ("RedFlagIntent", {"symptom": "swelling"}, "YES", {"symptom": ("YES", "YES")}),
        ("MedicationIntent", {"medication": "water pills"}, "YES", {"medication": ("YES", "YES")}),
        ("MedicationIntent", {"medication": "statins"}, "YES", {"medication": ("YES", "YES")}),
        ("FoodsIntent", {"mineral": "salt"}, "YES", {"mineral": ("YES", "YES")}),
        ("StartRoutineIntent", None, "YES", {}),
        ("SupplementsIntent", {"supplement": "magnesium spray"}, "MAYBE", {"supplement": ("MAYBE", "YES")}),
        (
            "SetReminderIntent",
            {"kind": "stretch", "time": "21:30"},
            "MAYBE",
            {"kind": ("MAYBE", "YES"), "time": ("MAYBE", "YES")},
        ),
        ("ListRemindersIntent", None, "MAYBE", {}),
        ("MedicationIntent", {"medication": "aspirin"}, "NO", {"medication": ("NO", "NO")}),
        ("CausesIntent", {"weather": "rain"}, "NO", {"weather": ("NO", "NO")}),
        ("OrderPizzaIntent", None, "NO", {}),
        # Free text: the same router as the answer.
        ("QuestionIntent", {"query": "do my calves cramp at night"}, "YES", {"query": ("YES", "YES")}),
        ("QuestionIntent", {"query": "my leg is swollen"}, "YES", {"query": ("YES", "YES")}),
        ("QuestionIntent", {"query": "remind me to stretch"}, "MAYBE", {"query": ("MAYBE", "YES")}),
        ("QuestionIntent", {"query": "play some jazz"}, "NO", {"query": ("NO", "NO")}),
        # Wording slots carry how it was said: understood, and no reason to refuse.
        (
            "CausesIntent",
            {"cause": "dehydration", "cramps": "leg cramps at night"},
            "YES",
            {"cause": ("YES", "YES"), "cramps": ("YES", "YES")},
        ),
        ("StartRoutineIntent", {"routine": "my bedtime routine"}, "YES", {"routine": ("YES", "YES")}),
    ],
)
def test_can_fulfill_answers_yes_maybe_or_no(
    app: Flask,
    client: FlaskClient,
    envelopes: Envelopes,
    name: str,
    slots: dict[str, str] | None,
    verdict: str,
    slot_verdicts: dict[str, tuple[str, str]],
) -> None:
    answer = can_fulfill(client, envelopes, name, slots)
    assert answer["canFulfill"] == verdict
    got = {k: (v["canUnderstand"], v["canFulfill"]) for k, v in (answer.get("slots") or {}).items()}
    assert got == slot_verdicts


def test_can_fulfill_writes_nothing(app: Flask, client: FlaskClient, envelopes: Envelopes) -> None:
    before = state_rows(app)
    for name, slots in [
        ("WhatIsCrampIntent", None),
        ("StartRoutineIntent", None),
        ("SetReminderIntent", {"kind": "water", "time": "09:00"}),
        ("RedFlagIntent", {"symptom": "red"}),
    ]:
        body = post(client, envelopes.can_fulfill(name, slots, user_id="amzn1.ask.account.CFIR"))
        assert not body.get("sessionAttributes")
    assert state_rows(app) == before
    assert stored(app, "amzn1.ask.account.CFIR") is None
    with app.extensions[EXTENSION]["services"].sessions() as session:
        assert session.scalar(select(User).where(User.alexa_user_id == "amzn1.ask.account.CFIR")) is None


# --- The catch-all exception handler ------------------------------------------------------------------


def test_a_failing_handler_becomes_a_spoken_apology_with_a_logged_stack(
    client: FlaskClient,
    envelopes: Envelopes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A content tree that lost its topics: the question handler raises on the missing key.
    real = load_language("en")
    broken = Content("en", {k: v for k, v in real.tree.items() if k != "topics"})
    monkeypatch.setattr(content_module, "for_locale", lambda locale: broken)
    with caplog.at_level(logging.ERROR, logger="skill.handlers.builtins"):
        body = post(client, envelopes.intent("WhatIsCrampIntent"))
    assert said(body) == WORDS.text("prompts.error")
    assert reprompt_of(body) == f"<speak>{WORDS.say('prompts.reprompt')}</speak>"
    assert body["response"]["shouldEndSession"] is False
    [failure] = [r for r in caplog.records if "handler failed" in r.getMessage()]
    # The frames are logged; the exception's own text only escaped, on the first line.
    assert "ContentError" in failure.getMessage().splitlines()[0]
    assert "Traceback" in failure.getMessage() and 'File "' in failure.getMessage()
