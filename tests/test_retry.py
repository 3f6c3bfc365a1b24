"""When a transient failure is tried again: pure functions of the attempt, the clock and a seeded rng."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.retry import CAP_SECONDS, backoff_delay, plan_retry

START = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
GRACE_END = START + timedelta(minutes=15)


def test_full_jitter_under_a_growing_capped_bound() -> None:
    rng = random.Random(42)
    waits = [backoff_delay(n, rng=rng, base=1.0, cap=5.0) for n in range(1, 11)]
    expected = random.Random(42)
    bounds = [min(5.0, 2.0 ** (n - 1)) for n in range(1, 11)]
    assert waits == [expected.uniform(0, bound) for bound in bounds]
    assert all(0 <= wait <= bound for wait, bound in zip(waits, bounds, strict=True))
    assert max(waits) > 2.0  # later waits really can grow beyond the early bounds


def test_same_seed_same_schedule_other_seed_other_schedule() -> None:
    def schedule(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [backoff_delay(n, rng=rng) for n in range(1, 8)]

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)


def test_a_huge_attempt_number_does_not_overflow() -> None:
    assert 0 <= backoff_delay(10_000, rng=random.Random(1)) <= CAP_SECONDS


@pytest.mark.parametrize("kwargs", [{"attempt": 0}, {"base": 0.0}, {"cap": -1.0}])
def test_bad_parameters(kwargs: dict[str, float]) -> None:
    args = {"attempt": 1, "base": 0.5, "cap": 30.0, **kwargs}
    with pytest.raises(ValueError):
        backoff_delay(int(args["attempt"]), rng=random.Random(1), base=args["base"], cap=args["cap"])


def test_the_next_attempt_is_the_jittered_wait_from_now() -> None:
    plan = plan_retry(3, now=START, deadline=GRACE_END, retry_after=None, rng=random.Random(5))
    wait = backoff_delay(3, rng=random.Random(5))
    assert plan.at == START + timedelta(seconds=wait)


def test_retry_after_is_honoured_in_full_even_beyond_the_cap() -> None:
    plan = plan_retry(1, now=START, deadline=GRACE_END, retry_after=120.0, rng=random.Random(1))
    assert plan.at == START + timedelta(seconds=120)
    # A hint shorter than the jittered wait does not shorten it.
    rng = random.Random(3)
    jitter = backoff_delay(8, rng=random.Random(3))
    assert plan_retry(8, now=START, deadline=GRACE_END, retry_after=0.01, rng=rng).at == START + timedelta(
        seconds=jitter
    )


def test_retries_go_on_until_the_grace_window_ends_whatever_the_attempt_count() -> None:
    # Attempt 40 still gets a retry while grace is left: there is no attempt limit.
    plan = plan_retry(40, now=START, deadline=GRACE_END, retry_after=None, rng=random.Random(1))
    assert plan.at is not None and START < plan.at <= GRACE_END


def test_near_the_end_the_wait_is_cut_to_the_time_left() -> None:
    now = GRACE_END - timedelta(seconds=2)
    for seed in range(20):
        plan = plan_retry(10, now=now, deadline=GRACE_END, retry_after=None, rng=random.Random(seed))
        assert plan.at is not None and now <= plan.at <= GRACE_END


def test_gives_up_once_the_window_has_ended_or_retry_after_passes_it() -> None:
    over = plan_retry(2, now=GRACE_END, deadline=GRACE_END, retry_after=None, rng=random.Random(1))
    assert over.at is None and "grace window ended" in over.reason
    late = GRACE_END - timedelta(seconds=10)
    hinted = plan_retry(2, now=late, deadline=GRACE_END, retry_after=30.0, rng=random.Random(1))
    assert hinted.at is None and "Retry-After 30s" in hinted.reason
