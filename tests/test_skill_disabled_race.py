"""SkillDisabled racing the worker (issue 7, item 11): once forget_user has returned, nothing more
reaches that user, even from a worker that claimed their reminders a moment earlier.

300 users are due at once; a dispatcher sends them through the stub (100 ms per event, 16 in
flight) while eight threads forget all 300 users. The stub stamps each event's arrival before its
wait; no event may arrive after forget_user returned for its user. Both backends: the fence is a
row lock on PostgreSQL and the single writer on SQLite. Nothing asserts on durations.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from datetime import time as wall_time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.channels import AlexaChannel
from scheduler.config import WorkerSettings
from scheduler.db import make_engine, make_session_factory
from scheduler.dispatch import Dispatcher, TickStats
from scheduler.models import Delivery, Reminder, User
from scheduler.service import ReminderService
from tests.conftest import Clock
from tests.stubs.alexa_api import AlexaApiStub

USERS = 300
DUE = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def wait_for(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_no_notification_reaches_a_user_after_skill_disabled_was_answered(
    database_url: str, sessions: sessionmaker[Session], alexa_stub: AlexaApiStub, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    service = ReminderService(sessions, clock)
    people = [f"amzn1.ask.account.RACE{i:05d}" for i in range(USERS)]
    for person in people:
        service.add(person, "stretch", [wall_time(20, 30)], time_zone="UTC", notifications_allowed=True)
    clock.now = DUE
    alexa_stub.delay = 0.1
    channel = AlexaChannel(
        alexa_stub.client_id,
        alexa_stub.client_secret,
        api_endpoint=alexa_stub.url,
        token_url=alexa_stub.token_url,
    )
    dispatcher = Dispatcher(
        sessions,
        channel,
        WorkerSettings(database_url=database_url, batch_size=50, concurrency=16),
        clock=clock,
        worker_id="race:1:aaaaaa",
    )
    stats = TickStats()
    worker = threading.Thread(target=lambda: stats.add(dispatcher.tick()))
    answered: dict[str, float] = {}

    def forget(person: str) -> None:
        service.forget_user(person)
        answered[person] = time.time()

    try:
        worker.start()
        # Start forgetting once sends are under way, so the two really overlap.
        wait_for(lambda: len(alexa_stub.events) >= 10)
        # Last-claimed first: those are still waiting in the worker's queue, already claimed.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(forget, reversed(people)))
        worker.join(timeout=120)
        assert not worker.is_alive()
    finally:
        channel.close()

    after = [e for e in alexa_stub.events if e["received_at"] >= answered[e["user"]]]
    assert after == [], f"{len(after)} notification(s) arrived after SkillDisabled was answered"
    reached = collections.Counter(e["user"] for e in alexa_stub.events)
    assert max(reached.values()) == 1
    # The race was real: some users were sent to before their answer, others were forgotten first.
    assert 0 < len(reached) < USERS
    assert stats.errors == 0
    with sessions() as session:
        for table in (User, Reminder, Delivery):
            assert session.scalar(select(func.count()).select_from(table)) == 0
