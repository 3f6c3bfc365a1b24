"""Deliver reminders as Alexa notifications through the Proactive Events API.

Auth is a Login with Amazon (LWA) client-credentials token for the skill, cached and shared by all
sender threads. The event is ``AMAZON.MessageAlert.Activated``; the user hears it when they say
"Alexa, read my notifications".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from ask_sdk_core.serialize import DefaultSerializer

# Imported from the defining modules: the package __init__ re-exports them implicitly, which
# mypy --strict does not accept.
from ask_sdk_model.services.proactive_events.create_proactive_event_request import CreateProactiveEventRequest
from ask_sdk_model.services.proactive_events.event import Event
from ask_sdk_model.services.proactive_events.relevant_audience import RelevantAudience
from ask_sdk_model.services.proactive_events.relevant_audience_type import RelevantAudienceType
from ask_sdk_model.services.proactive_events.skill_stage import SkillStage

from scheduler.channels.base import (
    Notice,
    Outcome,
    PooledHttpChannel,
    SendResult,
    classify_http,
    excerpt,
)
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

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0)
DEFAULT_MAX_CONNECTIONS: Final = 64

_serializer = DefaultSerializer()


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


def build_event_body(notice: Notice, timestamp: datetime) -> dict[str, Any]:
    """The Proactive Events request body, built with ask-sdk-model so field names match the SDK's."""
    request = CreateProactiveEventRequest(
        timestamp=timestamp,
        reference_id=notice.reference_id,
        expiry_time=clamp_expiry(timestamp, notice.expires_at),
        event=Event(
            name=EVENT_NAME,
            payload={
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": CREATOR_NAME}, "count": 1, "urgency": "URGENT"},
            },
        ),
        localized_attributes=[{"locale": notice.locale}],
        relevant_audience=RelevantAudience(
            object_type=RelevantAudienceType.Unicast, payload={"user": notice.alexa_user_id}
        ),
    )
    body = _serializer.serialize(request)
    assert isinstance(body, dict)
    return body


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlexaChannel(PooledHttpChannel):
    """Thread-safe: one instance is shared by every sender thread (one pooled client, one token)."""

    name = "alexa"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        token_url: str = DEFAULT_LWA_TOKEN_URL,
        stage: str | SkillStage = SkillStage.DEVELOPMENT,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http_client: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("AlexaChannel needs both a client id and a client secret")
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = require_https_or_loopback(token_url)
        self.stage = parse_stage(stage)
        base = require_https_or_loopback(api_endpoint).rstrip("/")
        live = self.stage is SkillStage.LIVE
        self.events_url = base + ("/v1/proactiveEvents" if live else "/v1/proactiveEvents/stages/development")
        super().__init__(timeout=timeout, max_connections=max_connections, http_client=http_client)
        self._monotonic = monotonic
        self._utcnow = utcnow
        # One lock guards the cached token; holding it during the LWA call makes other threads wait
        # for that refresh instead of starting their own.
        self._token_lock = threading.Lock()
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

    def _get_token(self) -> str:
        with self._token_lock:
            now = self._monotonic()
            if self._token is not None and now < self._token_valid_until:
                return self._token
            if now < self._token_failed_until:
                raise _TokenUnavailable(self._token_failure)
            try:
                token, expires_in = self._fetch_token()
            except _TokenUnavailable as exc:
                self._token_failed_until = now + TOKEN_FAILURE_COOLDOWN
                self._token_failure = str(exc)
                log.error("%s", exc)
                raise
            # Refresh a little early (10% of the lifetime, at most a minute) so a token never
            # expires in flight.
            self._token = token
            self._token_valid_until = self._monotonic() + expires_in - min(60.0, expires_in * 0.1)
            self._token_failed_until = 0.0
            return token

    def _fetch_token(self) -> tuple[str, float]:
        try:
            response = self._http.post(
                self._token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "scope": PROACTIVE_SCOPE,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise _TokenUnavailable(f"LWA token request failed: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise _TokenUnavailable(
                f"LWA token request failed: HTTP {response.status_code} {excerpt(response.text)}"
            )
        try:
            data = response.json()
            token = data["access_token"]
            expires_in = float(data["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise _TokenUnavailable("LWA token reply lacks access_token/expires_in") from None
        if not isinstance(token, str) or not token or not expires_in > 0:
            raise _TokenUnavailable("LWA token reply has an empty token or a non-positive expires_in")
        return token, expires_in

    def _invalidate(self, token: str) -> None:
        # Only drop the token that failed: another thread may already have fetched a new one.
        with self._token_lock:
            if self._token == token:
                self._token = None

    # -- send ------------------------------------------------------------------------------------

    def send(self, notice: Notice) -> SendResult:
        timestamp = self._utcnow().astimezone(UTC).replace(microsecond=0)
        body = json.dumps(build_event_body(notice, timestamp), separators=(",", ":")).encode()
        try:
            token = self._get_token()
            response = self._post_event(body, token)
            if response.status_code in (401, 403):
                # The cached token may have been revoked or rotated: one fresh token, one more try.
                log.info(
                    "proactive event %s: HTTP %s, refreshing token", notice.reference_id, response.status_code
                )
                self._invalidate(token)
                response = self._post_event(body, self._get_token())
                if response.status_code in (401, 403):
                    return SendResult(
                        Outcome.FORBIDDEN,
                        response.status_code,
                        f"forbidden with a fresh token: {excerpt(response.text)}",
                    )
        except _TokenUnavailable as exc:
            return SendResult(Outcome.RETRY, None, str(exc))
        except httpx.HTTPError as exc:
            # Safe to retry even if Amazon got the first request: the same referenceId gets a 409.
            return SendResult(Outcome.RETRY, None, f"{type(exc).__name__}: {exc}")
        return self._result_for(response)

    def _post_event(self, body: bytes, token: str) -> httpx.Response:
        return self._http.post(
            self.events_url,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    def _result_for(self, response: httpx.Response) -> SendResult:
        # 432 (Amazon's notification limit for live skills) is rejected like any other 4xx.
        return classify_http(
            response.status_code,
            response.text,
            response.headers.get("Retry-After"),
            delivered=response.status_code in (200, 202),
            duplicate="referenceId already delivered to this user",
            now=self._utcnow(),
        )
