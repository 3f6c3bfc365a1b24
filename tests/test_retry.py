"""send_with_retry with a fake clock and a recording sleep: no real waiting, fully deterministic."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.channels import AlexaChannel, Notice, Outcome, SendResult, reference_id_for
from scheduler.retry import send_with_retry
from tests.stubs.alexa_api import start_stub

START = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
NOTICE = Notice(
    reminder_id=7,
    alexa_user_id="amzn1.ask.account.RETRY",
    kind="water",
    occurrence_at=START,
    reference_id=reference_id_for(7, START),
    locale="en-GB",
    expires_at=START + timedelta(hours=2),
)

DELIVERED = SendResult(Outcome.DELIVERED, 202, "accepted")
THROTTLED = SendResult(Outcome.RETRY, 429, "throttled")


def retry(status: int = 429, retry_after: float | None = None) -> SendResult:
    return SendResult(Outcome.RETRY, status, "try later", retry_after)


class ScriptedChannel:
    name = "scripted"

    def __init__(self, results: Iterable[SendResult]) -> None:
        self.results = list(results)
        self.calls = 0

    def send(self, notice: Notice) -> SendResult:
        self.calls += 1
        return self.results.pop(0)

    def close(self) -> None:
        pass


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def run(
    channel: ScriptedChannel | AlexaChannel,
    time: FakeTime,
    *,
    seed: int = 1,
    deadline: datetime | None = None,
    **kwargs: Any,
) -> tuple[SendResult, int]:
    return send_with_retry(
        channel,
        NOTICE,
        deadline=deadline or START + timedelta(hours=1),
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(seed),
        **kwargs,
    )


def test_throttled_twice_then_delivered() -> None:
    time = FakeTime()
    channel = ScriptedChannel([THROTTLED, THROTTLED, DELIVERED])
    result, attempts = run(channel, time, seed=42)
    assert (result, attempts) == (DELIVERED, 3)
    # Full jitter: each wait is uniform in [0, base * 2**(n-1)]; same seed, same waits.
    expected = random.Random(42)
    assert time.sleeps == [expected.uniform(0, 0.5), expected.uniform(0, 1.0)]


def test_waits_stay_under_a_growing_capped_bound() -> None:
    time = FakeTime()
    channel = ScriptedChannel([retry()] * 9 + [DELIVERED])
    result, attempts = run(channel, time, base=1.0, cap=5.0, max_attempts=10)
    assert (result.outcome, attempts) == (Outcome.DELIVERED, 10)
    bounds = [min(5.0, 2.0**n) for n in range(9)]
    assert all(0 <= wait <= bound for wait, bound in zip(time.sleeps, bounds, strict=True))
    assert max(time.sleeps) > 2.0  # later waits really can grow beyond the early bounds


def test_same_seed_same_schedule() -> None:
    schedules = []
    for _ in range(2):
        time = FakeTime()
        run(ScriptedChannel([retry()] * 5 + [DELIVERED]), time, seed=7)
        schedules.append(time.sleeps)
    assert schedules[0] == schedules[1]
    other = FakeTime()
    run(ScriptedChannel([retry()] * 5 + [DELIVERED]), other, seed=8)
    assert other.sleeps != schedules[0]


def test_retry_after_is_honoured_but_capped() -> None:
    time = FakeTime()
    channel = ScriptedChannel([retry(retry_after=7.0), retry(retry_after=120.0), DELIVERED])
    result, attempts = run(channel, time, cap=30.0)
    assert (result, attempts) == (DELIVERED, 3)
    assert time.sleeps == [7.0, 30.0]


def test_gives_up_at_max_attempts() -> None:
    time = FakeTime()
    channel = ScriptedChannel([retry(500)] * 6)
    result, attempts = run(channel, time)
    assert (result.outcome, result.status, attempts) == (Outcome.RETRY, 500, 6)
    assert len(time.sleeps) == 5


def test_stops_before_a_wait_would_cross_the_deadline() -> None:
    time = FakeTime()
    channel = ScriptedChannel([retry(retry_after=1.5)] * 6)
    result, attempts = run(channel, time, deadline=START + timedelta(seconds=2))
    # 1.5 s fits before the deadline; a second 1.5 s would end at 3 s, past it.
    assert (result.outcome, attempts) == (Outcome.RETRY, 2)
    assert time.sleeps == [1.5]
    assert time.now <= START + timedelta(seconds=2)


def test_first_attempt_is_made_even_at_the_deadline() -> None:
    time = FakeTime()
    channel = ScriptedChannel([retry()])
    result, attempts = run(channel, time, deadline=START)
    assert (result.outcome, attempts, time.sleeps) == (Outcome.RETRY, 1, [])


@pytest.mark.parametrize(
    "final",
    [
        SendResult(Outcome.REJECTED, 400, "bad request"),
        SendResult(Outcome.FORBIDDEN, 403, "forbidden"),
        SendResult(Outcome.DUPLICATE, 409, "dup"),
        DELIVERED,
    ],
)
def test_non_retry_outcomes_return_at_once(final: SendResult) -> None:
    time = FakeTime()
    channel = ScriptedChannel([final, DELIVERED])
    assert run(channel, time) == (final, 1)
    assert time.sleeps == []
    assert channel.calls == 1


def test_each_retry_is_logged_with_status_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    time = FakeTime()
    with caplog.at_level(logging.WARNING, logger="scheduler.retry"):
        run(ScriptedChannel([THROTTLED, retry(503), DELIVERED]), time)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert "429" in messages[0] and f"{time.sleeps[0]:.2f}s" in messages[0]
    assert "503" in messages[1] and f"{time.sleeps[1]:.2f}s" in messages[1]


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base": 0.0}, {"cap": -1.0}])
def test_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        run(ScriptedChannel([DELIVERED]), FakeTime(), **kwargs)


def test_against_the_stub_throttled_then_accepted() -> None:
    with start_stub() as stub:
        stub.fail_next(429, times=2, retry_after=1)
        time = FakeTime()
        with AlexaChannel(
            stub.client_id, stub.client_secret, api_endpoint=stub.url, token_url=stub.token_url
        ) as channel:
            result, attempts = run(channel, time)
        assert (result.outcome, attempts) == (Outcome.DELIVERED, 3)
        assert time.sleeps == [1.0, 1.0]  # the server's hint beats the smaller jittered backoff
        assert [e["reference_id"] for e in stub.events] == [NOTICE.reference_id]
