"""The worker's side of device reminders, with no skill behind Alexa: placement messages at the
lead, the look at the fire time, and the notification that covers whatever was not placed.

The stub records the Skill Messages it accepts and, with no skill endpoint set, delivers none, so
no occurrence here is ever placed: what the worker does then is the point.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from scheduler import ReminderService
from scheduler import queries as q
from scheduler.channels import AlexaChannel, SkillMessagingChannel, reference_id_for
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.models import Delivery, Reminder
from tests.conftest import Clock
from tests.stubs.alexa_api import AlexaApiStub

ALICE = "amzn1.ask.account.ALICE"
BERLIN = "Europe/Berlin"
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FIRE = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 21:30 in Berlin
LEAD = timedelta(hours=12)


@dataclass
class Worker:
    url: str
    sessions: sessionmaker[Session]
    service: ReminderService
    stub: AlexaApiStub
    clock: Clock
    channel: AlexaChannel
    messenger: SkillMessagingChannel

    def tick(self, *, messenger: bool = True) -> TickStats:
        dispatcher = Dispatcher(
            self.sessions,
            self.channel,
            WorkerSettings(database_url=self.url, placement_lead=LEAD),
            clock=self.clock,
            worker_id="test:1:device",
            rng=random.Random(1),
            messenger=self.messenger if messenger else None,
        )
        return dispatcher.tick()

    def add(self, **permissions: bool) -> int:
        [view] = self.service.add(ALICE, "stretch", [time(21, 30)], time_zone=BERLIN, **permissions)
        return view.id

    def reminder(self) -> Reminder:
        with self.sessions() as session:
            return session.scalars(select(Reminder)).one()

    def rows(self) -> list[Delivery]:
        with self.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.occurrence_at)))


@pytest.fixture
def worker(database_url: str, alexa_stub: AlexaApiStub, clock: Clock) -> Iterator[Worker]:
    clock.now = NOON
    sessions = make_session_factory(make_engine(database_url))
    env = {
        "ALEXA_CLIENT_ID": alexa_stub.client_id,
        "ALEXA_CLIENT_SECRET": alexa_stub.client_secret,
        "ALEXA_API_ENDPOINT": alexa_stub.url,
        "LWA_TOKEN_URL": alexa_stub.token_url,
    }
    channel = AlexaChannel.from_env(env, utcnow=clock)
    messenger = SkillMessagingChannel.from_env(env, utcnow=clock)
    try:
        yield Worker(
            database_url,
            sessions,
            ReminderService(sessions, clock, placement_lead=LEAD),
            alexa_stub,
            clock,
            channel,
            messenger,
        )
    finally:
        channel.close()
        messenger.close()


BOTH: dict[str, Any] = {"reminders_allowed": True, "notifications_allowed": True}


def test_the_placement_message_goes_out_at_the_lead_then_the_reminder_waits_for_its_time(
    worker: Worker,
) -> None:
    rid = worker.add(**BOTH)
    assert worker.reminder().visible_at == FIRE - LEAD
    stats = worker.tick()
    assert (stats.claimed, stats.messaged, stats.sent) == (1, 1, 0)
    [message] = worker.stub.messages
    assert message["data"]["reference"] == reference_id_for(rid, FIRE)
    [row] = worker.rows()
    assert (row.status, row.channel, row.attempts) == ("messaged", "device", 1)
    assert worker.reminder().visible_at == FIRE, "due again at its fire time"
    assert worker.tick().claimed == 0


def test_an_occurrence_not_placed_by_its_time_is_notified_once_with_its_reference(worker: Worker) -> None:
    rid = worker.add(**BOTH)
    worker.tick()
    worker.clock.now = FIRE + timedelta(seconds=2)
    stats = worker.tick()
    assert (stats.claimed, stats.sent, stats.placed) == (1, 1, 0)
    [event] = worker.stub.events
    assert event["reference_id"] == reference_id_for(rid, FIRE)
    [row] = worker.rows()
    assert (row.status, row.channel) == ("sent", "alexa")
    after = worker.reminder()
    tomorrow = FIRE + timedelta(days=1)
    assert (after.next_fire_at, after.visible_at) == (tomorrow, tomorrow - LEAD), "still a device user"
    assert worker.tick().claimed == 0 and len(worker.stub.events) == 1


def test_without_notifications_an_unplaced_occurrence_is_logged_missed(worker: Worker) -> None:
    worker.add(reminders_allowed=True, notifications_allowed=False)
    worker.tick()
    worker.clock.now = FIRE + timedelta(seconds=2)
    stats = worker.tick()
    assert (stats.missed, stats.sent) == (1, 0)
    assert worker.stub.events == []
    [row] = worker.rows()
    assert row.status == "missed" and "notifications are not allowed" in (row.detail or "")
    assert worker.reminder().next_fire_at == FIRE + timedelta(days=1)


def test_a_refused_placement_message_is_notified_at_its_time(worker: Worker) -> None:
    rid = worker.add(**BOTH)
    worker.stub.fail_messages_next(400)
    stats = worker.tick()
    assert (stats.unplaced, stats.messaged) == (1, 0)
    [row] = worker.rows()
    assert row.status == "unplaced" and "HTTP 400" in (row.detail or "")
    assert worker.reminder().visible_at == FIRE
    worker.clock.now = FIRE + timedelta(seconds=1)
    worker.tick()
    assert [e["reference_id"] for e in worker.stub.events] == [reference_id_for(rid, FIRE)]


def test_a_retry_after_past_the_placement_deadline_gives_up_placing_at_once(worker: Worker) -> None:
    worker.add(**BOTH)
    worker.clock.now = FIRE - timedelta(minutes=3)
    worker.stub.fail_messages_next(429, retry_after=600)
    stats = worker.tick()
    assert (stats.unplaced, stats.retried) == (1, 0)
    worker.clock.now = FIRE + timedelta(seconds=1)
    assert worker.tick().sent == 1


def test_a_worker_that_died_after_its_message_sends_the_same_message_again(worker: Worker) -> None:
    rid = worker.add(**BOTH)
    worker.tick()
    # As if the worker had died with the message out and nothing recorded: the row is 'sending',
    # and its lease ran out.
    with worker.sessions.begin() as session:
        session.execute(update(Delivery).values(status=q.SENDING))
        session.execute(
            update(Reminder).values(visible_at=worker.clock.now, lease_token=None, lease_owner=None)
        )
    assert worker.tick().messaged == 1
    first, second = worker.stub.messages
    assert first["data"] == second["data"], "the skill places one occurrence once, however often asked"
    assert first["data"]["reference"] == reference_id_for(rid, FIRE)


def test_without_skill_messaging_a_device_user_is_notified_at_the_time(worker: Worker) -> None:
    worker.add(**BOTH)
    stats = worker.tick(messenger=False)
    assert (stats.claimed, stats.waiting, stats.messaged) == (1, 1, 0)
    assert worker.stub.messages == [] and worker.rows() == []
    worker.clock.now = FIRE + timedelta(seconds=1)
    assert worker.tick(messenger=False).sent == 1


def test_the_lead_is_read_from_the_environment_and_kept_under_a_day() -> None:
    assert WorkerSettings.from_env({"REMINDER_PLACEMENT_LEAD_HOURS": "6"}).placement_lead == timedelta(
        hours=6
    )
    assert WorkerSettings.from_env({}).placement_lead == LEAD
    for bad in ("24", "0", "-1", "soon"):
        with pytest.raises(ValueError, match="REMINDER_PLACEMENT_LEAD_HOURS"):
            WorkerSettings.from_env({"REMINDER_PLACEMENT_LEAD_HOURS": bad})
