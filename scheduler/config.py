"""The reminders worker's settings, read from the environment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from scheduler.db import DEFAULT_DATABASE_URL

# Upper bounds that catch typos (an extra zero) rather than encode real limits.
MAX_BATCH_SIZE = 10_000
MAX_CONCURRENCY = 1_024

# How long before it fires a device reminder is placed (see scheduler/placements.py). Under a day,
# so each reminder has at most its next occurrence on the device: a pause, a skip or a move by voice
# then touches one device reminder, and our own DST rules decide every later one.
DEFAULT_PLACEMENT_LEAD_HOURS = 12.0
MAX_PLACEMENT_LEAD_HOURS = 23.0


def _get(env: Mapping[str, str], name: str) -> str | None:
    # An empty value (``FOO=`` in an env file) counts as unset, as in channel_from_env.
    value = (env.get(name) or "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return value


def placement_lead(env: Mapping[str, str]) -> timedelta:
    """REMINDER_PLACEMENT_LEAD_HOURS; the skill and the worker both read it."""
    hours = _seconds(env, "REMINDER_PLACEMENT_LEAD_HOURS", DEFAULT_PLACEMENT_LEAD_HOURS)
    if hours > MAX_PLACEMENT_LEAD_HOURS:
        raise ValueError(
            f"REMINDER_PLACEMENT_LEAD_HOURS must be at most {MAX_PLACEMENT_LEAD_HOURS:g}, got {hours:g}"
        )
    return timedelta(hours=hours)


def _seconds(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    # The comparisons are False for NaN; infinity would overflow timedelta later.
    ok = (value >= 0 if allow_zero else value > 0) and math.isfinite(value)
    if not ok:
        bound = "zero or more" if allow_zero else "more than zero"
        raise ValueError(f"{name} must be a finite number {bound}, got {raw!r}")
    return value


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str = DEFAULT_DATABASE_URL
    tick_seconds: float = 5.0
    batch_size: int = 500
    lease_seconds: float = 120.0
    # Sends in flight at once: Amazon's round trip, not our CPU, bounds a send, so hundreds in
    # flight on one event loop are what make a 21:30 spike of 100,000 go out within seconds.
    concurrency: int = 256
    grace_stretch_minutes: float = 15.0
    grace_water_minutes: float = 30.0
    # Bounds one tick (200,000 reminders at the default batch size); a shutdown stops a tick sooner.
    max_batches_per_tick: int = 400
    # A retry due within this many seconds (a 429's Retry-After of a second, the first backoffs)
    # waits in the worker that holds the lease instead of going back to the queue, where it would
    # sort behind every reminder already due: at a 21:30 spike that put retries last. 0: never.
    retry_hold_seconds: float = 5.0
    placement_lead: timedelta = timedelta(hours=DEFAULT_PLACEMENT_LEAD_HOURS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WorkerSettings:
        """Read the settings; raises ValueError naming the variable and the value it refused."""
        return cls(
            database_url=_get(env, "DATABASE_URL") or DEFAULT_DATABASE_URL,
            tick_seconds=_seconds(env, "WORKER_TICK_SECONDS", 5.0),
            batch_size=_int(env, "WORKER_BATCH_SIZE", 500, 1, MAX_BATCH_SIZE),
            lease_seconds=_seconds(env, "WORKER_LEASE_SECONDS", 120.0),
            concurrency=_int(env, "WORKER_CONCURRENCY", 256, 1, MAX_CONCURRENCY),
            grace_stretch_minutes=_seconds(env, "REMINDER_GRACE_STRETCH_MINUTES", 15.0, allow_zero=True),
            grace_water_minutes=_seconds(env, "REMINDER_GRACE_WATER_MINUTES", 30.0, allow_zero=True),
            retry_hold_seconds=_seconds(env, "WORKER_RETRY_HOLD_SECONDS", 5.0, allow_zero=True),
            placement_lead=placement_lead(env),
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def grace(self, kind: str) -> timedelta:
        """How late an occurrence of ``kind`` may still be sent; later ones are logged as missed."""
        minutes = {"stretch": self.grace_stretch_minutes, "water": self.grace_water_minutes}.get(
            # An unknown kind gets the stricter window: a late reminder is worse than a missed one.
            kind,
            min(self.grace_stretch_minutes, self.grace_water_minutes),
        )
        return timedelta(minutes=minutes)
