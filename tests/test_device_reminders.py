"""Spoken reminders end to end, offline: voice, worker, Skill Messaging, the skill, the Reminders API.

Real parts throughout, all on 127.0.0.1: the skill served over HTTP (werkzeug, a thread), the
reminders worker (``run_worker --once``, its channels built from the environment), and the stub
Alexa API, which posts ``Messaging.MessageReceived`` back to the skill as Alexa does and keeps the
device reminders the skill creates. One settable clock is the skill's, the worker's and the stub's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update
from werkzeug.serving import BaseWSGIServer, make_server

from scheduler.channels import reference_id_for
from scheduler.db import make_engine, make_session_factory
from scheduler.models import Delivery, Reminder, SkillState, User
from scheduler.worker import run_worker
from skill import create_app, habit
from tests.conftest import Clock
from tests.envelopes import Envelopes, said
from tests.stubs.alexa_api import AlexaApiStub

USER = Envelopes.USER_ID
BERLIN = "Europe/Berlin"
REMINDERS = "alexa::alerts:reminders:skill:readwrite"
NOTIFICATIONS = "alexa::devices:all:notifications:write"
# Monday 23 November 2026, 09:00 in Berlin (UTC+1).
MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TONIGHT = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 21:30 in Berlin
STRETCH_WORDS = (
    "Time for your bedtime stretches: the wall calf stretch first. "
    "Say 'Alexa, open Cramp Coach' and I'll guide you."
)


def granted(*scopes: str) -> dict[str, Any]:
    return {"scopes": {scope: {"status": "GRANTED"} for scope in scopes}}


@dataclass
class Rig:
    clock: Clock
    stub: AlexaApiStub
    skill_url: str
    database_url: str
    envelopes: Envelopes
    env: dict[str, str]
    http: requests.Session = field(default_factory=requests.Session)
    attributes: dict[str, Any] = field(default_factory=dict)

    def post(self, envelope: dict[str, Any], status: int = 200) -> dict[str, Any]:
        reply = self.http.post(self.skill_url, json=envelope, timeout=10)
        assert reply.status_code == status, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def say(self, intent: str, slots: dict[str, str] | None = None, **resolved: str) -> dict[str, Any]:
        """One turn of the session: its attributes carry to the next turn."""
        envelope = self.envelopes.intent(intent, slots, resolved=resolved, session_attributes=self.attributes)
        body = self.post(envelope)
        self.attributes = body.get("sessionAttributes") or {}
        return body

    def set_stretch(self, at: str = "21:30") -> str:
        question = said(self.say("SetReminderIntent", {"kind": "stretch", "time": at}, kind="stretch"))
        done = said(self.say("AMAZON.YesIntent"))
        return question + " | " + done

    def event(self, event_type: str, body: dict[str, Any] | None = None) -> None:
        self.post(self.envelopes.skill_event(event_type, body))

    def tick(self) -> None:
        """One worker tick, then every skill message it caused delivered."""
        assert run_worker(self.env, once=True, clock=self.clock) == 0
        self.stub.drain()

    def device(self) -> list[dict[str, Any]]:
        return self.stub.device_reminders(USER)

    def sessions(self) -> Any:
        return make_session_factory(make_engine(self.database_url))

    def deliveries(self) -> list[Delivery]:
        with self.sessions()() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.occurrence_at)))

    def reminder(self) -> Reminder:
        with self.sessions()() as session:
            return session.scalars(select(Reminder)).one()


@pytest.fixture
def rig(database_url: str, alexa_stub: AlexaApiStub) -> Iterator[Rig]:
    clock = Clock(MORNING)
    stub = alexa_stub
    stub.clock = clock
    stub.skill_id = Envelopes.SKILL_ID
    stub.message_speedup = 3000.0  # Alexa's 30 s between redeliveries become 10 ms
    stub.set_time_zone(Envelopes.DEVICE_ID, BERLIN)
    stub.grant_reminders(USER)
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "ALEXA_VERIFY_REQUESTS": "false",
            "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
            "CLOCK": clock,
        }
    )
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="skill-device-reminders", daemon=True)
    thread.start()
    skill_url = f"http://127.0.0.1:{server.server_port}/alexa"
    stub.skill_endpoint = skill_url
    envelopes = Envelopes(clock)
    envelopes.api_endpoint = stub.url
    envelopes.api_access_token = stub.issue_api_token(USER)
    envelopes.permissions = granted(REMINDERS, NOTIFICATIONS)
    env = {
        "DATABASE_URL": database_url,
        "ALEXA_CLIENT_ID": stub.client_id,
        "ALEXA_CLIENT_SECRET": stub.client_secret,
        "ALEXA_API_ENDPOINT": stub.url,
        "LWA_TOKEN_URL": stub.token_url,
        "ALEXA_SKILL_STAGE": "development",
    }
    try:
        yield Rig(clock, stub, skill_url, database_url, envelopes, env)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def placed(rig: Rig) -> dict[str, Any]:
    [reminder] = rig.device()
    return reminder


def test_a_stretch_reminder_placed_after_two_nights_of_the_routine_says_the_streak(rig: Rig) -> None:
    rig.set_stretch()
    # The routine finished on the two evenings before (read from the user's skill state, as the
    # habit keeps it), so tonight's device reminder says so.
    kept = habit.read({})
    for days_ago in (2, 1):
        kept = habit.record(kept, TONIGHT - timedelta(days=days_ago) + timedelta(minutes=20), BERLIN)
    with rig.sessions().begin() as session:
        row = session.get(SkillState, USER)
        if row is None:
            session.add(SkillState(alexa_user_id=USER, attributes={habit.KEY: habit.stored(kept)}))
        else:
            row.attributes = {**row.attributes, habit.KEY: habit.stored(kept)}
    rig.clock.now = TONIGHT - timedelta(hours=12) + timedelta(seconds=5)
    rig.tick()
    text = placed(rig)["text"]
    assert text.startswith(STRETCH_WORDS)
    assert text.endswith("That's 2 nights in a row."), text


# -- set, placed at the right local time, said by the device ------------------------------------------


def test_set_by_voice_is_placed_ahead_at_its_local_time_and_said_by_the_device(rig: Rig) -> None:
    speech = rig.set_stretch()
    assert "Should I set a reminder for you to do your bedtime stretches at 9:30 PM, every day?" in speech
    assert "Alexa will remind you out loud" in speech
    reminder = rig.reminder()
    assert reminder.next_fire_at == TONIGHT
    assert reminder.visible_at == TONIGHT - timedelta(hours=12), "due for placing twelve hours ahead"

    rig.tick()  # 08:00 UTC: not yet half past
    assert rig.stub.messages == [] and rig.device() == []

    rig.clock.now = TONIGHT - timedelta(hours=12) + timedelta(seconds=5)
    rig.tick()
    [message] = rig.stub.messages
    assert message["data"] == {
        "action": "place",
        "reminder": str(reminder.id),
        "occurrence": "2026-11-23T20:30:00Z",
        "reference": reference_id_for(reminder.id, TONIGHT),
    }
    assert message["attempts"] == [200]
    device = placed(rig)
    trigger = device["body"]["trigger"]
    assert trigger == {
        "type": "SCHEDULED_ABSOLUTE",
        "scheduledTime": "2026-11-23T21:30:00",
        "timeZoneId": BERLIN,
    }
    assert device["fires_at"] == TONIGHT
    assert device["text"] == STRETCH_WORDS
    assert device["body"]["alertInfo"]["spokenInfo"]["content"][0]["locale"] == "en-US"
    assert "recurrence" not in trigger, "one occurrence at a time: our table schedules the next"
    [row] = rig.deliveries()
    assert (row.status, row.channel, row.alert_token) == ("placed", "device", device["alert_token"])

    rig.tick()  # nothing more until the fire time
    assert len(rig.stub.messages) == 1

    rig.clock.now = TONIGHT + timedelta(seconds=3)
    rig.tick()
    assert rig.stub.events == [], "the device says it: no notification as well"
    after = rig.reminder()
    tomorrow = TONIGHT + timedelta(days=1)
    assert (after.next_fire_at, after.visible_at) == (tomorrow, tomorrow - timedelta(hours=12))
    with rig.sessions()() as session:
        assert session.scalar(select(User.pending_greeting)) == "stretch"

    rig.clock.now = tomorrow - timedelta(hours=11)
    rig.tick()
    assert [r["fires_at"] for r in rig.device()] == [TONIGHT, tomorrow]
    assert [d.status for d in rig.deliveries()] == ["placed", "placed"]


def test_moved_skipped_resumed_paused_and_cancelled_by_voice_reach_the_device(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    token = placed(rig)["alert_token"]

    moved = said(rig.say("MoveReminderIntent", {"kind": "stretch", "time": "22:00"}, kind="stretch"))
    assert "10 PM" in moved and "might still hear" not in moved
    device = placed(rig)
    assert device["alert_token"] == token, "the same device reminder, moved"
    assert device["body"]["trigger"]["scheduledTime"] == "2026-11-23T22:00:00"
    assert device["fires_at"] == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    rig.tick()
    assert len(rig.stub.messages) == 1, "a moved occurrence is not placed a second time"

    skipped = said(rig.say("SkipReminderIntent"))
    assert "skip your bedtime stretch reminder tonight at 10 PM" in skipped
    assert rig.device() == []
    listed = said(rig.say("ListRemindersIntent"))
    assert "bedtime stretch: 10 PM, every day, skipping tonight." in listed
    assert rig.reminder().next_fire_at == datetime(2026, 11, 24, 21, 0, tzinfo=UTC)

    resumed = said(rig.say("ResumeRemindersIntent"))
    assert "back on" in resumed and "tonight at 10 PM" in resumed
    rig.tick()
    again = placed(rig)
    assert again["fires_at"] == datetime(2026, 11, 23, 21, 0, tzinfo=UTC) and again["alert_token"] != token

    paused = said(rig.say("PauseRemindersIntent", {"duration": "P1W"}))
    assert "paused your reminders until Monday, November 30" in paused
    assert rig.device() == []
    assert "paused until Monday, November 30" in said(rig.say("ListRemindersIntent"))
    assert rig.reminder().next_fire_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    rig.tick()
    assert rig.device() == [], "nothing placed while paused"

    rig.say("ResumeRemindersIntent")
    rig.tick()
    assert len(rig.device()) == 1
    confirm = said(rig.say("CancelReminderIntent", {"kind": "stretch"}, kind="stretch"))
    assert "Cancel your bedtime stretch reminder at 10 PM?" in confirm
    assert "cancelled" in said(rig.say("AMAZON.YesIntent"))
    assert rig.device() == []
    rig.clock.now = datetime(2026, 11, 23, 21, 0, 5, tzinfo=UTC)
    rig.tick()
    assert rig.stub.events == [] and rig.device() == []


# -- permission, deletion in the app, failures -----------------------------------------------------


def test_without_the_reminders_permission_it_is_a_notification_and_revoking_falls_back(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    assert len(rig.device()) == 1
    # The user turns the reminders permission off in the Alexa app; notifications stay on.
    rig.stub.revoke_reminders(USER)
    rig.event("AlexaSkillEvent.SkillPermissionChanged", {"acceptedPermissions": [{"scope": NOTIFICATIONS}]})
    rig.clock.now = TONIGHT + timedelta(seconds=2)
    rig.tick()
    assert rig.stub.events == [], "tonight's was placed before the change"
    tomorrow = TONIGHT + timedelta(days=1)
    assert rig.reminder().visible_at == tomorrow, "from now on it is notified at its time"
    rig.clock.now = tomorrow - timedelta(hours=11)
    rig.tick()
    assert len(rig.stub.messages) == 1, "no placement without the permission"
    rig.clock.now = tomorrow + timedelta(seconds=2)
    rig.tick()
    [event] = rig.stub.events
    assert event["reference_id"] == reference_id_for(rig.reminder().id, tomorrow)


def test_a_permission_gone_before_its_event_makes_that_night_a_notification(rig: Rig) -> None:
    rig.set_stretch()
    rig.stub.revoke_reminders(USER)  # the SkillPermissionChanged event has not arrived yet
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    assert rig.device() == []
    [row] = rig.deliveries()
    assert row.status == "unplaced" and "403" in (row.detail or "")
    rig.clock.now = TONIGHT + timedelta(seconds=2)
    rig.tick()
    [event] = rig.stub.events
    assert event["reference_id"] == reference_id_for(rig.reminder().id, TONIGHT)
    assert [d.status for d in rig.deliveries()] == ["sent"]


def test_a_reminder_deleted_in_the_alexa_app_is_noticed_and_not_sent_again(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    rig.stub.delete_in_app(placed(rig)["alert_token"])
    assert [p["type"] for p in rig.stub.posted][-1] == "Reminders.ReminderDeleted"
    [row] = rig.deliveries()
    assert row.status == "removed"
    assert "skipping tonight" in said(rig.say("ListRemindersIntent"))
    rig.clock.now = TONIGHT + timedelta(seconds=2)
    rig.tick()
    assert rig.stub.events == [], "deleted on purpose: no notification instead"
    assert rig.reminder().next_fire_at == TONIGHT + timedelta(days=1)


def test_a_deletion_whose_event_never_came_is_noticed_when_listing(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    rig.stub.delete_in_app(placed(rig)["alert_token"], notify=False)
    assert "skipping tonight" in said(rig.say("ListRemindersIntent")), "the Reminders API answered 404"
    assert [d.status for d in rig.deliveries()] == ["removed"]


def test_a_transient_reminders_api_failure_is_placed_once_on_redelivery(rig: Rig) -> None:
    rig.set_stretch()
    rig.stub.fail_reminders_next(503)
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    [message] = rig.stub.messages
    assert message["attempts"] == [503, 200], "the skill asked Alexa to deliver it again"
    calls = [(r["method"], r["status"]) for r in rig.stub.requests if r["path"] == "/v1/alerts/reminders"]
    assert calls == [("POST", 503), ("GET", 200), ("POST", 200)], "it looked on the device before again"
    assert len(rig.device()) == 1
    assert [d.status for d in rig.deliveries()] == ["placed"]


def test_a_throttled_skill_message_is_retried_within_the_same_tick(rig: Rig) -> None:
    # A Retry-After of a second is waited out by the worker holding the claim.
    rig.set_stretch()
    rig.stub.fail_messages_next(429, retry_after=1)
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    assert len(rig.stub.messages) == 1 and len(rig.device()) == 1
    [row] = rig.deliveries()
    assert row.status == "placed" and row.attempts in (2, 3)


def test_a_throttled_skill_message_is_retried_from_the_queue(rig: Rig) -> None:
    rig.env["WORKER_RETRY_HOLD_SECONDS"] = "0"
    rig.set_stretch()
    rig.stub.fail_messages_next(429, retry_after=1)
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    assert rig.stub.messages == [] and [d.status for d in rig.deliveries()] == ["retrying"]
    rig.clock.now += timedelta(seconds=2)
    rig.tick()
    assert len(rig.stub.messages) == 1 and len(rig.device()) == 1
    [row] = rig.deliveries()
    # The throttled message, the placement, and the accepted message if the worker recorded it
    # before the skill had placed it (the two race; either order is right).
    assert row.status == "placed" and row.attempts in (2, 3)


def test_a_skill_that_stays_down_is_covered_by_a_notification_at_the_fire_time(rig: Rig) -> None:
    rig.set_stretch()
    rig.stub.skill_endpoint = "http://127.0.0.1:9/alexa"  # nothing listens there
    rig.stub.message_speedup = 1e6
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    [message] = rig.stub.messages
    assert len(message["attempts"]) > 1 and set(message["attempts"]) == {None}, "redelivered until expiry"
    assert rig.device() == [] and [d.status for d in rig.deliveries()] == ["messaged"]
    rig.clock.now = TONIGHT + timedelta(seconds=2)
    rig.tick()
    [event] = rig.stub.events
    assert event["reference_id"] == reference_id_for(rig.reminder().id, TONIGHT)
    [row] = rig.deliveries()
    assert (row.status, row.channel) == ("sent", "alexa")


# -- exactly once, and nothing after SkillDisabled --------------------------------------------------


def _send_message_again(rig: Rig, data: dict[str, str]) -> None:
    token = requests.post(
        rig.stub.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": rig.stub.client_id,
            "client_secret": rig.stub.client_secret,
            "scope": "alexa:skill_messaging",
        },
        timeout=10,
    ).json()["access_token"]
    reply = requests.post(
        f"{rig.stub.url}/v1/skillmessages/users/{USER}",
        json={"data": data, "expiresAfterSeconds": 3600},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert reply.status_code == 202
    rig.stub.drain()


def test_a_second_message_for_a_placed_occurrence_places_nothing(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    _send_message_again(rig, rig.stub.messages[0]["data"])
    assert len(rig.device()) == 1
    assert [m["attempts"] for m in rig.stub.messages] == [[200], [200]], "acknowledged, not placed"


def test_a_placement_cut_off_mid_call_is_found_on_the_device_not_made_twice(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    token = placed(rig)["alert_token"]
    # As if the request died after the Reminders API created it and before the skill recorded it.
    with rig.sessions().begin() as session:
        session.execute(
            update(Delivery).values(
                status="placing", alert_token=None, updated_at=rig.clock.now - timedelta(minutes=5)
            )
        )
    _send_message_again(rig, rig.stub.messages[0]["data"])
    assert len(rig.device()) == 1
    [row] = rig.deliveries()
    assert (row.status, row.alert_token) == ("placed", token)


def test_skill_disabled_deletes_the_device_reminders_and_nothing_follows(rig: Rig) -> None:
    rig.set_stretch()
    rig.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rig.tick()
    data = rig.stub.messages[0]["data"]
    assert len(rig.device()) == 1
    rig.event("AlexaSkillEvent.SkillDisabled")
    assert rig.device() == [], "tonight's is not said after SkillDisabled"
    assert rig.deliveries() == []
    _send_message_again(rig, data)  # a message still on its way when the user left
    assert rig.device() == []
    for at in (TONIGHT, TONIGHT + timedelta(days=1) - timedelta(hours=11)):
        rig.clock.now = at
        rig.tick()
    assert rig.stub.events == [] and len(rig.stub.messages) == 2
