"""The habit over HTTP: nights kept when the routine ends, the streak at launch and at the end,
kind words after a gap (once), "How am I doing?", the time zone's sources, and SkillDisabled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from scheduler.models import User
from skill import habit
from skill.content import load_language
from skill.endpoint import EXTENSION
from tests.conftest import Clock
from tests.envelopes import Envelopes, reprompt_of, said
from tests.test_questions import Talk, heard
from tests.test_routine import saved

WORDS = load_language("en")
STEPS = WORDS.get("routine.steps")
ZONE = "America/New_York"


@pytest.fixture
def talk(client: FlaskClient, envelopes: Envelopes, alexa_stub: Any, clock: Clock) -> Talk:
    envelopes.api_endpoint = alexa_stub.url
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, ZONE)
    # 21:30 in New York on a Tuesday evening.
    clock.now = datetime(2026, 11, 17, 2, 30, tzinfo=UTC)
    t = Talk(client, envelopes)
    heard(t)
    return t


def do_routine(talk: Talk) -> dict[str, Any]:
    """Start the routine and say next to the end, in a new session; the last step's response."""
    talk.new_session()
    body = talk.intent("StartRoutineIntent")
    for _ in STEPS[1:]:
        body = talk.intent("AMAZON.NextIntent")
    return body


def nights_on(talk: Talk, clock: Clock, count: int) -> None:
    """The routine finished on ``count`` nights in a row, ending tonight."""
    clock.now -= timedelta(days=count - 1)
    for night in range(count):
        do_routine(talk)
        if night < count - 1:
            clock.now += timedelta(days=1)


def test_finishing_the_routine_keeps_tonight_in_the_users_zone(app: Flask, talk: Talk) -> None:
    body = do_routine(talk)
    assert said(body).endswith(WORDS.text("routine.done") + " " + WORDS.text("routine.reminder_offer"))
    stored = saved(app, talk)["habit"]
    assert stored == {"nights": ["2026-11-16"], "since": "2026-11-16", "zone": ZONE}


def test_after_midnight_counts_for_the_evening_before(app: Flask, talk: Talk, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 17, 5, 40, tzinfo=UTC)  # 00:40 in New York
    do_routine(talk)
    assert saved(app, talk)["habit"]["nights"] == ["2026-11-16"]


def test_the_streak_is_said_at_the_end_of_the_routine_from_two_nights(talk: Talk, clock: Clock) -> None:
    first = do_routine(talk)
    assert "in a row" not in said(first)
    clock.now += timedelta(days=1)
    second = do_routine(talk)
    assert WORDS.text("habit.finished_streak", count=2) in said(second)
    clock.now += timedelta(days=1)
    third = do_routine(talk)
    done, streak, offer = (
        WORDS.text(k, count=3) for k in ("routine.done", "habit.finished_streak", "routine.reminder_offer")
    )
    assert said(third).endswith(f"{done} {streak} {offer}")


def test_the_streak_is_said_at_launch(talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 4)
    clock.now += timedelta(days=1)  # the next evening, before tonight's routine
    talk.new_session()
    body = talk.launch()
    assert said(body) == WORDS.text("habit.welcome_back_streak", count=4)
    assert reprompt_of(body)


def test_after_a_stretch_reminder_the_streak_follows_the_greeting(
    app: Flask, talk: Talk, clock: Clock
) -> None:
    nights_on(talk, clock, 3)
    clock.now += timedelta(days=1)
    service = app.extensions[EXTENSION]["services"].reminders
    service.add(talk.user_id, "stretch", [time(21, 30)], time_zone=ZONE, notifications_allowed=True)
    # What the worker leaves when it has delivered a stretch reminder.
    with app.extensions[EXTENSION]["services"].sessions.begin() as session:
        session.execute(
            update(User).where(User.alexa_user_id == talk.user_id).values(pending_greeting="stretch")
        )
    talk.new_session()
    body = talk.launch()
    assert said(body) == " ".join(
        [
            WORDS.text("prompts.greeting.stretch"),
            WORDS.text("habit.streak", count=3),
            WORDS.text("routine.offer"),
        ]
    )


def test_a_gap_gets_a_kind_word_once_and_no_count_of_missed_nights(
    app: Flask, talk: Talk, clock: Clock
) -> None:
    nights_on(talk, clock, 5)
    clock.now += timedelta(days=4)
    talk.new_session()
    first = said(talk.launch())
    assert first == WORDS.text("habit.welcome_back_again")
    for blame in ("missed", "broke", "lost", "streak", "only"):
        assert blame not in first.lower()
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("prompts.welcome_back")
    # A new run, then another gap: said once more.
    do_routine(talk)
    clock.now += timedelta(days=3)
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("habit.welcome_back_again")


def test_one_night_is_not_yet_a_streak_at_launch(talk: Talk, clock: Clock) -> None:
    do_routine(talk)
    clock.now += timedelta(days=1)
    talk.new_session()
    assert said(talk.launch()) == WORDS.text("prompts.welcome_back")


def test_a_paused_routine_offer_at_launch_stays_short(talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 2)
    clock.now += timedelta(days=1)
    talk.new_session()
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    talk.intent("AMAZON.StopIntent")
    talk.new_session()
    body = talk.launch()
    assert said(body) == WORDS.text("routine.resume_offer_launch", number=2)


def test_how_am_i_doing_before_any_routine_offers_one(talk: Talk) -> None:
    body = talk.intent("ProgressIntent", {"doing": "doing"})
    assert said(body) == f"{WORDS.text('habit.progress.none')} {WORDS.text('habit.progress.offer')}"
    assert talk.offer == "routine"
    started = talk.intent("AMAZON.YesIntent")
    assert WORDS.text("routine.intro", count=len(STEPS)) in said(started)


def test_how_am_i_doing_with_some_nights_and_a_streak(talk: Talk, clock: Clock) -> None:
    do_routine(talk)  # the night of the 16th
    clock.now += timedelta(days=4)
    nights_on(talk, clock, 3)  # the 18th, 19th and 20th
    clock.now += timedelta(days=1)  # the 21st, before its routine
    talk.new_session()
    body = talk.intent("ProgressIntent")
    # 4 nights in two weeks; the last 3 in a row; tonight still to do.
    assert said(body) == " ".join(
        [
            WORDS.text("habit.progress.many", count=4),
            WORDS.text("habit.progress.streak", count=3),
            WORDS.text("habit.progress.offer"),
        ]
    )
    assert body["response"]["card"]["title"] == WORDS.text("habit.screen.title")


def test_how_am_i_doing_when_tonights_is_done(talk: Talk) -> None:
    do_routine(talk)
    talk.new_session()
    body = talk.intent("ProgressIntent")
    assert said(body) == " ".join(
        [
            WORDS.text("habit.progress.one"),
            WORDS.text("habit.progress.tonight_done"),
            WORDS.text("prompts.anything_else"),
        ]
    )
    assert talk.offer is None


def test_every_night_for_two_weeks(talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 16)
    talk.new_session()
    body = talk.intent("ProgressIntent")
    assert said(body).startswith(
        f"{WORDS.text('habit.progress.all')} {WORDS.text('habit.progress.streak', count=16)}"
    )


def test_nothing_lately_is_met_kindly(talk: Talk, clock: Clock) -> None:
    do_routine(talk)
    clock.now += timedelta(days=20)
    talk.new_session()
    body = talk.intent("ProgressIntent")
    assert said(body).startswith(WORDS.text("habit.progress.none_lately"))


def test_how_am_i_doing_mid_routine_keeps_the_place(talk: Talk) -> None:
    talk.intent("StartRoutineIntent")
    talk.intent("AMAZON.NextIntent")
    body = talk.intent("ProgressIntent")
    assert said(body).endswith(WORDS.text("routine.next_reprompt"))
    nxt = talk.intent("AMAZON.NextIntent")
    assert WORDS.text("routine.step_intro", number=3) in said(nxt)


def test_without_the_device_zone_the_reminders_saved_zone_is_used(
    app: Flask, talk: Talk, alexa_stub: Any, clock: Clock
) -> None:
    service = app.extensions[EXTENSION]["services"].reminders
    service.add(talk.user_id, "water", [time(10)], time_zone="Asia/Tokyo")
    alexa_stub.fail_timezone(500)
    clock.now = datetime(2026, 11, 17, 2, 30, tzinfo=UTC)  # 11:30 on the 17th in Tokyo
    do_routine(talk)
    assert saved(app, talk)["habit"]["nights"] == ["2026-11-16"]
    assert saved(app, talk)["habit"]["zone"] == "Asia/Tokyo"


def test_with_no_zone_at_all_the_night_waits_and_is_dated_later(
    app: Flask, talk: Talk, alexa_stub: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    alexa_stub.fail_timezone(500, times=2)  # at the end of the routine, and at the first question
    body = do_routine(talk)
    assert WORDS.text("routine.done") in said(body)
    stored = saved(app, talk)["habit"]
    assert "nights" not in stored and len(stored["pending"]) == 1
    assert "no time zone for user" in caplog.text and talk.user_id not in caplog.text
    talk.new_session()
    asked = talk.intent("ProgressIntent")
    assert said(asked) == WORDS.text("habit.progress.zone_unknown")
    # The device answers again: "How am I doing?" dates the waiting night.
    talk.new_session()
    body = talk.intent("ProgressIntent")
    assert said(body).startswith(WORDS.text("habit.progress.one"))
    assert saved(app, talk)["habit"] == {"nights": ["2026-11-16"], "since": "2026-11-16", "zone": ZONE}


def test_the_saved_habit_stays_small(app: Flask, talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 30)
    stored = saved(app, talk)["habit"]
    assert len(stored["nights"]) == habit.WINDOW_NIGHTS
    assert len(json.dumps(stored)) < 300
    assert habit.streak(habit.read({"habit": stored}), date(2026, 11, 16)) == 30


def test_launch_and_questions_write_no_state_for_the_habit(app: Flask, talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 2)
    before = saved(app, talk)
    clock.now += timedelta(days=1)
    talk.new_session()
    talk.launch()  # says the streak: nothing new to keep
    talk.intent("ProgressIntent")
    assert saved(app, talk) == before


def test_skill_disabled_deletes_the_habit(app: Flask, client: FlaskClient, talk: Talk, clock: Clock) -> None:
    nights_on(talk, clock, 3)
    assert saved(app, talk)["habit"]["nights"]
    event = talk.envelopes.skill_event("AlexaSkillEvent.SkillDisabled", user_id=talk.user_id)
    assert client.post("/alexa", json=event).status_code == 200
    assert saved(app, talk) == {}
    # Enabled again later: a new start, no streak remembered.
    talk.new_session()
    body = talk.intent("ProgressIntent")
    assert said(body).startswith(WORDS.text("habit.progress.none"))


def test_the_streak_a_stretch_reminder_says(app: Flask, talk: Talk, clock: Clock) -> None:
    """What a reminder handler calls with the user's request: None until two nights in a row."""
    from ask_sdk_core.attributes_manager import AttributesManager
    from ask_sdk_core.handler_input import HandlerInput

    from skill.handlers.habit import reminder_streak
    from skill.interceptors import SERVICES
    from skill.persistence import SqlAlchemyPersistenceAdapter
    from skill.serializer import EnvelopeSerializer

    services = app.extensions[EXTENSION]["services"]

    def streak_now() -> int | None:
        envelope = EnvelopeSerializer().envelope(talk.envelopes.launch(user_id=talk.user_id))
        manager = AttributesManager(
            envelope, persistence_adapter=SqlAlchemyPersistenceAdapter(services.engine)
        )
        handler_input = HandlerInput(envelope, attributes_manager=manager)
        manager.request_attributes[SERVICES] = services
        return reminder_streak(handler_input, ZONE)

    do_routine(talk)
    clock.now += timedelta(days=1)
    assert streak_now() is None  # one night is not yet a streak
    do_routine(talk)
    clock.now += timedelta(days=1)
    assert streak_now() == 2  # tomorrow evening, before its routine
