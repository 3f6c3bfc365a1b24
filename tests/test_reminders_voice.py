"""Reminders by voice, over HTTP, with the time zone from the stub Settings API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from scheduler import ReminderService
from scheduler.recurrence import EVERY_DAY, WEEKDAYS, WEEKENDS
from tests.conftest import Clock
from tests.envelopes import Envelopes, reprompt_of, said

GRANTED = {
    "consentToken": "consent-token",
    "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
}


def post(client: FlaskClient, envelope: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


@pytest.fixture
def voice(envelopes: Envelopes, alexa_stub: Any) -> Envelopes:
    """Envelopes whose apiEndpoint is the stub, for a device in New York with permission granted."""
    envelopes.api_endpoint = alexa_stub.url
    envelopes.permissions = GRANTED
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "America/New_York")
    return envelopes


def service(app: Flask) -> ReminderService:
    reminders: ReminderService = app.extensions["cramp_coach"]["services"].reminders
    return reminders


def set_intent(
    voice: Envelopes,
    kind: str | None,
    *times: str,
    days: str | None = None,
    day_two: str | None = None,
    kind_id: str | None = None,
    day_id: str | None = None,
) -> dict[str, Any]:
    slots: dict[str, str | None] = {
        "kind": kind,
        "time": None,
        "timeTwo": None,
        "timeThree": None,
        "days": days,
        "dayTwo": day_two,
    }
    for name, value in zip(("time", "timeTwo", "timeThree"), times, strict=False):
        slots[name] = value
    resolved = {}
    if kind and kind_id:
        resolved["kind"] = kind_id
    if days and day_id:
        resolved["days"] = day_id
    return voice.intent("SetReminderIntent", slots, resolved=resolved)


def agree(client: FlaskClient, voice: Envelopes, envelope: dict[str, Any]) -> dict[str, Any]:
    """Ask for a reminder, hear its time and days, say yes: the answer to the yes."""
    question = post(client, envelope)
    assert question["sessionAttributes"].get("offer") == "set:reminder", said(question)
    return post(client, voice.intent("AMAZON.YesIntent", session_attributes=question["sessionAttributes"]))


def test_stretch_at_nine_thirty_every_night(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    envelope = set_intent(
        voice, "stretch", "21:30", days="every night", kind_id="stretch", day_id="every_day"
    )
    question = post(client, envelope)
    assert "Should I remind you to do your bedtime stretches at 9:30 PM, every night?" in said(question), (
        "the time and how often, in the user's own words, before anything is set"
    )
    assert service(app).list(Envelopes.USER_ID) == []
    body = post(client, voice.intent("AMAZON.YesIntent", session_attributes=question["sessionAttributes"]))
    speech = said(body)
    assert "9:30 PM, every night" in speech, "read back in the user's own words"
    assert reprompt_of(body) is not None
    [stored] = service(app).list(Envelopes.USER_ID)
    assert (stored.kind, stored.local_time, stored.days, stored.time_zone) == (
        "stretch",
        time(21, 30),
        EVERY_DAY,
        "America/New_York",
    )
    assert not stored.paused
    # 21:30 in New York is 01:30 or 02:30 UTC the next day, never 21:30 UTC.
    assert stored.next_fire_at.astimezone(UTC).hour in (1, 2)


def test_no_to_the_question_sets_nothing(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    question = post(client, set_intent(voice, "stretch", "21:30"))
    body = post(client, voice.intent("AMAZON.NoIntent", session_attributes=question["sessionAttributes"]))
    assert "haven't set it" in said(body)
    assert service(app).list(Envelopes.USER_ID) == []
    assert "pending_reminder" not in body["sessionAttributes"]
    # A later yes (to nothing) does not set it either.
    after = post(client, voice.intent("AMAZON.YesIntent", session_attributes=body["sessionAttributes"]))
    assert service(app).list(Envelopes.USER_ID) == [] and said(after)


def test_with_notifications_only_it_falls_back_and_says_so_once(
    app: Flask, client: FlaskClient, voice: Envelopes
) -> None:
    first = agree(client, voice, set_intent(voice, "stretch", "21:30"))
    assert "notification" in said(first) and "set reminders" in said(first)
    assert first["response"]["card"] == {
        "type": "AskForPermissionsConsent",
        "permissions": ["alexa::alerts:reminders:skill:readwrite"],
    }
    second = agree(client, voice, set_intent(voice, "water", "10:00"))
    assert "notification" not in said(second), "said once"
    assert second["response"]["card"]["type"] == "Simple"


def test_with_the_reminders_permission_the_question_says_alexa_will_say_it(
    app: Flask, client: FlaskClient, voice: Envelopes
) -> None:
    voice.permissions = {"scopes": {"alexa::alerts:reminders:skill:readwrite": {"status": "GRANTED"}}}
    question = post(client, set_intent(voice, "water", "15:00", days="weekdays", day_id="weekdays"))
    assert "Alexa will say it out loud" in said(question) and "3 PM, on weekdays" in said(question)
    body = post(client, voice.intent("AMAZON.YesIntent", session_attributes=question["sessionAttributes"]))
    assert "remind you out loud" in said(body) and "notification" not in said(body)
    [stored] = service(app).list(Envelopes.USER_ID)
    assert not stored.paused, "the reminders permission alone is enough to deliver"


def test_water_three_times_a_day(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    body = agree(client, voice, set_intent(voice, "drink water", "10:00", "14:00", "18:00"))
    assert "10 AM, 2 PM, and 6 PM" in said(body)
    stored = service(app).list(Envelopes.USER_ID)
    assert sorted(r.local_time for r in stored) == [time(10), time(14), time(18)]
    assert {r.kind for r in stored} == {"water"}


def test_stretch_on_weekdays_at_ten_means_evening(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    body = agree(client, voice, set_intent(voice, "stretch", "10:00", days="weekdays", day_id="weekdays"))
    assert "10 PM" in said(body) and "weekdays" in said(body)
    [stored] = service(app).list(Envelopes.USER_ID)
    assert stored.local_time == time(22, 0) and stored.days == WEEKDAYS


def test_named_days_from_two_slots(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    body = agree(client, voice, set_intent(voice, "water", "09:00", days="monday", day_two="thursday"))
    assert "Mondays and Thursdays" in said(body)
    [stored] = service(app).list(Envelopes.USER_ID)
    assert stored.days == 0b0001001


def test_missing_kind_is_elicited(client: FlaskClient, voice: Envelopes) -> None:
    body = post(client, set_intent(voice, None, "21:30"))
    [directive] = body["response"]["directives"]
    assert directive["type"] == "Dialog.ElicitSlot" and directive["slotToElicit"] == "kind"
    assert directive["updatedIntent"]["slots"]["time"]["value"] == "21:30"
    assert body["response"]["shouldEndSession"] is False


def test_missing_time_is_elicited(client: FlaskClient, voice: Envelopes) -> None:
    body = post(client, set_intent(voice, "stretch"))
    [directive] = body["response"]["directives"]
    assert directive["slotToElicit"] == "time"
    assert "What time" in said(body)


def test_vague_time_asks_for_exact_time(client: FlaskClient, voice: Envelopes) -> None:
    body = post(client, set_intent(voice, "stretch", "EV"))
    assert body["response"]["directives"][0]["slotToElicit"] == "time"
    assert "exact time" in said(body)


def test_without_permission_reminder_is_stored_paused_with_consent_card(
    app: Flask, client: FlaskClient, voice: Envelopes
) -> None:
    voice.permissions = None
    body = agree(client, voice, set_intent(voice, "stretch", "21:30"))
    assert "paused" in said(body)
    card = body["response"]["card"]
    assert card == {
        "type": "AskForPermissionsConsent",
        "permissions": ["alexa::alerts:reminders:skill:readwrite", "alexa::devices:all:notifications:write"],
    }
    [stored] = service(app).list(Envelopes.USER_ID)
    assert stored.paused


def test_permission_event_resumes_paused_reminder(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    voice.permissions = None
    agree(client, voice, set_intent(voice, "stretch", "21:30"))
    event = voice.skill_event(
        "AlexaSkillEvent.SkillPermissionAccepted",
        {"acceptedPermissions": [{"scope": "alexa::devices:all:notifications:write"}]},
    )
    assert client.post("/alexa", json=event).status_code == 200
    [stored] = service(app).list(Envelopes.USER_ID)
    assert not stored.paused


def test_settings_api_failure_without_saved_zone_never_guesses_utc(
    app: Flask, client: FlaskClient, voice: Envelopes, alexa_stub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    alexa_stub.fail_timezone(500)
    with caplog.at_level(logging.WARNING):
        body = post(client, set_intent(voice, "stretch", "21:30"))
    assert "time zone" in said(body) and "won't guess" in said(body)
    assert service(app).list(Envelopes.USER_ID) == []
    assert any("time zone lookup failed" in r.getMessage() for r in caplog.records)


def test_settings_api_failure_uses_saved_zone_and_says_so(
    app: Flask, client: FlaskClient, voice: Envelopes, alexa_stub: Any
) -> None:
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "Europe/Berlin")
    agree(client, voice, set_intent(voice, "water", "10:00"))
    alexa_stub.fail_timezone(500)
    body = post(client, set_intent(voice, "stretch", "21:30"))
    assert "Europe/Berlin" in said(body), "said with the question, before the yes"
    post(client, voice.intent("AMAZON.YesIntent", session_attributes=body["sessionAttributes"]))
    assert {r.time_zone for r in service(app).list(Envelopes.USER_ID)} == {"Europe/Berlin"}


def test_list_reads_back_in_users_time(client: FlaskClient, voice: Envelopes) -> None:
    assert "any reminders" in said(post(client, voice.intent("ListRemindersIntent")))
    agree(client, voice, set_intent(voice, "stretch", "21:30"))
    agree(client, voice, set_intent(voice, "water", "10:00", "14:00", days="weekends", day_id="weekends"))
    speech = said(post(client, voice.intent("ListRemindersIntent")))
    assert "3 reminders" in speech
    assert "bedtime stretch: 9:30 PM, every day" in speech
    assert "water: 10 AM and 2 PM, at weekends" in speech


def test_move_stretch_reminder(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    agree(client, voice, set_intent(voice, "stretch", "21:30"))
    body = post(client, voice.intent("MoveReminderIntent", {"kind": "stretch", "time": "22:00"}))
    assert "10 PM" in said(body)
    [stored] = service(app).list(Envelopes.USER_ID)
    assert stored.local_time == time(22, 0)


def test_move_ambiguous_asks_which(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    agree(client, voice, set_intent(voice, "water", "10:00", "14:00"))
    body = post(client, voice.intent("MoveReminderIntent", {"kind": "water", "time": "15:00"}))
    assert body["response"]["directives"][0]["slotToElicit"] == "fromTime"
    body = post(
        client, voice.intent("MoveReminderIntent", {"kind": "water", "time": "15:00", "fromTime": "14:00"})
    )
    assert "3 PM" in said(body)
    assert sorted(r.local_time for r in service(app).list(Envelopes.USER_ID)) == [time(10), time(15)]


def test_move_when_none_exists(client: FlaskClient, voice: Envelopes) -> None:
    body = post(client, voice.intent("MoveReminderIntent", {"kind": "stretch", "time": "22:00"}))
    assert "don't have a bedtime stretch reminder" in said(body)


def test_cancel_asks_for_confirmation_first(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    agree(client, voice, set_intent(voice, "water", "10:00"))
    agree(client, voice, set_intent(voice, "stretch", "21:30"))
    body = post(client, voice.intent("CancelReminderIntent", {"kind": "water"}))
    assert "Cancel your water reminder at 10 AM?" in said(body)
    assert len(service(app).list(Envelopes.USER_ID)) == 2, "nothing deleted before the yes"
    attrs = body["sessionAttributes"]
    body = post(client, voice.intent("AMAZON.NoIntent", session_attributes=attrs))
    assert "kept" in said(body)
    assert len(service(app).list(Envelopes.USER_ID)) == 2
    body = post(client, voice.intent("CancelReminderIntent", {"kind": "water"}))
    body = post(client, voice.intent("AMAZON.YesIntent", session_attributes=body["sessionAttributes"]))
    assert "cancelled" in said(body)
    assert [r.kind for r in service(app).list(Envelopes.USER_ID)] == ["stretch"]


def test_cancel_confirmed_by_alexa_dialog(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    agree(client, voice, set_intent(voice, "water", "10:00"))
    body = post(client, voice.intent("CancelReminderIntent", {"kind": "water"}, confirmation="CONFIRMED"))
    assert "cancelled" in said(body)
    assert service(app).list(Envelopes.USER_ID) == []


def test_cancel_all_confirms_then_deletes(app: Flask, client: FlaskClient, voice: Envelopes) -> None:
    agree(client, voice, set_intent(voice, "water", "10:00", "14:00"))
    agree(client, voice, set_intent(voice, "stretch", "21:30"))
    body = post(client, voice.intent("CancelAllRemindersIntent"))
    assert "all 3 of your reminders" in said(body)
    body = post(client, voice.intent("AMAZON.YesIntent", session_attributes=body["sessionAttributes"]))
    assert "All your reminders are cancelled" in said(body)
    assert service(app).list(Envelopes.USER_ID) == []


def test_yes_to_reminder_offer_elicits_time(client: FlaskClient, voice: Envelopes) -> None:
    body = post(client, voice.intent("AMAZON.YesIntent", session_attributes={"offer": "reminder:stretch"}))
    [directive] = body["response"]["directives"]
    assert directive["updatedIntent"]["name"] == "SetReminderIntent"
    assert directive["updatedIntent"]["slots"]["kind"]["value"] == "stretch"
    assert directive["slotToElicit"] == "time"


PENDING = {
    "offer": "set:reminder",
    "pending_reminder": {"kind": "stretch", "times": ["21:30"], "days": 127, "zone": "UTC", "spoken": None},
}


@pytest.mark.parametrize(
    "intent, slots, attributes",
    [
        ("ListRemindersIntent", {}, {}),
        ("AMAZON.YesIntent", {}, PENDING),
        ("MoveReminderIntent", {"kind": "stretch", "time": "22:00"}, {}),
        ("CancelReminderIntent", {"kind": "water"}, {}),
        ("CancelAllRemindersIntent", {}, {}),
        ("SkipReminderIntent", {}, {}),
        ("PauseRemindersIntent", {"duration": "P1W"}, {}),
        ("ResumeRemindersIntent", {}, {}),
    ],
)
def test_storage_down_is_spoken_and_logged(
    make_app: Any,
    voice: Envelopes,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    intent: str,
    slots: dict[str, str],
    attributes: dict[str, Any],
) -> None:
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/no-such-dir/x.db")
    with caplog.at_level(logging.ERROR):
        body = post(app.test_client(), voice.intent(intent, slots, session_attributes=attributes))
    assert "can't reach your reminders" in said(body)
    assert any("reminder storage unavailable" in r.getMessage() for r in caplog.records)


def test_reminder_spans_user_clock_not_server_clock(
    app: Flask, client: FlaskClient, voice: Envelopes, alexa_stub: Any, clock: Clock
) -> None:
    clock.now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York (EDT)
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "Australia/Sydney")
    agree(client, voice, set_intent(voice, "stretch", "21:30", days="weekends", day_id="weekends"))
    [stored] = service(app).list(Envelopes.USER_ID)
    # Sydney is UTC+10 in July: Saturday 4 July 21:30 AEST is 11:30 UTC.
    assert stored.days == WEEKENDS
    assert stored.next_fire_at == datetime(2026, 7, 4, 11, 30, tzinfo=UTC)
