"""The guided bedtime routine over HTTP: every step in turn, navigation, pause and resume across nights."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from scheduler.models import SkillState
from skill.content import load_language
from skill.endpoint import EXTENSION
from skill.handlers import routine
from tests.envelopes import Envelopes, reprompt_of, said, speech_of
from tests.test_questions import Talk, card_of, heard

WORDS = load_language("en")
STEPS = routine.steps(WORDS)
LAST = len(STEPS) - 1


@pytest.fixture
def talk(client: FlaskClient, envelopes: Envelopes) -> Talk:
    t = Talk(client, envelopes)
    heard(t)
    return t


def saved(app: Flask, talk: Talk) -> dict[str, Any]:
    """The user's persistent attributes, read straight from the skill_state table."""
    with app.extensions[EXTENSION]["services"].sessions() as session:
        attributes = session.scalar(
            select(SkillState.attributes).where(SkillState.alexa_user_id == talk.user_id)
        )
    return dict(attributes or {})


def step_text(index: int) -> str:
    return WORDS.text("routine.step_intro", number=index + 1) + " " + STEPS[index]["say"]


def assert_step(body: dict[str, Any], index: int) -> None:
    spoken = said(body)
    assert step_text(index) in spoken
    ssml = speech_of(body)
    if STEPS[index].get("seconds"):
        # A 30-second hold: three 10-second breaks, the "ten more seconds" cue before the last one.
        assert re.findall(r'<break time="(\d+)s"/>', ssml) == ["10", "10", "10"]
        assert WORDS.text("routine.ten_left") in spoken
    else:
        assert "<break" not in ssml
    if index < LAST:
        assert spoken.endswith(WORDS.text("routine.next_prompt"))
        assert reprompt_of(body) == f"<speak>{WORDS.say('routine.next_reprompt')}</speak>"
        assert body["response"]["shouldEndSession"] is False


def test_the_routine_runs_start_to_finish_and_offers_a_reminder(app: Flask, talk: Talk) -> None:
    body = talk.intent("StartRoutineIntent")
    assert said(body).startswith(WORDS.text("routine.intro", count=len(STEPS)))
    assert_step(body, 0)
    title, text = card_of(body)
    assert title == WORDS.text("routine.title")
    assert all(step["name"] in text for step in STEPS)
    assert talk.attributes["routine_step"] == 0
    assert saved(app, talk)["routine_step"] == 0

    for index in range(1, LAST + 1):
        body = talk.intent("AMAZON.NextIntent")
        assert_step(body, index)
        if index < LAST:
            assert talk.attributes["routine_step"] == index
            assert saved(app, talk)["routine_step"] == index

    spoken = said(body)
    assert spoken.endswith(WORDS.text("routine.done") + " " + WORDS.text("routine.reminder_offer"))
    assert talk.offer == "reminder:stretch"
    assert "routine_step" not in talk.attributes
    assert "routine_step" not in saved(app, talk)
    assert body["response"]["shouldEndSession"] is False
    assert reprompt_of(body)


def test_holds_cover_both_sides_of_the_wall_stretch() -> None:
    wall = [i for i, step in enumerate(STEPS) if "wall calf" in step["name"].lower()]
    assert len(wall) == 2
    assert "right" in STEPS[wall[0]]["say"] and "left" in STEPS[wall[1]]["say"]
    assert "switch sides" in STEPS[wall[1]]["say"].lower()


def test_yes_after_a_step_means_next(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    assert_step(talk.intent("AMAZON.YesIntent"), 1)


def test_previous_repeat_and_start_over(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.NextIntent")
    assert_step(talk.intent("AMAZON.PreviousIntent"), 1)
    assert_step(talk.intent("AMAZON.RepeatIntent"), 1)
    assert talk.attributes["routine_step"] == 1
    body = talk.intent("AMAZON.StartOverIntent")
    assert said(body).startswith(WORDS.text("routine.start_over"))
    assert_step(body, 0)
    body = talk.intent("AMAZON.PreviousIntent")
    assert said(body).startswith(WORDS.text("routine.first_step"))
    assert_step(body, 0)


def test_pause_then_resume_in_the_same_session(app: Flask, talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.NextIntent")
    body = talk.intent("AMAZON.PauseIntent")
    assert said(body) == WORDS.text("routine.paused", number=3)
    assert reprompt_of(body) == f"<speak>{WORDS.say('routine.paused_reprompt')}</speak>"
    assert saved(app, talk)["routine_step"] == 2
    body = talk.intent("AMAZON.ResumeIntent")
    assert said(body).startswith(WORDS.text("routine.resuming", number=3))
    assert_step(body, 2)
    assert_step(talk.intent("AMAZON.NextIntent"), 3)


def test_paused_routine_is_offered_at_launch_the_next_night(app: Flask, talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    for _ in range(3):
        talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.PauseIntent")
    talk.new_session()

    body = talk.launch()
    assert said(body) == WORDS.text("routine.resume_offer_launch", number=4)
    assert talk.offer == "resume"
    body = talk.intent("AMAZON.YesIntent")
    assert said(body).startswith(WORDS.text("routine.resuming", number=4))
    assert_step(body, 3)


def test_no_to_resuming_at_launch_forgets_the_paused_step(app: Flask, talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.new_session()
    talk.launch()
    body = talk.intent("AMAZON.NoIntent")
    assert said(body) == WORDS.text("prompts.no_thanks")
    assert "routine_step" not in saved(app, talk)
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("prompts.welcome_back")


def test_start_my_routine_next_night_offers_to_continue_or_start_over(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.StopIntent")
    talk.new_session()

    body = talk.intent("StartRoutineIntent")
    assert said(body) == WORDS.text("routine.resume_offer", number=3)
    assert_step(talk.intent("AMAZON.YesIntent"), 2)

    talk.intent("AMAZON.CancelIntent")
    talk.new_session()
    talk.intent("StartRoutineIntent")
    body = talk.intent("AMAZON.NoIntent")
    assert said(body).startswith(WORDS.text("routine.start_over"))
    assert_step(body, 0)


def test_stop_mid_routine_says_where_we_were_and_keeps_it(app: Flask, talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    body = talk.intent("AMAZON.StopIntent")
    assert said(body) == WORDS.text("prompts.goodbye_routine", number=2)
    assert body["response"]["shouldEndSession"] is True
    assert saved(app, talk)["routine_step"] == 1


def test_a_session_that_times_out_mid_routine_can_be_resumed(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.post(talk.envelopes.session_ended("EXCEEDED_MAX_REPROMPTS", user_id=talk.user_id))
    talk.new_session()
    body = talk.intent("AMAZON.ResumeIntent")
    assert said(body).startswith(WORDS.text("routine.resuming", number=2))
    assert_step(body, 1)


def test_resume_with_nothing_paused_starts_from_the_beginning(talk: Talk) -> None:
    body = talk.intent("AMAZON.ResumeIntent")
    assert said(body).startswith(WORDS.text("routine.nothing_to_resume"))
    assert_step(body, 0)


@pytest.mark.parametrize(
    "intent", ["AMAZON.NextIntent", "AMAZON.PreviousIntent", "AMAZON.RepeatIntent", "AMAZON.PauseIntent"]
)
def test_navigation_outside_the_routine_offers_it(talk: Talk, intent: str) -> None:
    body = talk.intent(intent)
    assert said(body) == WORDS.text("routine.not_running")
    assert talk.offer == "routine"
    assert_step(talk.intent("AMAZON.YesIntent"), 0)


def test_yes_to_the_routine_offer_after_stretches_starts_it(talk: Talk) -> None:
    talk.intent("StretchIntent")
    talk.intent("AMAZON.YesIntent")
    body = talk.intent("AMAZON.YesIntent")
    assert said(body).startswith(WORDS.text("routine.intro", count=len(STEPS)))
    assert_step(body, 0)


def finish(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    for _ in range(LAST):
        talk.intent("AMAZON.NextIntent")
    assert talk.offer == "reminder:stretch"


def test_yes_to_the_reminder_offer_goes_to_the_reminders_area(talk: Talk) -> None:
    finish(talk)
    body = talk.intent("AMAZON.YesIntent")
    directive = body["response"]["directives"][0]
    assert directive["type"] == "Dialog.ElicitSlot"
    assert directive["updatedIntent"]["name"] == "SetReminderIntent"
    assert directive["updatedIntent"]["slots"]["kind"]["value"] == "stretch"


def test_no_to_the_reminder_offer_says_good_night(talk: Talk) -> None:
    finish(talk)
    body = talk.intent("AMAZON.NoIntent")
    assert said(body) == WORDS.text("prompts.no_reminder")
    assert body["response"]["shouldEndSession"] is True


def test_a_question_mid_routine_keeps_the_place(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("StretchIntent", {"stretch": "towel"}, resolved={"stretch": "towel"})
    assert_step(talk.intent("AMAZON.NextIntent"), 2)


def test_fallback_mid_routine_says_how_to_go_on(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    body = talk.intent("AMAZON.FallbackIntent")
    assert said(body) == WORDS.text("routine.next_reprompt")
    assert talk.attributes["routine_step"] == 0


def test_the_first_routine_ever_starts_with_the_disclaimer(client: FlaskClient, envelopes: Envelopes) -> None:
    talk = Talk(client, envelopes)
    body = talk.intent("StartRoutineIntent")
    assert said(body).startswith(WORDS.text("prompts.disclaimer"))
    assert_step(body, 0)
