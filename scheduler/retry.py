"""Retry one notice on transient failures, with capped exponential backoff and full jitter.

Full jitter (a uniform wait between 0 and the exponential bound) spreads out the many sends that
fail together when Amazon throttles a burst, so they do not all come back at the same instant.
Clock, sleep and randomness are injected so tests run instantly and deterministically.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from scheduler.channels.base import Channel, Notice, Outcome, SendResult

log = logging.getLogger(__name__)


def backoff_delay(
    attempt: int, *, rng: random.Random, base: float, cap: float, retry_after: float | None
) -> float:
    """The wait after failed attempt number ``attempt`` (1-based).

    Without a hint: uniform in [0, min(cap, base * 2**(attempt-1))]. With a Retry-After hint: at
    least the hint, since the server asked for it, but never more than ``cap``.
    """
    # Cap the exponent as well, so a large max_attempts cannot overflow the float.
    bound = min(cap, base * 2.0 ** min(attempt - 1, 62))
    delay = rng.uniform(0.0, bound)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def send_with_retry(
    channel: Channel,
    notice: Notice,
    *,
    deadline: datetime,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    rng: random.Random,
    base: float = 0.5,
    cap: float = 30.0,
    max_attempts: int = 6,
) -> tuple[SendResult, int]:
    """Send, retrying RETRY outcomes; return the last result and the number of attempts made.

    The first attempt is always made (the caller decided the notice is worth sending); the deadline
    only limits waiting: if the next wait would end after ``deadline``, give up with the last RETRY.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    if base <= 0 or cap < 0:
        raise ValueError(f"need base > 0 and cap >= 0, got base={base}, cap={cap}")
    attempt = 0
    while True:
        attempt += 1
        result = channel.send(notice)
        if result.outcome is not Outcome.RETRY:
            return result, attempt
        if attempt >= max_attempts:
            log.warning(
                "%s: giving up on %s after %d attempts (last status %s: %s)",
                channel.name,
                notice.reference_id,
                attempt,
                result.status,
                result.detail,
            )
            return result, attempt
        wait = backoff_delay(attempt, rng=rng, base=base, cap=cap, retry_after=result.retry_after)
        if clock() + timedelta(seconds=wait) > deadline:
            log.warning(
                "%s: giving up on %s after %d attempts: a %.2fs wait would pass the deadline %s "
                "(last status %s: %s)",
                channel.name,
                notice.reference_id,
                attempt,
                wait,
                deadline.isoformat(),
                result.status,
                result.detail,
            )
            return result, attempt
        log.warning(
            "%s: attempt %d/%d for %s got status %s (%s); retrying in %.2fs",
            channel.name,
            attempt,
            max_attempts,
            notice.reference_id,
            result.status,
            result.detail,
            wait,
        )
        sleep(wait)
