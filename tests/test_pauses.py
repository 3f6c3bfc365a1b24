"""Skip, pause and resume, the reminders permission, and placements against SkillDisabled, on both
backends (ReminderService and Placements without HTTP), then the voice side over HTTP."""

from __future__ import annotations

import json
import threading
import time as real_time
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from scheduler import ReminderError, ReminderService
from scheduler import queries as q
from scheduler.db import make_engine, make_session_factory
from scheduler.models import Delivery, Reminder, User
from scheduler.placements import DEVICE, Placement, Placements
from scheduler.recurrence import EVERY_DAY, WEEKDAYS
from tests.conftest import Clock
from tests.envelopes import Envelopes, said

ALICE = "amzn1.ask.account.ALICE"
BERLIN = "Europe/Berlin"
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
LEAD = timedelta(hours=12)


@pytest.fixture
def sessions(database_url: str) -> Any:
    return make_session_factory(make_engine(database_url))


@pytest.fixture
def service(sessions: Any, clock: Clock) -> ReminderService:
    clock.now = MONDAY
    return ReminderService(sessions, clock=clock, placement_lead=LEAD)


def add(service: ReminderService, kind: str, at: time, days: int = EVERY_DAY, **permissions: bool) -> int:
    granted = permissions or {"notifications_allowed": True}
    [view] = service.add(ALICE, kind, [at], time_zone=BERLIN, days=days, **granted)
    return view.id


def test_skip_takes_the_next_occurrence_of_each_reminder_within_a_day(service: ReminderService) -> None:
    add(service, "stretch", time(21, 30))
    add(service, "water", time(15, 0))
    add(service, "water", time(10, 0), days=WEEKDAYS)
    result = service.skip(ALICE)
    skipped = {view.local_time: at for view, at in result.skipped}
    assert skipped == {
        time(21, 30): datetime(2026, 11, 23, 20, 30, tzinfo=UTC),
        time(15, 0): datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        time(10, 0): datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    }
    views = {v.local_time: v for v in service.list(ALICE)}
    assert views[time(21, 30)].next_fire_at == datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
    assert views[time(21, 30)].skipping(MONDAY) == date(2026, 11, 23)
    assert views[time(10, 0)].next_fire_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_skip_names_a_kind_and_looks_one_day_ahead_only(service: ReminderService, clock: Clock) -> None:
    add(service, "stretch", time(21, 30))
    add(service, "water", time(10, 0), days=WEEKDAYS)
    # Saturday (the worker was off all week, so their next_fire_at is long past): the next
    # weekday is Monday, more than a day away.
    clock.now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert service.skip(ALICE, "water").skipped == ()
    [(view, at)] = service.skip(ALICE, "stretch").skipped
    assert (view.kind, at) == ("stretch", datetime(2026, 11, 28, 20, 30, tzinfo=UTC)), (
        "tonight's, not Monday's"
    )


def test_pause_holds_every_occurrence_until_it_ends_then_they_carry_on(service: ReminderService) -> None:
    rid = add(service, "stretch", time(21, 30))
    for length in (timedelta(minutes=30), timedelta(days=400)):
        with pytest.raises(ReminderError) as err:
            service.pause(ALICE, length)
        assert err.value.code == "bad_pause"
    result = service.pause(ALICE, timedelta(weeks=1))
    assert result.until == MONDAY + timedelta(weeks=1)
    [view] = result.views
    assert view.id == rid and view.paused_at(MONDAY) == result.until
    # The first occurrence after the pause: Monday 30 November 21:30 in Berlin.
    assert view.next_fire_at == datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    assert service.skip(ALICE).skipped == (), "nothing to skip while paused"
    moved = service.move(ALICE, "stretch", time(22, 0)).view
    assert moved.next_fire_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC), "a move keeps the pause"


def test_resume_ends_a_pause_and_unskips(service: ReminderService) -> None:
    add(service, "stretch", time(21, 30))
    add(service, "water", time(15, 0))
    service.pause(ALICE, timedelta(days=3), "stretch")
    service.skip(ALICE, "water")
    assert {v.kind for v in service.resume(ALICE)} == {"stretch", "water"}
    assert {v.kind: v.next_fire_at for v in service.list(ALICE)} == {
        "stretch": datetime(2026, 11, 23, 20, 30, tzinfo=UTC),
        "water": datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
    }
    assert service.resume(ALICE) == (), "nothing left to resume"


def test_the_reminders_permission_alone_delivers_and_the_next_one_is_due_early(
    service: ReminderService, sessions: Any
) -> None:
    rid = add(service, "stretch", time(21, 30), reminders_allowed=True, notifications_allowed=False)
    [view] = service.list(ALICE)
    assert not view.paused
    with sessions() as session:
        reminder = session.get(Reminder, rid)
        assert reminder is not None and reminder.visible_at == reminder.next_fire_at - LEAD
    at = MONDAY + timedelta(minutes=1)
    assert service.set_permissions(ALICE, at, notifications=True, reminders=False)
    with sessions() as session:
        reminder = session.get(Reminder, rid)
        assert reminder is not None and reminder.visible_at == reminder.next_fire_at, "notified at its time"
    assert service.set_permissions(ALICE, at + timedelta(minutes=1), notifications=False, reminders=False)
    assert service.list(ALICE)[0].paused
    assert not service.set_permissions(ALICE, at, notifications=True, reminders=True), "older event ignored"


def test_a_permission_resumed_during_a_pause_still_waits_for_it(service: ReminderService) -> None:
    add(service, "stretch", time(21, 30))
    service.pause(ALICE, timedelta(days=2))
    service.set_permissions(ALICE, MONDAY + timedelta(minutes=1), notifications=False)
    service.set_permissions(ALICE, MONDAY + timedelta(minutes=2), notifications=True)
    assert service.list(ALICE)[0].next_fire_at == datetime(2026, 11, 25, 20, 30, tzinfo=UTC)


def test_a_refused_notification_does_not_pause_someone_who_hears_device_reminders(
    service: ReminderService, sessions: Any
) -> None:
    add(service, "stretch", time(21, 30), reminders_allowed=True, notifications_allowed=True)
    with sessions.begin() as session:
        user_id = session.scalar(select(User.id))
        assert q.block_user(session, user_id=user_id, reason="Alexa answered 403") == 0
    assert not service.list(ALICE)[0].paused


# -- placements and SkillDisabled ---------------------------------------------------------------


def _on_its_way(sessions: Any, rid: int) -> datetime:
    """The delivery row a worker writes before its placement message (what Placements.begin claims)."""
    with sessions.begin() as session:
        reminder = session.get(Reminder, rid)
        assert reminder is not None
        at = reminder.next_fire_at
        session.execute(
            q.deliveries.insert().values(
                q.delivery_row(
                    reminder_id=rid,
                    user_id=reminder.user_id,
                    occurrence_at=at,
                    status=q.MESSAGED,
                    channel=DEVICE,
                    reference_id=q_ref(rid, at),
                )
            )
        )
        return at


def q_ref(rid: int, at: datetime) -> str:
    from scheduler.channels import reference_id_for

    return reference_id_for(rid, at)


def test_a_placement_under_way_is_waited_for_then_handed_back_for_deletion(
    sessions: Any, clock: Clock
) -> None:
    clock.now = MONDAY
    service = ReminderService(sessions, clock=clock, placement_lead=LEAD, forget_wait=10.0)
    placements = Placements(sessions, clock)
    rid = add(service, "stretch", time(21, 30), reminders_allowed=True)
    at = _on_its_way(sessions, rid)
    placement = placements.begin(ALICE, rid, at, q_ref(rid, at))
    assert isinstance(placement, Placement) and not placement.recover
    result: list[Any] = []
    forget = threading.Thread(target=lambda: result.append(service.forget_user(ALICE)))
    forget.start()
    deadline = real_time.monotonic() + 10  # a safety net: we wait for a state, not for a time
    while True:
        with sessions() as session:
            if not session.scalar(select(Reminder.enabled)):
                break
        assert real_time.monotonic() < deadline, "forget_user never disabled the reminder"
        real_time.sleep(0.01)
    assert forget.is_alive(), "it waits for the placement under way"
    assert placements.placed(placement, "alert-1")
    forget.join(timeout=10)
    [on_device] = result
    assert [d.alert_token for d in on_device] == ["alert-1"], "for the skill to delete from the device"
    with sessions() as session:
        assert session.scalar(select(User)) is None and session.scalar(select(Delivery)) is None


def test_after_skill_disabled_nothing_is_placed(
    service: ReminderService, sessions: Any, clock: Clock
) -> None:
    placements = Placements(sessions, clock)
    rid = add(service, "stretch", time(21, 30), reminders_allowed=True)
    at = _on_its_way(sessions, rid)
    assert service.forget_user(ALICE) == ()
    assert placements.begin(ALICE, rid, at, q_ref(rid, at)) == "no device delivery for this occurrence"


def test_placements_refuse_what_they_must_not_place(
    service: ReminderService, sessions: Any, clock: Clock
) -> None:
    placements = Placements(sessions, clock)
    rid = add(service, "stretch", time(21, 30), reminders_allowed=True)
    at = _on_its_way(sessions, rid)
    assert (
        placements.begin("amzn1.ask.account.MALLORY", rid, at, q_ref(rid, at))
        == "the message is for another user"
    )
    assert placements.begin(ALICE, rid, at, "cc~r1~x") == "no device delivery for this occurrence"
    clock.now = at - timedelta(seconds=30)
    assert placements.begin(ALICE, rid, at, q_ref(rid, at)).startswith("too close to its time")
    clock.now = MONDAY
    first = placements.begin(ALICE, rid, at, q_ref(rid, at))
    assert isinstance(first, Placement)
    assert placements.begin(ALICE, rid, at, q_ref(rid, at)) == "already placing", "one placement at a time"
    placements.not_placed(first, "HTTP 503", again=True)
    again = placements.begin(ALICE, rid, at, q_ref(rid, at))
    assert isinstance(again, Placement), "a transient failure leaves it to be placed on redelivery"
    assert again.recover, "looking on the device first: the failed call may have created it"
    assert placements.placed(again, "alert-2")
    assert placements.begin(ALICE, rid, at, q_ref(rid, at)) == "already placed"
    assert [d.alert_token for d in placements.on_device(ALICE)] == ["alert-2"]
    assert placements.removed_in_app(ALICE, ["alert-2", "not-ours"]) == 1
    assert placements.on_device(ALICE) == []
    assert service.list(ALICE)[0].skipping(MONDAY) == date(2026, 11, 23)


# -- by voice, over HTTP ------------------------------------------------------------------------


def post(client: FlaskClient, envelope: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_pause_without_a_length_asks_for_one_and_a_bad_one_is_asked_again(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    body = post(client, envelopes.intent("PauseRemindersIntent"))
    [directive] = body["response"]["directives"]
    assert (directive["type"], directive["slotToElicit"]) == ("Dialog.ElicitSlot", "duration")
    assert "For how long" in said(body)
    body = post(client, envelopes.intent("PauseRemindersIntent", {"duration": "P2Y"}))
    assert body["response"]["directives"][0]["slotToElicit"] == "duration"
    assert "an hour to a year" in said(body)
    body = post(client, envelopes.intent("PauseRemindersIntent", {"duration": "a while"}))
    assert "an hour to a year" in said(body)


def test_nothing_to_skip_pause_or_resume_is_said_plainly(client: FlaskClient, envelopes: Envelopes) -> None:
    assert "nothing to skip" in said(post(client, envelopes.intent("SkipReminderIntent")))
    water = envelopes.intent("SkipReminderIntent", {"kind": "water"}, resolved={"kind": "water"})
    assert "water reminder coming up" in said(post(client, water))
    assert "any reminders to pause" in said(
        post(client, envelopes.intent("PauseRemindersIntent", {"duration": "P1W"}))
    )
    assert "already on" in said(post(client, envelopes.intent("ResumeRemindersIntent")))


def test_a_malformed_placement_message_is_acknowledged_and_changes_nothing(
    client: FlaskClient, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    for message in ({"action": "dance"}, {"action": "place", "reminder": "x"}):
        envelope = envelopes.envelope(
            {"type": "Messaging.MessageReceived", "message": message}, with_session=False
        )
        with caplog.at_level("INFO"):
            response = client.post("/alexa", json=envelope)
        assert response.status_code == 200 and response.get_json()["response"] == {}
    assert any("ignored" in r.getMessage() for r in caplog.records)
    # A message that is not an object cannot be read at all: refused, like any unreadable envelope.
    unreadable = envelopes.envelope({"type": "Messaging.MessageReceived", "message": "x"}, with_session=False)
    assert client.post("/alexa", json=unreadable).status_code == 400


def test_permission_events_carry_both_scopes(client: FlaskClient, envelopes: Envelopes, app: Any) -> None:
    event = envelopes.skill_event(
        "AlexaSkillEvent.SkillPermissionAccepted",
        {"acceptedPermissions": [{"scope": "alexa::alerts:reminders:skill:readwrite"}]},
    )
    assert client.post("/alexa", json=event).status_code == 200
    sessions = app.extensions["cramp_coach"]["services"].sessions
    with sessions() as session:
        user = session.scalars(select(User)).one()
        assert (user.reminders_allowed, user.notifications_allowed) == (True, False)
    deleted = envelopes.skill_event("Reminders.ReminderDeleted", {"alertTokens": ["unknown"]})
    assert client.post("/alexa", json=deleted).status_code == 200


def test_a_break_asked_for_in_other_words_goes_to_its_intent(
    client: FlaskClient, envelopes: Envelopes
) -> None:
    body = post(
        client, envelopes.intent("QuestionIntent", {"query": "put my reminders on hold while I'm away"})
    )
    [directive] = body["response"]["directives"]
    assert directive["updatedIntent"]["name"] == "PauseRemindersIntent"
    assert directive["slotToElicit"] == "duration"
    skip = post(client, envelopes.intent("QuestionIntent", {"query": "skip my reminder tonight"}))
    assert "nothing to skip" in said(skip)
    verdict = post(client, envelopes.can_fulfill("SkipReminderIntent"))["response"]["canFulfillIntent"]
    assert verdict["canFulfill"] == "MAYBE"


def test_a_permission_seen_when_setting_a_reminder_moves_the_users_other_reminders_too(
    service: ReminderService, sessions: Any
) -> None:
    first = add(service, "water", time(15, 0), notifications_allowed=True)
    with sessions() as session:
        reminder = session.get(Reminder, first)
        assert reminder is not None and reminder.visible_at == reminder.next_fire_at
    add(service, "stretch", time(21, 30), notifications_allowed=True, reminders_allowed=True)
    with sessions() as session:
        reminder = session.get(Reminder, first)
        assert reminder is not None and reminder.visible_at == reminder.next_fire_at - LEAD, (
            "placed early too"
        )


def test_a_placement_message_redelivered_later_is_not_refused_as_stale(
    client: FlaskClient, clock: Clock
) -> None:
    # Alexa redelivers a message for a while (30 s, then doubling): its timestamp may be minutes old.
    earlier = Envelopes(lambda: clock.now - timedelta(minutes=10))
    message = {"action": "place", "reminder": "1", "occurrence": "2026-11-23T20:30:00Z", "reference": "x"}
    envelope = earlier.envelope({"type": "Messaging.MessageReceived", "message": message}, with_session=False)
    assert client.post("/alexa", json=envelope).status_code == 200
    stale = earlier.intent("ListRemindersIntent")
    assert client.post("/alexa", json=stale).status_code == 400, "a conversation turn still gets 150 s"
