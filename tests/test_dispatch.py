"""The dispatch tick against a real database (SQLite, and PostgreSQL when configured) and the stub
Alexa API, through the real AlexaChannel. Time moves only when a test moves the clock."""

from __future__ import annotations

import collections
import logging
import random
import time as real_time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import registry
from sqlalchemy.orm import Session, sessionmaker

from scheduler import aio
from scheduler import queries as q
from scheduler.channels import AlexaChannel, Channel, Notice, channel_from_env, reference_id_for
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.models import Delivery, Reminder, User
from scheduler.service import ReminderService
from scheduler.worker import make_worker_id, run_worker, start_background_worker
from tests.conftest import Clock
from tests.stubs.alexa_api import AlexaApiStub

ALICE = "amzn1.ask.account.ALICE0000000000000000000000"
BOB = "amzn1.ask.account.BOB000000000000000000000000"
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
EVENT_NAME = "AMAZON.MessageAlert.Activated"
EVENTS_PATH = "/v1/proactiveEvents/stages/development"
# Monday 2026-11-23, 12:00 UTC. Berlin is on CET (UTC+1), so 21:30 there is 20:30 UTC.
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BEDTIME = time(21, 30)
FIRST = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)


def stub_env(stub: AlexaApiStub) -> dict[str, str]:
    return {
        "ALEXA_CLIENT_ID": stub.client_id,
        "ALEXA_CLIENT_SECRET": stub.client_secret,
        "ALEXA_API_ENDPOINT": stub.url,
        "LWA_TOKEN_URL": stub.token_url,
    }


@dataclass
class World:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    service: ReminderService
    stub: AlexaApiStub
    clock: Clock
    channel: Channel

    def settings(self, **overrides: Any) -> WorkerSettings:
        # Retries go back to the queue unless a test asks for them to be held: time here moves only
        # when the test moves it, while a held retry waits out real seconds.
        overrides.setdefault("retry_hold_seconds", 0.0)
        return WorkerSettings(database_url=self.url, **overrides)

    def dispatcher(self, worker_id: str = "test:1:aaaaaa", **overrides: Any) -> Dispatcher:
        return Dispatcher(
            self.sessions,
            self.channel,
            self.settings(**overrides),
            clock=self.clock,
            worker_id=worker_id,
            rng=random.Random(1),  # the retry jitter, reproducible
        )

    def add(self, user: str = ALICE, kind: str = "stretch", at: time = BEDTIME, zone: str = BERLIN) -> int:
        (view,) = self.service.add(user, kind, [at], time_zone=zone, notifications_allowed=True)
        return view.id

    def reminder(self, reminder_id: int) -> Reminder:
        with self.sessions() as session:
            row = session.get(Reminder, reminder_id)
            assert row is not None
            return row

    def user(self, alexa_user_id: str) -> User:
        with self.sessions() as session:
            row = session.scalar(select(User).where(User.alexa_user_id == alexa_user_id))
            assert row is not None
            return row

    def deliveries(self) -> list[Delivery]:
        with self.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.occurrence_at, Delivery.id)))

    def refs(self) -> list[str]:
        return [event["reference_id"] for event in self.stub.events]

    def event_statuses(self) -> list[int]:
        return [r["status"] for r in self.stub.requests if r["path"] == EVENTS_PATH]

    def next_due(self) -> datetime | None:
        """When the earliest live reminder may be claimed next (its retry time, or its lease end)."""
        with self.sessions() as session:
            return session.scalar(
                select(func.min(Reminder.visible_at)).where(Reminder.enabled, Reminder.paused.is_(False))
            )

    def run_until(self, end: datetime, dispatcher: Dispatcher | None = None) -> TickStats:
        """Tick, moving the clock straight to each next due time, until nothing is due before ``end``."""
        dispatcher = dispatcher or self.dispatcher()
        total = TickStats()
        while True:
            total.add(dispatcher.tick())
            due = self.next_due()
            if due is None or due > end:
                return total
            self.clock.now = max(self.clock.now, due)


@pytest.fixture
def world(database_url: str, alexa_stub: AlexaApiStub, clock: Clock) -> Iterator[World]:
    clock.now = NOON
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    # The AlexaChannel as channel_from_env builds it, stamping events with the test's clock.
    channel = AlexaChannel.from_env(stub_env(alexa_stub), utcnow=clock)
    try:
        yield World(
            database_url, engine, sessions, ReminderService(sessions, clock), alexa_stub, clock, channel
        )
    finally:
        channel.close()
        engine.dispose()


# -- the claim statement -------------------------------------------------------------------------


def test_claim_compiles_with_skip_locked_on_postgresql_and_without_on_sqlite() -> None:
    stmt = q.claim_statement(now=NOON, lease_until=NOON, worker="w", token="t", limit=10)
    pg = str(stmt.compile(dialect=registry.load("postgresql.psycopg")()))
    lite = str(stmt.compile(dialect=registry.load("sqlite.pysqlite")()))
    assert "FOR UPDATE SKIP LOCKED" in pg
    assert "FOR UPDATE" not in lite
    for sql in (pg, lite):
        assert sql.startswith("UPDATE reminders SET visible_at=")
        assert "WHERE reminders.id IN (SELECT reminders.id" in sql
        # The predicate of ix_reminders_due, spelled the same, so the partial index applies.
        assert "reminders.enabled AND NOT reminders.paused AND reminders.visible_at <=" in sql
        assert "ORDER BY reminders.visible_at" in sql
        assert "RETURNING" in sql


def test_due_query_uses_the_partial_index(world: World) -> None:
    for n in range(30):
        world.add(user=f"amzn1.ask.account.U{n:04d}", at=time(20, n))
    with world.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # A 30-row table is cheaper to scan; ask whether the index can serve the query at all.
            connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(q.explain_due(connection, NOON, 500))
    assert "ix_reminders_due" in plan


# -- delivery at the right moment ----------------------------------------------------------------


def test_delivers_once_when_the_clock_reaches_the_time(world: World) -> None:
    rid = world.add()
    assert world.reminder(rid).next_fire_at == FIRST
    dispatcher = world.dispatcher()

    world.clock.now = FIRST - timedelta(seconds=1)
    assert dispatcher.tick().claimed == 0
    assert world.stub.events == []

    world.clock.now = FIRST
    stats = dispatcher.tick()
    assert (stats.claimed, stats.sent) == (1, 1)
    (event,) = world.stub.events
    assert event["user"] == ALICE
    assert event["reference_id"] == reference_id_for(rid, FIRST) == f"cc~r{rid}~20261123T2030Z"
    assert event["body"]["event"]["name"] == EVENT_NAME
    assert event["body"]["localizedAttributes"] == [{"locale": "en-US"}]

    (row,) = world.deliveries()
    assert (row.status, row.occurrence_at, row.reference_id, row.attempts, row.channel) == (
        "sent",
        FIRST,
        event["reference_id"],
        1,
        "alexa",
    )
    reminder = world.reminder(rid)
    # The next day at the same Berlin wall time, lease released.
    assert reminder.next_fire_at == reminder.visible_at == FIRST + timedelta(days=1)
    assert (reminder.lease_owner, reminder.lease_token) == (None, None)
    assert world.service.take_greeting(ALICE) == "stretch"

    # Later ticks the same evening find nothing more to send.
    world.clock.now = FIRST + timedelta(minutes=14)
    assert dispatcher.tick().claimed == 0
    assert len(world.stub.events) == 1


def test_next_occurrence_keeps_the_local_time_across_a_dst_change(world: World) -> None:
    # Berlin leaves summer time on 2026-10-25: 21:30 is 19:30 UTC before and 20:30 UTC after.
    world.clock.now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    rid = world.add()
    assert world.reminder(rid).next_fire_at == datetime(2026, 10, 24, 19, 30, tzinfo=UTC)
    world.clock.now = datetime(2026, 10, 24, 19, 30, tzinfo=UTC)
    assert world.dispatcher().tick().sent == 1
    assert world.reminder(rid).next_fire_at == datetime(2026, 10, 25, 20, 30, tzinfo=UTC)


# -- grace and misfires ---------------------------------------------------------------------------


def test_ten_minutes_late_is_still_sent(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST + timedelta(minutes=10)
    stats = world.dispatcher().tick()
    assert (stats.sent, stats.missed) == (1, 0)
    assert world.refs() == [reference_id_for(rid, FIRST)]
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)


def test_twenty_minutes_late_stretch_is_missed_not_sent(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rid = world.add()
    world.clock.now = FIRST + timedelta(minutes=20)
    with caplog.at_level(logging.INFO, logger="scheduler.dispatch"):
        stats = world.dispatcher().tick()
    assert (stats.claimed, stats.sent, stats.missed) == (1, 0, 1)
    assert world.stub.events == []
    (row,) = world.deliveries()
    assert (row.status, row.occurrence_at, row.attempts) == ("missed", FIRST, 0)
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)
    (line,) = [r for r in caplog.records if "missed the" in r.getMessage()]
    assert line.levelno == logging.INFO
    assert f"reminder {rid} " in line.getMessage() and "0:20:00" in line.getMessage()


def test_water_has_a_longer_grace(world: World) -> None:
    rid = world.add(kind="water", at=time(18, 0))
    occurrence = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    world.clock.now = occurrence + timedelta(minutes=20)
    assert world.dispatcher().tick().sent == 1
    (event,) = world.stub.events
    assert event["reference_id"] == reference_id_for(rid, occurrence)
    # Water notices expire sooner than stretch notices (2 h after the occurrence).
    assert event["body"]["expiryTime"].startswith("2026-11-23T19:00:00")


def test_a_three_day_backlog_is_one_missed_row_not_three_sends(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST + timedelta(days=3, hours=1)  # Thursday 21:30 UTC, an hour after 21:30 CET
    stats = world.dispatcher().tick()
    assert (stats.claimed, stats.sent, stats.missed) == (1, 0, 1)
    assert world.stub.events == []
    assert [(d.status, d.occurrence_at) for d in world.deliveries()] == [("missed", FIRST)]
    # The next occurrence in the future, not the next one in the backlog.
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=4)
    assert world.dispatcher().tick().claimed == 0


def test_after_a_backlog_todays_occurrence_within_grace_is_still_sent(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST + timedelta(days=3, minutes=5)
    dispatcher = world.dispatcher()
    assert dispatcher.tick().missed == 1
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=3)
    # Due again at once: sent 5 minutes late, within the grace window.
    assert dispatcher.tick().sent == 1
    assert world.refs() == [reference_id_for(rid, FIRST + timedelta(days=3))]
    assert [d.status for d in world.deliveries()] == ["missed", "sent"]


# -- Alexa's answers ------------------------------------------------------------------------------


def test_429_and_500_go_back_to_the_queue_then_are_delivered(world: World) -> None:
    rid = world.add()
    world.stub.fail_next(429, retry_after=2)
    world.stub.fail_next(500)
    world.clock.now = FIRST
    dispatcher = world.dispatcher()
    first = dispatcher.tick()
    assert (first.claimed, first.retried, first.sent) == (1, 1, 0)
    # Handed back, not slept on: due again when Retry-After says, same occurrence, lease dropped.
    reminder = world.reminder(rid)
    assert (reminder.next_fire_at, reminder.visible_at, reminder.lease_token) == (
        FIRST,
        FIRST + timedelta(seconds=2),
        None,
    )
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("retrying", 1)
    assert row.detail is not None and "429" in row.detail
    assert dispatcher.tick().claimed == 0  # not before its time

    stats = world.run_until(FIRST + timedelta(minutes=15), dispatcher)
    assert (stats.sent, stats.retried, stats.failed) == (1, 1, 0)
    assert world.event_statuses() == [429, 500, 202]
    assert world.refs() == [reference_id_for(rid, FIRST)]
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("sent", 3)
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)


def test_retries_go_on_past_six_attempts_while_grace_is_left(world: World) -> None:
    # Issue 7, item 8: a fixed six attempts gave occurrences up with most of their grace left.
    rid = world.add()
    world.stub.fail_next(500, times=12)
    world.clock.now = FIRST
    stats = world.run_until(FIRST + timedelta(minutes=15))
    assert (stats.sent, stats.retried, stats.failed) == (1, 12, 0)
    assert world.event_statuses() == [500] * 12 + [202]
    assert world.clock.now < FIRST + timedelta(minutes=15)
    (row,) = world.deliveries()
    assert (row.status, row.attempts, row.reference_id) == ("sent", 13, reference_id_for(rid, FIRST))


def test_retries_stop_at_the_grace_window_and_the_occurrence_fails(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rid = world.add()
    world.stub.fail_next(503, times=1_000)
    world.clock.now = FIRST + timedelta(minutes=14)  # one minute of grace left
    with caplog.at_level(logging.INFO):
        stats = world.run_until(FIRST + timedelta(minutes=20))
    assert (stats.sent, stats.failed) == (0, 1)
    attempts = len(world.event_statuses())
    assert stats.retried == attempts - 1 > 1
    assert world.clock.now <= FIRST + timedelta(minutes=15)  # every attempt inside the window
    (row,) = world.deliveries()
    assert row.status == "failed" and row.attempts == attempts
    assert row.detail is not None and "grace window" in row.detail
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)
    (line,) = [r for r in caplog.records if r.name == "scheduler.dispatch" and r.levelno == logging.ERROR]
    assert f"reminder {rid} " in line.getMessage() and "503" in line.getMessage()


def test_retry_after_past_the_grace_window_fails_at_once(world: World) -> None:
    world.add()
    world.stub.fail_next(429, retry_after=300)  # five minutes; one minute of grace is left
    world.clock.now = FIRST + timedelta(minutes=14)
    stats = world.dispatcher().tick()
    assert (stats.failed, stats.retried) == (1, 0)
    (row,) = world.deliveries()
    assert row.status == "failed" and row.detail is not None and "Retry-After 300s" in row.detail


def test_a_retry_found_after_the_grace_window_is_failed_not_sent(world: World) -> None:
    rid = world.add()
    world.stub.fail_next(500)
    world.clock.now = FIRST + timedelta(minutes=10)
    assert world.dispatcher().tick().retried == 1
    # The worker was away until the window had closed.
    world.clock.now = FIRST + timedelta(minutes=16)
    stats = world.dispatcher().tick()
    assert (stats.claimed, stats.failed, stats.sent) == (1, 1, 0)
    assert world.event_statuses() == [500]
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("failed", 1)
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)


def test_a_429_storm_hands_every_row_back_without_waiting_in_the_pool(world: World) -> None:
    ids = [world.add(user=f"amzn1.ask.account.S{n:04d}") for n in range(40)]
    world.stub.fail_next(429, times=40, retry_after=20)
    world.clock.now = FIRST
    dispatcher = world.dispatcher(concurrency=4)
    started = world.clock.now
    first = dispatcher.tick()
    # All forty were tried once and handed back at once: no send waited out a Retry-After.
    assert (first.claimed, first.retried, first.sent, first.released) == (40, 40, 0, 0)
    assert world.clock.now == started
    with world.sessions() as session:
        held = session.scalars(select(Reminder.lease_token).where(Reminder.lease_token.is_not(None))).all()
        due = set(session.scalars(select(Reminder.visible_at)).all())
    assert held == [] and due == {FIRST + timedelta(seconds=20)}
    stats = world.run_until(FIRST + timedelta(minutes=15), dispatcher)
    assert stats.sent == 40
    assert sorted(world.refs()) == sorted(reference_id_for(i, FIRST) for i in ids)


def test_a_retry_due_soon_is_held_by_the_worker_and_sent_in_the_same_tick(world: World) -> None:
    # At a 21:30 spike a retry handed back to the queue sorts behind every reminder already due;
    # held under the lease it goes out as soon as its Retry-After is over.
    rid = world.add()
    world.stub.fail_next(429, retry_after=1)
    world.clock.now = FIRST
    stats = world.dispatcher(retry_hold_seconds=5).tick()
    assert (stats.claimed, stats.retried, stats.sent, stats.released) == (1, 1, 1, 0)
    assert world.event_statuses() == [429, 202]
    assert world.refs() == [reference_id_for(rid, FIRST)]
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("sent", 2)
    reminder = world.reminder(rid)
    assert (reminder.next_fire_at, reminder.lease_token) == (FIRST + timedelta(days=1), None)


@pytest.mark.parametrize(
    ("retry_after", "settings"),
    [
        # Due later than the hold.
        (20, {"retry_hold_seconds": 5}),
        # Within the hold, but lease 8 s means a margin of 2 s: sent at 7 s, it could overlap
        # with the worker that re-claims the row.
        (7, {"retry_hold_seconds": 10, "lease_seconds": 8}),
    ],
)
def test_a_retry_not_held_goes_back_to_the_queue(
    world: World, retry_after: int, settings: dict[str, float]
) -> None:
    rid = world.add()
    world.stub.fail_next(429, retry_after=retry_after)
    world.clock.now = FIRST
    stats = world.dispatcher(**settings).tick()
    assert (stats.retried, stats.sent) == (1, 0)
    reminder = world.reminder(rid)
    assert (reminder.visible_at, reminder.lease_token) == (FIRST + timedelta(seconds=retry_after), None)


def test_a_held_retry_paused_meanwhile_is_not_sent(world: World) -> None:
    # A held retry goes through the same re-check as any claim, so a pause in its wait stops it.
    rid = world.add()
    world.stub.fail_next(429, retry_after=1)
    world.clock.now = FIRST
    turned_off: list[bool] = []

    def keep_going() -> bool:
        # Once the 429 has come back, the user turns notifications off (while the retry waits).
        if world.event_statuses() and not turned_off:
            turned_off.append(world.service.set_notifications_allowed(ALICE, False, FIRST))
        return True

    stats = world.dispatcher(retry_hold_seconds=5).tick(keep_going=keep_going)
    assert turned_off == [True]
    assert (stats.retried, stats.sent, stats.skipped) == (1, 0, 1)
    assert world.event_statuses() == [429]
    reminder = world.reminder(rid)
    assert reminder.paused and reminder.lease_token is None


def test_a_stop_hands_held_retries_back_at_their_attempt_time(world: World) -> None:
    rid = world.add()
    world.stub.fail_next(429, retry_after=3)
    world.clock.now = FIRST

    def keep_going() -> bool:
        # Go on until the 429 has come back, then ask to stop.
        return not world.event_statuses()

    stats = world.dispatcher(retry_hold_seconds=5).tick(keep_going=keep_going)
    assert (stats.retried, stats.sent, stats.released) == (1, 0, 1)
    reminder = world.reminder(rid)
    assert (reminder.visible_at, reminder.lease_token) == (FIRST + timedelta(seconds=3), None)
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("retrying", 1)


def test_thirty_percent_faults_every_reminder_delivered_exactly_once(world: World) -> None:
    # Issue 7, item 8, small and deterministic: 30% of events answered 500 or 429 (Retry-After 1 s),
    # clock moved by the test. Before, some occurrences ended 'failed' with grace left.
    n = 300
    ids = [world.add(user=f"amzn1.ask.account.F{i:04d}") for i in range(n)]
    world.stub.faults = 0.3
    world.clock.now = FIRST
    stats = world.run_until(FIRST + timedelta(minutes=15), world.dispatcher(batch_size=100, concurrency=32))
    assert (stats.sent, stats.failed, stats.missed) == (n, 0, 0)
    assert stats.retried > 0
    assert world.clock.now < FIRST + timedelta(minutes=15)
    counts = collections.Counter(world.refs())
    assert counts == collections.Counter(reference_id_for(i, FIRST) for i in ids)  # once each
    rows = world.deliveries()
    assert {r.status for r in rows} == {"sent"}
    # Every attempt is counted: the stub saw exactly as many event posts as the log records.
    assert sum(r.attempts for r in rows) == len(world.event_statuses())
    assert set(world.event_statuses()) <= {202, 429, 500}


def test_400_is_not_retried(world: World, caplog: pytest.LogCaptureFixture) -> None:
    rid = world.add()
    world.stub.fail_next(400, body={"code": "INVALID_REQUEST", "message": "bad locale"})
    world.clock.now = FIRST
    with caplog.at_level(logging.WARNING, logger="scheduler.dispatch"):
        stats = world.dispatcher().tick()
    assert (stats.rejected, stats.retried, stats.sent) == (1, 0, 0)
    assert world.event_statuses() == [400]
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("rejected", 1)
    assert row.detail is not None and "bad locale" in row.detail
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"reminder {rid} " in line.getMessage() and "400" in line.getMessage()


def test_403_pauses_all_of_that_users_reminders(world: World, caplog: pytest.LogCaptureFixture) -> None:
    stretch = world.add()
    water = world.add(kind="water", at=time(22, 0))
    bobs = world.add(user=BOB, at=time(21, 45))
    world.stub.fail_next(403, times=2)  # the channel retries once with a fresh token
    world.clock.now = FIRST
    with caplog.at_level(logging.WARNING, logger="scheduler.dispatch"):
        stats = world.dispatcher().tick()
    assert (stats.forbidden, stats.sent) == (1, 0)
    assert [d.status for d in world.deliveries()] == ["forbidden"]
    alice = world.user(ALICE)
    assert alice.delivery_blocked_reason is not None
    assert alice.delivery_blocked_reason.startswith("Alexa answered 403: ")
    assert world.reminder(stretch).paused and world.reminder(water).paused
    assert not world.reminder(bobs).paused
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"reminder {stretch} " in line.getMessage() and "Alexa answered 403" in line.getMessage()

    # Bob still gets his; Alice hears nothing more.
    world.clock.now = FIRST + timedelta(minutes=15)
    assert world.dispatcher().tick().sent == 1
    world.clock.now = FIRST + timedelta(days=1)
    assert world.dispatcher().tick().claimed == 0
    assert [e["user"] for e in world.stub.events] == [BOB]


def test_409_counts_as_delivered(world: World) -> None:
    rid = world.add()
    world.stub.fail_next(409)
    world.clock.now = FIRST
    stats = world.dispatcher().tick()
    assert (stats.duplicate, stats.retried) == (1, 0)
    (row,) = world.deliveries()
    assert row.status == "duplicate"
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)
    assert world.service.take_greeting(ALICE) == "stretch"


# -- exactly once ---------------------------------------------------------------------------------


def test_two_ticks_at_the_same_instant_send_once(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    first, second = world.dispatcher("a:1:x"), world.dispatcher("b:2:y")
    assert first.tick().sent == 1
    assert second.tick().claimed == 0
    assert first.tick().claimed == 0
    assert world.refs() == [reference_id_for(rid, FIRST)]
    assert len(world.deliveries()) == 1


def test_an_abandoned_claim_comes_back_after_its_lease(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    settings = world.settings()
    # A worker claims the reminder and dies before doing anything else.
    with world.sessions.begin() as session:
        (crashed,) = q.claim(session, now=FIRST, lease=settings.lease, worker="crashed", limit=10)
    assert crashed.id == rid
    assert world.reminder(rid).lease_owner == "crashed"

    dispatcher = world.dispatcher()
    assert dispatcher.tick().claimed == 0
    world.clock.now = FIRST + settings.lease - timedelta(seconds=1)
    assert dispatcher.tick().claimed == 0
    assert world.stub.events == []

    world.clock.now = FIRST + settings.lease + timedelta(seconds=1)
    assert dispatcher.tick().sent == 1
    assert world.refs() == [reference_id_for(rid, FIRST)]
    after = world.reminder(rid)
    assert after.next_fire_at == FIRST + timedelta(days=1)

    # The dead worker's token no longer completes anything.
    with world.sessions.begin() as session:
        done = q.complete(
            session, reminder_id=rid, token=crashed.token, next_fire_at=FIRST + timedelta(days=7)
        )
    assert done is False
    assert world.reminder(rid).next_fire_at == after.next_fire_at


def test_a_worker_that_died_mid_send_is_resent_with_the_same_reference_id(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    settings = world.settings()
    ref = reference_id_for(rid, FIRST)
    with world.sessions.begin() as session:
        (crashed,) = q.claim(session, now=FIRST, lease=settings.lease, worker="crashed", limit=10)
    with world.sessions.begin() as session:
        q.open_delivery(
            session,
            reminder_id=rid,
            user_id=crashed.user_id,
            occurrence_at=FIRST,
            status="sending",
            channel="alexa",
            reference_id=ref,
        )
    # Its request reached Alexa; then the process died before recording the outcome.
    notice = Notice(rid, ALICE, "stretch", FIRST, ref, "en-US", FIRST + timedelta(hours=4))
    aio.run(world.channel.send(notice))

    world.clock.now = FIRST + settings.lease + timedelta(seconds=1)
    stats = world.dispatcher().tick()
    assert stats.duplicate == 1
    assert world.event_statuses() == [202, 409]
    assert world.refs() == [ref]  # accepted once
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("duplicate", 1)
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)


def test_the_delivery_log_insert_tolerates_the_occurrence_already_being_there(world: World) -> None:
    rid = world.add()
    user_id = world.user(ALICE).id
    ref = reference_id_for(rid, FIRST)
    states = []
    for status in ("sending", "missed"):
        with world.sessions.begin() as session:
            states.append(
                q.open_delivery(
                    session,
                    reminder_id=rid,
                    user_id=user_id,
                    occurrence_at=FIRST,
                    status=status,
                    channel="alexa",
                    reference_id=ref,
                )
            )
    assert states == [q.DeliveryState(True, "sending", 0), q.DeliveryState(False, "sending", 0)]
    with world.sessions.begin() as session:
        for status, recorded in (("sent", True), ("failed", False)):  # the first final status wins
            done = q.finish_delivery(
                session, reminder_id=rid, occurrence_at=FIRST, status=status, attempts=2, detail=None
            )
            assert done is recorded
    (row,) = world.deliveries()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_claim_whose_lease_is_nearly_over_is_handed_back_not_sent(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    dispatcher = world.dispatcher()
    claims = dispatcher.claim_batch()
    # The batch sat in the worker until 10 s before its lease ends (the margin is 30 s).
    world.clock.now = FIRST + world.settings().lease - timedelta(seconds=10)
    stats = dispatcher.process(claims)
    assert (stats.released, stats.sent) == (1, 0)
    assert world.stub.events == []
    reminder = world.reminder(rid)
    assert (reminder.visible_at, reminder.next_fire_at, reminder.lease_token) == (
        world.clock.now,
        FIRST,
        None,
    )
    # The next tick takes it up again, same occurrence and referenceId.
    assert dispatcher.tick().sent == 1
    assert world.refs() == [reference_id_for(rid, FIRST)]
    assert [(d.status, d.attempts) for d in world.deliveries()] == [("sent", 1)]


def test_an_occurrence_already_logged_is_not_sent_again(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    with world.sessions.begin() as session:
        session.add(
            Delivery(
                reminder_id=rid,
                user_id=world.user(ALICE).id,
                occurrence_at=FIRST,
                status="sent",
                channel="alexa",
                reference_id=reference_id_for(rid, FIRST),
                attempts=1,
            )
        )
    stats = world.dispatcher().tick()
    assert (stats.claimed, stats.skipped, stats.sent) == (1, 1, 0)
    assert world.stub.events == []
    assert world.reminder(rid).next_fire_at == FIRST + timedelta(days=1)


# -- daylight saving time -------------------------------------------------------------------------


def test_spring_forward_gap_fires_at_three_edt(world: World) -> None:
    # 2027-03-14: New York clocks jump from 02:00 EST to 03:00 EDT; 02:30 does not exist.
    world.clock.now = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
    rid = world.add(at=time(2, 30), zone=NEW_YORK)
    gap_end = datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert world.reminder(rid).next_fire_at == gap_end
    dispatcher = world.dispatcher()
    world.clock.now = gap_end - timedelta(seconds=1)
    assert dispatcher.tick().claimed == 0
    world.clock.now = gap_end
    assert dispatcher.tick().sent == 1
    assert world.refs() == [reference_id_for(rid, gap_end)]
    assert world.reminder(rid).next_fire_at == datetime(2027, 3, 15, 6, 30, tzinfo=UTC)  # 02:30 EDT


def test_fall_back_repeated_hour_fires_once(world: World) -> None:
    # 2027-11-07: New York clocks go from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    world.clock.now = datetime(2027, 11, 6, 12, 0, tzinfo=UTC)
    rid = world.add(at=time(1, 30), zone=NEW_YORK)
    first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST, the repeat
    dispatcher = world.dispatcher()
    world.clock.now = first
    assert dispatcher.tick().sent == 1
    world.clock.now = second
    assert dispatcher.tick().claimed == 0
    assert world.refs() == [reference_id_for(rid, first)]
    assert world.reminder(rid).next_fire_at == datetime(2027, 11, 8, 6, 30, tzinfo=UTC)  # 01:30 EST


# -- paused, disabled, cancelled ------------------------------------------------------------------


def test_cancelled_disabled_and_paused_reminders_are_never_sent(world: World) -> None:
    world.add()
    world.service.cancel(ALICE, "stretch")
    disabled = world.add(user=BOB)
    with world.sessions.begin() as session:
        session.execute(update(Reminder).where(Reminder.id == disabled).values(enabled=False))
    (paused,) = world.service.add(
        "amzn1.ask.account.CAROL", "stretch", [BEDTIME], time_zone=BERLIN, notifications_allowed=False
    )
    assert paused.paused
    world.clock.now = FIRST
    assert world.dispatcher().tick().claimed == 0
    assert world.stub.events == []
    assert world.deliveries() == []


def test_paused_after_the_claim_is_completed_without_sending(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    dispatcher = world.dispatcher()
    claims = dispatcher.claim_batch()
    assert [c.id for c in claims] == [rid]
    # Between the claim and the send the user turns notifications off.
    assert world.service.set_notifications_allowed(ALICE, False, FIRST)
    stats = dispatcher.process(claims)
    assert (stats.skipped, stats.sent) == (1, 0)
    assert world.stub.events == []
    reminder = world.reminder(rid)
    assert reminder.paused and reminder.lease_token is None


def test_cancelled_after_the_claim_is_not_sent(world: World) -> None:
    world.add()
    world.clock.now = FIRST
    dispatcher = world.dispatcher()
    claims = dispatcher.claim_batch()
    assert world.service.cancel(ALICE).count == 1
    stats = dispatcher.process(claims)
    assert (stats.skipped, stats.sent, stats.errors) == (1, 0, 0)
    assert world.stub.events == []
    assert world.deliveries() == []


def test_a_reminder_moved_after_the_claim_is_left_to_its_new_schedule(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    dispatcher = world.dispatcher()
    claims = dispatcher.claim_batch()
    world.service.move(ALICE, "stretch", time(22, 15))
    stats = dispatcher.process(claims)
    assert (stats.stale, stats.sent) == (1, 0)
    assert world.stub.events == []
    assert world.reminder(rid).next_fire_at == datetime(2026, 11, 23, 21, 15, tzinfo=UTC)


# -- batches --------------------------------------------------------------------------------------


def test_many_due_reminders_are_claimed_in_batches_within_one_tick(world: World) -> None:
    ids = [world.add(user=f"amzn1.ask.account.U{n:04d}") for n in range(25)]
    world.clock.now = FIRST
    stats = world.dispatcher(batch_size=10, concurrency=4).tick()
    assert (stats.claimed, stats.sent) == (25, 25)
    assert sorted(world.refs()) == sorted(reference_id_for(i, FIRST) for i in ids)
    assert {d.status for d in world.deliveries()} == {"sent"}


def test_a_tick_claims_no_more_batches_once_asked_to_stop(world: World) -> None:
    for n in range(5):
        world.add(user=f"amzn1.ask.account.U{n:04d}")
    world.clock.now = FIRST
    asked: list[bool] = []

    def keep_going() -> bool:
        asked.append(True)
        return len(asked) == 1  # yes before the first claim, no from then on

    stats = world.dispatcher(batch_size=2).tick(keep_going=keep_going)
    assert (stats.claimed, stats.sent) == (2, 2)
    with world.sessions() as session:
        assert session.scalar(select(Reminder).where(Reminder.lease_token.is_not(None))) is None


# -- a database that is down ----------------------------------------------------------------------


def test_an_unreachable_database_is_logged_not_raised(
    alexa_stub: AlexaApiStub, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/nothing")
    channel = channel_from_env(stub_env(alexa_stub))
    dispatcher = Dispatcher(
        make_session_factory(engine),
        channel,
        WorkerSettings(database_url="unused"),
        clock=clock,
        worker_id=make_worker_id(),
    )
    try:
        with caplog.at_level(logging.ERROR, logger="scheduler.dispatch"):
            first = dispatcher.tick()
            second = dispatcher.tick()
    finally:
        channel.close()
        engine.dispose()
    assert first == second == TickStats(errors=1)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all(line.startswith("database unreachable, will retry next tick: ") for line in lines)
    assert all("\n" not in line for line in lines)


# -- settings -------------------------------------------------------------------------------------


def test_settings_defaults_and_overrides() -> None:
    defaults = WorkerSettings.from_env({})
    assert (defaults.tick_seconds, defaults.batch_size, defaults.lease_seconds, defaults.concurrency) == (
        5.0,
        500,
        120.0,
        256,
    )
    assert defaults.grace("stretch") == timedelta(minutes=15)
    assert defaults.grace("water") == timedelta(minutes=30)
    assert defaults.database_url == "sqlite:///cramp_coach.db"
    assert defaults.retry_hold_seconds == 5.0
    custom = WorkerSettings.from_env(
        {
            "DATABASE_URL": "postgresql://db/x",
            "WORKER_TICK_SECONDS": "0.5",
            "WORKER_BATCH_SIZE": "50",
            "WORKER_LEASE_SECONDS": "30",
            "WORKER_CONCURRENCY": "4",
            "REMINDER_GRACE_STRETCH_MINUTES": "5",
            "REMINDER_GRACE_WATER_MINUTES": "0",
            "WORKER_RETRY_HOLD_SECONDS": "0",
            "WORKER_UNRELATED": "x",
        }
    )
    assert custom.database_url == "postgresql://db/x"
    assert (custom.tick_seconds, custom.batch_size, custom.lease, custom.concurrency) == (
        0.5,
        50,
        timedelta(seconds=30),
        4,
    )
    assert (custom.grace("stretch"), custom.grace("water")) == (timedelta(minutes=5), timedelta(0))
    assert custom.retry_hold_seconds == 0.0
    assert WorkerSettings.from_env({"WORKER_BATCH_SIZE": " ", "DATABASE_URL": ""}) == WorkerSettings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WORKER_TICK_SECONDS", "0", "WORKER_TICK_SECONDS must be a finite number more than zero, got '0'"),
        ("WORKER_TICK_SECONDS", "soon", "WORKER_TICK_SECONDS must be a finite number more than zero"),
        ("WORKER_LEASE_SECONDS", "inf", "WORKER_LEASE_SECONDS must be a finite number more than zero"),
        ("WORKER_LEASE_SECONDS", "nan", "WORKER_LEASE_SECONDS must be a finite number more than zero"),
        ("WORKER_BATCH_SIZE", "0", "WORKER_BATCH_SIZE must be a whole number from 1 to 10000, got '0'"),
        ("WORKER_BATCH_SIZE", "2.5", "WORKER_BATCH_SIZE must be a whole number from 1 to 10000"),
        ("WORKER_CONCURRENCY", "-3", "WORKER_CONCURRENCY must be a whole number from 1 to 1024"),
        (
            "REMINDER_GRACE_STRETCH_MINUTES",
            "-1",
            "REMINDER_GRACE_STRETCH_MINUTES must be a finite number zero",
        ),
        ("REMINDER_GRACE_WATER_MINUTES", "half", "REMINDER_GRACE_WATER_MINUTES must be a finite number zero"),
        ("WORKER_RETRY_HOLD_SECONDS", "-1", "WORKER_RETRY_HOLD_SECONDS must be a finite number zero"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        WorkerSettings.from_env({name: value})
    assert str(excinfo.value).startswith(message)


# -- the worker entry points ----------------------------------------------------------------------


def test_run_worker_once_delivers_what_is_due(world: World) -> None:
    rid = world.add()
    world.clock.now = FIRST
    env = {"DATABASE_URL": world.url, **stub_env(world.stub)}
    assert run_worker(env, once=True, clock=world.clock) == 0
    assert world.refs() == [reference_id_for(rid, FIRST)]
    assert run_worker(env, once=True, clock=world.clock, channel=world.channel) == 0
    assert len(world.stub.events) == 1


def test_run_worker_refuses_bad_settings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="scheduler.worker"):
        assert run_worker({"WORKER_BATCH_SIZE": "lots"}, once=True) == 2
    assert "WORKER_BATCH_SIZE must be a whole number" in caplog.text


def test_run_worker_once_reports_an_unreachable_database(alexa_stub: AlexaApiStub) -> None:
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing", **stub_env(alexa_stub)}
    assert run_worker(env, once=True) == 1


def test_background_worker_delivers_and_shuts_down(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.clock.now = datetime.now(UTC) - timedelta(days=1)
    zone_time = (datetime.now(UTC) - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    rid = world.add(at=zone_time, zone="UTC")  # due a minute ago, by the real clock
    due = world.reminder(rid).next_fire_at
    env = {"DATABASE_URL": world.url, "WORKER_TICK_SECONDS": "0.2", **stub_env(world.stub)}
    with caplog.at_level(logging.INFO, logger="scheduler.worker"):
        scheduler = start_background_worker(env)
        try:
            wait_for(lambda: len(world.stub.events) == 1, timeout=30)
        finally:
            scheduler.shutdown(wait=True)
    assert world.refs() == [reference_id_for(rid, due)]
    assert "worker stopped" in caplog.text
    assert not scheduler.running


def wait_for(condition: Callable[[], bool], *, timeout: float) -> None:
    deadline = real_time.monotonic() + timeout
    while not condition():
        if real_time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        real_time.sleep(0.05)
