"""Deliver reminders as Alexa notifications through the Proactive Events API.

Auth is a Login with Amazon (LWA) client-credentials token for the skill's one scope, cached until
shortly before it expires and shared by every send in flight. The event is
``AMAZON.MessageAlert.Activated``; the user hears it when they say "Alexa, read my notifications".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from ask_sdk_model.services.proactive_events.skill_stage import SkillStage

from scheduler.channels.base import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    TRANSPORT_ERRORS,
    HttpReply,
    Notice,
    Outcome,
    PooledHttpChannel,
    SendResult,
    classify_http,
    excerpt,
    transport_failure,
)
from scheduler.logs import safe
from scheduler.urls import require_https_or_loopback

log = logging.getLogger(__name__)

DEFAULT_API_ENDPOINT: Final = "https://api.amazonalexa.com"
DEFAULT_LWA_TOKEN_URL: Final = "https://api.amazon.com/auth/o2/token"
PROACTIVE_SCOPE: Final = "alexa::proactive_events"
EVENT_NAME: Final = "AMAZON.MessageAlert.Activated"
CREATOR_NAME: Final = "Cramp Coach"

# Amazon's bounds for expiryTime, relative to the event timestamp.
MIN_EXPIRY: Final = timedelta(minutes=5)
MAX_EXPIRY: Final = timedelta(hours=24)

# After a failed token request, answer RETRY without calling LWA again for this long, so a wrong
# secret does not turn every queued notice (times every retry) into a request to LWA.
TOKEN_FAILURE_COOLDOWN: Final = 5.0

# One encoder for every body: json.dumps builds a new one per call when given separators.
_compact_json: Final = json.JSONEncoder(separators=(",", ":"))
_EVENT_HEADERS: Final = {"Content-Type": "application/json"}
_TOKEN_HEADERS: Final = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


class _TokenUnavailable(Exception):
    """LWA did not give us a usable token; the message is safe to log (no secrets)."""


def parse_stage(value: str | SkillStage | None) -> SkillStage:
    if isinstance(value, SkillStage):
        return value
    text = (value or "development").strip().lower()
    if text == "development":
        return SkillStage.DEVELOPMENT
    if text == "live":
        return SkillStage.LIVE
    raise ValueError(f"ALEXA_SKILL_STAGE must be 'development' or 'live', got {value!r}")


def clamp_expiry(timestamp: datetime, expires_at: datetime) -> datetime:
    """Clamp expiryTime into Amazon's window of [timestamp + 5 min, timestamp + 24 h]."""
    expires_at = expires_at.astimezone(UTC)
    return min(max(expires_at, timestamp + MIN_EXPIRY), timestamp + MAX_EXPIRY)


def _iso(at: datetime) -> str:
    # The form ask-sdk-model's serializer writes: ISO 8601 with "+00:00".
    return at.astimezone(UTC).isoformat()


def build_event_body(notice: Notice, timestamp: datetime) -> dict[str, Any]:
    """The Proactive Events request body (``CreateProactiveEventRequest`` in ask-sdk-model).

    Written out directly: serialising the SDK's model objects costs about 70 µs per notice, a third
    of a core at the worker's send rate. tests/test_channels.py checks that this dict equals what
    the SDK's serializer produces for the same request.
    """
    return {
        "timestamp": _iso(timestamp),
        "referenceId": notice.reference_id,
        "expiryTime": _iso(clamp_expiry(timestamp, notice.expires_at)),
        "event": {
            "name": EVENT_NAME,
            "payload": {
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": CREATOR_NAME}, "count": 1, "urgency": "URGENT"},
            },
        },
        "localizedAttributes": [{"locale": notice.locale}],
        "relevantAudience": {"type": "Unicast", "payload": {"user": notice.alexa_user_id}},
    }


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlexaChannel(PooledHttpChannel):
    """One instance is shared by every send in flight: one connection pool, one cached token."""

    name = "alexa"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        token_url: str = DEFAULT_LWA_TOKEN_URL,
        stage: str | SkillStage = SkillStage.DEVELOPMENT,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("AlexaChannel needs both a client id and a client secret")
        self._token_url = require_https_or_loopback(token_url)
        # Encoded once: the same form goes out on every refresh.
        self._token_form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": PROACTIVE_SCOPE,
            }
        ).encode()
        self.stage = parse_stage(stage)
        base = require_https_or_loopback(api_endpoint).rstrip("/")
        live = self.stage is SkillStage.LIVE
        self.events_url = base + ("/v1/proactiveEvents" if live else "/v1/proactiveEvents/stages/development")
        super().__init__(timeout=timeout, max_connections=max_connections)
        self._monotonic = monotonic
        self._utcnow = utcnow
        # Created on the send loop at first use. Holding it during the LWA call makes other sends
        # wait for that one refresh instead of starting their own.
        self._token_lock: asyncio.Lock | None = None
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._token_failed_until = 0.0
        self._token_failure = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> AlexaChannel:
        return cls(
            env["ALEXA_CLIENT_ID"],
            env["ALEXA_CLIENT_SECRET"],
            api_endpoint=env.get("ALEXA_API_ENDPOINT") or DEFAULT_API_ENDPOINT,
            token_url=env.get("LWA_TOKEN_URL") or DEFAULT_LWA_TOKEN_URL,
            stage=parse_stage(env.get("ALEXA_SKILL_STAGE")),
            **kwargs,
        )

    # -- token -----------------------------------------------------------------------------------

    def _cached_token(self) -> str | None:
        if self._token is not None and self._monotonic() < self._token_valid_until:
            return self._token
        return None

    async def _get_token(self) -> str:
        cached = self._cached_token()  # the common case: no lock, no await
        if cached is not None:
            return cached
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            cached = self._cached_token()
            if cached is not None:
                return cached
            now = self._monotonic()
            if now < self._token_failed_until:
                raise _TokenUnavailable(self._token_failure)
            try:
                token, expires_in = await self._fetch_token()
            except _TokenUnavailable as exc:
                self._token_failed_until = now + TOKEN_FAILURE_COOLDOWN
                self._token_failure = str(exc)
                log.error("%s", safe(exc, 300))  # it quotes LWA's reply: outside text
                raise
            # Refresh a little early (10% of the lifetime, at most a minute) so a token never
            # expires in flight.
            self._token = token
            self._token_valid_until = self._monotonic() + expires_in - min(60.0, expires_in * 0.1)
            self._token_failed_until = 0.0
            return token

    async def _fetch_token(self) -> tuple[str, float]:
        try:
            reply = await self._post(self._token_url, headers=_TOKEN_HEADERS, body=self._token_form)
        except TRANSPORT_ERRORS as exc:
            raise _TokenUnavailable(f"LWA token request failed: {transport_failure(exc).detail}") from None
        if reply.status != 200:
            raise _TokenUnavailable(f"LWA token request failed: HTTP {reply.status} {excerpt(reply.text)}")
        try:
            data = json.loads(reply.text)
            token = data["access_token"]
            expires_in = float(data["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise _TokenUnavailable("LWA token reply lacks access_token/expires_in") from None
        if not isinstance(token, str) or not token or not expires_in > 0:
            raise _TokenUnavailable("LWA token reply has an empty token or a non-positive expires_in")
        return token, expires_in

    def _invalidate(self, token: str) -> None:
        # Only drop the token that failed: another send may already have fetched a new one.
        if self._token == token:
            self._token = None

    # -- send ------------------------------------------------------------------------------------

    async def send(self, notice: Notice) -> SendResult:
        timestamp = self._utcnow().astimezone(UTC).replace(microsecond=0)
        body = _compact_json.encode(build_event_body(notice, timestamp)).encode()
        try:
            token = await self._get_token()
            reply = await self._post_event(body, token)
            if reply.status in (401, 403):
                # The cached token may have been revoked or rotated: one fresh token, one more try.
                log.info("proactive event %s: HTTP %s, refreshing token", notice.reference_id, reply.status)
                self._invalidate(token)
                reply = await self._post_event(body, await self._get_token())
                if reply.status in (401, 403):
                    return SendResult(
                        Outcome.FORBIDDEN,
                        reply.status,
                        f"forbidden with a fresh token: {excerpt(reply.text)}",
                    )
        except _TokenUnavailable as exc:
            return SendResult(Outcome.RETRY, None, str(exc))
        except TRANSPORT_ERRORS as exc:
            # Safe to retry even if Amazon got the first request: the same referenceId gets a 409.
            return transport_failure(exc)
        # 432 (Amazon's notification limit for live skills) is rejected like any other 4xx.
        return classify_http(
            reply.status,
            reply.text,
            reply.retry_after,
            delivered=reply.status in (200, 202),
            duplicate="referenceId already delivered to this user",
            now=self._utcnow(),
        )

    async def _post_event(self, body: bytes, token: str) -> HttpReply:
        return await self._post(
            self.events_url, headers={**_EVENT_HEADERS, "Authorization": f"Bearer {token}"}, body=body
        )
