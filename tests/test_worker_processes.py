"""Real worker processes (``python -m scheduler.worker``) sharing one PostgreSQL database.

Several workers only make sense on PostgreSQL (row locks, SKIP LOCKED); SQLite has one writer.
The stub Alexa API runs in this test process with a per-request delay, so batches take a while and a
worker can be stopped or killed in the middle of one. Waits poll with generous bounds; nothing
asserts on durations.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time as real_time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.channels import reference_id_for
from scheduler.db import make_engine, make_session_factory
from scheduler.models import Delivery, Reminder, User
from scheduler.recurrence import EVERY_DAY, next_occurrence
from tests.conftest import TEST_DATABASE_URL
from tests.stubs.alexa_api import AlexaApiStub

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not TEST_DATABASE_URL,
        reason="TEST_DATABASE_URL is not set: worker processes share a PostgreSQL database "
        "(SQLite allows one writer, so there is nothing to test there)",
    ),
]

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nothing"

EVENTS_PATH = "/v1/proactiveEvents/stages/development"
TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parent.parent


def wait_for(what: str, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = real_time.monotonic() + timeout
    while not condition():
        if real_time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        real_time.sleep(0.05)


class Worker:
    """One ``python -m scheduler.worker`` process, its output in a file."""

    def __init__(self, name: str, env: dict[str, str], tmp_path: Path) -> None:
        self.name = name
        self.log_path = tmp_path / f"{name}.log"
        # The parent's environment minus anything that would point the worker elsewhere.
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ALEXA_", "WORKER_", "REMINDER_"))}
        base.pop("DATABASE_URL", None)
        base.pop("LWA_TOKEN_URL", None)
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scheduler.worker"],
                env={**base, "LOG_LEVEL": "INFO", **env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_started(self) -> None:
        wait_for(f"{self.name} to start", lambda: " started: " in self.log or self.process.poll() is not None)
        assert self.process.poll() is None, f"{self.name} exited early:\n{self.log}"

    def claimed(self) -> int:
        """Reminders this worker claimed, from its tick summaries ('tick (id): claimed N, ...')."""
        total = 0
        for line in self.log.splitlines():
            if "scheduler.dispatch: tick (" in line and "claimed " in line:
                total += int(line.split("claimed ", 1)[1].split(",", 1)[0])
        return total

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} did not stop:\n{self.log}") from None


@pytest.fixture
def stub(alexa_stub: AlexaApiStub) -> AlexaApiStub:
    return alexa_stub


@pytest.fixture
def sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(postgres_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def spawn(postgres_url: str, stub: AlexaApiStub, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(name: str, database_url: str = postgres_url, **settings: str) -> Worker:
        env = {
            "DATABASE_URL": database_url,
            "ALEXA_CLIENT_ID": stub.client_id,
            "ALEXA_CLIENT_SECRET": stub.client_secret,
            "ALEXA_API_ENDPOINT": stub.url,
            "LWA_TOKEN_URL": stub.token_url,
            "WORKER_TICK_SECONDS": "0.5",
            # Several workers at once: each its own metrics port and heartbeat, none shared with the host's.
            "WORKER_METRICS_PORT": "0",
            "WORKER_HEARTBEAT_FILE": str(tmp_path / f"{name}.heartbeat"),
            **settings,
        }
        worker = Worker(name, env, tmp_path)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


def seed_due(sessions: sessionmaker[Session], n: int) -> set[str]:
    """``n`` users with one stretch reminder each, all due at the same instant (this minute, UTC).

    Inserted in one transaction so they fall due together; returns their referenceIds.
    """
    now = datetime.now(UTC)
    at = now.replace(second=0, microsecond=0)
    due = next_occurrence(at - timedelta(seconds=1), at.time(), "UTC", EVERY_DAY)
    assert due == at <= now
    with sessions.begin() as session:
        people = []
        for i in range(n):
            user = User(
                alexa_user_id=f"amzn1.ask.account.P{i:05d}",
                locale="en-US",
                time_zone="UTC",
                notifications_allowed=True,
                subscribed=True,
            )
            user.reminders.append(
                Reminder(
                    kind="stretch",
                    local_time=at.time(),
                    time_zone="UTC",
                    days=EVERY_DAY,
                    next_fire_at=due,
                    visible_at=due,
                )
            )
            people.append(user)
        session.add_all(people)
        session.flush()
        return {reference_id_for(u.reminders[0].id, due) for u in people}


def statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        return {status: count for status, count in rows}


def delivered(sessions: sessionmaker[Session]) -> int:
    counts = statuses(sessions)
    return counts.get("sent", 0) + counts.get("duplicate", 0)


def leases_held(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(Reminder.lease_token.is_not(None))) or 0


def test_two_workers_deliver_every_reminder_exactly_once(
    spawn: Callable[..., Worker], stub: AlexaApiStub, sessions: sessionmaker[Session]
) -> None:
    stub.delay = 0.02
    settings = {"WORKER_BATCH_SIZE": "25", "WORKER_CONCURRENCY": "4"}
    workers = [spawn("worker-a", **settings), spawn("worker-b", **settings)]
    for worker in workers:
        worker.wait_started()
    expected = seed_due(sessions, 300)

    wait_for("300 sent rows", lambda: statuses(sessions).get("sent", 0) == 300)
    refs = [event["reference_id"] for event in stub.events]
    assert collections.Counter(refs) == collections.Counter(expected)  # each exactly once
    assert [r["status"] for r in stub.requests if r["path"] == EVENTS_PATH] == [202] * 300
    assert statuses(sessions) == {"sent": 300}
    assert leases_held(sessions) == 0
    for worker in workers:
        assert worker.stop() == 0, worker.log
    # Every reminder was claimed once in all: no row went to both workers.
    assert sum(worker.claimed() for worker in workers) == 300, [w.log for w in workers]


def test_a_killed_worker_loses_nothing_and_nothing_is_delivered_twice(
    spawn: Callable[..., Worker], stub: AlexaApiStub, sessions: sessionmaker[Session]
) -> None:
    stub.delay = 0.05
    # A batch of 40 at 4 in flight takes ten round trips: killed after 20 events, the worker is in
    # the middle of its first batch, with sends in flight and claimed reminders not yet sent.
    settings = {"WORKER_BATCH_SIZE": "40", "WORKER_CONCURRENCY": "4", "WORKER_LEASE_SECONDS": "3"}
    doomed = spawn("doomed", **settings)
    doomed.wait_started()
    expected = seed_due(sessions, 300)

    wait_for("the first worker to deliver some", lambda: len(stub.events) >= 20)
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(timeout=TIMEOUT)
    assert len(stub.events) < 300, "the worker finished before it could be killed mid-batch"
    # Let requests that were already in flight land at the stub, then see what the dead worker left.
    real_time.sleep(stub.delay * 4)
    with sessions() as session:
        left_sending = set(
            session.scalars(select(Delivery.reference_id).where(Delivery.status == "sending")).all()
        )
    accepted_before = {event["reference_id"] for event in stub.events}
    assert left_sending, "the worker was not killed in the middle of sending"

    survivor = spawn("survivor", **settings)
    wait_for("all 300 delivered", lambda: delivered(sessions) == 300)
    assert survivor.stop() == 0, survivor.log

    refs = [event["reference_id"] for event in stub.events]
    assert collections.Counter(refs) == collections.Counter(expected)  # accepted exactly once each
    codes = collections.Counter(r["status"] for r in stub.requests if r["path"] == EVENTS_PATH)
    assert set(codes) <= {202, 409}
    with sessions() as session:
        duplicates = set(
            session.scalars(select(Delivery.reference_id).where(Delivery.status == "duplicate")).all()
        )
    # The only repeats are the killed worker's own sends, answered 409 and counted as delivered.
    assert codes[409] == len(duplicates)
    assert duplicates <= left_sending & accepted_before
    # Every send the dead worker left open was taken up again under the same referenceId.
    for ref in left_sending:
        assert f"same referenceId {ref}" in survivor.log
    assert statuses(sessions).keys() <= {"sent", "duplicate"}
    assert leases_held(sessions) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_worker_cleanly_after_its_batch(
    sig: signal.Signals, spawn: Callable[..., Worker], stub: AlexaApiStub, sessions: sessionmaker[Session]
) -> None:
    stub.delay = 0.05
    worker = spawn("worker", WORKER_BATCH_SIZE="20", WORKER_CONCURRENCY="2")
    worker.wait_started()
    seed_due(sessions, 100)
    wait_for("some deliveries", lambda: len(stub.events) >= 5)

    assert worker.stop(sig) == 0, worker.log
    assert "worker stopped" in worker.log
    assert f"{sig.name} received" in worker.log
    # The batch in progress was finished: no claim left to its lease, no send left unrecorded.
    assert leases_held(sessions) == 0
    assert "sending" not in statuses(sessions)
    assert delivered(sessions) == len(stub.events) > 0


def test_a_worker_keeps_running_while_the_database_is_down(spawn: Callable[..., Worker]) -> None:
    worker = spawn("worker", database_url=UNREACHABLE, WORKER_TICK_SECONDS="0.2")
    worker.wait_started()
    wait_for("two failed ticks", lambda: worker.log.count("database unreachable, will retry next tick") >= 2)
    assert worker.process.poll() is None
    errors = [line for line in worker.log.splitlines() if " ERROR " in line]
    assert errors and all("database unreachable, will retry next tick: " in line for line in errors)
    assert "Traceback" not in worker.log
    assert worker.stop() == 0
    assert "worker stopped" in worker.log


def test_two_workers_killed_again_and_again_under_api_faults_deliver_each_reminder_once_in_grace(
    spawn: Callable[..., Worker], stub: AlexaApiStub, sessions: sessionmaker[Session]
) -> None:
    # Issue 7: two workers SIGKILLed over and over while 30% of Proactive Events calls answer 500
    # or 429 (Retry-After 1 s). Every reminder must reach the stub exactly once, inside its grace
    # window, and the delivery log must say so; the leases and referenceIds do the work.
    stub.delay = 0.05
    stub.faults = 0.3
    settings = {
        "WORKER_BATCH_SIZE": "20",
        "WORKER_CONCURRENCY": "4",
        "WORKER_LEASE_SECONDS": "3",
        "WORKER_TICK_SECONDS": "0.3",
    }
    rng = random.Random(7)
    workers = {name: spawn(f"{name}-0", **settings) for name in ("a", "b")}
    for worker in workers.values():
        worker.wait_started()
    expected = seed_due(sessions, 600)
    occurrence = datetime.now(UTC).replace(second=0, microsecond=0)

    kills = 0
    while kills < 12 and delivered(sessions) < 600:
        real_time.sleep(rng.uniform(0.3, 0.8))
        name = "ab"[kills % 2]
        workers[name].process.send_signal(signal.SIGKILL)
        workers[name].process.wait(timeout=TIMEOUT)
        kills += 1
        workers[name] = spawn(f"{name}-{kills}", **settings)
    assert kills >= 4, f"only {kills} kills happened before everything was delivered"

    wait_for("all 600 delivered", lambda: delivered(sessions) == 600, timeout=120)
    for worker in workers.values():
        assert worker.stop() == 0, worker.log

    accepted = collections.Counter(event["reference_id"] for event in stub.events)
    assert accepted == collections.Counter(expected)  # every reminder, exactly once
    grace = timedelta(minutes=15).total_seconds()
    assert all(event["received_at"] - occurrence.timestamp() < grace for event in stub.events)
    codes = collections.Counter(r["status"] for r in stub.requests if r["path"] == EVENTS_PATH)
    assert set(codes) <= {202, 409, 429, 500} and codes[429] + codes[500] > 0
    final = statuses(sessions)
    assert final.keys() <= {"sent", "duplicate"}, final
    # A 409 only ever answers a resend of something the stub had already accepted.
    assert final.get("duplicate", 0) <= codes[409]
    assert leases_held(sessions) == 0
