"""Reach Alexa users out of session: notifications (Proactive Events) and Skill Messages.

Auth is a Login with Amazon (LWA) client-credentials token per scope (``LwaTokens``), cached until
shortly before it expires and shared by every send in flight. This is the one module that knows
LWA tokens.

- ``AlexaChannel`` sends ``AMAZON.MessageAlert.Activated``: the user hears it when they say
  "Alexa, read my notifications".
- ``SkillMessagingChannel`` asks the skill to place a device reminder: Alexa delivers the message
  to the skill as ``Messaging.MessageReceived``, with a token the Reminders API accepts (it accepts
  none of ours), and the device then says the reminder itself at its time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, Final
from urllib.parse import quote, urlencode

import aiohttp
from ask_sdk_model.services.proactive_events.skill_stage import SkillStage
from multidict import CIMultiDict
from yarl import URL

from scheduler.channels.base import (
    ACCEPTED,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    TRANSPORT_ERRORS,
    HttpReply,
    Notice,
    Outcome,
    PlacementRequest,
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
SKILL_MESSAGING_SCOPE: Final = "alexa:skill_messaging"
# The data a placement message carries (Skill Messaging: string keys and values only).
MESSAGE_ACTION: Final = "place"
# Skill Messaging's bounds for expiresAfterSeconds.
MIN_MESSAGE_EXPIRY: Final = 60
MAX_MESSAGE_EXPIRY: Final = 86_400
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


class TokenUnavailable(Exception):
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


# The parts of every event body that never change, written once; a body is these joined with the
# notice's own values (see encode_event_body). Byte for byte what _compact_json writes for
# build_event_body's dict: tests/test_channels.py holds the two together.
_BODY_HEAD: Final = b'{"timestamp":'
_BODY_REFERENCE: Final = b',"referenceId":'
_BODY_EXPIRY: Final = b',"expiryTime":'
_BODY_EVENT: Final = (
    b',"event":'
    + _compact_json.encode(
        {
            "name": EVENT_NAME,
            "payload": {
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": CREATOR_NAME}, "count": 1, "urgency": "URGENT"},
            },
        }
    ).encode()
    + b',"localizedAttributes":[{"locale":'
)
_BODY_AUDIENCE: Final = b'}],"relevantAudience":{"type":"Unicast","payload":{"user":'
_BODY_TAIL: Final = b"}}}"


def _json_string(text: str) -> bytes:
    # The C string encoder json.dumps itself uses (ASCII-only output, like _compact_json).
    return encode_basestring_ascii(text).encode()


def encode_event_body(notice: Notice, timestamp: bytes, expiry: bytes) -> bytes:
    """``build_event_body`` as JSON bytes, from the timestamp and expiry already JSON-encoded.

    Joining fixed parts costs a few microseconds where encoding the dict took about thirty, at
    thousands of notices a second.
    """
    return b"".join(
        (
            _BODY_HEAD,
            timestamp,
            _BODY_REFERENCE,
            _json_string(notice.reference_id),
            _BODY_EXPIRY,
            expiry,
            _BODY_EVENT,
            _json_string(notice.locale),
            _BODY_AUDIENCE,
            _json_string(notice.alexa_user_id),
            _BODY_TAIL,
        )
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LwaTokens:
    """A Login with Amazon client-credentials token for one scope, shared by every send in flight.

    Cached until shortly before it expires; one refresh at a time (the others wait for it); after
    a failed request, LWA is not asked again for TOKEN_FAILURE_COOLDOWN seconds.
    """

    def __init__(
        self,
        post: Callable[..., Awaitable[HttpReply]],
        *,
        client_id: str,
        client_secret: str,
        scope: str,
        token_url: str,
        monotonic: Callable[[], float],
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("an LWA token needs both a client id and a client secret")
        self._post = post
        self._token_url = require_https_or_loopback(token_url)
        # Encoded once: the same form goes out on every refresh.
        self._form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": scope,
            }
        ).encode()
        self._monotonic = monotonic
        # Created on the send loop at first use. Holding it during the LWA call makes other sends
        # wait for that one refresh instead of starting their own.
        self._lock: asyncio.Lock | None = None
        self._token: str | None = None
        self._valid_until = 0.0
        self._failed_until = 0.0
        self._failure = ""

    def _cached(self) -> str | None:
        if self._token is not None and self._monotonic() < self._valid_until:
            return self._token
        return None

    async def get(self) -> str:
        """The token; raises TokenUnavailable (a message safe to log) when LWA gives none."""
        cached = self._cached()  # the common case: no lock, no await
        if cached is not None:
            return cached
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            cached = self._cached()
            if cached is not None:
                return cached
            now = self._monotonic()
            if now < self._failed_until:
                raise TokenUnavailable(self._failure)
            try:
                token, expires_in = await self._fetch()
            except TokenUnavailable as exc:
                self._failed_until = now + TOKEN_FAILURE_COOLDOWN
                self._failure = str(exc)
                log.error("%s", safe(exc, 300))  # it quotes LWA's reply: outside text
                raise
            # Refresh a little early (10% of the lifetime, at most a minute) so a token never
            # expires in flight.
            self._token = token
            self._valid_until = self._monotonic() + expires_in - min(60.0, expires_in * 0.1)
            self._failed_until = 0.0
            return token

    async def _fetch(self) -> tuple[str, float]:
        try:
            reply = await self._post(self._token_url, headers=_TOKEN_HEADERS, body=self._form)
        except TRANSPORT_ERRORS as exc:
            raise TokenUnavailable(f"LWA token request failed: {transport_failure(exc).detail}") from None
        if reply.status != 200:
            raise TokenUnavailable(f"LWA token request failed: HTTP {reply.status} {excerpt(reply.text)}")
        try:
            data = json.loads(reply.text)
            token = data["access_token"]
            expires_in = float(data["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise TokenUnavailable("LWA token reply lacks access_token/expires_in") from None
        if not isinstance(token, str) or not token or not expires_in > 0:
            raise TokenUnavailable("LWA token reply has an empty token or a non-positive expires_in")
        return token, expires_in

    def invalidate(self, token: str) -> None:
        # Only drop the token that failed: another send may already have fetched a new one.
        if self._token == token:
            self._token = None


class _LwaChannel(PooledHttpChannel):
    """An Alexa API reached with the skill's own LWA token for one ``scope`` (not a user's token)."""

    scope: str

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        token_url: str = DEFAULT_LWA_TOKEN_URL,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError(f"{type(self).__name__} needs both a client id and a client secret")
        self._tokens = LwaTokens(
            self._post,
            client_id=client_id,
            client_secret=client_secret,
            scope=self.scope,
            token_url=token_url,
            monotonic=monotonic,
        )
        self._api_base = require_https_or_loopback(api_endpoint).rstrip("/")
        super().__init__(timeout=timeout, max_connections=max_connections)
        self._utcnow = utcnow
        self._headers: dict[str, CIMultiDict[str]] = {}

    @classmethod
    def _from_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            "api_endpoint": env.get("ALEXA_API_ENDPOINT") or DEFAULT_API_ENDPOINT,
            "token_url": env.get("LWA_TOKEN_URL") or DEFAULT_LWA_TOKEN_URL,
        }

    async def _post_authorised(self, url: str | URL, body: bytes, what: str, ref: str) -> HttpReply:
        """POST with the cached token; on 401/403 (revoked or rotated), one fresh token, one more try.

        Raises TokenUnavailable, or one of TRANSPORT_ERRORS; the caller reads a 401/403 left after
        the second try.
        """
        token = await self._tokens.get()
        reply = await self._post_json(url, body, token)
        if reply.status in (401, 403):
            log.info("%s %s: HTTP %s, refreshing token", what, ref, reply.status)
            self._tokens.invalidate(token)
            reply = await self._post_json(url, body, await self._tokens.get())
        return reply

    async def _post_json(self, url: str | URL, body: bytes, token: str) -> HttpReply:
        headers = self._headers.get(token)
        if headers is None:
            # Built once per token, not per post; a new token replaces the old one's.
            headers = CIMultiDict({**_EVENT_HEADERS, "Authorization": f"Bearer {token}"})
            self._headers = {token: headers}
        return await self._post(url, headers=headers, body=body)


class AlexaChannel(_LwaChannel):
    """One instance is shared by every send in flight: one connection pool, one cached token."""

    name = "alexa"
    scope = PROACTIVE_SCOPE

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        stage: str | SkillStage = SkillStage.DEVELOPMENT,
        **kwargs: Any,
    ) -> None:
        super().__init__(client_id, client_secret, **kwargs)
        self.stage = parse_stage(stage)
        live = self.stage is SkillStage.LIVE
        self.events_url = self._api_base + (
            "/v1/proactiveEvents" if live else "/v1/proactiveEvents/stages/development"
        )
        self._events_url = URL(self.events_url)  # parsed once, not per post
        self._stamp_at: datetime | None = None
        self._stamp_json = b""
        self._expiry_json: dict[datetime, bytes] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> AlexaChannel:
        return cls(
            env["ALEXA_CLIENT_ID"],
            env["ALEXA_CLIENT_SECRET"],
            stage=parse_stage(env.get("ALEXA_SKILL_STAGE")),
            **{**cls._from_env(env), **kwargs},
        )

    # -- send ------------------------------------------------------------------------------------

    def _stamps(self, expires_at: datetime) -> tuple[bytes, bytes]:
        """This second's event timestamp and the notice's clamped expiry, both JSON-encoded.

        Notices sent in the same second share both (reminders due together expire together), so
        each is formatted once per second instead of once per notice.
        """
        timestamp = self._utcnow().astimezone(UTC).replace(microsecond=0)
        if timestamp != self._stamp_at:
            self._stamp_at = timestamp
            self._stamp_json = b'"' + _iso(timestamp).encode() + b'"'
            self._expiry_json = {}
        expiry = self._expiry_json.get(expires_at)
        if expiry is None:
            expiry = b'"' + _iso(clamp_expiry(timestamp, expires_at)).encode() + b'"'
            self._expiry_json[expires_at] = expiry
        return self._stamp_json, expiry

    async def send(self, notice: Notice) -> SendResult:
        timestamp, expiry = self._stamps(notice.expires_at)
        body = encode_event_body(notice, timestamp, expiry)
        try:
            reply = await self._post_authorised(
                self._events_url, body, "proactive event", notice.reference_id
            )
        except TokenUnavailable as exc:
            return SendResult(Outcome.RETRY, None, str(exc))
        except TRANSPORT_ERRORS as exc:
            # Safe to retry even if Amazon got the first request: the same referenceId gets a 409.
            return transport_failure(exc)
        status = reply.status
        if status == 202 or status == 200:
            return ACCEPTED[status]
        if status in (401, 403):
            return SendResult(
                Outcome.FORBIDDEN, reply.status, f"forbidden with a fresh token: {excerpt(reply.text)}"
            )
        # 432 (Amazon's notification limit for live skills) is rejected like any other 4xx.
        return classify_http(
            reply.status,
            reply.text,
            reply.retry_after,
            delivered=False,
            duplicate="referenceId already delivered to this user",
            now=self._utcnow(),
        )


def placement_message(request: PlacementRequest, now: datetime) -> dict[str, Any]:
    """The Skill Messaging body: what to place, and how long Alexa may keep redelivering it."""
    expires = int((request.expires_at - now).total_seconds())
    return {
        "data": {
            "action": MESSAGE_ACTION,
            "reminder": str(request.reminder_id),
            "occurrence": request.occurrence_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "reference": request.reference_id,
        },
        "expiresAfterSeconds": min(max(expires, MIN_MESSAGE_EXPIRY), MAX_MESSAGE_EXPIRY),
    }


class SkillMessagingChannel(_LwaChannel):
    """Sends placement requests through the Skill Messaging API (``POST /v1/skillmessages/users/{id}``).

    202 means Alexa accepted the message for delivery, not that it was delivered: the skill records
    the placement itself, and the worker looks again at the fire time.
    """

    name = "messaging"
    scope = SKILL_MESSAGING_SCOPE

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> SkillMessagingChannel:
        return cls(env["ALEXA_CLIENT_ID"], env["ALEXA_CLIENT_SECRET"], **{**cls._from_env(env), **kwargs})

    def url_for(self, alexa_user_id: str) -> str:
        return f"{self._api_base}/v1/skillmessages/users/{quote(alexa_user_id, safe='')}"

    async def request_placement(self, request: PlacementRequest) -> SendResult:
        body = _compact_json.encode(placement_message(request, self._utcnow())).encode()
        try:
            # A 403 here means our token, not the user's permission: refreshed once, then rejected.
            reply = await self._post_authorised(
                self.url_for(request.alexa_user_id), body, "skill message", request.reference_id
            )
        except TokenUnavailable as exc:
            return SendResult(Outcome.RETRY, None, str(exc))
        except TRANSPORT_ERRORS as exc:
            # A second message for the same occurrence is harmless: the skill places it once.
            return transport_failure(exc)
        return classify_http(
            reply.status,
            reply.text,
            reply.retry_after,
            delivered=reply.status == 202,
            duplicate="",
            now=self._utcnow(),
        )
