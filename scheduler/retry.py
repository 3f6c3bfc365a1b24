"""When to try a notice again after a transient failure: jittered backoff, Retry-After, the grace window.

Nothing here sleeps, and no send slot waits: the dispatcher either holds a retry due within
``WORKER_RETRY_HOLD_SECONDS`` under its lease, outside the pool, or hands the occurrence back to
the queue (the reminder's ``visible_at`` becomes the next attempt time; the occurrence and its
referenceId stay), so a storm of 429s never parks the senders while their leases run out. Retries
go on until the occurrence's grace window ends, however many attempts that takes; only then is it
given up.

Full jitter (a uniform wait between 0 and the exponential bound) spreads out the many sends that
fail together when Amazon throttles a burst, so they do not all come back at the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

BASE_SECONDS = 0.5
CAP_SECONDS = 30.0


def backoff_delay(
    attempt: int, *, rng: random.Random, base: float = BASE_SECONDS, cap: float = CAP_SECONDS
) -> float:
    """The jittered wait after failed attempt number ``attempt`` (1-based): uniform in
    [0, min(cap, base * 2**(attempt-1))]."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if base <= 0 or cap < 0:
        raise ValueError(f"need base > 0 and cap >= 0, got base={base}, cap={cap}")
    # Cap the exponent as well, so a long run of attempts cannot overflow the float.
    bound = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return rng.uniform(0.0, bound)


@dataclass(frozen=True)
class RetryPlan:
    """``at``: when to try again, or None when no attempt fits before ``deadline`` (give up)."""

    at: datetime | None
    reason: str


def plan_retry(
    attempt: int,
    *,
    now: datetime,
    deadline: datetime,
    retry_after: float | None,
    rng: random.Random,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
) -> RetryPlan:
    """The next attempt after failed attempt number ``attempt``, or a reason to give up.

    A ``Retry-After`` hint is honoured in full (never retried sooner), even past ``cap``; if it
    points past the deadline the occurrence is given up. Without a hint the jittered wait is cut
    to the time left, so the last attempt still happens inside the grace window.
    """
    left = (deadline - now).total_seconds()
    if left <= 0:
        return RetryPlan(None, f"grace window ended {deadline.isoformat()}")
    wait = backoff_delay(attempt, rng=rng, base=base, cap=cap)
    if retry_after is not None:
        if retry_after > left:
            return RetryPlan(
                None,
                f"Retry-After {retry_after:g}s passes the end of the grace window {deadline.isoformat()}",
            )
        wait = max(wait, retry_after)
    wait = min(wait, left)
    return RetryPlan(now + timedelta(seconds=wait), f"retry in {wait:.2f}s")
