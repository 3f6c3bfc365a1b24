"""Settings read from the environment, in one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.db import DEFAULT_DATABASE_URL

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(value: str | None, default: bool, name: str) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    skill_id: str | None = None
    verify_requests: bool = True
    # Alexa requests are a few KiB; anything past this is refused before it is parsed.
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            skill_id=env.get("ALEXA_SKILL_ID") or None,
            verify_requests=parse_bool(env.get("ALEXA_VERIFY_REQUESTS"), True, "ALEXA_VERIFY_REQUESTS"),
        )
