"""Settings read from the environment, in one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

# The worker's parsers: one reading of numbers from the environment, with errors that name the variable.
from scheduler.config import DEFAULT_PLACEMENT_LEAD_HOURS, _int, _seconds, placement_lead
from scheduler.db import DEFAULT_DATABASE_URL, Timeouts
from skill.replay import DEFAULT_MAX_ENTRIES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Past this an answer would be too late for Alexa's 8 seconds anyway; it catches typos.
MAX_DATABASE_WAIT_S = 6.0


def parse_bool(value: str | None, default: bool, name: str) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _wait(env: Mapping[str, str], name: str, default: float) -> float:
    value = _seconds(env, name, default)
    if value > MAX_DATABASE_WAIT_S:
        raise ValueError(
            f"{name} must be at most {MAX_DATABASE_WAIT_S:g} seconds (Alexa waits 8), got {value:g}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    skill_id: str | None = None
    verify_requests: bool = True
    # Alexa requests are a few KiB; anything past this is refused before it is parsed.
    max_body_bytes: int = 64 * 1024
    # Short waits on the database, so a hung or locked one still leaves time to answer within 8 s.
    database_connect_timeout_s: float = 2.0
    database_statement_timeout_s: float = 2.0
    database_pool_timeout_s: float = 2.0
    replay_cache_size: int = DEFAULT_MAX_ENTRIES
    # How long before its time a device reminder is placed; the worker reads the same variable.
    placement_lead: timedelta = field(default_factory=lambda: timedelta(hours=DEFAULT_PLACEMENT_LEAD_HOURS))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            skill_id=env.get("ALEXA_SKILL_ID") or None,
            verify_requests=parse_bool(env.get("ALEXA_VERIFY_REQUESTS"), True, "ALEXA_VERIFY_REQUESTS"),
            database_connect_timeout_s=_wait(env, "DATABASE_CONNECT_TIMEOUT_SECONDS", 2.0),
            database_statement_timeout_s=_wait(env, "DATABASE_STATEMENT_TIMEOUT_SECONDS", 2.0),
            database_pool_timeout_s=_wait(env, "DATABASE_POOL_TIMEOUT_SECONDS", 2.0),
            replay_cache_size=_int(env, "ALEXA_REPLAY_CACHE_SIZE", DEFAULT_MAX_ENTRIES, 1_000, 10_000_000),
            placement_lead=placement_lead(env),
        )

    @property
    def database_timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.database_connect_timeout_s,
            statement=self.database_statement_timeout_s,
            pool=self.database_pool_timeout_s,
        )
